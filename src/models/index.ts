/**
 * Model runtimes: load an artifact into a Predictor that maps a Batch to a Batch.
 */
export { Batch, column, allocate, allocatePooled, compact, rowSize, cellValue, nest, sameShape, isDType, DTYPES, toFloat16Bits, fromFloat16Bits } from './batch.js';
export type { Column, ColumnData, DType, NumericDType, NumericArray, ArrayOf } from './batch.js';
export { conform, castData, formatSpec } from './signature.js';
export type { Signature, TensorSpec, ConformOptions } from './signature.js';
export { toBatch, fromRecords, fromColumns, fromTensors, fromValues, V2_DATATYPES } from './coerce.js';
export type { TensorInput } from './coerce.js';
export type { Predictor, Flavor, LoadOptions, GraphOptimizationLevel } from './predictor.js';
export { loadModel, registerFlavor, flavorNames, resolveArtifact } from './registry.js';
export type { ResolvedArtifact } from './registry.js';
export { readMLmodel } from './mlmodel.js';
export { PreprocessedPredictor, parsePreprocess, readPreprocess, PREPROCESS_FILE } from './preprocess.js';
export type { PreprocessSpec } from './preprocess.js';
export type { MLmodel } from './mlmodel.js';
export { parseXgboost } from './xgboost/model.js';
export type { XgbModel } from './xgboost/model.js';
export { xgboostPredictor } from './xgboost/flavor.js';
export { xgboostToOnnx } from './xgboost/to-onnx.js';
export { buildOnnxModel, ONNX_TYPE } from './onnx/builder.js';
export type { ModelInit, NodeInit, ValueInit, TensorInit, AttributeValue } from './onnx/builder.js';
export type { JsModel, JsModelModule, JsModelContext } from './js/flavor.js';
