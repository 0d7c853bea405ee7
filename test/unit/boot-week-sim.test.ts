import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { ExecutionReport } from '../../bin/local/engine';
import { LocalPipeline } from '../../bin/local/pipeline';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { BootRunTable, completedResult, type RunRecord } from '../../lambdas/aws/boot/runs';
import { historyEventEstimate } from '../../lambdas/core/boot/plan';
import type { BootHistoryRow, BootRunResult } from '../../lambdas/core/boot/result';
import { parseConfig } from '../../lambdas/core/config';
import { TAG } from '../../lambdas/core/tags';
import { type AwsSim, BOOT_PROFILES, createAwsSim } from '../../scripts/aws-sim';
import { runInVirtualTime } from '../../scripts/aws-sim/virtual-time';
import type { SeededImage } from '../support/fleet';
import { BOOT_TESTED_SERIES, percentile } from '../support/freebsd-week';
import { simulatedPipeline } from '../support/sim-pipeline';

// FreeBSD's week at full size on the simulated AWS, in virtual time: 48 images, each on the three instance types of
// its architecture (6 types in all), last week's builds first (the baseline) and this week's after, with one series
// three times slower this week. Lambda errors are injected into this week's run; a run whose judge always fails
// takes the Catch path of its batch; this week is then tested again under a 40-vCPU account limit, and once more
// with a run id already used.

const REGION = 'us-east-1';
const LAST_WEEK = '2026-02-26';
const THIS_WEEK = '2026-03-05';
const SLOW = /^FreeBSD 15\.0-CURRENT-arm64-20260305 base ZFS$/;
const RUNS = {
  lastWeek: 'weekly-20260227',
  thisWeek: 'weekly-20260306',
  failing: 'weekly-20260306-judge-down',
  rerun: 'weekly-20260306-rerun',
} as const;

// Three hot-plug cycles (FreeBSD's default is ten) keep the scenario's wall time down; the cycles work alike.
const config = parseConfig({ buildRegion: REGION, regions: { allow: [REGION] }, bootTest: { hotplugCycles: 3 } });

interface Run {
  readonly report: ExecutionReport;
  readonly run?: RunRecord;
  readonly results: BootRunResult[];
}

let sim: AwsSim;
let pipeline: LocalPipeline;
const runs = new Map<string, Run>();
let reusedRunId: ExecutionReport;
let rowsAfterThisWeek: BootHistoryRow[];
let rowsAfterRerun: BootHistoryRow[];
let live: { instances: string[]; volumes: string[] };
let vcpuRefusals: number;
let runInstancesBeforeReuse: number;
let runInstancesAfterReuse: number;

const fn = (entry: string) => [...pipeline.engine.functions.values()].find((f) => f.entry === entry)!.logicalId;
const byRun = (runId: string) => (event: unknown) => (event as { runId?: string }).runId === runId;

