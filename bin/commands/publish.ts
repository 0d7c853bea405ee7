import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { describeFailure, type ExecutionReport } from '../../bin/local/engine';
import { DynamoLedger, MemoryLedger, type PublishLedger } from '../../lambdas/aws/publish/ledger';
import {
  type AnnounceSummary,
  type FailedRegion,
  planPublishRun,
  type RegionSummary,
} from '../../lambdas/aws/publish/service';
import { PartialFailureError } from '../../lambdas/core/errors';
import { planCounts } from '../../lambdas/core/publish';
import { TOPIC_ENV } from '../../lambdas/publish/announce';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import type { CliContext } from '../cli/context';
import { formatOutput, renderTable } from '../cli/output';
import { openPipeline } from '../cli/pipeline';

interface PublishOptions {
  readonly ami?: string[];
  readonly dryRun?: boolean;
  readonly topicArn?: string;
  readonly pollSeconds?: string;
  readonly bootTest?: boolean;
}

type RegionRow = Partial<RegionSummary> & Pick<FailedRegion, 'region' | 'status'> & { readonly error?: string };

/** The final state of a publish execution: its output, or for a failed run what its Fail state received. */
function finalState(report: ExecutionReport | undefined, failState: unknown): Record<string, unknown> {
  return (report?.output ?? failState ?? {}) as Record<string, unknown>;
}

/** The publish execution's outcome: one row per region, what failed, then the executions it started. */
function resultTable(reports: readonly ExecutionReport[], failState: unknown): string {
  const [publish, ...started] = reports;
  const output = finalState(publish, failState) as {
    count?: number;
    buildRegion?: string;
    outcomes?: RegionRow[];
    summary?: AnnounceSummary;
    gaveUp?: { id: string; region: string; error: string }[];
  };
  const lines = [
    `${output.count ?? 0} source image(s) from ${output.buildRegion ?? '?'}: publish ${publish?.status.toLowerCase()}`,
  ];
  if (publish && publish.status !== 'SUCCEEDED') lines.push(describeFailure(publish));
  if (output.outcomes?.length) {
    lines.push(
      '',
      renderTable(output.outcomes, [
        { header: 'REGION', value: (o) => o.region },
        { header: 'STATUS', value: (o) => o.status },
        { header: 'PAIRS', value: (o) => o.pairs ?? 0, align: 'right' },
        { header: 'PUBLISHED', value: (o) => o.published ?? 0, align: 'right' },
        { header: 'FAILED', value: (o) => o.failed ?? 0, align: 'right' },
        { header: 'CHANGES', value: (o) => o.changes ?? 0, align: 'right' },
        { header: 'ERROR', value: (o) => o.error },
      ]),
    );
  }
  const failures = [...(output.summary?.failures ?? []), ...(output.gaveUp ?? [])];
  if (failures.length) lines.push('', ...failures.map((f) => `failed ${f.region} ${f.id}: ${f.error}`));
  for (const child of started) lines.push('', `${child.workflow} ${child.status.toLowerCase()} (${child.name})`);
  return lines.join('\n');
}

/**
 * The publish ledger of the stack the CLI works with: the emulator's (made locally) or the deployed stack's. Without a
 * deployed stack there is none, and a dry run plans every pair.
 */
async function ledgerOf(ctx: CliContext): Promise<PublishLedger> {
  const pipeline = await openPipeline(ctx);
  try {
    return new DynamoLedger(
      ctx.clients.client(DynamoDBClient, ctx.config.buildRegion),
      pipeline.output(STACK_OUTPUTS.publishLedgerTable),
    );
  } catch {
    ctx.logger.warn('no publish ledger: the stack is not deployed, so every pair is planned');
    return new MemoryLedger();
  }
}

/** `ami-pipeline publish`: copies new images to every region, makes them public, tags and announces them. */
export function registerPublish(program: Command, context: () => CliContext): void {
  program
    .command('publish')
    .description('publish new source images to every enabled region (public, tagged, deprecation, SSM, announcement)')
    .option('--ami <id...>', 'publish these source images instead of discovering new ones')
    .option('--dry-run', 'print the plan and each region’s preflight; change nothing')
    .option('--topic-arn <arn>', 'SNS topic to announce on (default: the stack’s announcements topic, if any)')
    .option('--poll-seconds <n>', 'seconds before the first availability poll (then doubling)')
    .option('--no-boot-test', 'do not start the boot test of the published images')
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
        const dry = await planPublishRun({ ...run, ledger: await ledgerOf(ctx) });
        const rows = dry.plan.regions.flatMap((r) => r.images);
        const counts = planCounts(dry.plan);
        ctx.print(
          formatOutput(ctx.output, dry, () =>
            [
              `${dry.discovery.sources.length} source image(s) in ${dry.selection.selected.length} region(s); ${counts.copies} copies and ${counts.actions} changes planned`,
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
              ...dry.discovery.gaveUp.map((g) => `would give up ${g.region} ${g.id}: ${g.error}`),
            ].join('\n'),
          ),
        );
        return;
      }
      const config =
        options.bootTest === false
          ? { ...ctx.config, bootTest: { ...ctx.config.bootTest, enabled: false } }
          : ctx.config;
      const pipeline = await openPipeline(ctx, {
        config,
        environment: options.topicArn ? { [TOPIC_ENV]: options.topicArn } : undefined,
      });
      const execution = pipeline.publish({
        ...(run.imageIds?.length ? { imageIds: run.imageIds } : {}),
        ...(run.regions ? { regions: run.regions } : {}),
        ...(run.pollSeconds === undefined ? {} : { pollSeconds: run.pollSeconds }),
      });
      await execution.done;
      const reports = await pipeline.settled();
      const failState = execution.history.find((e) => e.type === 'FailStateEntered')?.stateEnteredEventDetails?.input;
      const final = failState ? JSON.parse(failState) : undefined;
      ctx.print(formatOutput(ctx.output, reports, (r) => resultTable(r, final)));
      const failed = reports.filter((r) => r.status !== 'SUCCEEDED');
      if (failed.length > 0) {
        throw new PartialFailureError(failed.map(describeFailure).join('; '), []);
      }
    });
}
