/** Explanations: TreeSHAP, KernelSHAP and LIME, global importance, explanations of logged predictions. */
export { ExplainService } from './service.js';
export type { ExplainDeps, ExplainModels, ExplainLog, ExplainDatasets, DatasetRef, ImportanceInput, ShapImportance, PermutationImportance, VersionImportance } from './service.js';
export { explainMigrations } from './migrations.js';
export { checkMethod, METHODS } from './explainer.js';
export type { ExplainMethod, ExplainOptions, Explanation } from './explainer.js';
export { treeEnsemble, treeShap, treeShapInteractions } from './tree-shap.js';
export type { TreeEnsemble } from './tree-shap.js';
export { kernelShap } from './kernel-shap.js';
export { lime } from './lime.js';
export { summarize, uniformBackground } from './background.js';
export type { Background } from './background.js';
export type { Attributions, ModelFn } from './types.js';
export { renderExplanationReport } from './report.js';
export type { ReportOptions } from './report.js';
export { SampledExplanationLog, checkRate, rewrapExplanations } from './sampled-log.js';
export type { SampledLogStats, StoredExplanation } from './sampled-log.js';
