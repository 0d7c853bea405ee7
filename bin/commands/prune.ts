import type { Command } from 'commander';
import { runAdopt, runPrune } from '../../lambdas/aws/prune';
import type { ImagePlanEntry, PrunePlan, PruneReport } from '../../lambdas/core/prune';
import type { ExecutionReport } from '../../bin/local/engine';
import { type CliContext, commandRegions } from '../cli/context';
import { formatOutput, renderTable } from '../cli/output';
import { openPipeline } from '../cli/pipeline';

/** What the prune workflow's Summary step reports. */
interface PruneSummary {
  readonly imagesDeregistered: number;
  readonly snapshotsDeleted: number;
  readonly gibReclaimed: number;
  readonly failedRegions: string[];
  readonly failedCount: number;
}

function summaryOf(report: ExecutionReport): PruneSummary | undefined {
  return (report.output as { summary?: { summary?: PruneSummary } } | undefined)?.summary?.summary;
}

interface SeriesRow {
  readonly region: string;
  readonly series: string;
  readonly keep: number;
  readonly deregister: number;
  readonly softDelete: number;
  readonly deferred: number;
  readonly reasons: string;
}

/** One row per region and series (unparseable names under `(unmanaged)`), with counts and the reasons seen. */
export function planRows(plan: PrunePlan): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (const region of plan.regions) {
    const groups = new Map<string, ImagePlanEntry[]>();
    for (const image of region.images) {
      const series = image.seriesKey ?? '(unmanaged)';
      groups.set(series, [...(groups.get(series) ?? []), image]);
    }
    for (const [series, images] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      const reasons = new Map<string, number>();
      for (const image of images) reasons.set(image.reason, (reasons.get(image.reason) ?? 0) + 1);
      rows.push({
        region: region.region,
        series,
        keep: images.filter((i) => i.action === 'keep').length,
        deregister: images.filter((i) => i.action === 'deregister').length,
        softDelete: images.filter((i) => i.action === 'soft-delete').length,
        deferred: images.filter((i) => i.action === 'deferred').length,
        reasons: [...reasons].map(([reason, count]) => `${reason} ${count}`).join(', '),
      });
    }
  }
  return rows;
}

function detailTable(plan: PrunePlan): string {
  const rows = plan.regions.flatMap((r) => r.images.map((image) => ({ region: r.region, ...image })));
  return renderTable(rows, [
    { header: 'REGION', value: (r) => r.region },
    { header: 'IMAGE', value: (r) => r.imageId },
    { header: 'NAME', value: (r) => r.name },
    { header: 'ACTION', value: (r) => r.action },
    { header: 'WHY', value: (r) => r.detail },
  ]);
}

function reportTable(report: PruneReport): string {
  return renderTable(report.regions, [
    { header: 'REGION', value: (r) => r.region },
    { header: report.dryRun ? 'WOULD DEREGISTER' : 'DEREGISTERED', value: (r) => r.imagesDeregistered, align: 'right' },
    {
      header: report.dryRun ? 'WOULD DELETE SNAPSHOTS' : 'SNAPSHOTS DELETED',
      value: (r) => r.snapshotsDeleted,
      align: 'right',
    },
    { header: 'GIB', value: (r) => r.gibReclaimed, align: 'right' },
    { header: 'UNMANAGED', value: (r) => r.unmanagedFound, align: 'right' },
    { header: 'OVER CAP', value: (r) => r.remainingOverCap, align: 'right' },
    { header: 'BREAKER', value: (r) => (r.breaker.tripped ? 'tripped' : r.breaker.overridden ? 'overridden' : 'ok') },
    { header: 'FAILURES', value: (r) => r.error ?? (r.failures.length || ''), align: 'right' },
  ]);
}

function retiredLinesTable(report: PruneReport): string[] {
  if (report.retiredLines.length === 0) return [];
  return [
    '',
    renderTable(report.retiredLines, [
      { header: 'RETIRED LINE', value: (r) => r.line },
      { header: 'END OF LIFE', value: (r) => r.endOfLife },
      { header: 'IMAGES', value: (r) => r.images, align: 'right' },
      { header: 'SNAPSHOTS', value: (r) => r.snapshots, align: 'right' },
      { header: 'GIB', value: (r) => Math.round(r.gib * 10) / 10, align: 'right' },
      { header: report.dryRun ? 'WOULD DEREGISTER' : 'DEREGISTER', value: (r) => r.imagesDeleted, align: 'right' },
      {
        header: 'KEPT',
        value: (r) =>
          Object.entries(r.keptByReason)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([reason, count]) => `${reason} ${count}`)
            .join(', '),
      },
    ]),
  ];
}

