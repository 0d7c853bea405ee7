import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ExecutionReport } from '../bin/local/engine';
import { synthesizeTemplate } from '../bin/local/pipeline';
import { BootRunTable, completedResult } from '../lambdas/aws/boot/runs';
import type { BootRunResult } from '../lambdas/core/boot/result';
import { parseConfig } from '../lambdas/core/config';
import { chartLibraries } from '../lambdas/core/report';
import { MAX_POLL_SECONDS } from '../lambdas/core/publish/history';
import { type AwsSim, COMMERCIAL_REGIONS, DEFAULT_OPTED_IN, runInVirtualTime } from '../scripts/aws-sim';
import { BOOT_TESTED_SERIES, freebsdAccount, newBuilds } from '../test/support/freebsd-week';
import { simulatedPipeline } from '../test/support/sim-pipeline';
import { benchConfig } from './config';
import { DAY_MS } from '../lambdas/core/time';

export interface WeekSize {
  /** Regions enabled and published to, the build region first. */
  readonly regions: number;
  /** The week's builds: one image of each series. */
  readonly series: readonly string[];
  /**
   * Weeks of earlier builds in every region: with 13, the oldest is 91 days old, past the default 90-day minimum age,
   * so the prune removes one week of builds, as every week in the steady state.
   */
  readonly historyWeeks: number;
}

export const WEEK_SIZES: Readonly<Record<'small' | 'full', WeekSize>> = {
  // Three variants of one development line on both architectures (6 images) into 2 regions.
  small: {
    regions: 2,
    series: BOOT_TESTED_SERIES.filter(
      (s) => s.startsWith('15.0-CURRENT/') && ['base/ufs', 'base/zfs', 'small/ufs'].some((v) => s.endsWith(`/${v}`)),
    ),
    historyWeeks: 13,
  },
  // FreeBSD's week: 48 images into the 29 regions an account has enabled by default.
  full: { regions: 29, series: BOOT_TESTED_SERIES, historyWeeks: 13 },
};

const BUILD_REGION = 'us-east-1';
const START = new Date('2026-11-21T06:00:00Z');
const SEED = 21;
const EC2_MINIMUM_BILLED_SECONDS = 60;

/** When each published image was ready and public, relative to the publish execution's start. */
export interface PublishedImage {
  readonly region: string;
  readonly copy: boolean;
  /** Milliseconds from the start until the copy was available (0 for a source in the build region). */
  readonly availableAfterMs: number;
  /** Milliseconds from the start until it was public; undefined when it never was. */
  readonly publicAfterMs?: number;
}

/** What one weekly cycle (publish, the boot test it starts, prune, digest) did on the simulated AWS. */
export interface WeekMeasures {
  readonly size: WeekSize;
  readonly regions: readonly string[];
  readonly publish: ExecutionReport;
  readonly published: readonly PublishedImage[];
  /** The longest wait between two polls of a region. */
  readonly pollIntervalMs: number;
  readonly publishCalls: number;
  readonly publishThrottled: number;
  readonly boot?: ExecutionReport;
  readonly bootResults: readonly BootRunResult[];
  /** Measured minus true boot time of every passed launch, in milliseconds. */
  readonly bootErrorsMs: readonly number[];
  readonly launches: number;
  /** DescribeInstances calls answered in each minute of the boot test. */
  readonly describeInstancesPerMinute: readonly number[];
  readonly bootThrottledNonMutating: number;
  readonly prune: ExecutionReport;
  readonly pruneDeleted: { readonly images: number; readonly snapshots: number; readonly bytes: number };
  readonly digestSent: boolean;
  /** Every execution of the cycle, children included. */
  readonly executions: readonly ExecutionReport[];
  readonly lambda: { readonly gbSeconds: number; readonly invocations: number };
  /** Instance-seconds per type as EC2 bills them: from running, at least a minute per instance. */
  readonly instanceSecondsBilled: Readonly<Record<string, number>>;
  readonly dynamodb: { readonly reads: number; readonly writes: number };
  readonly virtualMs: number;
}

const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const DYNAMODB_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** The regions of a week of `size`: the build region first, then the account's default ones. */
function weekRegions(size: WeekSize): string[] {
  const enabled = COMMERCIAL_REGIONS.filter((r) => !r.optIn || DEFAULT_OPTED_IN.includes(r.name)).map((r) => r.name);
  return [BUILD_REGION, ...enabled.filter((r) => r !== BUILD_REGION)].slice(0, size.regions);
}

function operationCalls(sim: AwsSim, service: string, operations: ReadonlySet<string>): number {
  let total = 0;
  for (const operation of operations) total += sim.counters.calls({ service, operation });
  return total;
}

