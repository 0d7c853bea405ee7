import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ExecutionReport } from '../../bin/local/engine';
import { DynamoLedger } from '../../lambdas/aws/publish/ledger';
import type { AnnounceSummary, RegionSummary } from '../../lambdas/aws/publish/service';
import type { PipelineConfigInput } from '../../lambdas/core/config';
import type { ItemFailure } from '../../lambdas/core/errors';
import { HISTORY_EVENT_CAP } from '../../lambdas/core/publish';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import { type AwsSim, runInVirtualTime } from '../../scripts/aws-sim';
import type { LocalPipeline } from '../../bin/local/pipeline';
import { freebsdAccount } from '../support/freebsd-week';
import { finalState, simulatedPipeline } from '../support/sim-pipeline';
import { DAY_MS } from '../../lambdas/core/time';

// FreeBSD's week at AWS's pace: the publish workflow, as synthesized, on the local engine over the simulated AWS,
// in virtual time. 3 development lines x 2 architectures x 4 flavours x 2 file systems, less builder ZFS (builder
// images are UFS only): 42 images a week, into the 29 regions enabled in the simulated account.
const START = new Date('2026-11-21T06:00:00Z');
const BUILD_REGION = 'us-east-1';
const PAYLOAD_LIMIT = 256 * 1024;
const SERIES: string[] = [];
for (const line of ['15.0-CURRENT', '14.3-STABLE', '13.5-STABLE'])
  for (const arch of ['amd64', 'arm64'])
    for (const flavour of ['base', 'cloud-init', 'small', 'builder'])
      for (const fs of ['ufs', 'zfs']) SERIES.push(`${line}/${arch}/${flavour}/${fs}`);
const IMAGES_A_WEEK = 42;

const config: PipelineConfigInput = { buildRegion: BUILD_REGION, bootTest: { enabled: false } };
/** Builder images are UFS only: a `builder ZFS` build is no managed series and is left alone. */
const managed = (image: { name: string }) => !image.name.endsWith('builder ZFS');

interface Run {
  readonly report: ExecutionReport;
  readonly state: {
    count: number;
    images: string[];
    complete: number;
    deferred: number;
    gaveUp: ItemFailure[];
    gaveUpCount: number;
    outcomes?: (RegionSummary & { error?: string })[];
    summary?: AnnounceSummary;
  };
  readonly virtualMinutes: number;
}

async function publish(world: LocalPipeline, sim: AwsSim, input: Record<string, unknown> = {}): Promise<Run> {
  const started = sim.clock.now();
  const execution = world.publish(input);
  const report = await execution.done;
  return {
    report,
    state: finalState(execution, report) as Run['state'],
    virtualMinutes: (sim.clock.now() - started) / 60_000,
  };
}

/** Builds of the week (of `series`), registered in the build region as the release process leaves them. */
function newWeek(sim: AwsSim, series: readonly string[] = SERIES): string[] {
  const date = new Date(sim.clock.now()).toISOString().slice(0, 10);
  return sim.seed
    .fleet({ regions: [BUILD_REGION], series, weeks: 1, newestBuildDate: date })
    .filter(managed)
    .map((image) => image.imageId);
}

function functionId(world: LocalPipeline, entry: string): string {
  return [...world.engine.functions.values()].find((f) => f.entry === entry)!.logicalId;
}

/** What must hold of every execution at AWS's limits. */
function withinLimits(world: LocalPipeline, run: Run): void {
  expect(run.report.largestPayload.bytes).toBeLessThan(PAYLOAD_LIMIT / 8);
  expect(run.report.historyEventCount).toBeLessThan(HISTORY_EVENT_CAP / 5);
  expect([...world.engine.stats.values()].filter((s) => s.timeouts > 0)).toEqual([]);
}