/** `ami-pipeline prune` and `ami-pipeline adopt`: the retention plan, its execution, and adopting existing images. */
export function registerPrune(program: Command, context: () => CliContext): void {
  program
    .command('prune')
    .description('plan (default) or execute the retention of AMIs and snapshots in every region')
    .option('--execute', 'deregister and delete for real; without it the CLI only plans, whatever safety.dryRun says')
    .option(
      '--override-breaker',
      'let regions delete more than safety.maxDeleteShare of their images (backlog clean-up)',
    )
    .option('--details', 'also list every image with its action and the reason for it')
    .action(async (options: { execute?: boolean; overrideBreaker?: boolean; details?: boolean }) => {
      const ctx = context();
      const regions = (await commandRegions(ctx, { requireSome: true })).selected;
      // The plan the run starts from (the workflow's Plan step computes the same), for the tables.
      const planned = await runPrune({
        config: ctx.config,
        clients: ctx.clients,
        now: ctx.now(),
        logger: ctx.logger,
        regions,
        execute: false,
        overrideBreaker: options.overrideBreaker === true,
      });
      let execution: ExecutionReport | undefined;
      if (options.execute) {
        const pipeline = await openPipeline(ctx);
        execution = await pipeline.prune({
          execute: true,
          overrideBreaker: options.overrideBreaker === true,
          // The names as given: the workflow resolves them as the plan did, and an empty list would mean every region.
          ...(ctx.regions ? { regions: ctx.regions } : {}),
        }).done;
      }
      const summary = execution && summaryOf(execution);
      ctx.print(
        formatOutput(ctx.output, { plan: planned.plan, report: planned.report, execution }, ({ plan, report }) =>
          [
            renderTable(planRows(plan), [
              { header: 'REGION', value: (r) => r.region },
              { header: 'SERIES', value: (r) => r.series },
              { header: 'KEEP', value: (r) => r.keep, align: 'right' },
              { header: 'DEREGISTER', value: (r) => r.deregister, align: 'right' },
              { header: 'SOFT-DELETE', value: (r) => r.softDelete, align: 'right' },
              { header: 'DEFERRED', value: (r) => r.deferred, align: 'right' },
              { header: 'REASONS', value: (r) => r.reasons },
            ]),
            ...(options.details ? ['', detailTable(plan)] : []),
            '',
            reportTable(report),
            ...retiredLinesTable(report),
            '',
            !execution
              ? 'Dry run: nothing was deleted. Run with --execute to apply this plan.'
              : summary
                ? `Deregistered ${summary.imagesDeregistered} images, deleted ${summary.snapshotsDeleted} snapshots, reclaimed ${summary.gibReclaimed} GiB.${summary.failedCount ? ` ${summary.failedCount} failure(s); regions failed: ${summary.failedRegions.join(', ') || 'none'}.` : ''}`
                : `The prune run ${execution.status.toLowerCase()}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
          ].join('\n'),
        ),
      );
      if (planned.report.totals.failures > 0 || (execution && execution.status !== 'SUCCEEDED')) process.exitCode = 1;
    });

  program
    .command('adopt')
    .description('tag pre-existing images with parseable names, and their snapshots, as managed by the pipeline')
    .option('--execute', 'write the tags; without it the CLI only plans')
    .action(async (options: { execute?: boolean }) => {
      const ctx = context();
      const result = await runAdopt({
        config: ctx.config,
        clients: ctx.clients,
        now: ctx.now(),
        logger: ctx.logger,
        regions: (await commandRegions(ctx, { requireSome: true })).selected,
        execute: options.execute === true,
      });
      const rows = result.plan.regions.flatMap((r) => r.entries.map((e) => ({ region: r.region, ...e })));
      ctx.print(
        formatOutput(ctx.output, result, () =>
          [
            renderTable(rows, [
              { header: 'REGION', value: (r) => r.region },
              { header: 'IMAGE', value: (r) => r.imageId },
              { header: 'NAME', value: (r) => r.name },
              { header: 'ACTION', value: (r) => r.action },
              { header: 'RESOURCES', value: (r) => r.resources.length, align: 'right' },
              { header: 'REASON', value: (r) => r.detail },
            ]),
            '',
            result.executed
              ? `Tagged ${result.tagged.length} images and snapshots; ${result.failed.length} failed.`
              : 'Dry run: nothing was tagged. Run with --execute to adopt.',
          ].join('\n'),
        ),
      );
      if (result.failed.length > 0 || result.failedRegions.length > 0) process.exitCode = 1;
    });
}
