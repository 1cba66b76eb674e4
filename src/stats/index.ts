export { sturgesEdges, histogramSorted } from './binning.js';
export { EMPTY_BIN_SHARE, proportions, psi, jensenShannon } from './divergence.js';
export { ks2Samp, ks2SampSorted, compareSortedSamples, type KsMethod, type KsResult, type EcdfComparison } from './ks.js';
export { kolmogornSf, smirnovSf } from './kolmogorov.js';
export { sortedFinite, meanVariance, countDistinctSorted, countDistinctUnionSorted } from './sample.js';
export {
  chiSquareSf,
  chiSquareTest,
  chiSquareDrift,
  chiSquareHomogeneity,
  twoProportionZTest,
  welchTTest,
  welchFromMoments,
  type TestResult,
  type ChiSquareResult,
  type WelchResult,
} from './tests.js';
export { MIN_NORM_STD, wassersteinDistance, normedWasserstein } from './wasserstein.js';
export { normalQuantile, tQuantile, proportionDifference, meanDifference, MixtureSprt, sampleSizePerArm, type Difference, type Moments } from './ab.js';
