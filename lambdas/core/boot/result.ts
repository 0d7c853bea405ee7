import { type ConsoleVerdict, consoleFails } from './console';
import type { BootPoint } from './regression';
import { type BootIntervals, type BootTimeline, bootIntervals, summariseRuns } from './stats';

/** Which network a test instance booted on: the isolated subnets, or the outbound-only public subnet. */
export type BootNetwork = 'isolated' | 'outbound-internet' | 'operator';

/**
 * `inconclusive`: the port was open without having refused a connection first, so the probe began after the boot
 * it was meant to time; such a boot is kept, but never as a boot time.
 */
export type BootStatus = 'passed' | 'failed' | 'skipped' | 'timeout' | 'inconclusive';

/** What the TCP probe saw, in epoch milliseconds. */
export interface ProbeObservation {
  readonly outcome: 'open' | 'timeout';
  readonly startedAt: number;
  readonly closedAt?: number;
  readonly openAt?: number;
  /** The first line sshd sent, e.g. `SSH-2.0-OpenSSH_9.9 FreeBSD-20250219`. */
  readonly banner?: string;
  readonly attempts: number;
  readonly reason: string;
}

/** One seed-derived check (stop, hot-plug) on a booted instance, or the inspection itself when it failed. */
export interface CheckResult {
  readonly name: 'stop' | 'hotplug' | 'inspection';
  readonly passed: boolean;
  readonly seconds?: number;
  readonly cycles?: number;
  readonly reason: string;
}

/** The outcome of one launch. */
export interface BootRunResult {
  readonly key: string;
  readonly imageId: string;
  readonly region: string;
  readonly imageName: string;
  readonly seriesKey: string;
  readonly instanceType: string;
  readonly round: number;
  readonly buildDate?: string;
  readonly revision?: string;
  readonly network: BootNetwork;
  readonly status: BootStatus;
  readonly reason: string;
  readonly instanceId?: string;
  readonly availabilityZone?: string;
  readonly timeline?: BootTimeline;
  readonly intervals?: BootIntervals;
  readonly banner?: string;
  readonly console?: Pick<ConsoleVerdict, 'status' | 'reason' | 'excerpt'>;
  readonly checks: readonly CheckResult[];
}

/** Verdict of one launch from what was observed; the reason names the deciding observation. */
export function judgeRun(observed: {
  readonly probe?: ProbeObservation;
  readonly console?: ConsoleVerdict;
  readonly checks: readonly CheckResult[];
}): { status: BootStatus; reason: string } {
  const { probe, console, checks } = observed;
  if (console && consoleFails(console)) return { status: 'failed', reason: console.reason };
  if (!probe || probe.outcome === 'timeout') {
    const seen = console ? `; console: ${console.reason}` : '';
    return { status: 'timeout', reason: `${probe?.reason ?? 'port 22 was never probed'}${seen}` };
  }
  const failed = checks.filter((c) => !c.passed);
  if (failed.length) return { status: 'failed', reason: failed.map((c) => `${c.name}: ${c.reason}`).join('; ') };
  if (probe.closedAt === undefined)
    return {
      status: 'inconclusive',
      reason: `port 22 accepted the first connection without refusing one first (${probe.reason}): the probe began after the network was up, so the boot time is unknown`,
    };
  return { status: 'passed', reason: probe.reason };
}

/** One history row: a build of a series on an instance type, all repeats summarised. */
export interface BootHistoryRow {
  readonly seriesKey: string;
  readonly instanceType: string;
  readonly buildDate: string;
  readonly imageId: string;
  readonly imageName: string;
  readonly region: string;
  readonly revision?: string;
  readonly network: BootNetwork;
  readonly status: BootStatus;
  readonly reason: string;
  readonly runs: number;
  readonly median: BootIntervals;
  readonly testedAt: string;
  readonly runId: string;
}

/** History rows of a run: one per (image, instance type), medians over its passed repeats. */
export function historyRows(results: readonly BootRunResult[], runId: string, now: Date): BootHistoryRow[] {
  const groups = new Map<string, BootRunResult[]>();
  for (const result of results) {
    const key = `${result.imageId}/${result.instanceType}`;
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  return [...groups.values()].map((group) => {
    const ordered = [...group].sort((a, b) => a.round - b.round);
    const first = ordered[0]!;
    const bad = ordered.find((r) => r.status === 'failed' || r.status === 'timeout');
    const allSkipped = ordered.every((r) => r.status === 'skipped');
    const passed = ordered.filter((r) => r.status === 'passed');
    const inconclusive = ordered.find((r) => r.status === 'inconclusive');
    const timed = passed.filter((r) => r.intervals).map((r) => r.intervals!);
    const summary = summariseRuns(timed);
    const status: BootStatus = bad
      ? bad.status
      : allSkipped
        ? 'skipped'
        : passed.length === 0 && inconclusive
          ? 'inconclusive'
          : 'passed';
    return {
      seriesKey: first.seriesKey,
      instanceType: first.instanceType,
      buildDate: first.buildDate ?? now.toISOString().slice(0, 10),
      imageId: first.imageId,
      imageName: first.imageName,
      region: first.region,
      revision: first.revision,
      network: first.network,
      status,
      reason: bad
        ? `run ${bad.round + 1}: ${bad.reason}`
        : allSkipped
          ? first.reason
          : status === 'inconclusive'
            ? `run ${inconclusive!.round + 1}: ${inconclusive!.reason}`
            : summary.reason,
      runs: ordered.length,
      median: summary.median,
      testedAt: now.toISOString(),
      runId,
    };
  });
}

/** The regression detector's view of a history row; only passed rows with a boot time count. */
export function toBootPoint(row: BootHistoryRow): BootPoint | undefined {
  if (row.status !== 'passed' || row.median.bootSeconds === undefined) return undefined;
  return {
    seriesKey: row.seriesKey,
    instanceType: row.instanceType,
    buildDate: row.buildDate,
    bootSeconds: row.median.bootSeconds,
    runningToOpenSeconds: row.median.runningToOpenSeconds,
    imageId: row.imageId,
    revision: row.revision,
  };
}

/** CloudWatch namespace of the boot metrics. */
export const BOOT_METRIC_NAMESPACE = 'AmiPipeline/BootTest';

/** Dimensions of the boot metrics; each metric is also published without dimensions, for one alarm over all. */
export const BOOT_METRIC_DIMENSIONS = ['Series', 'InstanceType'] as const;

/** One boot metric of a history row: CloudWatch name, unit and value. */
export interface BootMetric {
  readonly name: string;
  readonly unit: 'Seconds' | 'Count';
  readonly value: number;
}

/** The metrics a history row publishes: the median intervals it measured, and whether the boot failed. */
export function bootMetrics(row: BootHistoryRow): BootMetric[] {
  const m = row.median;
  const seconds = (name: string, value: number | undefined): BootMetric[] =>
    value === undefined ? [] : [{ name, unit: 'Seconds', value }];
  return [
    ...seconds('BootSeconds', m.bootSeconds),
    ...seconds('RunInstancesSeconds', m.runInstancesSeconds),
    ...seconds('PendingToRunningSeconds', m.pendingToRunningSeconds),
    ...seconds('RunningToPortClosedSeconds', m.runningToClosedSeconds),
    ...seconds('PortClosedToOpenSeconds', m.closedToOpenSeconds),
    { name: 'BootFailed', unit: 'Count', value: row.status === 'failed' || row.status === 'timeout' ? 1 : 0 },
  ];
}

export { bootIntervals };
