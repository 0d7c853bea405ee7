import type { Command } from 'commander';
import { type PublishResult, planRun, type RegionProgress, runPublish } from '../../lambdas/aws/publish/service';
import { PartialFailureError } from '../../lambdas/core/errors';
import { planCounts } from '../../lambdas/core/publish';
import type { CliContext } from '../cli/context';
import { formatOutput, renderTable } from '../cli/output';

interface PublishOptions {
  readonly ami?: string[];
  readonly dryRun?: boolean;
  readonly topicArn?: string;
  readonly pollSeconds?: string;
}

function progressLine(states: Map<string, RegionProgress>): string {
  let available = 0;
  let copying = 0;
  let failed = 0;
  for (const progress of states.values()) {
    for (const copy of progress.copies) {
      if (copy.state === 'available') available++;
      else if (copy.state === 'failed') failed++;
      else copying++;
    }
  }
  return `publish: ${states.size} region(s), ${available} copies available, ${copying} in progress, ${failed} failed`;
}

function resultTable(result: PublishResult): string {
  const header = `${result.sources.length} source image(s) from ${result.buildRegion}; ${result.skipped.length} left out`;
  const rows = renderTable(result.outcomes, [
    { header: 'REGION', value: (o) => o.region },
    { header: 'STATUS', value: (o) => o.status },
    { header: 'PUBLISHED', value: (o) => Object.keys(o.published).length, align: 'right' },
    { header: 'FAILED', value: (o) => o.failed.length, align: 'right' },
    { header: 'CHANGES', value: (o) => o.changes, align: 'right' },
    { header: 'ERROR', value: (o) => o.error ?? o.failed[0]?.error },
  ]);
  return result.outcomes.length > 0 ? `${header}\n\n${rows}` : `${header}; nothing to publish`;
}

/** `ami-pipeline publish`: copies new images to every region, makes them public, tags and announces them. */
export function registerPublish(program: Command, context: () => CliContext): void {
  program
    .command('publish')
    .description('publish new source images to every enabled region (public, tagged, deprecation, SSM, announcement)')
    .option('--ami <id...>', 'publish these source images instead of discovering new ones')
    .option('--dry-run', 'print the plan and each region’s preflight; change nothing')
    .option('--topic-arn <arn>', 'SNS topic to announce on (without it, nothing is announced)')
    .option('--poll-seconds <n>', 'seconds before the first availability poll (then doubling)')
    .action(async (options: PublishOptions) => {
      const ctx = context();
      const run = {
        config: ctx.config,
        clients: ctx.clients,
        logger: ctx.logger,
        now: ctx.now,
        imageIds: options.ami?.flatMap((id) => id.split(',')).filter(Boolean),
        regions: ctx.regions,
        pollSeconds: options.pollSeconds === undefined ? undefined : Number(options.pollSeconds),
        topicArn: options.topicArn,
      };
      if (options.dryRun) {
        const dry = await planRun(run);
        const rows = dry.plan.regions.flatMap((r) => r.images);
        const counts = planCounts(dry.plan);
        ctx.print(
          formatOutput(ctx.output, dry, () =>
            [
              `${dry.discovery.sources.length} source image(s); ${counts.copies} copies and ${counts.actions} changes planned`,
              '',
              renderTable(rows, [
                { header: 'REGION', value: (i) => i.region },
                { header: 'IMAGE', value: (i) => i.name },
                { header: 'COPY', value: (i) => `${i.copy.action}${i.copy.imageId ? ` ${i.copy.imageId}` : ''}` },
                { header: 'CHANGES', value: (i) => [...i.actions.map((a) => a.kind), ...i.afterCopy].join(',') },
                { header: 'REASON', value: (i) => i.reason },
              ]),
              ...dry.preflight.filter((p) => !p.ok).map((p) => `preflight ${p.region}: ${p.problems.join('; ')}`),
              ...dry.discovery.skipped.map((s) => `left out ${s.imageId} ${s.name}: ${s.reason}`),
            ].join('\n'),
          ),
        );
        return;
      }
      const states = new Map<string, RegionProgress>();
      const result = await runPublish({
        ...run,
        onProgress: (progress) => {
          states.set(progress.region, progress);
          ctx.progress(progressLine(states));
        },
      });
      ctx.print(formatOutput(ctx.output, result, resultTable));
      if (result.failures.length > 0) {
        throw new PartialFailureError(
          `${result.failures.length} item(s) failed in ${new Set(result.failures.map((f) => f.region)).size} region(s)`,
          result.failures,
        );
      }
    });
}
