import { percentile } from '../test/support/freebsd-week';
import { type BenchRow, row } from './table';
import { benchWeek } from './week';

/** RunInstances' request bucket per region: 5 calls at once, then 2 a second. */
const RUN_INSTANCES_PER_SECOND = 2;
/** The non-mutating bucket DescribeInstances draws from: 20 calls a second sustained. */
const DESCRIBE_PER_MINUTE = 20 * 60;
/** How far a measured boot time may be from the true one, as ec2-boot-bench's own precision. */
const BOOT_ERROR_TARGET_MS = 100;
/** Instance types each image boots on: the three of its architecture. */
const TYPES_PER_IMAGE = 3;

/**
 * The boot test of a week's images: its time against what RunInstances' bucket allows, how close the measured boot
 * times are to the simulated truth, and how hard it polls DescribeInstances against its bucket.
 */
export async function benchBoot(size: 'small' | 'full'): Promise<BenchRow[]> {
  const week = await benchWeek(size);
  const images = week.size.series.length;
  const group = `boot test ${images} images x 6 types`;
  const boot = week.boot;
  const totalSeconds = boot?.stopDate ? (boot.stopDate.getTime() - boot.startDate.getTime()) / 1000 : Number.NaN;
  const errors = week.bootErrorsMs.map(Math.abs);
  const passed = week.bootResults.filter((r) => r.status === 'passed').length;
  const busiestMinute = Math.max(0, ...week.describeInstancesPerMinute);
  return [
    row({
      group,
      measure: 'launches passed',
      reference: images * TYPES_PER_IMAGE,
      referenceLabel: 'each image on the 3 types of its architecture',
      result: passed,
      unit: '',
      minRatio: 1,
    }),
    row({
      group,
      measure: 'total time (virtual)',
      reference: week.launches / RUN_INSTANCES_PER_SECOND,
      referenceLabel: 'RunInstances bucket: launches / 2 per s',
      result: totalSeconds,
      unit: 's',
      note: 'each launch also boots, is inspected and (one type per image) hot-plugged',
    }),
    row({
      group,
      measure: 'boot-time error p50',
      reference: BOOT_ERROR_TARGET_MS,
      referenceLabel: '|measured - simulated true boot|',
      result: percentile(errors, 0.5),
      unit: 'ms',
    }),
    row({
      group,
      measure: 'boot-time error p95',
      reference: BOOT_ERROR_TARGET_MS,
      referenceLabel: '|measured - simulated true boot|',
      result: percentile(errors, 0.95),
      unit: 'ms',
      maxRatio: 1,
      note: `${errors.length} passed boots`,
    }),
    row({
      group,
      measure: 'DescribeInstances, busiest minute',
      reference: DESCRIBE_PER_MINUTE,
      referenceLabel: 'non-mutating bucket: 20 per s',
      result: busiestMinute,
      unit: 'calls/min',
      maxRatio: 1,
      note: `${week.bootThrottledNonMutating} non-mutating calls throttled`,
    }),
  ];
}
