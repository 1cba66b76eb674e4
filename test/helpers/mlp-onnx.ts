/**
 * The bench's MLP: 30-64-32-2 with ReLU and softmax, seeded weights. bench/serving serves it
 * and the ONNX engine tests check the JavaScript evaluator against onnxruntime on it.
 */
import type { ModelInit } from '../../src/models/onnx/builder.js';

export function mlpModel(): ModelInit {
  let seed = 1;
  const random = () => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff - 0.5) / 4;
  const dense = (name: string, from: number, to: number) => [
    { name: `${name}_w`, dtype: 'float32' as const, dims: [from, to], values: Array.from({ length: from * to }, random) },
    { name: `${name}_b`, dtype: 'float32' as const, dims: [to], values: Array.from({ length: to }, random) },
  ];
  return {
    inputs: [{ name: 'input', dtype: 'float32', dims: ['N', 30] }],
    outputs: [{ name: 'probabilities', dtype: 'float32', dims: ['N', 2] }],
    initializers: [...dense('l1', 30, 64), ...dense('l2', 64, 32), ...dense('l3', 32, 2)],
    nodes: [
      { op: 'Gemm', inputs: ['input', 'l1_w', 'l1_b'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'l2_w', 'l2_b'], outputs: ['h2'] },
      { op: 'Relu', inputs: ['h2'], outputs: ['a2'] },
      { op: 'Gemm', inputs: ['a2', 'l3_w', 'l3_b'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: { axis: { int: 1 } } },
    ],
  };
}
