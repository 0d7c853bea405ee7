import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
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
import { describeError, errorCode } from '../../core/errors';
import { namingProfile } from '../../core/naming';
import type { Logger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import type { RateLimiter } from '../rate-limiter';
import { stopCheck } from './checks';
import type { BootEc2Context } from './context';
import { type BootHistoryStore, emitBootMetrics } from './history';
import { fetchConsoleText, type LaunchOutcome } from './instances';
import { DAY_MS } from '../../core/time';

/** Poll intervals and bounds of the API waits of an inspection. */
export interface BootWaits {
  readonly stopPollMs: number;
}

export const DEFAULT_WAITS: BootWaits = { stopPollMs: 1000 };

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

/** A launched instance, as the launch step reports it. */
export type LaunchedInstance = Extract<LaunchOutcome, { status: 'launched' }>;

/** Looks the images up and plans the launches; images that do not exist are reported, not guessed at. */
export async function planBootRun(
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

/** The result of a planned launch that never produced an instance (skipped for capacity, or failed). */
export function notLaunched(spec: LaunchSpec, launch: LaunchOutcome, network: BootNetwork): BootRunResult {
  return {
    ...resultBase(spec, network),
    status: launch.status === 'skipped' ? 'skipped' : 'failed',
    reason: launch.reason,
    checks: [],
  };
}

/** The result of a launch whose workflow step failed for good (after its retries): the run goes on without it. */
export function stepFailed(
  spec: LaunchSpec,
  launch: LaunchOutcome | undefined,
  network: BootNetwork,
  reason: string,
): BootRunResult {
  return {
    ...resultBase(spec, network),
    status: 'failed',
    reason,
    ...(launch?.status === 'launched'
      ? { instanceId: launch.instanceId, availabilityZone: launch.availabilityZone }
      : {}),
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
export interface InspectDeps extends BootEc2Context {
  readonly config: PipelineConfig;
  readonly waits: BootWaits;
}

export interface InspectInput {
  readonly runId: string;
  readonly network: BootNetwork;
  readonly spec: LaunchSpec;
  readonly launch: LaunchedInstance;
  readonly probe: ProbeObservation;
  readonly runningAt?: number;
  /** The hot-plug check, when earlier steps ran one. */
  readonly hotplug?: CheckResult;
}

/**
 * Reads and classifies the console, takes the hot-plug result the earlier steps found, runs the planned stop check
 * on a booted instance, and judges the boot. Never terminates anything: the caller does, after recording.
 */
export async function inspectLaunch(deps: InspectDeps, input: InspectInput): Promise<BootRunResult> {
  const { spec, launch, probe } = input;
  const bootTest = deps.config.bootTest;
  const checks: CheckResult[] = [];
  let consoleVerdict: ConsoleVerdict | undefined;
  try {
    consoleVerdict = classifyConsole(
      await fetchConsoleText(deps, { instanceId: launch.instanceId, instanceType: spec.instanceType }),
    );
    if (probe.outcome === 'open' && !consoleFails(consoleVerdict)) {
      if (input.hotplug) checks.push(input.hotplug);
      if (spec.checks.stop)
        checks.push(
          await stopCheck(deps, launch.instanceId, {
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
    probeStartedAt: probe.startedAt,
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
      const from = new Date(Date.parse(`${row.buildDate}T00:00:00Z`) - policy.weeks * 7 * DAY_MS)
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
  emitBootMetrics(rows, deps.emitMetric ?? (() => undefined), deps.now.getTime(), deps.logger);
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
  const ec2 = clients.client(EC2Client, region);
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
    if (errorCode(error) !== 'InvalidAMIID.NotFound') throw error;
    // One unknown id fails the whole call; look the others up one by one so they are still tested.
    if (imageIds.length === 1) return [];
    return (await Promise.all(imageIds.map((id) => describeBootImages(clients, limiter, region, [id])))).flat();
  }
  return images;
}
