import { PipelineError } from '../errors';

/** Moments of one boot, in milliseconds since the epoch, as ec2-boot-bench observes them. */
export interface BootTimeline {
  readonly runInstancesStartedAt: number;
  readonly runInstancesReturnedAt: number;
  /** When the probe's first attempt went out; it starts as soon as RunInstances returns, so this shows any delay. */
  readonly probeStartedAt?: number;
  /** When a DescribeInstances poll first saw `running`. */
  readonly runningAt?: number;
  /** When TCP port 22 first answered "refused": the network stack is up. */
  readonly portClosedAt?: number;
  /** When TCP port 22 first accepted a connection: sshd is up. */
  readonly portOpenAt?: number;
}

/** ec2-boot-bench's four intervals plus the boot time, in seconds; undefined when a moment was never observed. */
export interface BootIntervals {
  readonly runInstancesSeconds: number;
  readonly pendingToRunningSeconds?: number;
  readonly runningToClosedSeconds?: number;
  readonly closedToOpenSeconds?: number;
  /** RunInstances return to port open. */
  readonly bootSeconds?: number;
  /**
   * Running to port open: the image's own part of the boot, without EC2's pending -> running, which varies from
   * instance to instance whatever the image does.
   */
  readonly runningToOpenSeconds?: number;
}

const seconds = (from: number | undefined, to: number | undefined) =>
  from === undefined || to === undefined ? undefined : Math.max(0, to - from) / 1000;

/**
 * Intervals of one boot. DescribeInstances is polled far more coarsely than the port, so `running` can be seen after
 * the port already answered; such an interval is clamped to 0 rather than reported negative. A port seen open
 * without a refused connection before it times nothing: the probe began after the boot, as ec2-boot-bench requires
 * "port closed" before it reports "port open".
 */
export function bootIntervals(t: BootTimeline): BootIntervals {
  const running = t.runningAt;
  const open = t.portClosedAt === undefined ? undefined : t.portOpenAt;
  return {
    runInstancesSeconds: seconds(t.runInstancesStartedAt, t.runInstancesReturnedAt)!,
    pendingToRunningSeconds: seconds(t.runInstancesReturnedAt, running),
    runningToClosedSeconds: seconds(running, t.portClosedAt),
    closedToOpenSeconds: seconds(t.portClosedAt, open),
    bootSeconds: seconds(t.runInstancesReturnedAt, open),
    runningToOpenSeconds: seconds(running, open),
  };
}

/** Median of a list of numbers; undefined for an empty list. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The summary of repeated boots of one (image, instance type). */
export interface RunSummary {
  readonly runs: number;
  /** How many runs the medians are taken over. */
  readonly used: number;
  readonly discardedFirst: boolean;
  readonly median: BootIntervals;
  readonly reason: string;
}

/**
 * Medians over repeated boots, discarding the first run when there are repeats, as ec2-boot-bench's method does:
 * the first boot of a fresh AMI reads its blocks from S3 and measures the snapshot, not the OS.
 */
export function summariseRuns(runs: readonly BootIntervals[]): RunSummary {
  const discardedFirst = runs.length > 1;
  const used = discardedFirst ? runs.slice(1) : runs;
  const field = (name: keyof BootIntervals) =>
    median(used.flatMap((r) => (r[name] === undefined ? [] : [r[name] as number])));
  return {
    runs: runs.length,
    used: used.length,
    discardedFirst,
    median: {
      runInstancesSeconds: field('runInstancesSeconds') ?? 0,
      pendingToRunningSeconds: field('pendingToRunningSeconds'),
      runningToClosedSeconds: field('runningToClosedSeconds'),
      closedToOpenSeconds: field('closedToOpenSeconds'),
      bootSeconds: field('bootSeconds'),
      runningToOpenSeconds: field('runningToOpenSeconds'),
    },
    reason: discardedFirst
      ? `median of runs 2-${runs.length}; run 1 (cold) discarded`
      : runs.length === 1
        ? 'single run'
        : 'no runs',
  };
}

// ec2-boot-bench prints fictitious +120 s intervals when the port never answers; we print "never" instead, so
// nobody mistakes a timeout for a slow boot.
const BENCH_LINES: readonly [keyof BootIntervals, string][] = [
  ['runInstancesSeconds', 'RunInstances API call took'],
  ['pendingToRunningSeconds', 'Moving from pending to running took'],
  ['runningToClosedSeconds', 'Moving from running to port closed took'],
  ['closedToOpenSeconds', 'Moving from port closed to port open took'],
];

/** The four lines ec2-boot-bench prints, so numbers can be compared with hand-run benchmarks. */
export function formatBootBench(intervals: BootIntervals): string {
  return BENCH_LINES.map(([field, label]) => {
    const value = intervals[field];
    return `${label}: ${value === undefined ? 'never' : `${value.toFixed(6)} s`}`;
  }).join('\n');
}

/** Reads ec2-boot-bench output (e.g. a hand-run benchmark) back into intervals. */
export function parseBootBench(text: string): BootIntervals {
  const values: Partial<Record<keyof BootIntervals, number>> = {};
  for (const line of text.split('\n')) {
    for (const [field, label] of BENCH_LINES) {
      const match = new RegExp(`^${label}: ([0-9.]+) s$`).exec(line.trim());
      if (match) values[field] = Number(match[1]);
    }
  }
  if (values.runInstancesSeconds === undefined)
    throw new BootBenchParseError('no "RunInstances API call took" line in ec2-boot-bench output');
  const open =
    values.pendingToRunningSeconds !== undefined &&
    values.runningToClosedSeconds !== undefined &&
    values.closedToOpenSeconds !== undefined
      ? values.pendingToRunningSeconds + values.runningToClosedSeconds + values.closedToOpenSeconds
      : undefined;
  return { ...values, runInstancesSeconds: values.runInstancesSeconds, bootSeconds: open };
}

/** Text that is not ec2-boot-bench output. */
export class BootBenchParseError extends PipelineError {
  override readonly name: string = 'BootBenchParseError';
}
