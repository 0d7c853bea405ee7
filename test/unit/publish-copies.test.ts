import fc from 'fast-check';
import {
  advanceCopies,
  type CopyProgress,
  copyClientToken,
  HISTORY_EVENT_CAP,
  nextPollSeconds,
  pollsWithinTimeout,
  publishHistoryEvents,
  recordStarts,
} from '../../lambdas/core/publish';

const NOW = new Date('2026-11-27T06:10:00Z');
const DEADLINE = '2026-11-27T09:00:00Z';
const LIMITS = { now: NOW, deadline: DEADLINE, maxAttempts: 3, concurrency: 2 };

function copying(source: string, imageId: string, attempt = 1): CopyProgress {
  return { source, name: `name of ${source}`, imageId, attempt, state: 'copying' };
}

describe('copy client token', () => {
  test('is the same for the same source, region and attempt, and differs otherwise', () => {
    const token = copyClientToken('ami-0123', 'eu-west-1', 1);

    expect(copyClientToken('ami-0123', 'eu-west-1', 1)).toBe(token);
    expect(copyClientToken('ami-0123', 'eu-west-2', 1)).not.toBe(token);
    expect(copyClientToken('ami-0124', 'eu-west-1', 1)).not.toBe(token);
    expect(copyClientToken('ami-0123', 'eu-west-1', 2)).not.toBe(token);
  });

  test('is at most 64 ASCII characters for any input', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), (source, region, attempt) => {
        const token = copyClientToken(source, region, attempt);
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

  test('keeps polling a copy that DescribeImages does not list yet', () => {
    const step = advanceCopies([copying('ami-s1', 'ami-c1')], {}, LIMITS);

    expect(step.copies[0]!.state).toBe('copying');
    expect(step.pending).toBe(true);
  });

  test('fails every unfinished copy once the deadline has passed', () => {
    const step = advanceCopies(
      [copying('ami-s1', 'ami-c1'), { source: 'ami-s2', name: 'n2', attempt: 0, state: 'queued' }],
      {},
      { ...LIMITS, now: new Date('2026-11-27T09:00:01Z') },
    );

    expect(step.copies.map((c) => c.state)).toEqual(['failed', 'failed']);
    expect(step.copies[0]!.error).toContain('timed out');
    expect(step.pending).toBe(false);
    expect(step.start).toEqual([]);
  });

  test('records started copies with their image id and failed starts with their error', () => {
    const copies = recordStarts(
      [
        { source: 'ami-s1', name: 'n1', attempt: 0, state: 'queued' },
        { source: 'ami-s2', name: 'n2', attempt: 0, state: 'queued' },
      ],
      { 'ami-s1': { imageId: 'ami-c1' }, 'ami-s2': { error: 'RequestLimitExceeded' } },
    );

    expect(copies[0]).toEqual({ source: 'ami-s1', name: 'n1', imageId: 'ami-c1', attempt: 1, state: 'copying' });
    expect(copies[1]).toMatchObject({ state: 'failed', error: 'RequestLimitExceeded' });
  });

  test('never has more copies in flight than the concurrency allows', () => {
    const state = fc.constantFrom('pending', 'available', 'failed', 'missing');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), state), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 10 }),
        (items, concurrency) => {
          const copies: CopyProgress[] = items.map(([inFlight], i) =>
            inFlight
              ? copying(`ami-s${i}`, `ami-c${i}`)
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

describe('poll interval', () => {
  test('doubles up to the maximum and stays at zero for tests', () => {
    expect(nextPollSeconds(60, 600)).toBe(120);
    expect(nextPollSeconds(480, 600)).toBe(600);
    expect(nextPollSeconds(600, 600)).toBe(600);
    expect(nextPollSeconds(0, 600)).toBe(0);
  });
});

describe('Step Functions history of one publish execution', () => {
  // 48 images (6 series x 2 arches x 4 flavours) in 29 regions, copies allowed 180 minutes, polls from 60 s to 600 s.
  const regions = 29;

  test('48 images x 29 regions with the default poll schedule stay far under the 25,000-event cap', () => {
    const polls = pollsWithinTimeout(180 * 60, 60, 600);
    const events = publishHistoryEvents(regions, polls);

    expect(polls).toBe(22);
    expect(events).toBe(6_175);
    expect(events).toBeLessThan(HISTORY_EVENT_CAP / 4);
  });

  test('a fixed 60 s poll until the 180-minute timeout would exceed the cap, which is why polls back off', () => {
    const events = publishHistoryEvents(regions, 180);

    expect(events).toBe(47_413);
    expect(events).toBeGreaterThan(HISTORY_EVENT_CAP);
  });

  test('a typical run, copies done within 20 minutes, uses about two thousand events', () => {
    const polls = pollsWithinTimeout(20 * 60, 60, 600);

    expect(publishHistoryEvents(regions, polls)).toBeLessThan(2_500);
  });

  test('the state after the region Map, 48 images x 29 regions, stays far under the 256 KiB payload limit', () => {
    const id = (n: number) => `ami-${n.toString(16).padStart(17, '0')}`;
    const images = Array.from({ length: 48 }, (_, i) => id(i));
    const outcome = (region: string) => ({
      region,
      status: 'published',
      published: Object.fromEntries(images.map((source, i) => [source, id(1000 + i)])),
      failed: [],
      changes: 240,
      notes: ['612 public image(s) owned in the region'],
    });
    const state = {
      buildRegion: 'us-east-1',
      regions: Array.from({ length: 29 }, (_, i) => `xx-region-${i + 1}`),
      images,
      count: 48,
      pollSeconds: 60,
      skipped: Array.from({ length: 50 }, (_, i) => ({
        imageId: id(5000 + i),
        name: `FreeBSD 13.4-STABLE-amd64-2024${i} base UFS`,
        reason: 'published at 2026-11-21T06:00:00.000Z',
      })),
      outcomes: Array.from({ length: 29 }, (_, i) => outcome(`xx-region-${i + 1}`)),
    };

    const bytes = Buffer.byteLength(JSON.stringify(state));

    expect(bytes).toBeLessThan((256 * 1024) / 2);
  });
});
