import fc from 'fast-check';
import { parseConfig } from '../../lambdas/core/config';
import { COMMERCIAL_REGION_COUNT } from '../../lambdas/core/publish/history';
import {
  abandonPending,
  advanceCopies,
  copiesPending,
  type CopyProgress,
  copyClientToken,
  EVENTS_PER_POLL,
  EVENTS_PER_REGION,
  HISTORY_EVENT_CAP,
  MAX_POLL_SECONDS,
  nextPollSeconds,
  publishExecutionTimeoutMinutes,
  publishHistoryEvents,
  recordStarts,
  regionHorizonMinutes,
  regionPollBudget,
} from '../../lambdas/core/publish';

const NOW = new Date('2026-11-27T06:10:00Z');
const MINUTE = 60_000;
const LIMITS = { now: NOW, copyTimeoutMs: 180 * MINUTE, maxAttempts: 3, concurrency: 2 };

function copying(source: string, imageId: string, attempt = 1, startedMinutesAgo = 10): CopyProgress {
  const startedAt = new Date(NOW.getTime() - startedMinutesAgo * MINUTE).toISOString();
  return { source, name: `name of ${source}`, imageId, attempt, state: 'copying', startedAt };
}

describe('copy client token', () => {
  test('is the same for the same source, region, attempt and run, and differs when any of them does', () => {
    const token = copyClientToken('ami-0123', 'eu-west-1', 1, 'run-1');

    expect(copyClientToken('ami-0123', 'eu-west-1', 1, 'run-1')).toBe(token);
    expect(copyClientToken('ami-0123', 'eu-west-2', 1, 'run-1')).not.toBe(token);
    expect(copyClientToken('ami-0124', 'eu-west-1', 1, 'run-1')).not.toBe(token);
    expect(copyClientToken('ami-0123', 'eu-west-1', 2, 'run-1')).not.toBe(token);
    expect(copyClientToken('ami-0123', 'eu-west-1', 1, 'run-2')).not.toBe(token);
  });

  test('is at most 64 ASCII characters for any input', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), fc.string(), (source, region, attempt, run) => {
        const token = copyClientToken(source, region, attempt, run);
        expect(token.length).toBeLessThanOrEqual(64);
        expect(token).toMatch(/^[\x21-\x7e]+$/);
      }),
    );
  });
});

