import { invalidArgument } from '../../core/errors.js';
import { Adwin, type AdwinOptions } from './adwin.js';
import { Ddm, type DdmOptions } from './ddm.js';
import { PageHinkley, type PageHinkleyOptions } from './page-hinkley.js';
import type { StreamingDetector } from './types.js';

export * from './types.js';
export { Adwin, type AdwinOptions } from './adwin.js';
export { Ddm, type DdmOptions } from './ddm.js';
export { PageHinkley, type PageHinkleyOptions } from './page-hinkley.js';

export type DetectorSpec =
  | { kind: 'adwin'; options?: AdwinOptions }
  | { kind: 'ddm'; options?: DdmOptions }
  | { kind: 'page_hinkley'; options?: PageHinkleyOptions };

export function createDetector(spec: DetectorSpec): StreamingDetector {
  switch (spec.kind) {
    case 'adwin':
      return new Adwin(spec.options);
    case 'ddm':
      return new Ddm(spec.options);
    case 'page_hinkley':
      return new PageHinkley(spec.options);
    default:
      throw invalidArgument(`unknown detector "${(spec as { kind: string }).kind}"; use adwin, ddm or page_hinkley`);
  }
}

/** Feeds a whole stream; the indices (0-based) where the detector signalled drift and warning. */
export function runDetector(detector: StreamingDetector, stream: ArrayLike<number>): { drifts: number[]; warnings: number[] } {
  const drifts: number[] = [];
  const warnings: number[] = [];
  for (let i = 0; i < stream.length; i++) {
    const s = detector.update(stream[i]);
    if (s.drift) drifts.push(i);
    if (s.warning) warnings.push(i);
  }
  return { drifts, warnings };
}
