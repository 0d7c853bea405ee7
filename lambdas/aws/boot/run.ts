import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { type ConsoleVerdict, classifyConsole, consoleFails } from '../../core/boot/console';
import {
  type BootImage,
  type BootTestPlan,
  type LaunchSpec,
  planBootTest,
  STOP_CLEAN_SECONDS,
} from '../../core/boot/plan';
import { detectRegression, type RegressionVerdict } from '../../core/boot/regression';
import {
  type BootHistoryRow,
  type BootNetwork,
  type BootRunResult,
  type CheckResult,
  historyRows,
  judgeRun,
  type ProbeObservation,
  toBootPoint,
} from '../../core/boot/result';
import { bootIntervals } from '../../core/boot/stats';
import type { PipelineConfig } from '../../core/config';
import { describeError } from '../../core/errors';
import { namingProfile } from '../../core/naming';
import { type Logger, silentLogger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import { type Clock, RateLimiter, realClock } from '../rate-limiter';
import { hotplugCheck, stopCheck } from './checks';
import { type CleanupReport, cleanupRun } from './cleanup';
import { type BootHistoryStore, emitBootMetrics } from './history';
import {
  type BootNetworkConfig,
  bootTestTags,
  fetchConsoleText,
  type LaunchOutcome,
  launchInstance,
  waitUntilRunning,
} from './instances';
import type { PortCheck, PortProbe } from './tcp-probe';

/** Poll intervals and bounds of the API waits; tests shorten them. */
export interface BootWaits {
  readonly runningPollMs: number;
  readonly volumePollMs: number;
  readonly volumeTimeoutMs: number;
  readonly stopPollMs: number;
}

export const DEFAULT_WAITS: BootWaits = {
  runningPollMs: 1000,
  volumePollMs: 1000,
  volumeTimeoutMs: 120_000,
  stopPollMs: 1000,
};

/** Everything a boot test run works with; all of it injectable. */
export interface BootTestContext {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly region: string;
  readonly network: BootNetworkConfig;
  /** Probes port 22. The TCP probe needs a route to the instances; on the emulator inject one backed by loopback. */
  readonly probe: PortProbe;
  readonly now?: () => Date;
  /** Timestamps and sleeps of the API waits (the probe keeps its own real-time sockets). */
  readonly clock?: Clock;
  readonly limiter?: RateLimiter;
  readonly logger?: Logger;
  readonly history?: BootHistoryStore;
  /** Where embedded-metric-format lines go (stdout in Lambda). */
  readonly emitMetric?: (line: string) => void;
  readonly waits?: Partial<BootWaits>;
  /** Which address to probe; the private IP by default. */
  readonly probeHost?: (launched: Extract<LaunchOutcome, { status: 'launched' }>) => string | undefined;
}

export interface BootTestRequest {
  /** Names the run's tags and client tokens; a retried run with the same id launches nothing twice. */
  readonly runId: string;
  readonly imageIds: readonly string[];
  readonly instanceTypes?: readonly string[];
  readonly runs?: number;
}

/** A regression found by comparing a row with its history. */
export interface BootRegression extends RegressionVerdict {
  readonly row: BootHistoryRow;
}

/** Everything a run did: per-launch results, history rows, regressions, and the cleanup that always runs. */
export interface BootTestReport {
  readonly runId: string;
  readonly skippedImages: { imageId: string; reason: string }[];
  readonly results: BootRunResult[];
  readonly rows: BootHistoryRow[];
  readonly regressions: BootRegression[];
  readonly cleanup: CleanupReport;
}

/**
 * Boots each image on every configured instance type of its architecture, measures like ec2-boot-bench, checks the
 * console, runs the stop and hot-plug checks, ALWAYS terminates and deletes what it created, records history and
 * compares it with the previous weeks. The Step Functions workflow runs the same steps one Lambda at a time.
 */
export async function runBootTest(context: BootTestContext, request: BootTestRequest): Promise<BootTestReport> {
  const clock = context.clock ?? realClock;
  const now = context.now ?? (() => new Date(clock.now()));
  const limiter = context.limiter ?? new RateLimiter(undefined, clock);
  const logger = (context.logger ?? silentLogger).with({ region: context.region, runId: request.runId });
  const waits = { ...DEFAULT_WAITS, ...context.waits };
  const ec2 = context.clients.ec2(context.region);
  const bootTest = context.config.bootTest;
  const cleanupWaits = { cycleTimeoutMs: waits.volumeTimeoutMs, pollMs: waits.volumePollMs };
  const inspectDeps: InspectDeps = { config: context.config, ec2, limiter, clock, region: context.region, waits };

  const { plan, skippedImages } = await planRun(context.config, context.clients, limiter, context.region, request);
  logger.info('boot test planned', { launches: plan.rounds.flat().length, rounds: plan.rounds.length });
  const results: BootRunResult[] = [];
  let cleanup: CleanupReport;
  try {
    for (const round of plan.rounds) results.push(...(await runRound(round)));
  } finally {
    cleanup = await cleanupRun(
      ec2,
      limiter,
      clock,
      context.region,
      context.config.managedTag,
      request.runId,
      cleanupWaits,
    );
    logger.info('boot test cleaned up', {
      terminated: cleanup.terminated.length,
      volumesDeleted: cleanup.volumesDeleted.length,
      failed: cleanup.failed.length,
    });
  }
  const recorded = await recordResults(
    { config: context.config, history: context.history, emitMetric: context.emitMetric, now: now(), logger },
    request.runId,
    results,
  );
  return { runId: request.runId, skippedImages, results, ...recorded, cleanup };

  async function runRound(round: LaunchSpec[]): Promise<BootRunResult[]> {
    const timeoutMs = bootTest.timeoutSeconds * 1000;
    // Each probe starts the moment its own RunInstances returns, not when the whole (throttled) round has launched.
    const launching = round.map((spec) =>
      launchInstance(
        ec2,
        limiter,
        clock,
        spec,
        context.network,
        bootTestTags(context.config.managedTag, request.runId, spec),
      ),
    );
    const watching = Promise.all(
      launching.map((pending) => pending.then((l) => (l.status === 'launched' ? watchPort(l, timeoutMs) : undefined))),
    );
    watching.catch(() => undefined);
    try {
      const launches = await Promise.all(launching);
      const launched = launches.filter((l) => l.status === 'launched');
      const [running, probes] = await Promise.all([
        waitUntilRunning(
          ec2,
          limiter,
          clock,
          context.region,
          launched.map((l) => l.instanceId),
          { intervalMs: waits.runningPollMs, timeoutMs },
        ),
        watching,
      ]);
      return await Promise.all(
        round.map(async (spec, index) => {
          const launch = launches[index]!;
          const probe = probes[index];
          if (launch.status !== 'launched' || !probe) return notLaunched(spec, launch, context.network.kind);
          const host = probeHost(launch);
          return inspectLaunch(inspectDeps, {
            runId: request.runId,
            network: context.network.kind,
            spec,
            launch,
            probe,
            runningAt: running.runningAt.get(launch.instanceId),
            recheckPort: host ? () => context.probe.check({ host, port: 22 }, 5000) : undefined,
          });
        }),
      );
    } finally {
      await cleanupRun(ec2, limiter, clock, context.region, context.config.managedTag, request.runId, cleanupWaits);
    }
  }

  function probeHost(launch: LaunchedInstance): string | undefined {
    return context.probeHost ? context.probeHost(launch) : launch.privateIp;
  }

  async function watchPort(launch: LaunchedInstance, timeoutMs: number): Promise<ProbeObservation> {
    const host = probeHost(launch);
    if (!host)
      return {
        outcome: 'timeout',
        startedAt: clock.now(),
        attempts: 0,
        reason: 'the instance has no address to probe',
      };
    return context.probe.watch({ host, port: 22 }, { intervalMs: bootTest.probeIntervalMs, timeoutMs });
  }
}

/** A launched instance, as the launch step reports it. */
export type LaunchedInstance = Extract<LaunchOutcome, { status: 'launched' }>;

/** Looks the images up and plans the launches; images that do not exist are reported, not guessed at. */
export async function planRun(
  config: PipelineConfig,
  clients: ClientFactory,
  limiter: RateLimiter,
  region: string,
  request: BootTestRequest,
): Promise<{ plan: BootTestPlan; skippedImages: { imageId: string; reason: string }[] }> {
  const images = await describeBootImages(clients, limiter, region, request.imageIds);
  const plan = planBootTest({
    runId: request.runId,
    images,
    config: config.bootTest,
    profile: namingProfile(config.naming.profile),
    instanceTypes: request.instanceTypes,
    runs: request.runs,
  });
  const missing = request.imageIds.filter((id) => !images.some((i) => i.imageId === id));
  return {
    plan,
    skippedImages: [
      ...missing.map((imageId) => ({ imageId, reason: 'image not found' })),
      ...plan.skipped.map((s) => ({ imageId: s.imageId, reason: s.reason })),
    ],
  };
}

/** Launches a round's instances; RunInstances calls queue behind the throttle (5 burst, 2 per second). */
export function launchRound(
  config: PipelineConfig,
  ec2: EC2Client,
  limiter: RateLimiter,
  clock: Pick<Clock, 'now'>,
  runId: string,
  round: readonly LaunchSpec[],
  network: BootNetworkConfig,
): Promise<LaunchOutcome[]> {
  return Promise.all(
    round.map((spec) =>
      launchInstance(ec2, limiter, clock, spec, network, bootTestTags(config.managedTag, runId, spec)),
    ),
  );
}

/** The result of a planned launch that never produced an instance (skipped for capacity, or failed). */
export function notLaunched(spec: LaunchSpec, launch: LaunchOutcome, network: BootNetwork): BootRunResult {
  return {
    ...resultBase(spec, network),
    status: launch.status === 'skipped' ? 'skipped' : 'failed',
    reason: launch.reason,
    checks: [],
  };
}

function resultBase(spec: LaunchSpec, network: BootNetwork) {
  return {
    key: spec.key,
    imageId: spec.imageId,
    region: spec.region,
    imageName: spec.imageName,
    seriesKey: spec.seriesKey,
    instanceType: spec.instanceType,
    round: spec.round,
    buildDate: spec.buildDate,
    revision: spec.revision,
    network,
  };
}

/** What inspecting a booted instance works with. */
export interface InspectDeps {
  readonly config: PipelineConfig;
  readonly ec2: EC2Client;
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly region: string;
  readonly waits: BootWaits;
}

export interface InspectInput {
  readonly runId: string;
  readonly network: BootNetwork;
  readonly spec: LaunchSpec;
  readonly launch: LaunchedInstance;
  readonly probe: ProbeObservation;
  readonly runningAt?: number;
  /** A hot-plug check already run by earlier steps (the state machine); otherwise it runs here when planned. */
  readonly hotplug?: CheckResult;
  /** Looks at port 22 again after the hot-plug cycles; only where the caller can reach the instance. */
  readonly recheckPort?: () => Promise<PortCheck>;
}

/**
 * Reads and classifies the console, runs the planned hot-plug and stop checks on a booted instance, and judges the
 * boot. Never terminates anything: cleanup belongs to the caller's finally (or Catch) path.
 */
export async function inspectLaunch(deps: InspectDeps, input: InspectInput): Promise<BootRunResult> {
  const { spec, launch, probe } = input;
  const bootTest = deps.config.bootTest;
  const checks: CheckResult[] = [];
  const readConsole = async () =>
    classifyConsole(await fetchConsoleText(deps.ec2, deps.limiter, deps.region, launch.instanceId, spec.instanceType));
  let consoleVerdict: ConsoleVerdict | undefined;
  try {
    consoleVerdict = await readConsole();
    if (probe.outcome === 'open' && !consoleFails(consoleVerdict)) {
      if (input.hotplug) checks.push(input.hotplug);
      else if (spec.checks.hotplugCycles > 0 && launch.availabilityZone)
        checks.push(
          await hotplugCheck(deps.ec2, deps.limiter, deps.clock, deps.region, {
            instanceId: launch.instanceId,
            availabilityZone: launch.availabilityZone,
            cycles: spec.checks.hotplugCycles,
            tags: bootTestTags(deps.config.managedTag, input.runId, spec),
            cycleTimeoutMs: deps.waits.volumeTimeoutMs,
            pollMs: deps.waits.volumePollMs,
            afterCycles: async () => {
              if (input.recheckPort) {
                const port = await input.recheckPort();
                if (!port.open) return `port 22 lost: ${port.reason}`;
              }
              const after = await readConsole();
              return consoleFails(after) ? after.reason : undefined;
            },
          }),
        );
      if (spec.checks.stop)
        checks.push(
          await stopCheck(deps.ec2, deps.limiter, deps.clock, deps.region, launch.instanceId, {
            cleanWithinMs: STOP_CLEAN_SECONDS * 1000,
            // Long enough to see EC2 force the stop, short enough for one Lambda invocation.
            timeoutMs: Math.min(bootTest.timeoutSeconds, STOP_CLEAN_SECONDS * 5) * 1000,
            pollMs: deps.waits.stopPollMs,
          }),
        );
    }
  } catch (error) {
    checks.push({ name: 'inspection', passed: false, reason: `inspection failed: ${describeError(error).message}` });
  }
  const timeline = {
    runInstancesStartedAt: launch.runInstancesStartedAt,
    runInstancesReturnedAt: launch.runInstancesReturnedAt,
    runningAt: input.runningAt,
    portClosedAt: probe.closedAt,
    portOpenAt: probe.openAt,
  };
  return {
    ...resultBase(spec, input.network),
    ...judgeRun({ probe, console: consoleVerdict, checks }),
    instanceId: launch.instanceId,
    availabilityZone: launch.availabilityZone,
    timeline,
    intervals: bootIntervals(timeline),
    banner: probe.banner,
    console: consoleVerdict && {
      status: consoleVerdict.status,
      reason: consoleVerdict.reason,
      excerpt: consoleVerdict.excerpt,
    },
    checks,
  };
}

/** What recording a run's results writes to. */
export interface RecordDeps {
  readonly config: PipelineConfig;
  readonly history?: BootHistoryStore;
  readonly emitMetric?: (line: string) => void;
  readonly now: Date;
  readonly logger?: Logger;
}

/** Summarises results into history rows, compares each with its previous weeks, stores them and emits metrics. */
export async function recordResults(
  deps: RecordDeps,
  runId: string,
  results: readonly BootRunResult[],
): Promise<{ rows: BootHistoryRow[]; regressions: BootRegression[] }> {
  const rows = historyRows(results, runId, deps.now);
  const regressions: BootRegression[] = [];
  const policy = deps.config.bootTest.regression;
  for (const row of rows) {
    const point = toBootPoint(row);
    if (deps.history && point) {
      const from = new Date(Date.parse(`${row.buildDate}T00:00:00Z`) - policy.weeks * 7 * 86_400_000)
        .toISOString()
        .slice(0, 10);
      const earlier = await deps.history.query(row.seriesKey, row.instanceType, from, row.buildDate);
      const verdict = detectRegression(
        point,
        earlier.flatMap((r) => toBootPoint(r) ?? []),
        policy,
      );
      if (verdict.regressed) {
        regressions.push({ ...verdict, row });
        deps.logger?.warn('boot time regression', { message: verdict.message });
      }
    }
    await deps.history?.put(row);
  }
  emitBootMetrics(rows, deps.emitMetric ?? (() => undefined), deps.now.getTime());
  return { rows, regressions };
}

/** The images of a run, by id, with their names and descriptions; ids that do not exist are left out. */
async function describeBootImages(
  clients: ClientFactory,
  limiter: RateLimiter,
  region: string,
  imageIds: readonly string[],
): Promise<BootImage[]> {
  if (imageIds.length === 0) return [];
  const ec2 = clients.ec2(region);
  const images: BootImage[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await limiter.run(region, 'DescribeImages', () =>
        ec2.send(new DescribeImagesCommand({ ImageIds: [...imageIds], NextToken: token })),
      );
      for (const image of page.Images ?? [])
        if (image.ImageId && image.Name)
          images.push({
            imageId: image.ImageId,
            region,
            name: image.Name,
            description: image.Description,
          });
      token = page.NextToken;
    } while (token);
  } catch (error) {
    if (describeError(error).code !== 'InvalidAMIID.NotFound') throw error;
    // One unknown id fails the whole call; look the others up one by one so they are still tested.
    if (imageIds.length === 1) return [];
    return (await Promise.all(imageIds.map((id) => describeBootImages(clients, limiter, region, [id])))).flat();
  }
  return images;
}
