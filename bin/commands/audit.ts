import type { Command } from 'commander';
import { describeFailure, type ExecutionReport, type LocalExecution } from '../../bin/local/engine';
import type { AuditRunSummary, RegionAuditReport } from '../../lambdas/core/audit';
import type { CliContext } from '../cli/context';
import { formatOutput, renderTable } from '../cli/output';
import { openPipeline } from '../cli/pipeline';

interface AuditOptions {
  readonly repair?: boolean;
  readonly pollSeconds?: string;
}

/** What an audit execution leaves: its run summary and each region's report (or failure). */
export interface AuditResult {
  readonly status: string;
  readonly summary?: AuditRunSummary;
  readonly regions: readonly (RegionAuditReport | { region: string; status: 'failed'; error: string })[];
  readonly error?: string;
}

/** The final state of an audit execution: its output, or for a failed run what its Fail state received. */
export function auditResult(execution: LocalExecution, report: ExecutionReport): AuditResult {
  const failState = execution.history.find((e) => e.type === 'FailStateEntered')?.stateEnteredEventDetails?.input;
  const state = (report.output ?? (failState ? JSON.parse(failState) : {})) as {
    summary?: { summary?: AuditRunSummary };
    outcomes?: AuditResult['regions'];
  };
  return {
    status: report.status,
    summary: state.summary?.summary,
    regions: state.outcomes ?? [],
    ...(report.status !== 'SUCCEEDED' && !failState ? { error: describeFailure(report) } : {}),
  };
}

/** The audit's outcome as a table: one row per finding (region, series, kind, reason, repaired?), then the totals. */
export function auditTable(result: AuditResult): string {
  const summary = result.summary;
  if (!summary) return `The audit ${result.status.toLowerCase()}${result.error ? `: ${result.error}` : ''}`;
  const lines = [
    `${summary.builds} current build(s) in ${summary.regions} region(s): ${summary.found} finding(s), ${summary.repaired} repaired, ${summary.unrepaired} left${summary.repair ? '' : ' (run without --repair: nothing was changed)'}`,
  ];
  if (summary.findings.length > 0) {
    lines.push(
      '',
      renderTable(summary.findings, [
        { header: 'REGION', value: (f) => f.region },
        { header: 'SERIES', value: (f) => f.series },
        { header: 'KIND', value: (f) => f.kind },
        { header: 'REASON', value: (f) => f.reason },
        {
          header: 'REPAIRED',
          value: (f) =>
            f.outcome === 'repaired' ? 'yes' : f.outcome === 'not-asked' ? 'no' : `no: ${f.cause ?? f.outcome}`,
        },
      ]),
    );
    if (summary.found > summary.findings.length)
      lines.push(`... and ${summary.found - summary.findings.length} more (see --output json for each region)`);
  }
  for (const region of result.regions)
    if (region.status === 'failed' && 'error' in region && region.error)
      lines.push(`region ${region.region} failed: ${region.error}`);
  return lines.join('\n');
}

/** `ami-pipeline audit`: checks every region for the current builds and, with `--repair`, repairs what it finds. */
export function registerAudit(program: Command, context: () => CliContext): void {
  program
    .command('audit')
    .description(
      'check that every region has the newest build of each line and each supported release, public, tagged, deprecated and in SSM',
    )
    .option('--repair', 'repair what is found (copies, permissions, tags, deprecation, SSM); without it only report')
    .option('--poll-seconds <n>', 'seconds before the first poll of repair copies (then doubling)')
    .action(async (options: AuditOptions) => {
      const ctx = context();
      const pipeline = await openPipeline(ctx);
      const execution = pipeline.audit({
        repair: options.repair === true,
        ...(ctx.regions ? { regions: ctx.regions } : {}),
        ...(options.pollSeconds === undefined ? {} : { pollSeconds: Number(options.pollSeconds) }),
      });
      const report = await execution.done;
      const result = auditResult(execution, report);
      ctx.print(formatOutput(ctx.output, result, auditTable));
      if (report.status !== 'SUCCEEDED' || (result.summary?.unrepaired ?? 0) > 0) process.exitCode = 1;
    });
}
