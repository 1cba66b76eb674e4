/**
 * Converts a parsed XGBoost model to ONNX: one ai.onnx.ml TreeEnsembleRegressor producing the
 * margins (`margin`), then the objective's transform (`prediction`). Same outputs as the
 * xgboost flavor, so either runtime can serve the model. Categorical splits have no
 * TreeEnsemble equivalent and are refused.
 */
import { failedPrecondition } from '../../core/errors.js';
import { buildOnnxModel, type NodeInit, type TensorInit } from '../onnx/builder.js';
import type { LoadOptions } from '../predictor.js';
import { treeRange } from './flavor.js';
import { transformOf, type XgbModel } from './model.js';

export function xgboostToOnnx(model: XgbModel, options: Pick<LoadOptions, 'useBestIteration' | 'iterationRange'> = {}): Uint8Array {
  const [begin, end] = treeRange(model, options);
  const nodes = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueids: [] as number[],
    falseids: [] as number[],
    missingTrue: [] as number[],
  };
  const targets = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  for (let t = begin; t < end; t++) {
    const tree = model.trees[t];
    const id = t - begin;
    const weight = model.treeWeight[t];
    for (let n = 0; n < tree.left.length; n++) {
      nodes.treeids.push(id);
      nodes.nodeids.push(n);
      const leaf = tree.left[n] === -1;
      if (!leaf && tree.splitType?.[n] === 1) {
        throw failedPrecondition(`tree ${t} has a categorical split, which ONNX TreeEnsemble cannot express`);
      }
      nodes.modes.push(leaf ? 'LEAF' : 'BRANCH_LT');
      nodes.featureids.push(leaf ? 0 : tree.splitIndex[n]);
      nodes.values.push(leaf ? 0 : tree.splitCondition[n]);
      nodes.trueids.push(leaf ? 0 : tree.left[n]);
      nodes.falseids.push(leaf ? 0 : tree.right[n]);
      nodes.missingTrue.push(leaf ? 0 : Number(tree.defaultLeft[n]));
      if (leaf) {
        targets.treeids.push(id);
        targets.nodeids.push(n);
        targets.ids.push(model.treeGroup[t]);
        targets.weights.push(Math.fround(tree.splitCondition[n]) * weight);
      }
    }
  }
  const k = model.numGroups;
  const graph: NodeInit[] = [
    {
      op: 'TreeEnsembleRegressor',
      domain: 'ai.onnx.ml',
      inputs: ['input'],
      outputs: [k === 1 ? 'margin_2d' : 'margin'],
      attributes: {
        nodes_treeids: { ints: nodes.treeids },
        nodes_nodeids: { ints: nodes.nodeids },
        nodes_featureids: { ints: nodes.featureids },
        nodes_modes: { strings: nodes.modes },
        nodes_values: { floats: nodes.values },
        nodes_truenodeids: { ints: nodes.trueids },
        nodes_falsenodeids: { ints: nodes.falseids },
        nodes_missing_value_tracks_true: { ints: nodes.missingTrue },
        target_treeids: { ints: targets.treeids },
        target_nodeids: { ints: targets.nodeids },
        target_ids: { ints: targets.ids },
        target_weights: { floats: targets.weights },
        n_targets: { int: k },
        base_values: { floats: model.baseMargin },
        aggregate_function: { string: 'SUM' },
        post_transform: { string: 'NONE' },
      },
    },
  ];
  const initializers: TensorInit[] = [];
  if (k === 1) {
    initializers.push({ name: 'squeeze_axes', dtype: 'int64', dims: [1], values: [1] });
    graph.push({ op: 'Squeeze', inputs: ['margin_2d', 'squeeze_axes'], outputs: ['margin'] });
  }
  const transform = transformOf(model.objective);
  switch (transform) {
    case 'identity':
      graph.push({ op: 'Identity', inputs: ['margin'], outputs: ['prediction'] });
      break;
    case 'sigmoid':
      graph.push({ op: 'Sigmoid', inputs: ['margin'], outputs: ['prediction'] });
      break;
    case 'exp':
      graph.push({ op: 'Exp', inputs: ['margin'], outputs: ['prediction'] });
      break;
    case 'softmax':
      graph.push({ op: 'Softmax', inputs: ['margin'], outputs: ['prediction'], attributes: { axis: { int: -1 } } });
      break;
    case 'argmax':
      graph.push(
        { op: 'ArgMax', inputs: ['margin'], outputs: ['label'], attributes: { axis: { int: 1 }, keepdims: { int: 0 } } },
        { op: 'Cast', inputs: ['label'], outputs: ['prediction'], attributes: { to: { int: 1 } } },
      );
      break;
    case 'hinge':
      initializers.push({ name: 'zero', dtype: 'float32', dims: [], values: [0] });
      graph.push(
        { op: 'Greater', inputs: ['margin', 'zero'], outputs: ['positive'] },
        { op: 'Cast', inputs: ['positive'], outputs: ['prediction'], attributes: { to: { int: 1 } } },
      );
      break;
  }
  const rowShape = k === 1 ? ['N'] : ['N', k];
  return buildOnnxModel({
    inputs: [{ name: 'input', dtype: 'float32', dims: ['N', model.numFeature] }],
    outputs: [
      { name: 'margin', dtype: 'float32', dims: rowShape },
      { name: 'prediction', dtype: 'float32', dims: transform === 'argmax' ? ['N'] : rowShape },
    ],
    nodes: graph,
    initializers,
    opsets: { '': 15, 'ai.onnx.ml': 3 },
  });
}
