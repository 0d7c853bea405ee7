import { DAY_MS } from '../time';
/** One recorded boot time of a build of a series on an instance type. */
export interface BootPoint {
  readonly seriesKey: string;
  readonly instanceType: string;
  /** `YYYY-MM-DD`; the build date of a snapshot, the test date of a release. */
  readonly buildDate: string;
  readonly bootSeconds: number;
  /** Running to port open, when the running state was seen: the boot without EC2's pending time. */
  readonly runningToOpenSeconds?: number;
  readonly imageId?: string;
  /** `<branch>@<revision>` from the image description, e.g. `main@a1b2c3d`. */
  readonly revision?: string;
}

/** When a boot time counts as a regression: above BOTH `ratio` x baseline and baseline + `absoluteSeconds`. */
export interface RegressionPolicy {
  /** How many weeks of earlier builds form the baseline. */
  readonly weeks: number;
  readonly ratio: number;
  readonly absoluteSeconds: number;
}

/** The comparison of one boot time with its baseline. */
export interface RegressionVerdict {
  readonly regressed: boolean;
  readonly reason: string;
  readonly baselineSeconds?: number;
  readonly samples: number;
  /** The alert text, naming the revision range, when `regressed`. */
  readonly message?: string;
}

function daysBefore(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) - days * DAY_MS).toISOString().slice(0, 10);
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `15.0-CURRENT/amd64/base/zfs` as people write it: `15.0-CURRENT amd64 base/zfs`. */
export function seriesLabel(seriesKey: string): string {
  const [versionBranch, arch, ...rest] = seriesKey.split('/');
  return arch === undefined ? seriesKey : `${versionBranch} ${arch} ${rest.join('/')}`;
}

/**
 * Compares a boot time with the median of the same series and instance type over the previous `weeks` weeks. Both
 * thresholds must be exceeded, so a fast boot getting 30% slower (3 s -> 4 s) or a slow one drifting 2 s is no alarm.
 * When the boot and earlier builds know when the instance was running, running -> port open is compared: EC2's
 * pending time varies by seconds from one instance to the next and says nothing about the image.
 */
export function detectRegression(
  current: BootPoint,
  history: readonly BootPoint[],
  policy: RegressionPolicy,
): RegressionVerdict {
  const from = daysBefore(current.buildDate, policy.weeks * 7);
  const window = history
    .filter(
      (p) =>
        p.seriesKey === current.seriesKey &&
        p.instanceType === current.instanceType &&
        p.buildDate < current.buildDate &&
        p.buildDate >= from,
    )
    .sort((a, b) => (a.buildDate < b.buildDate ? -1 : a.buildDate > b.buildDate ? 1 : 0));
  const ownPart = window.filter((p) => p.runningToOpenSeconds !== undefined);
  const [samples, seconds, measure] =
    current.runningToOpenSeconds !== undefined && ownPart.length > 0
      ? [ownPart, (p: BootPoint) => p.runningToOpenSeconds!, 'running to port open']
      : [window, (p: BootPoint) => p.bootSeconds, 'boot'];
  if (samples.length === 0)
    return {
      regressed: false,
      samples: 0,
      reason: `no earlier build in the ${policy.weeks} weeks before ${current.buildDate}`,
    };
  const baseline = medianOf(samples.map(seconds));
  const now = seconds(current);
  const ratioExceeded = now > baseline * policy.ratio;
  const deltaExceeded = now - baseline > policy.absoluteSeconds;
  const compared = `${measure} ${now.toFixed(1)} s against a median of ${baseline.toFixed(1)} s over ${samples.length} build(s)`;
  if (!(ratioExceeded && deltaExceeded)) {
    const why = !ratioExceeded
      ? `within ${policy.ratio}x`
      : `within +${policy.absoluteSeconds} s though above ${policy.ratio}x`;
    return { regressed: false, baselineSeconds: baseline, samples: samples.length, reason: `${compared}: ${why}` };
  }
  const previous = samples[samples.length - 1]!;
  const range =
    previous.revision && current.revision
      ? `between ${previous.revision} and ${current.revision}`
      : `between the builds of ${previous.buildDate} and ${current.buildDate}`;
  return {
    regressed: true,
    baselineSeconds: baseline,
    samples: samples.length,
    reason: `${compared}: above ${policy.ratio}x and +${policy.absoluteSeconds} s`,
    message: `${seriesLabel(current.seriesKey)} on ${current.instanceType}: ${baseline.toFixed(1)} s -> ${now.toFixed(1)} s ${range}`,
  };
}

/** `<branch>@<revision>` from a parsed description, or undefined. */
export function revisionOf(provenance: { gitBranch: string; gitRevision: string } | undefined): string | undefined {
  return provenance ? `${provenance.gitBranch}@${provenance.gitRevision}` : undefined;
}
