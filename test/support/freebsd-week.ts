import { type AwsSim, type AwsSimOptions, createAwsSim } from '../../scripts/aws-sim';
import type { SeededImage } from './fleet';

/**
 * FreeBSD's weekly builds that are published and boot-tested: 4 development lines x 2 architectures x 3 flavours x
 * 2 file systems, 48 images, each booted on the 3 instance types of its architecture (6 types in all).
 */
export const BOOT_TESTED_SERIES: readonly string[] = [
  '15.0-CURRENT',
  '14.3-STABLE',
  '13.5-STABLE',
  '14.2-STABLE',
].flatMap((line) =>
  ['amd64', 'arm64'].flatMap((arch) =>
    ['base/ufs', 'base/zfs', 'cloud-init/ufs', 'cloud-init/zfs', 'small/ufs', 'small/zfs'].map(
      (variant) => `${line}/${arch}/${variant}`,
    ),
  ),
);

/** FreeBSD's copies take 5 to 60 minutes, most about a quarter of an hour. */
export const FREEBSD_COPY_MINUTES = { lognormal: { median: 15, sigma: 0.8 }, min: 5, max: 60 } as const;

/**
 * An account as FreeBSD's: the public AMI quota raised, image block public access off, copies of 5 to 60 minutes;
 * AWS's physics otherwise.
 */
export function freebsdAccount(seed: number, options: Omit<AwsSimOptions, 'seed' | 'physics'> = {}): AwsSim {
  return createAwsSim({
    ...options,
    seed,
    physics: {
      images: {
        copyMinutes: FREEBSD_COPY_MINUTES,
        publicImageQuota: 10_000,
        blockPublicAccessDefault: 'unblocked',
      },
    },
  });
}

/** This week's builds of `series`, registered in `region` as the release process leaves them. */
export function newBuilds(sim: AwsSim, region: string, series: readonly string[]): SeededImage[] {
  const date = new Date(sim.clock.now()).toISOString().slice(0, 10);
  return sim.seed.fleet({ regions: [region], series, weeks: 1, newestBuildDate: date });
}

/** The value below which `share` (0-1) of `values` lie (nearest rank). */
export function percentile(values: readonly number[], share: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * share) - 1)]!;
}