describe('a FreeBSD week: 42 images into 29 regions, copies of 5 to 60 minutes', () => {
  const sim = freebsdAccount(7);
  const finalize = 'publish/finalize.ts';
  let runs: { first: Run; rerun: Run; again: Run; regions: string[]; sources: string[]; copies: number[] };

  beforeAll(async () => {
    runs = (
      await runInVirtualTime(
        async () => {
          const world = await simulatedPipeline(sim, config);
          const sources = newWeek(sim);
          // One region's Finalize dies as a Lambda that ran out of time: its Catch path reports the region.
          world.engine.injectFault({
            functionId: functionId(world, finalize),
            error: 'Sandbox.Timedout',
            message: 'Task timed out after 600.00 seconds',
            when: (event) => (event as { region?: string }).region === 'sa-east-1',
          });
          const copies = [sim.counters.calls({ operation: 'CopyImage' })];
          const first = await publish(world, sim);
          copies.push(sim.counters.calls({ operation: 'CopyImage' }));
          const rerun = await publish(world, sim);
          copies.push(sim.counters.calls({ operation: 'CopyImage' }));
          const again = await publish(world, sim);
          copies.push(sim.counters.calls({ operation: 'CopyImage' }));
          const regions = first.state.outcomes!.map((o) => o.region);
          return { first, rerun, again, regions, sources, copies, world };
        },
        { start: START, seedMathRandom: 7 },
      )
    ).result;
  });

  test('publishes every image everywhere but the region whose Lambda failed, which is reported, within the limits', () => {
    const { first, regions } = runs;

    expect(regions).toHaveLength(29);
    expect(first.state.count).toBe(IMAGES_A_WEEK);
    expect(first.report).toMatchObject({ status: 'FAILED', error: 'PublishIncomplete' });
    for (const outcome of first.state.outcomes!) {
      if (outcome.region === 'sa-east-1') {
        expect(outcome).toMatchObject({ status: 'failed', error: expect.stringContaining('Task timed out') });
      } else expect(outcome).toMatchObject({ status: 'published', pairs: IMAGES_A_WEEK, published: IMAGES_A_WEEK });
    }
    expect(first.state.summary).toMatchObject({ pairsPublished: 28 * IMAGES_A_WEEK, failedPairs: IMAGES_A_WEEK });
    expect(first.state.summary!.failures).toEqual([
      expect.objectContaining({ region: 'sa-east-1', error: expect.stringContaining('Task timed out') }),
    ]);
    // Copies run at once: the slowest takes an hour, and nothing times out.
    expect(first.virtualMinutes).toBeLessThan(90);
  });

  test('the next run finishes only that region; the one after changes nothing', () => {
    const { rerun, again, copies } = runs;

    expect(rerun.report.status).toBe('SUCCEEDED');
    expect(rerun.state.outcomes!.filter((o) => o.pairs > 0).map((o) => o.region)).toEqual(['sa-east-1']);
    expect(rerun.state.summary).toMatchObject({ pairsPublished: IMAGES_A_WEEK, failedCount: 0 });
    // sa-east-1's copies were made the first time; finishing it copies nothing again.
    expect(copies[2]! - copies[1]!).toBe(0);
    expect(again.report.status).toBe('SUCCEEDED');
    expect(again.state).toMatchObject({ count: 0, complete: IMAGES_A_WEEK });
    expect(copies[3]).toBe(copies[2]);
  });

  test('every execution stays far under 256 KiB per state and 25,000 history events, with no Lambda timing out', () => {
    for (const run of [runs.first, runs.rerun, runs.again]) {
      expect(run.report.largestPayload.bytes).toBeLessThan(PAYLOAD_LIMIT / 8);
      expect(run.report.historyEventCount).toBeLessThan(HISTORY_EVENT_CAP / 5);
    }
  });

  test('every copy is public, its snapshot really public, its SSM parameter pointing at it', () => {
    for (const region of runs.regions) {
      const copies = sim.inspect.images(region).filter(managed);
      expect(copies).toHaveLength(IMAGES_A_WEEK);
      for (const image of copies) {
        expect(image.public).toBe(true);
        for (const snapshot of image.snapshotIds) expect(sim.inspect.isReallyPublic(region, snapshot)).toBe(true);
      }
      const parameters = sim.inspect.parameterNames(region);
      expect(parameters).toHaveLength(IMAGES_A_WEEK);
      for (const name of parameters) {
        expect(copies.map((c) => c.imageId)).toContain(sim.inspect.parameter(region, name)?.value);
      }
    }
  });
});