beforeAll(async () => {
  sim = createAwsSim({ seed: 11, regions: [REGION] });
  const clients = sim.clientFactory();
  pipeline = await simulatedPipeline(sim, config, { clients });
  // A second engine on the same deployment, as a later operator's CLI run would be: it can name a run id again.
  const later = await LocalPipeline.create({
    config,
    clients,
    deployment: pipeline.deployment,
    clock: sim.clock,
    services: (f) => (f.entry === 'boot/probe.ts' ? { probe: sim.probe } : {}),
  });
  const table = new BootRunTable(clients.client(DynamoDBClient, REGION), pipeline.bootRunTable, sim.clock);
  const history = new DynamoBootHistory(clients.client(DynamoDBClient, REGION), pipeline.bootHistoryTable);
  const boot = async (runId: string, images: readonly SeededImage[]) => {
    const report = await pipeline.bootTest({ imageIds: images.map((i) => i.imageId) }, runId).done;
    await pipeline.settled();
    const run = await table.run(runId).catch(() => undefined);
    const results = run ? (await table.launches(runId)).flatMap((r) => completedResult(r) ?? []) : [];
    runs.set(runId, { report, run, results });
  };
  await runInVirtualTime(
    async () => {
      const fleet = sim.seed.fleet({
        regions: [REGION],
        series: BOOT_TESTED_SERIES,
        weeks: 2,
        newestBuildDate: THIS_WEEK,
      });
      const lastWeek = fleet.filter((i) => i.name.includes(LAST_WEEK.replaceAll('-', '')));
      const thisWeek = fleet.filter((i) => i.name.includes(THIS_WEEK.replaceAll('-', '')));
      sim.configure({ boot: { profiles: [BOOT_PROFILES.slowSeries(SLOW, 3)] } });

      await boot(RUNS.lastWeek, lastWeek);

      const engine = pipeline.engine;
      const thisWeekOnly = byRun(RUNS.thisWeek);
      engine.injectFault({
        functionId: fn('boot/launch.ts'),
        error: 'LaunchCrashed',
        message: 'injected launch failure',
        when: (e) => thisWeekOnly(e) && (e as { batch: number; slot: number }).slot === 7,
        times: 1,
      });
      engine.injectFault({
        functionId: fn('boot/inspect.ts'),
        error: 'JudgeCrashed',
        message: 'injected inspection failure',
        when: (e) => thisWeekOnly(e) && (e as { slot: number }).slot === 11 && !('failure' in (e as object)),
      });
      engine.injectFault({
        functionId: fn('boot/hotplug.ts'),
        error: 'HotplugCrashed',
        message: 'injected hot-plug failure',
        when: thisWeekOnly,
      });
      // Throttled invocations are Lambda's own failures: retried by every task, they fail nothing.
      engine.injectFault({ functionId: fn('boot/probe.ts'), error: 'Lambda.TooManyRequestsException', times: 20 });
      engine.injectFault({ functionId: fn('boot/launch.ts'), error: 'Lambda.ServiceException', times: 10 });
      await boot(RUNS.thisWeek, thisWeek);
      rowsAfterThisWeek = await history.list();

      engine.injectFault({
        functionId: fn('boot/inspect.ts'),
        error: 'JudgeCrashed',
        times: 1000,
        when: byRun(RUNS.failing),
      });
      await boot(RUNS.failing, thisWeek.slice(0, 3));

      sim.configure({ instances: { vcpuLimits: { standard: 40 } } });
      await boot(RUNS.rerun, thisWeek);
      rowsAfterRerun = await history.list();
      vcpuRefusals = sim.counters.errors({ operation: 'RunInstances', code: 'VcpuLimitExceeded' });

      runInstancesBeforeReuse = sim.counters.calls({ operation: 'RunInstances' });
      reusedRunId = await later.bootTest({ imageIds: thisWeek.map((i) => i.imageId) }, RUNS.thisWeek).done;
      await later.settled();
      runInstancesAfterReuse = sim.counters.calls({ operation: 'RunInstances' });

      // Instances still shutting down end within a minute; what remains after that was never cleaned up.
      await sim.clock.sleep(120_000);
      const ec2 = clients.client(EC2Client, REGION);
      const testResources = [{ Name: 'tag-key', Values: [TAG.bootTest] }];
      const instances = (await ec2.send(new DescribeInstancesCommand({ Filters: testResources }))).Reservations ?? [];
      const volumes = (await ec2.send(new DescribeVolumesCommand({ Filters: testResources }))).Volumes ?? [];
      live = {
        instances: instances
          .flatMap((r) => r.Instances ?? [])
          .filter((i) => i.State?.Name !== 'terminated')
          .map((i) => `${i.InstanceId} ${i.State?.Name}`),
        volumes: volumes.map((v) => `${v.VolumeId} ${v.State}`),
      };
    },
    { start: new Date(`${THIS_WEEK}T18:00:00Z`), seedMathRandom: 11 },
  );
}, 600_000);

const run = (runId: string) => runs.get(runId)!;