async function runWeek(size: WeekSize): Promise<WeekMeasures> {
  const regions = weekRegions(size);
  const sim = freebsdAccount(SEED, { regions });
  // Synthesized (or read from its cache) before virtual time starts: CDK's work is no part of the week.
  synthesizeTemplate(parseConfig(benchConfig(regions)));
  // The digest draws the boot-performance page: its plotting libraries load in real time, before virtual time starts.
  await chartLibraries();
  const run = await runInVirtualTime(
    async () => {
      const pipeline = await simulatedPipeline(sim, benchConfig(regions));
      const clients = sim.clientFactory();
      newBuilds(sim, BUILD_REGION, size.series);

      const publishStarted = sim.clock.now();
      const callsBefore = sim.counters.calls();
      const throttledBefore = sim.counters.throttled();
      const publish = await pipeline.publish({}).done;
      const publishCalls = sim.counters.calls() - callsBefore;
      const publishThrottled = sim.counters.throttled() - throttledBefore;
      const published = regions.flatMap((region) =>
        sim.inspect
          .images(region)
          .filter((i) => i.createdAt >= publishStarted || (region === BUILD_REGION && i.sourceImageId === undefined))
          .map((i) => ({
            region,
            copy: i.sourceImageId !== undefined,
            availableAfterMs: Math.max(0, i.availableAt - publishStarted),
            publicAfterMs: i.publicAt === undefined ? undefined : i.publicAt - publishStarted,
          })),
      );

      // The boot test publish started, to its end.
      const throttledNonMutatingBefore = sim.counters.throttled({ bucket: 'nonMutating' });
      const launchesBefore = sim.counters.calls({ operation: 'RunInstances' });
      await pipeline.settled();
      const boot = pipeline.engine
        .allExecutions()
        .find((e) => e.workflow.name === 'boot-test')
        ?.report();
      let bootResults: BootRunResult[] = [];
      if (boot) {
        const table = new BootRunTable(clients.client(DynamoDBClient, BUILD_REGION), pipeline.bootRunTable, sim.clock);
        bootResults = (await table.launches(boot.name)).flatMap((r) => completedResult(r) ?? []);
      }
      const truths = new Map(sim.inspect.instances().map((i) => [i.instanceId, i.truth]));
      const bootErrorsMs = bootResults
        .filter((r) => r.status === 'passed' && r.intervals?.bootSeconds !== undefined)
        .map((r) => (r.intervals!.bootSeconds! - truths.get(r.instanceId!)!.bootSeconds!) * 1000);
      const perMinute: number[] = [];
      if (boot) {
        const from = boot.startDate.getTime();
        for (const listing of sim.counters.listings) {
          if (listing.operation !== 'DescribeInstances' || listing.at < from) continue;
          const minute = Math.floor((listing.at - from) / 60_000);
          while (perMinute.length <= minute) perMinute.push(0);
          perMinute[minute]!++;
        }
      }
      const launches = sim.counters.calls({ operation: 'RunInstances' }) - launchesBefore;
      const bootThrottledNonMutating = sim.counters.throttled({ bucket: 'nonMutating' }) - throttledNonMutatingBefore;

      // Earlier weeks, as the account holds them by now: the oldest has aged past the retention rules.
      sim.seed.fleet({
        regions,
        series: size.series,
        weeks: size.historyWeeks,
        newestBuildDate: new Date(sim.clock.now() - 7 * DAY_MS).toISOString().slice(0, 10),
      });
      const deletedBefore = {
        images: sim.counters.amount('imagesDeregistered'),
        snapshots: sim.counters.amount('snapshotsDeleted'),
        bytes: sim.counters.amount('snapshotBytesDeleted'),
      };
      const prune = await pipeline.prune({ execute: true }).done;
      const executions = await pipeline.settled();
      const pruneDeleted = {
        images: sim.counters.amount('imagesDeregistered') - deletedBefore.images,
        snapshots: sim.counters.amount('snapshotsDeleted') - deletedBefore.snapshots,
        bytes: sim.counters.amount('snapshotBytesDeleted') - deletedBefore.bytes,
      };
      const digest = (await pipeline.digest()) as { messageId?: string };

      const stats = [...pipeline.engine.stats.values()];
      return {
        size,
        regions,
        publish,
        published,
        pollIntervalMs: MAX_POLL_SECONDS * 1000,
        publishCalls,
        publishThrottled,
        boot,
        bootResults,
        bootErrorsMs,
        launches,
        describeInstancesPerMinute: perMinute,
        bootThrottledNonMutating,
        prune,
        pruneDeleted,
        digestSent: digest.messageId !== undefined,
        executions,
        lambda: {
          gbSeconds: pipeline.engine.lambdaGbSeconds(),
          invocations: stats.reduce((n, s) => n + s.invocations, 0),
        },
        instanceSecondsBilled: sim.inspect.instanceSeconds({ billedMinimumSeconds: EC2_MINIMUM_BILLED_SECONDS }),
        dynamodb: {
          reads: operationCalls(sim, 'dynamodb', DYNAMODB_READS),
          writes: operationCalls(sim, 'dynamodb', DYNAMODB_WRITES),
        },
        virtualMs: sim.clock.now() - publishStarted,
      };
    },
    { start: START, seedMathRandom: SEED },
  );
  return run.result;
}

const weeks = new Map<'small' | 'full', Promise<WeekMeasures>>();

/**
 * One weekly cycle of the stack's workflows on the simulated AWS, run once per size and shared by the parts of the
 * bench that read it (publish, boot test, cost).
 */
export function benchWeek(size: 'small' | 'full'): Promise<WeekMeasures> {
  let week = weeks.get(size);
  if (!week) {
    week = runWeek(WEEK_SIZES[size]);
    weeks.set(size, week);
  }
  return week;
}