describe('a region refusing copies (quota) four weeks running', () => {
  const failing = 'ap-south-1';
  // The backlog grows in the failing region alone; the build region shows how the healthy ones fare.
  const regions = [BUILD_REGION, failing];
  const sim = freebsdAccount(11);
  let weeks: Run[];
  let lifted: Run[];
  let healthyPairs: number[][];

  beforeAll(async () => {
    ({ weeks, lifted, healthyPairs } = (
      await runInVirtualTime(
        async () => {
          const world = await simulatedPipeline(sim, {
            ...config,
            regions: { allow: regions },
            publish: { giveUpAfterDays: 21 },
          });
          const quota = sim.fail({
            service: 'ec2',
            operation: 'CopyImage',
            region: failing,
            times: Number.POSITIVE_INFINITY,
            error: { code: 'ResourceLimitExceeded', message: 'You have reached the limit of concurrent AMI copies' },
          });
          const weeks: Run[] = [];
          const healthyPairs: number[][] = [];
          for (let week = 0; week < 4; week++) {
            newWeek(sim);
            const run = await publish(world, sim);
            weeks.push(run);
            healthyPairs.push(run.state.outcomes!.filter((o) => o.region !== failing).map((o) => o.pairs));
            withinLimits(world, run);
            if (week < 3) await sim.clock.sleep(7 * DAY_MS - run.virtualMinutes * 60_000);
          }
          quota.cancel();
          const lifted = [await publish(world, sim), await publish(world, sim)];
          return { weeks, lifted, healthyPairs };
        },
        { start: START, seedMathRandom: 11, maxVirtualMs: 60 * DAY_MS },
      )
    ).result);
  });

  test('every week the healthy regions publish that week’s images only, and the failing one says why', () => {
    for (const [week, run] of weeks.entries()) {
      expect(run.report).toMatchObject({ status: 'FAILED', error: 'PublishIncomplete' });
      expect(new Set(healthyPairs[week])).toEqual(new Set([IMAGES_A_WEEK]));
      const failures = run.state.summary!.failures;
      expect(failures.map((f) => f.region)).toEqual([failing]);
      expect(failures[0]!.error).toBe('ResourceLimitExceeded: You have reached the limit of concurrent AMI copies');
    }
  });

  test('the backlog is bounded: newest first, at most 100 sources a run, pairs given up after 21 days', () => {
    expect(weeks.map((w) => w.state.count)).toEqual([42, 84, 100, 100]);
    expect(weeks.map((w) => w.state.deferred)).toEqual([0, 0, 26, 26]);
    expect(weeks[3]!.state.gaveUpCount).toBe(IMAGES_A_WEEK);
    expect(weeks[3]!.state.gaveUp).toEqual([
      expect.objectContaining({ region: failing, code: 'GaveUp', id: expect.stringMatching(/^42 images/) }),
    ]);
  });

  test('no state grows with the backlog', () => {
    const largest = weeks.map((w) => w.report.largestPayload.bytes);

    expect(Math.max(...largest)).toBeLessThan(PAYLOAD_LIMIT / 8);
  });

  test('once the quota is raised, the next runs publish the pairs still open, and report nothing given up twice', () => {
    const [first, second] = lifted;

    expect(first!.report.status).toBe('SUCCEEDED');
    expect(first!.state.gaveUpCount).toBe(0);
    expect(first!.state.outcomes!.find((o) => o.region === failing)).toMatchObject({ pairs: 100, published: 100 });
    expect(second!.state.outcomes!.find((o) => o.region === failing)).toMatchObject({ pairs: 26, published: 26 });
    expect(sim.inspect.images(failing)).toHaveLength(3 * IMAGES_A_WEEK);
    expect(first!.state.deferred).toBe(26);
    expect(second!.report.status).toBe('SUCCEEDED');
  });
});

