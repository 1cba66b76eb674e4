/**
 * Columns a dataset's schema marks as personal data (`pii: hash | drop`): their values never
 * reach a profile or a validation report. A profile keeps a PII column's counts (rows,
 * missing, distinct) and drops every statistic made of values (extremes, means, quantiles,
 * histograms, frequent values); an anomaly on one keeps its kind and count, not its examples.
 */
import type { DatasetSchema, Profile, ValidationReport } from './types.js';

export function piiColumns(schema: DatasetSchema | undefined): Set<string> {
  return new Set((schema?.columns ?? []).filter((c) => c.pii !== undefined).map((c) => c.name));
}

export function redactProfile(profile: Profile, pii: ReadonlySet<string>): Profile {
  if (pii.size === 0) return profile;
  return {
    ...profile,
    columns: profile.columns.map((c) => {
      if (!pii.has(c.name)) return c;
      const { name, type, sourceType, count, missing, missingShare, distinct, nan } = c;
      return { name, type, sourceType, count, missing, missingShare, distinct, ...(nan === undefined ? {} : { nan }), topValues: [] };
    }),
  };
}

export function redactReport(report: ValidationReport, pii: ReadonlySet<string>): ValidationReport {
  if (pii.size === 0) return report;
  return {
    ...report,
    anomalies: report.anomalies.map((a) => {
      if (!pii.has(a.column)) return a;
      const { examples: _examples, ...rest } = a;
      const withheld = 'values withheld (PII column)';
      return { ...rest, seen: withheld, message: `column "${a.column}": ${a.kind.replace(/_/g, ' ')}${a.count === undefined ? '' : ` in ${a.count} rows`}; ${withheld}` };
    }),
  };
}
