/**
 * The quickstart story: the whole lifecycle on bundled demo data, one stage after another,
 * against a real server. Each capability adds its stage here; it must always run end to end.
 */
import type { ModelportClient } from '../client/client.js';
import type { RunningServer } from '../server/serve.js';

export interface StoryContext {
  server: RunningServer;
  client: ModelportClient;
  /** Prints one line of the story. */
  say(line: string): void;
  /** Facts each stage leaves for the summary and later stages. */
  facts: Record<string, string | number>;
}

export interface Stage {
  title: string;
  run(ctx: StoryContext): Promise<void>;
}

export const stages: Stage[] = [
  {
    title: 'Check the server and its stores',
    async run({ client, say, facts, server }) {
      const ready = await client.ready();
      for (const [store, check] of Object.entries(ready.checks)) say(`${store}: ${check.ok ? 'ok' : check.error}`);
      if (ready.status !== 'ready') throw new Error('the server is not ready');
      facts.schema = server.platform.schemaVersion ?? 'none';
    },
  },
];
