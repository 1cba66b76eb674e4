/** The JSON shape of a data-drift report: every per-column statistic, the choice made, the verdict. */

export type DriftMethod = 'ks' | 'wasserstein' | 'psi' | 'jensenshannon' | 'chisquare' | 'z' | 't_test';
export type ColumnKind = 'numerical' | 'categorical';
/** `id` and `timestamp` columns are reported but never compared (see column-roles.ts). */
export type ColumnRole = 'feature' | 'prediction' | 'target' | 'id' | 'timestamp';

export interface ColumnOverride {
  method?: DriftMethod;
  threshold?: number;
}

export interface DriftOptions {
  /** Dataset drift when drifted columns / compared columns reaches this share (Evidently: 0.5). */
  driftShare?: number;
  /** Compare only these columns (default: every column of the reference). */
  columns?: string[];
  /** Force a column's kind, e.g. an integer-coded category as 'categorical'. */
  columnTypes?: Record<string, ColumnKind>;
  /** Method for every column, then for every numerical / categorical one (per-column wins). */
  method?: DriftMethod;
  numMethod?: DriftMethod;
  catMethod?: DriftMethod;
  /** Threshold for every column's method (per-column wins). */
  threshold?: number;
  perColumn?: Record<string, ColumnOverride>;
  /** The model-output column: compared like any other and reported with role 'prediction'. */
  predictionColumn?: string;
  targetColumn?: string;
  /** Row identifiers and timestamps: reported, never compared. Others are recognised unless `detectIdentity` is false. */
  idColumns?: string[];
  timestampColumns?: string[];
  /** Recognise id and timestamp columns nobody named (default: true unless `columns` lists what to compare). */
  detectIdentity?: boolean;
  /** Labels used in messages and the report (default: the tables' source paths). */
  referenceName?: string;
  currentName?: string;
}

export interface SideSummary {
  rows: number;
  missing: number;
  missingShare: number;
  /** Distinct non-missing values. */
  distinct: number;
  /** Numerical columns only. */
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
}

export interface KsStat {
  statistic: number;
  pvalue: number;
  location: number;
  sign: 1 | -1;
  method: 'exact' | 'asymp';
}

export interface PValueStat {
  statistic: number;
  pvalue: number;
}

export interface ColumnStats {
  ks?: KsStat;
  wasserstein?: number;
  /** Wasserstein / max(reference std, 0.001). */
  wassersteinNormed?: number;
  tTest?: PValueStat & { df: number };
  chiSquare?: PValueStat & { dof: number };
  zTest?: PValueStat;
  /** Over the bins/categories of `distribution`, empty bins given share 0.0001. */
  psi: number;
  /** Jensen–Shannon distance, natural log, on the same 0.0001-filled shares. */
  jensenShannon: number;
  /** Evidently's `jensenshannon` score: base 2, shares without the 0.0001 fill. */
  jensenShannonBase2: number;
}

/** The binned or per-value counts the statistics (and the report's charts) were computed on. */
export type Distribution =
  | { kind: 'bins'; edges: number[]; reference: number[]; current: number[] }
  | { kind: 'values'; values: string[]; reference: number[]; current: number[] };

export interface ComputedColumn {
  column: string;
  role: ColumnRole;
  computed: true;
  kind: ColumnKind;
  method: DriftMethod;
  /** Whether the method was picked by the default rule or given by the caller. */
  methodSource: 'default' | 'override';
  threshold: number;
  /** The method's number: a p-value (ks, chisquare, z, t_test) or a distance (the rest). */
  score: number;
  /** The rule the verdict applies, e.g. "p_value <= threshold". */
  rule: string;
  drift: boolean;
  reference: SideSummary;
  current: SideSummary;
  /** current missing share − reference missing share. */
  missingShareChange: number;
  stats: ColumnStats;
  distribution: Distribution;
  /** Facts worth knowing that do not stop the comparison (constant column, unseen categories). */
  notes: string[];
}

export interface SkippedColumn {
  column: string;
  role: ColumnRole;
  computed: false;
  reason: string;
}

export type ColumnDrift = ComputedColumn | SkippedColumn;

export interface DriftReport {
  reference: { name: string; rows: number };
  current: { name: string; rows: number };
  generatedAt: string;
  summary: {
    columns: number;
    computed: number;
    drifted: number;
    /** drifted / computed (0 when nothing could be compared). */
    share: number;
    driftShare: number;
    datasetDrift: boolean;
  };
  columns: ColumnDrift[];
}
