/**
 * `modelport gate`: the champion/challenger check for any CI system. Exit 0 when the candidate
 * passes, 1 when it does not (2 for a usage or server error), with the report on stdout.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { readTable } from '../data/read-table.js';
import { formatGateReport, tableToColumns } from '../pipelines/gate.js';
import { PipelinesClient } from '../client/pipelines.js';
import { globalOptions, withClient } from './context.js';

interface GateFlags {
  model: string;
  candidate: string;
  against: string;
  metric: string;
  minDelta: string;
  label: string;
  maxLatencyMs?: string;
  json?: boolean;
}

function number(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw invalidArgument(`${flag}: "${raw}" is not a number`);
  return v;
}

export function registerGateCommand(program: Command): void {
  program
    .command('gate')
    .description('pass (exit 0) or fail (exit 1) a candidate model version against the champion on the holdout file --data FILE (.csv, .jsonl, .parquet); embedded, the data folder comes from MODELPORT_DATA')
    .requiredOption('--model <name>', 'registered model')
    .requiredOption('--candidate <version>', 'candidate version (number or alias)')
    .option('--against <alias>', 'alias or version to beat', 'champion')
    .requiredOption('--metric <name>', 'roc_auc, accuracy, f1, log_loss, rmse, mae, r2, ...')
    .option('--min-delta <number>', 'how much better the candidate must be', '0')
    .option('--label <column>', 'the column with the true label or value', 'label')
    .option('--max-latency-ms <ms>', 'largest median one-row latency allowed')
    .option('--json', 'print the report as JSON')
    .action(async (flags: GateFlags, cmd: Command) => {
      // `--data` is the program's option too: for this command it names the holdout, as CI
      // scripts write it, and the data folder of an embedded run comes from MODELPORT_DATA.
      const file = globalOptions(cmd).data;
      if (!file) throw invalidArgument('--data: name the holdout file (.csv, .jsonl or .parquet) with the label column');
      const table = await readTable(file);
      await withClient(cmd, async (client) => {
        const report = await new PipelinesClient(client).gate(
          {
            model: flags.model,
            candidate: flags.candidate,
            against: flags.against,
            metric: flags.metric,
            minDelta: number(flags.minDelta, '--min-delta'),
            maxLatencyMs: number(flags.maxLatencyMs, '--max-latency-ms'),
            label: flags.label,
          },
          tableToColumns(table),
        );
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatGateReport(report));
        if (!report.passed) process.exitCode = 1;
      }, { data: undefined });
    });
}
