/**
 * The one point where serving lets another domain rewrite a request into the model's inputs:
 * a deployment bound to a feature service receives entity keys and request values, and the
 * hook answers the model's inputs (features looked up, on-demand features computed, in
 * signature order). What the hook returns is what the model sees and what the prediction log
 * records.
 */
import type { Batch, Signature } from '../models/index.js';

export interface RequestRewrite {
  /** What a request to the deployment must carry, instead of the model's own inputs. */
  requestSignature: Signature;
  /** The model's inputs for the decoded request. */
  assemble(request: Batch): Promise<Batch>;
}

/** Undefined (answered at once, without a promise) for deployments it does not rewrite. */
export type InputHook = (deployment: string, model: Signature) => RequestRewrite | undefined;