describe('copy progress in one region', () => {
  test('marks available copies done and starts queued ones up to the concurrency', () => {
    const copies: CopyProgress[] = [
      copying('ami-s1', 'ami-c1'),
      copying('ami-s2', 'ami-c2'),
      { source: 'ami-s3', name: 'n3', attempt: 0, state: 'queued' },
      { source: 'ami-s4', name: 'n4', attempt: 0, state: 'queued' },
    ];

    const step = advanceCopies(copies, { 'ami-c1': { state: 'available' }, 'ami-c2': { state: 'pending' } }, LIMITS);

    expect(step.copies[0]!.state).toBe('available');
    expect(step.start).toEqual(['ami-s3']);
    expect(step.pending).toBe(true);
  });

  test('deregisters a failed copy and queues it again until the attempts are used up', () => {
    const step = advanceCopies(
      [copying('ami-s1', 'ami-c1', 1), copying('ami-s2', 'ami-c2', 3)],
      { 'ami-c1': { state: 'failed', reason: 'InternalError' }, 'ami-c2': { state: 'failed' } },
      LIMITS,
    );

    expect(step.deregister).toEqual(['ami-c1', 'ami-c2']);
    expect(step.copies[0]).toMatchObject({
      state: 'queued',
      attempt: 1,
      error: expect.stringContaining('InternalError'),
    });
    expect(step.copies[0]).not.toHaveProperty('imageId');
    expect(step.copies[1]).toMatchObject({ state: 'failed', error: expect.stringContaining('attempt 3 of 3') });
    expect(step.start).toEqual(['ami-s1']);
  });

  test('queues a copy that was deregistered while copying again, without deregistering it a second time', () => {
    const step = advanceCopies([copying('ami-s1', 'ami-c1', 1)], { 'ami-c1': { state: 'deregistered' } }, LIMITS);

    expect(step.deregister).toEqual([]);
    expect(step.copies[0]).toMatchObject({ state: 'queued', error: expect.stringContaining('deregistered') });
    expect(step.start).toEqual(['ami-s1']);
  });

  test('keeps polling a copy that DescribeImages does not list yet', () => {
    const step = advanceCopies([copying('ami-s1', 'ami-c1')], {}, LIMITS);

    expect(step.copies[0]!.state).toBe('copying');
    expect(step.pending).toBe(true);
  });

  test('times out each copy from its own start: one started early fails, one started late goes on', () => {
    const step = advanceCopies(
      [
        copying('ami-s1', 'ami-c1', 1, 181),
        copying('ami-s2', 'ami-c2', 1, 20),
        { source: 'ami-s3', name: 'n3', attempt: 0, state: 'queued' },
      ],
      { 'ami-c1': { state: 'pending' }, 'ami-c2': { state: 'pending' } },
      { ...LIMITS, concurrency: 1 },
    );

    expect(step.copies[0]).toMatchObject({
      state: 'failed',
      error: 'copy ami-c1 not available 180 min after it started',
    });
    expect(step.copies[1]!.state).toBe('copying');
    expect(step.copies[2]!.state).toBe('queued');
    expect(step.start).toEqual([]);
    expect(step.pending).toBe(true);
  });

  test('a queued copy never times out before it starts, however long it waited', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (minutesWaited) => {
        const step = advanceCopies(
          [{ source: 'ami-s1', name: 'n1', attempt: 0, state: 'queued' }],
          {},
          { ...LIMITS, now: new Date(NOW.getTime() + minutesWaited * MINUTE) },
        );
        expect(step.start).toEqual(['ami-s1']);
      }),
    );
  });

  test('records started copies with their image id and start time, and failed starts with their error', () => {
    const copies = recordStarts(
      [
        { source: 'ami-s1', name: 'n1', attempt: 0, state: 'queued' },
        { source: 'ami-s2', name: 'n2', attempt: 0, state: 'queued' },
      ],
      { 'ami-s1': { imageId: 'ami-c1' }, 'ami-s2': { error: 'RequestLimitExceeded' } },
      NOW,
    );

    expect(copies[0]).toEqual({
      source: 'ami-s1',
      name: 'n1',
      imageId: 'ami-c1',
      attempt: 1,
      state: 'copying',
      startedAt: NOW.toISOString(),
    });
    expect(copies[1]).toMatchObject({ state: 'failed', error: 'RequestLimitExceeded' });
  });

  test('never has more copies in flight than the concurrency allows', () => {
    const state = fc.constantFrom('pending', 'available', 'failed', 'deregistered', 'missing');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), state, fc.integer({ min: 0, max: 400 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        (items, concurrency) => {
          const copies: CopyProgress[] = items.map(([inFlight, , age], i) =>
            inFlight
              ? copying(`ami-s${i}`, `ami-c${i}`, 1, age)
              : { source: `ami-s${i}`, name: `n${i}`, attempt: 0, state: 'queued' },
          );
          const observed = Object.fromEntries(
            items.flatMap(([inFlight, s], i) => (inFlight && s !== 'missing' ? [[`ami-c${i}`, { state: s }]] : [])),
          );
          const step = advanceCopies(copies, observed, { ...LIMITS, concurrency });
          const inFlight = step.copies.filter((c) => c.state === 'copying').length;
          expect(step.start.length).toBeLessThanOrEqual(Math.max(0, concurrency - inFlight));
          expect(step.copies).toHaveLength(copies.length);
        },
      ),
    );
  });
});

