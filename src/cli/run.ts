/** Process entry point of the `modelport` command. */
import { main } from './main.js';

process.exitCode = await main(process.argv);
// A store client that never lets go of the event loop must not keep a finished command alive.
setTimeout(() => process.exit(), 2000).unref();
