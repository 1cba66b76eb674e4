// WebAssembly text to bytes with WABT (the wabt package), SIMD on: shared by `npm run wasm` and the test that checks its output.
import wabtInit from 'wabt';

export async function wasmBytes(text) {
  const wabt = await wabtInit();
  const module = wabt.parseWat('kernels.wat', text, { simd: true });
  try {
    module.validate();
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}