describe('copy progress at its edges', () => {
  test('a copy is timed out only once its timeout has fully passed', () => {
    // Act
    const step = advanceCopies([copying('ami-s1', 'ami-c1', 1, 180)], { 'ami-c1': { state: 'pending' } }, LIMITS);

    // Assess
    expect(step.copies[0]!.state).toBe('copying');
  });

  test('a copy that already failed or is done is neither deregistered nor failed again', () => {
    // Prepare
    const failed: CopyProgress = { ...copying('ami-s1', 'ami-c1', 3, 400), state: 'failed', error: 'first error' };
    const done: CopyProgress = { ...copying('ami-s2', 'ami-c2', 1, 400), state: 'available' };

    // Act
    const step = advanceCopies(
      [failed, done],
      { 'ami-c1': { state: 'failed' }, 'ami-c2': { state: 'pending' } },
      LIMITS,
    );

    // Assess
    expect(step).toEqual({ copies: [failed, done], deregister: [], start: [], pending: false });
  });

  test('a failed copy without a reason says only its state', () => {
    // Act
    const step = advanceCopies([copying('ami-s1', 'ami-c1', 1)], { 'ami-c1': { state: 'error' } }, LIMITS);

    // Assess
    expect(step.copies[0]).toEqual({
      source: 'ami-s1',
      name: 'name of ami-s1',
      attempt: 1,
      state: 'queued',
      error: 'copy ami-c1 error',
    });
  });

  test('a start is recorded only on a queued copy, and a start without an error still says it failed', () => {
    // Prepare
    const inFlight = copying('ami-s1', 'ami-c1', 1);
    const queued: CopyProgress = { source: 'ami-s2', name: 'n2', attempt: 1, state: 'queued' };

    // Act
    const copies = recordStarts([inFlight, queued], { 'ami-s1': { imageId: 'ami-c9' }, 'ami-s2': {} }, NOW);

    // Assess
    expect(copies).toEqual([inFlight, { ...queued, attempt: 2, state: 'failed', error: 'copy could not start' }]);
  });

  test('a step whose only copies are queued again is still pending', () => {
    // Act
    const step = advanceCopies([copying('ami-s1', 'ami-c1', 1)], { 'ami-c1': { state: 'failed' } }, LIMITS);

    // Assess
    expect(step).toMatchObject({ start: ['ami-s1'], pending: true });
  });

  test('copies are pending while one is queued or in flight', () => {
    // Prepare
    const queued: CopyProgress = { source: 'ami-s1', name: 'n1', attempt: 0, state: 'queued' };
    const done: CopyProgress = { ...copying('ami-s2', 'ami-c2'), state: 'available' };
    const failed: CopyProgress = { ...copying('ami-s3', 'ami-c3'), state: 'failed' };

    // Act
    const pending = [
      [queued, done],
      [copying('ami-s4', 'ami-c4'), failed],
      [done, failed],
    ].map(copiesPending);

    // Assess
    expect(pending).toEqual([true, true, false]);
  });

  test('abandoning a region fails its queued and in-flight copies, naming the copy where there is one', () => {
    // Prepare
    const queued: CopyProgress = { source: 'ami-s1', name: 'n1', attempt: 0, state: 'queued' };
    const inFlight = copying('ami-s2', 'ami-c2');
    const done: CopyProgress = { ...copying('ami-s3', 'ami-c3'), state: 'available' };

    // Act
    const copies = abandonPending([queued, inFlight, done], 'not available after 62 polls');

    // Assess
    expect(copies).toEqual([
      { ...queued, state: 'failed', error: 'not available after 62 polls' },
      { ...inFlight, state: 'failed', error: 'copy ami-c2 not available after 62 polls' },
      done,
    ]);
  });
});

describe('poll interval', () => {
  const base = { pollSeconds: 60, currentSeconds: 60, started: false, polls: 1, secondsLeft: 3_600, budget: 62 };

  test('doubles up to 600 s, starts again from the configured interval when copies start, and is zero for tests', () => {
    expect(nextPollSeconds(base)).toBe(120);
    expect(nextPollSeconds({ ...base, currentSeconds: 480 })).toBe(MAX_POLL_SECONDS);
    expect(nextPollSeconds({ ...base, currentSeconds: 600 })).toBe(MAX_POLL_SECONDS);
    expect(nextPollSeconds({ ...base, currentSeconds: 600, started: true })).toBe(60);
    expect(nextPollSeconds({ ...base, pollSeconds: 0, currentSeconds: 0 })).toBe(0);
  });

  test('once half the budget of polls is used, waits double past 600 s and no longer start over', () => {
    const late = { ...base, polls: 31, budget: 62, secondsLeft: 86_400 };

    expect(nextPollSeconds({ ...late, currentSeconds: 600, started: true })).toBe(1_200);
    expect(nextPollSeconds({ ...late, currentSeconds: 9_600 })).toBe(19_200);
  });

  test('never waits past the horizon, after which no copy can be pending', () => {
    expect(nextPollSeconds({ ...base, currentSeconds: 600, secondsLeft: 90 })).toBe(90);
  });

  test('rounds a part second of the horizon up, and leaves the wait alone at or past the horizon', () => {
    // Act
    const waits = [90.5, 0, -30].map((secondsLeft) => nextPollSeconds({ ...base, currentSeconds: 600, secondsLeft }));

    // Assess
    expect(waits).toEqual([91, MAX_POLL_SECONDS, MAX_POLL_SECONDS]);
  });

  test('an interval configured above 600 s is kept between polls', () => {
    // Act
    const wait = nextPollSeconds({ ...base, pollSeconds: 900, currentSeconds: 900 });

    // Assess
    expect(wait).toBe(900);
  });

  test('whatever copies start at whichever polls, a region reaches any horizon within its budget of polls', () => {
    const budget = regionPollBudget();
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: budget * 2, maxLength: budget * 2 }),
        fc.integer({ min: 60, max: 30 * 86_400 }),
        fc.constantFrom<number>(1, 30, 60, 300, 3_600),
        (starts, horizon, pollSeconds) => {
          let elapsed = 0;
          let wait = pollSeconds;
          let polls = 0;
          while (elapsed < horizon) {
            elapsed += wait;
            polls++;
            wait = nextPollSeconds({
              pollSeconds,
              currentSeconds: wait,
              started: starts[polls % starts.length]!,
              polls,
              secondsLeft: horizon - elapsed,
              budget,
            });
          }
          expect(polls).toBeLessThan(budget);
        },
      ),
    );
  });
});

