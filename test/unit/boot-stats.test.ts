import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  BootBenchParseError,
  bootIntervals,
  formatBootBench,
  median,
  parseBootBench,
  summariseRuns,
} from '../../lambdas/core/boot/stats';

describe('boot intervals', () => {
  test('splits a boot into the four ec2-boot-bench intervals, boot time from RunInstances return to port open', () => {
    const t0 = 1_800_000_000_000;
    const intervals = bootIntervals({
      runInstancesStartedAt: t0,
      runInstancesReturnedAt: t0 + 1_543,
      runningAt: t0 + 6_448,
      portClosedAt: t0 + 23_623,
      portOpenAt: t0 + 29_267,
    });

    expect(intervals).toEqual({
      runInstancesSeconds: 1.543,
      pendingToRunningSeconds: 4.905,
      runningToClosedSeconds: 17.175,
      closedToOpenSeconds: 5.644,
      bootSeconds: 27.724,
      runningToOpenSeconds: 22.819,
    });
  });

  test('leaves unobserved moments undefined and clamps a port seen before the coarse running poll to 0', () => {
    const intervals = bootIntervals({
      runInstancesStartedAt: 0,
      runInstancesReturnedAt: 1000,
      runningAt: 9000,
      portClosedAt: 8000,
    });

    expect(intervals.runningToClosedSeconds).toBe(0);
    expect(intervals.closedToOpenSeconds).toBeUndefined();
    expect(intervals.bootSeconds).toBeUndefined();
  });

  test('an open port never refused first gives no boot time: the observation started after the boot', () => {
    const intervals = bootIntervals({
      runInstancesStartedAt: 0,
      runInstancesReturnedAt: 1000,
      runningAt: 3000,
      portOpenAt: 9000,
    });

    expect(intervals.bootSeconds).toBeUndefined();
    expect(intervals.closedToOpenSeconds).toBeUndefined();
    expect(intervals.runningToClosedSeconds).toBeUndefined();
  });

  test('prints and reads back the format of ec2-boot-bench, including the sample in its announcement', () => {
    const sample = readFileSync(join(__dirname, '..', 'fixtures', 'console', 'ec2-boot-bench-output.txt'), 'utf8');

    const parsed = parseBootBench(sample);

    expect(parsed).toMatchObject({
      runInstancesSeconds: 1.543152,
      pendingToRunningSeconds: 4.904754,
      runningToClosedSeconds: 17.175601,
      closedToOpenSeconds: 5.643463,
    });
    expect(parsed.bootSeconds).toBeCloseTo(27.723818, 6);
    const printed = formatBootBench(parsed);
    expect(printed.split('\n')).toEqual(sample.split('\n').filter((l) => l && !l.startsWith('#')));
  });

  test('prints "never" for a port that never answered instead of a fictitious time', () => {
    expect(formatBootBench({ runInstancesSeconds: 0.5, pendingToRunningSeconds: 3 })).toContain(
      'Moving from running to port closed took: never',
    );
    expect(() => parseBootBench('no benchmark here')).toThrow(BootBenchParseError);
  });
});

describe('statistics over repeats', () => {
  test('discards the cold first run and takes the median of the rest', () => {
    const runs = [40, 12, 11, 13].map((bootSeconds) => ({ runInstancesSeconds: 1, bootSeconds }));

    const summary = summariseRuns(runs);

    expect(summary).toMatchObject({ runs: 4, used: 3, discardedFirst: true });
    expect(summary.median.bootSeconds).toBe(12);
    expect(summary.reason).toBe('median of runs 2-4; run 1 (cold) discarded');
  });

  test('keeps a single run as it is', () => {
    const summary = summariseRuns([{ runInstancesSeconds: 2, bootSeconds: 9 }]);
    expect(summary).toMatchObject({ runs: 1, used: 1, discardedFirst: false, reason: 'single run' });
    expect(summary.median.bootSeconds).toBe(9);
  });

  test('the median lies between the smallest and largest value and ignores their order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 1 }), (values) => {
        const m = median(values)!;
        expect(m).toBeGreaterThanOrEqual(Math.min(...values));
        expect(m).toBeLessThanOrEqual(Math.max(...values));
        expect(median([...values].reverse())).toBe(m);
      }),
    );
  });
});
