import fc from 'fast-check';
import { type BootPoint, detectRegression, revisionOf, seriesLabel } from '../../lambdas/core/boot/regression';
import { defaultConfig } from '../../lambdas/core/config';
import { DAY_MS } from '../../lambdas/core/time';

const policy = defaultConfig().bootTest.regression;
const SERIES = '15.0-CURRENT/amd64/base/zfs';

function weekly(values: readonly number[], newest = '2026-11-19'): BootPoint[] {
  return values.map((bootSeconds, index) => {
    const date = new Date(Date.parse(`${newest}T00:00:00Z`) - (values.length - 1 - index) * 7 * DAY_MS);
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

describe('boot time regression detector boundaries', () => {
  const at = (buildDate: string, bootSeconds: number, extra: Partial<BootPoint> = {}): BootPoint => ({
    seriesKey: SERIES,
    instanceType: 'c7i.large',
    buildDate,
    bootSeconds,
    ...extra,
  });

  test('the baseline window holds builds from exactly K weeks before, not the day before that nor the same day', () => {
    // Prepare: 8 weeks before 2026-11-26 is 2026-10-01.
    const history = [at('2026-09-30', 100), at('2026-10-01', 10), at('2026-11-26', 100)];

    // Act
    const verdict = detectRegression(current(30), history, policy);

    // Assess
    expect(verdict).toMatchObject({ regressed: true, baselineSeconds: 10, samples: 1 });
  });

  test('another series on the same instance type is not part of the baseline', () => {
    // Prepare
    const history = [
      ...weekly([10, 10]),
      ...weekly([30, 30, 30]).map((p) => ({ ...p, seriesKey: '14.3-STABLE/amd64/base/ufs' })),
    ];

    // Act
    const verdict = detectRegression(current(30), history, policy);

    // Assess
    expect(verdict).toMatchObject({ regressed: true, baselineSeconds: 10, samples: 2 });
  });

  test('the median of an even number of builds is the mean of the middle two; of an odd number, the middle one', () => {
    // Act
    const even = detectRegression(current(10), weekly([10, 30, 20, 40]), policy);
    const odd = detectRegression(current(10), weekly([60, 10, 20]), policy);

    // Assess
    expect(even.baselineSeconds).toBe(25);
    expect(odd.baselineSeconds).toBe(20);
  });

  test('a boot exactly at the ratio, or exactly the absolute delta slower, is no regression', () => {
    // Act
    const atRatio = detectRegression(current(12.5), weekly([10, 10]), { ...policy, ratio: 1.25, absoluteSeconds: 2 });
    const atDelta = detectRegression(current(15), weekly([10, 10]), { ...policy, ratio: 1.25, absoluteSeconds: 5 });

    // Assess
    expect(atRatio).toMatchObject({ regressed: false, reason: expect.stringContaining('within 1.25x') });
    expect(atDelta).toMatchObject({
      regressed: false,
      reason: expect.stringContaining('within +5 s though above 1.25x'),
    });
  });

  test('compares the whole boot when earlier builds lack the running time, even if this one has it', () => {
    // Act
    const verdict = detectRegression({ ...current(30), runningToOpenSeconds: 5 }, weekly([10, 10]), policy);

    // Assess
    expect(verdict).toMatchObject({
      regressed: true,
      baselineSeconds: 10,
      reason: expect.stringMatching(/^boot 30\.0 s/),
    });
  });

  test('names the newest earlier build in the range, however the history is ordered', () => {
    // Prepare
    const history = [
      at('2026-11-19', 10, { revision: 'main@newest' }),
      at('2026-11-05', 10, { revision: 'main@older' }),
    ];

    // Act
    const verdict = detectRegression(current(30, 'main@current'), history, policy);

    // Assess
    expect(verdict.message).toContain('between main@newest and main@current');
  });

  test('with only one side described, the range names the two build dates', () => {
    // Act
    const verdict = detectRegression(current(30, 'main@current'), [at('2026-11-19', 10)], policy);

    // Assess
    expect(verdict.message).toContain('between the builds of 2026-11-19 and 2026-11-26');
  });

  test('a revision is branch@commit from the description; a series key without an architecture is shown as it is', () => {
    // Assess
    expect(revisionOf({ gitBranch: 'stable/14', gitRevision: 'a1b2c3d' })).toBe('stable/14@a1b2c3d');
    expect(revisionOf(undefined)).toBeUndefined();
    expect(seriesLabel('custom')).toBe('custom');
  });
});
