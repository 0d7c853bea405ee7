import fc from 'fast-check';
import { type BootPoint, detectRegression, seriesLabel } from '../../lambdas/core/boot/regression';
import { defaultConfig } from '../../lambdas/core/config';

const policy = defaultConfig().bootTest.regression;
const SERIES = '15.0-CURRENT/amd64/base/zfs';

function weekly(values: readonly number[], newest = '2026-11-19'): BootPoint[] {
  return values.map((bootSeconds, index) => {
    const date = new Date(Date.parse(`${newest}T00:00:00Z`) - (values.length - 1 - index) * 7 * 86_400_000);
    return {
      seriesKey: SERIES,
      instanceType: 'c7i.large',
      buildDate: date.toISOString().slice(0, 10),
      bootSeconds,
      revision: `main@${(0xa1b2c3d + index).toString(16)}`,
    };
  });
}

const current = (bootSeconds: number, revision = 'main@e4f5a6b'): BootPoint => ({
  seriesKey: SERIES,
  instanceType: 'c7i.large',
  buildDate: '2026-11-26',
  bootSeconds,
  revision,
});

describe('boot time regression detector', () => {
  test("compares running -> port open when both sides know it: EC2's pending time is no regression of the image", () => {
    // Eight weeks of 17 s boots, 6 s of them pending; this week EC2 took 11 s to start the instance, the OS the same.
    const history = weekly([17, 17, 17, 17, 17, 17, 17, 17]).map((p) => ({ ...p, runningToOpenSeconds: 11 }));

    const slowEc2 = detectRegression({ ...current(22.4), runningToOpenSeconds: 11.4 }, history, policy);
    const slowOs = detectRegression({ ...current(22.4), runningToOpenSeconds: 16.4 }, history, policy);
    const unknownRunning = detectRegression(current(22.4), history, policy);

    expect(slowEc2).toMatchObject({ regressed: false, reason: expect.stringMatching(/^running to port open 11\.4 s/) });
    expect(slowOs).toMatchObject({ regressed: true, message: expect.stringContaining(': 11.0 s -> 16.4 s between') });
    expect(unknownRunning).toMatchObject({ regressed: true, reason: expect.stringMatching(/^boot 22\.4 s/) });
  });

  test('flags the ZFS 11 s -> 22 s regression and names the revision range between the two builds', () => {
    const history = weekly([11.0, 11.4, 11.1, 11.3, 11.2, 11.2, 11.5, 11.2]);
    history[history.length - 1] = { ...history.at(-1)!, revision: 'main@a1b2c3d' };

    const verdict = detectRegression(current(22.9), history, policy);

    expect(verdict.regressed).toBe(true);
    expect(verdict.message).toBe(
      '15.0-CURRENT amd64 base/zfs on c7i.large: 11.2 s -> 22.9 s between main@a1b2c3d and main@e4f5a6b',
    );
    expect(verdict.samples).toBe(8);
  });

  test('needs both thresholds: a fast boot 40% slower or a slow one 2.5 s slower is no alarm', () => {
    expect(detectRegression(current(4.2), weekly([3, 3, 3]), policy)).toMatchObject({
      regressed: false,
      reason: expect.stringContaining('within +2 s though above 1.25x'),
    });
    expect(detectRegression(current(42.5), weekly([40, 40, 40]), policy)).toMatchObject({
      regressed: false,
      reason: expect.stringContaining('within 1.25x'),
    });
  });

  test('only the previous K weeks of the same series and instance type form the baseline', () => {
    const old = weekly([30, 30, 30], '2026-08-01');
    const otherType = weekly([30, 30]).map((p) => ({ ...p, instanceType: 'c5.large' }));
    const recent = weekly([10, 10]);

    const verdict = detectRegression(current(30), [...old, ...otherType, ...recent], policy);

    expect(verdict).toMatchObject({ regressed: true, baselineSeconds: 10, samples: 2 });
    expect(detectRegression(current(30), old, policy)).toMatchObject({
      regressed: false,
      samples: 0,
      reason: 'no earlier build in the 8 weeks before 2026-11-26',
    });
  });

  test('without descriptions the message names the two build dates', () => {
    const history = weekly([8, 8]).map(({ revision: _, ...p }) => p);

    const verdict = detectRegression({ ...current(25), revision: undefined }, history, policy);

    expect(verdict.message).toBe(
      '15.0-CURRENT amd64 base/zfs on c7i.large: 8.0 s -> 25.0 s between the builds of 2026-11-19 and 2026-11-26',
    );
    expect(seriesLabel('14.3-STABLE/arm64/cloud-init/ufs')).toBe('14.3-STABLE arm64 cloud-init/ufs');
  });

  const seconds = fc.double({ min: 0.5, max: 600, noNaN: true });
  const weeks = fc.integer({ min: 1, max: 12 });

  test('property: a constant series never alarms', () => {
    fc.assert(
      fc.property(seconds, weeks, (value, count) => {
        expect(detectRegression(current(value), weekly(Array(count).fill(value)), policy).regressed).toBe(false);
      }),
    );
  });

  test('property: noise within 10% around a steady boot time never alarms', () => {
    fc.assert(
      fc.property(
        seconds,
        fc.array(fc.double({ min: 0.9, max: 1.1, noNaN: true }), { minLength: 2, maxLength: 8 }),
        (base, noise) => {
          const history = weekly(noise.slice(1).map((n) => base * n));
          expect(detectRegression(current(base * noise[0]!), history, policy).regressed).toBe(false);
        },
      ),
    );
  });

  test('property: a 3x step always alarms once it is more than the absolute delta', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1.01, max: 200, noNaN: true }),
        weeks,
        fc.double({ min: 1, max: 2.9, noNaN: true }),
        (value, count, ratio) => {
          const verdict = detectRegression(current(value * 3), weekly(Array(count).fill(value)), {
            ...policy,
            ratio,
          });
          expect(verdict.regressed).toBe(true);
          expect(verdict.message).toContain(' between main@');
        },
      ),
    );
  });
});