describe('time limits of the publish workflow', () => {
  test('defaults start a week of copies in every region at once, within CopyImage’s burst', () => {
    const { publish } = parseConfig({});

    expect(publish.regionConcurrency).toBe(40);
    expect(COMMERCIAL_REGION_COUNT).toBeLessThanOrEqual(publish.regionConcurrency);
    expect(publish.copyConcurrency).toBeGreaterThanOrEqual(48);
    expect(publish.copyConcurrency).toBeLessThanOrEqual(100);
    expect(publish.maxSourcesPerRun).toBeLessThanOrEqual(publish.copyConcurrency);
  });

  test('the execution outlives every copy deadline of every region: one wave, three attempts of 180 min each', () => {
    const { publish } = parseConfig({});

    // Each attempt may be seen done one longest poll (10 min) late.
    expect(regionHorizonMinutes(publish)).toBe(3 * (180 + 10));
    expect(publishExecutionTimeoutMinutes(publish)).toBe(3 * (180 + 10) + 60);
  });

  test('regions or copies in waves lengthen the execution timeout accordingly', () => {
    const { publish } = parseConfig({ publish: { copyConcurrency: 25, regionConcurrency: 10 } });

    expect(regionHorizonMinutes(publish)).toBe(4 * 3 * 190);
    expect(publishExecutionTimeoutMinutes(publish)).toBe(4 * 4 * 3 * 190 + 60);
  });
});

describe('time limits with copies in an uneven last wave', () => {
  test('count the last, partial wave of copies and of regions as a whole one', () => {
    // Prepare
    const timings = {
      copyTimeoutMinutes: 50,
      maxCopyAttempts: 2,
      copyConcurrency: 40,
      maxSourcesPerRun: 100,
      regionConcurrency: 40,
    };

    // Act
    const horizon = regionHorizonMinutes(timings);
    const execution = publishExecutionTimeoutMinutes(timings, 41);

    // Assess
    expect(horizon).toBe(3 * 2 * (50 + 10));
    expect(execution).toBe(2 * horizon + 60);
  });
});

describe('Step Functions history of one publish execution', () => {
  test('every commercial region polling its whole budget stays within the 25,000-event cap', () => {
    const regions = COMMERCIAL_REGION_COUNT;

    const events = publishHistoryEvents(regions, regionPollBudget(regions));

    expect(events).toBeLessThanOrEqual(HISTORY_EVENT_CAP * 0.8);
    expect(events + regions * (EVENTS_PER_REGION + EVENTS_PER_POLL)).toBeGreaterThan(HISTORY_EVENT_CAP * 0.8);
  });

  test('for any number of regions, the whole budget fits the share and one more poll each would not', () => {
    for (let regions = 1; regions <= 40; regions++) {
      // Act
      const budget = regionPollBudget(regions);

      // Assess
      expect(publishHistoryEvents(regions, budget)).toBeLessThanOrEqual(HISTORY_EVENT_CAP * 0.8);
      expect(publishHistoryEvents(regions, budget + 1)).toBeGreaterThan(HISTORY_EVENT_CAP * 0.8);
    }
  });

  test('leaves each region at least one poll however many regions there are', () => {
    // Act
    const budget = regionPollBudget(5_000);

    // Assess
    expect(budget).toBe(1);
  });

  test('a typical run, 29 regions whose copies are done within an hour, uses about three thousand events', () => {
    // 60, 120, 240, 480, 600, 600, 600, 600 s: eight polls cover an hour.
    expect(publishHistoryEvents(29, 8)).toBeLessThan(3_000);
  });
});