describe('a full week of boot tests on the simulated AWS, in virtual time', () => {
  test('boots 48 images on the 3 types of their architecture, 144 launches a week, in batches of at most 40', () => {
    for (const runId of [RUNS.lastWeek, RUNS.thisWeek, RUNS.rerun]) {
      expect(run(runId).results).toHaveLength(144);
      expect(new Set(run(runId).results.map((r) => r.instanceType)).size).toBe(6);
      expect(Math.max(...run(runId).run!.batchSizes)).toBeLessThanOrEqual(40);
    }
    expect(run(RUNS.lastWeek).results.filter((r) => r.status !== 'passed')).toEqual([]);
  });

  test('no state carries more than a few KB and no execution nears 25,000 history events', () => {
    for (const execution of pipeline.engine.allExecutions()) {
      const report = execution.report();
      expect([report.name, report.largestPayload.bytes < 4096]).toEqual([report.name, true]);
      expect(report.historyEventCount).toBeLessThan(25_000);
    }
    const weekly = run(RUNS.lastWeek);
    const checked = weekly.results.filter((r) => r.checks.some((c) => c.name === 'hotplug')).length;
    expect(checked).toBe(48);
    const estimate = historyEventEstimate({
      batchSizes: weekly.run!.batchSizes,
      checkedLaunches: checked,
      hotplugCycles: config.bootTest.hotplugCycles,
    });
    expect(weekly.report.historyEventCount).toBeLessThanOrEqual(estimate);
  });

  test("pending -> running is watched within EC2's request buckets: one poll a half second per batch", () => {
    expect(sim.counters.throttled({ bucket: 'nonMutating' })).toBe(0);
    const pollers = pipeline.engine.stats.get(fn('boot/wait-running.ts'))!;
    const batches = [RUNS.lastWeek, RUNS.thisWeek, RUNS.rerun].map((id) => run(id).run!.batchSizes.length);
    expect(pollers.invocations).toBeLessThanOrEqual(2 * batches.reduce((a, b) => a + b, 0) + 1);
  });

  test('no Lambda ran past its timeout', () => {
    for (const [id, stats] of pipeline.engine.stats) {
      expect([id, stats.timeouts]).toEqual([id, 0]);
      expect(stats.maxDurationMs).toBeLessThan(stats.timeoutSeconds * 1000);
    }
  });

  test('boot times match the simulated truth: p95 error at most 100 ms, the probe started with its launch', () => {
    const errors: number[] = [];
    for (const runId of [RUNS.lastWeek, RUNS.thisWeek, RUNS.rerun])
      for (const result of run(runId).results.filter((r) => r.status === 'passed')) {
        const truth = sim.inspect.bootTruth(result.instanceId!)!;
        errors.push(Math.abs(result.intervals!.bootSeconds! - truth.bootSeconds!) * 1000);
        // This week's first probes were throttled on purpose and retried later; the other runs' were not.
        if (runId !== RUNS.thisWeek) expect(result.timeline!.probeStartedAt!).toBeLessThan(truth.networkUpAt!);
      }
    expect(errors.length).toBeGreaterThan(400);
    expect(percentile(errors, 0.95)).toBeLessThanOrEqual(100);
  });

  test('only the series that is slow this week is flagged, on each of its three types, and only this week', () => {
    const slowOnEveryType = [expect.stringMatching(/^15\.0-CURRENT arm64 base\/zfs on c\dg\.large: /)];
    expect(run(RUNS.lastWeek).run!.regressions).toEqual([]);
    expect(run(RUNS.thisWeek).run!.regressions).toEqual([...slowOnEveryType, ...slowOnEveryType, ...slowOnEveryType]);
    expect(run(RUNS.rerun).run!.regressions).toHaveLength(3);
  });

  test('injected Lambda errors take the Catch paths: each fails only its own launch, throttles fail nothing', () => {
    const thisWeek = run(RUNS.thisWeek);
    expect(thisWeek.report.status).toBe('SUCCEEDED');
    const failed = thisWeek.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.reason).sort()).toEqual([
      expect.stringMatching(/HotplugCrashed: injected hot-plug failure$/),
      expect.stringMatching(/JudgeCrashed: injected inspection failure$/),
      expect.stringMatching(/LaunchCrashed: injected launch failure$/),
    ]);
    // A probe throttled again and again may start after sshd is up: that boot is inconclusive, never a boot time.
    for (const result of thisWeek.results.filter((r) => r.status !== 'passed' && r.status !== 'failed'))
      expect([result.status, result.intervals?.bootSeconds]).toEqual(['inconclusive', undefined]);
    expect(thisWeek.report.output).toMatchObject({ launches: 144, failed: failed.length });
  });

  test('a batch whose judge is down fails the run through its Catch path, which closes the run and cleans up', () => {
    const failing = run(RUNS.failing);
    expect([failing.report.status, failing.report.cause]).toEqual([
      'FAILED',
      'the boot test failed; every test instance and volume was removed',
    ]);
    expect(failing.run?.closed).toBe(true);
  });

  test("under the account's vCPU limit, launches wait for others to end and are then launched, none fails", () => {
    const rerun = run(RUNS.rerun);
    expect(vcpuRefusals).toBeGreaterThan(0);
    expect(rerun.results.filter((r) => r.status !== 'passed')).toEqual([]);
  });

  test('a rerun changes nothing it should not; a run id used again is refused before it launches anything', () => {
    // One row per build and type: the rerun replaced this week's rows and left last week's as they were.
    const key = (r: BootHistoryRow) => `${r.seriesKey} ${r.instanceType} ${r.buildDate}`;
    expect(rowsAfterRerun).toHaveLength(288);
    expect(rowsAfterRerun.map(key).sort()).toEqual(rowsAfterThisWeek.map(key).sort());
    const week = (rows: BootHistoryRow[], date: string) => rows.filter((r) => r.buildDate === date);
    expect(week(rowsAfterRerun, LAST_WEEK)).toEqual(week(rowsAfterThisWeek, LAST_WEEK));
    expect(new Set(week(rowsAfterRerun, THIS_WEEK).map((r) => r.runId))).toEqual(new Set([RUNS.rerun]));
    expect(week(rowsAfterRerun, THIS_WEEK).filter((r) => r.status !== 'passed')).toEqual([]);
    expect(reusedRunId.status).toBe('FAILED');
    expect(reusedRunId.failedTask).toMatchObject({ state: 'Plan', error: 'RunAlreadyStartedError' });
    expect(runInstancesAfterReuse).toBe(runInstancesBeforeReuse);
  });

  test('leaves no test instance or volume behind', () => {
    expect(live).toEqual({ instances: [], volumes: [] });
  });
});