describe('snapshot block public access', () => {
  const regions = ['us-east-1', 'eu-west-1', 'eu-north-1'];
  // One development line's week (14 images) shows both modes; the size is the first scenario's.
  const current = SERIES.filter((s) => s.startsWith('15.0-CURRENT/'));
  const images = 14;
  const sim = freebsdAccount(13);
  let blocked: Run;
  let allBlocked: Run;
  let unblocked: Run;
  let ledgerStatuses: string[];
  let sharingAttemptsWhileBlocked: number;

  beforeAll(async () => {
    ({ blocked, allBlocked, unblocked, ledgerStatuses, sharingAttemptsWhileBlocked } = (
      await runInVirtualTime(
        async () => {
          const world = await simulatedPipeline(sim, { ...config, regions: { allow: regions } });
          const sources = newWeek(sim, current);
          sim.setSnapshotBlockPublicAccess('eu-west-1', 'block-new-sharing');
          const blocked = await publish(world, sim);
          const sharingAttemptsWhileBlocked = sim.counters.calls({
            operation: 'ModifySnapshotAttribute',
            region: 'eu-west-1',
          });
          // Snapshots shared before block-all-sharing still say `all`; nobody outside can use them.
          sim.setSnapshotBlockPublicAccess('eu-west-1', 'unblocked');
          await publish(world, sim);
          sim.setSnapshotBlockPublicAccess('eu-north-1', 'block-all-sharing');
          const allBlocked = await publish(world, sim, { imageIds: sources });
          const ledger = new DynamoLedger(
            world.clients.client(DynamoDBClient, BUILD_REGION),
            world.output(STACK_OUTPUTS.publishLedgerTable),
          );
          const rows = await ledger.inRegion('eu-north-1', sources);
          sim.setSnapshotBlockPublicAccess('eu-north-1', 'unblocked');
          const unblocked = await publish(world, sim);
          return {
            blocked,
            allBlocked,
            unblocked,
            ledgerStatuses: sources.map((s) => rows.get(s)?.status ?? ''),
            sharingAttemptsWhileBlocked,
          };
        },
        { start: START, seedMathRandom: 13 },
      )
    ).result);
  });

  test('block-new-sharing: no snapshot is made public, the images are, and the region says why', () => {
    const region = blocked.state.outcomes!.find((o) => o.region === 'eu-west-1')!;

    expect(blocked.report.status).toBe('FAILED');
    expect(region).toMatchObject({ status: 'failed', failed: images });
    expect(region.notes).toContainEqual(expect.stringContaining('block-new-sharing'));
    expect(blocked.state.summary!.failures[0]!.error).toContain('block-new-sharing');
    expect(sharingAttemptsWhileBlocked).toBe(0);
    for (const image of sim.inspect.images('eu-west-1').filter(managed)) expect(image.public).toBe(true);
  });

  test('block-all-sharing: a snapshot whose attribute says all is not reported public, and is not', () => {
    const region = allBlocked.state.outcomes!.find((o) => o.region === 'eu-north-1')!;

    expect(allBlocked.report.status).toBe('FAILED');
    expect(region).toMatchObject({ status: 'failed', failed: images });
    expect(allBlocked.state.summary!.failures.map((f) => f.error)).toEqual([
      expect.stringContaining('block-all-sharing'),
    ]);
    expect(ledgerStatuses).toEqual(ledgerStatuses.map(() => 'failed'));
  });

  test('lifted, the next run completes the region; every snapshot is really public', () => {
    expect(unblocked.report.status).toBe('SUCCEEDED');
    for (const region of regions) {
      for (const image of sim.inspect.images(region).filter(managed)) {
        for (const snapshot of image.snapshotIds) expect(sim.inspect.isReallyPublic(region, snapshot)).toBe(true);
      }
    }
  });
});
