import fc from 'fast-check';
import { MemoryLedger } from '../../lambdas/aws/publish/ledger';
import {
  admitNamed,
  type DiscoveryCandidate,
  groupFailures,
  isSettled,
  type PairRecord,
  type PairStatus,
  planDiscovery,
} from '../../lambdas/core/publish';
import { DAY_MS } from '../../lambdas/core/time';

const NOW = new Date('2026-11-28T06:00:00Z');
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-south-1'];
const POLICY = { regions: REGIONS, now: NOW, giveUpAfterDays: 28, maxSourcesPerRun: 100, runId: 'run-9' };

function candidate(n: number, daysOld: number, legacyPublishedAt?: string): DiscoveryCandidate {
  return {
    imageId: `ami-${String(n).padStart(17, '0')}`,
    name: `FreeBSD 15.0-CURRENT-amd64-${n} base UFS`,
    createdAt: new Date(NOW.getTime() - daysOld * DAY_MS).toISOString(),
    legacyPublishedAt,
  };
}

function row(source: string, region: string, status: PairStatus, error?: string): PairRecord {
  return {
    source,
    region,
    status,
    sourceName: source,
    error,
    runId: 'run-8',
    admittedAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-21T00:00:00.000Z',
  };
}

function rowsOf(records: readonly PairRecord[]): Map<string, Map<string, PairRecord>> {
  const rows = new Map<string, Map<string, PairRecord>>();
  for (const record of records) {
    rows.set(record.source, (rows.get(record.source) ?? new Map()).set(record.region, record));
  }
  return rows;
}

describe('discovery against the ledger', () => {
  test('takes new sources whole and old ones only where a region is missing, newest first', () => {
    const fresh = candidate(1, 0);
    const partial = candidate(2, 7);
    const done = candidate(3, 7);
    const rows = rowsOf([
      ...REGIONS.map((r) => row(done.imageId, r, 'published')),
      row(partial.imageId, 'us-east-1', 'published'),
      row(partial.imageId, 'eu-west-1', 'published'),
      row(partial.imageId, 'ap-south-1', 'failed', 'ResourceLimitExceeded'),
    ]);

    const plan = planDiscovery([done, partial, fresh], rows, POLICY);

    expect(plan.take).toEqual([fresh.imageId, partial.imageId]);
    expect(plan.fresh).toEqual([fresh.imageId]);
    expect(plan.complete).toBe(1);
    expect(plan.writes.map((w) => [w.source, w.region, w.status])).toEqual(
      REGIONS.map((r) => [fresh.imageId, r, 'queued']),
    );
  });

  test('a source marked published by the first release counts as complete and gets no rows', () => {
    const plan = planDiscovery([candidate(1, 3, '2026-11-25T06:00:00Z')], new Map(), POLICY);

    expect(plan).toMatchObject({ take: [], complete: 1, writes: [] });
  });

  test('gives up the open pairs of a source past the give-up age once, with the last error, and never takes it', () => {
    const old = candidate(1, 29);
    const rows = rowsOf([
      row(old.imageId, 'us-east-1', 'published'),
      row(old.imageId, 'eu-west-1', 'published'),
      row(old.imageId, 'ap-south-1', 'failed', 'ResourceLimitExceeded'),
    ]);

    const first = planDiscovery([old], rows, POLICY);
    const written = rowsOf([...rows.values()].flatMap((r) => [...r.values()]).concat(first.writes));
    const second = planDiscovery([old], written, POLICY);

    expect(first.take).toEqual([]);
    expect(first.gaveUp).toEqual([
      {
        source: old.imageId,
        name: old.name,
        region: 'ap-south-1',
        error: 'not published within 28 days; last error: ResourceLimitExceeded',
      },
    ]);
    expect(first.writes).toEqual([expect.objectContaining({ region: 'ap-south-1', status: 'gave-up' })]);
    expect(second).toMatchObject({ take: [], gaveUp: [], writes: [], complete: 1 });
  });

  test('leaves alone a source past the give-up age that the ledger never took on', () => {
    const plan = planDiscovery([candidate(1, 400)], new Map(), POLICY);

    expect(plan).toMatchObject({ take: [], gaveUp: [], writes: [], untracked: 1 });
  });

  test('every source is taken, deferred, complete, given up or untracked, within the cap and newest first', () => {
    const status = fc.constantFrom<PairStatus | undefined>(undefined, 'queued', 'published', 'failed', 'gave-up');
    const source = fc.record({
      days: fc.integer({ min: 0, max: 60 }),
      legacy: fc.boolean(),
      regions: fc.tuple(status, status, status),
    });
    fc.assert(
      fc.property(fc.array(source, { maxLength: 40 }), fc.integer({ min: 1, max: 10 }), (specs, cap) => {
        const candidates = specs.map((s, i) => candidate(i, s.days, s.legacy ? '2026-01-01T00:00:00Z' : undefined));
        const records = specs.flatMap((s, i) =>
          REGIONS.flatMap((region, r) => {
            const st = s.regions[r];
            return st ? [row(candidates[i]!.imageId, region, st)] : [];
          }),
        );
        const rows = rowsOf(records);

        const plan = planDiscovery(candidates, rows, { ...POLICY, maxSourcesPerRun: cap });

        const gaveUpSources = new Set(plan.gaveUp.map((g) => g.source));
        expect(plan.take.length).toBeLessThanOrEqual(cap);
        expect(plan.take.length + plan.deferred.length + plan.complete + plan.untracked + gaveUpSources.size).toBe(
          candidates.length,
        );
        const age = (id: string) => candidates.find((c) => c.imageId === id)!.createdAt;
        const order = [...plan.take, ...plan.deferred].map(age);
        expect(order).toEqual([...order].sort().reverse());
        for (const id of [...plan.take, ...plan.deferred]) {
          const open = REGIONS.filter((r) => !isSettled(rows.get(id)?.get(r)));
          expect(open.length).toBeGreaterThan(0);
          for (const region of open) {
            const known = rows.get(id)?.has(region) ?? false;
            expect(known || plan.writes.some((w) => w.source === id && w.region === region)).toBe(true);
          }
        }
        for (const write of plan.writes) expect(isSettled(rows.get(write.source)?.get(write.region))).toBe(false);
      }),
    );
  });

  test('a named run takes every named source and admits only the pairs the ledger lacks', () => {
    const rows = rowsOf([row('ami-1', 'eu-west-1', 'published')]);

    const writes = admitNamed([{ imageId: 'ami-1', name: 'one' }], rows, REGIONS, 'run-9', NOW);

    expect(writes.map((w) => w.region)).toEqual(['us-east-1', 'ap-south-1']);
  });
});

describe('discovery rows and order', () => {
  test('admits a new source with a queued row per region, stamped with the run and the time', () => {
    // Prepare
    const fresh = candidate(1, 0);

    // Act
    const plan = planDiscovery([fresh], new Map(), POLICY);

    // Assess
    expect(plan.writes[0]).toEqual({
      source: fresh.imageId,
      region: 'us-east-1',
      status: 'queued',
      sourceName: fresh.name,
      runId: 'run-9',
      admittedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
  });

  test('takes sources registered at the same time by name, last name first', () => {
    // Prepare
    const first = { ...candidate(1, 1), name: 'FreeBSD 15.0-CURRENT-amd64-20261127 base UFS' };
    const second = { ...candidate(2, 1), name: 'FreeBSD 15.0-CURRENT-amd64-20261127 base ZFS' };

    // Act
    const plan = planDiscovery([first, second], new Map(), POLICY);

    // Assess
    expect(plan.take).toEqual([second.imageId, first.imageId]);
  });

  test('still takes a source exactly the give-up age old', () => {
    // Prepare
    const atTheAge = candidate(1, POLICY.giveUpAfterDays);
    const rows = rowsOf([row(atTheAge.imageId, 'us-east-1', 'failed', 'InternalError')]);

    // Act
    const plan = planDiscovery([atTheAge], rows, POLICY);

    // Assess
    expect(plan).toMatchObject({ take: [atTheAge.imageId], gaveUp: [] });
  });

  test('gives up a pair without a recorded error, or not in the ledger, keeping what the ledger knew', () => {
    // Prepare
    const old = candidate(1, 30);
    const queued = { ...row(old.imageId, 'us-east-1', 'queued'), imageId: 'ami-0copy' };
    const rows = rowsOf([queued, row(old.imageId, 'eu-west-1', 'published')]);
    const at = NOW.toISOString();

    // Act
    const plan = planDiscovery([old], rows, POLICY);

    // Assess
    expect(plan.writes).toEqual([
      {
        source: old.imageId,
        region: 'us-east-1',
        status: 'gave-up',
        sourceName: old.name,
        imageId: 'ami-0copy',
        error: 'not published within 28 days',
        runId: 'run-9',
        admittedAt: queued.admittedAt,
        updatedAt: at,
      },
      {
        source: old.imageId,
        region: 'ap-south-1',
        status: 'gave-up',
        sourceName: old.name,
        imageId: undefined,
        error: 'not published within 28 days',
        runId: 'run-9',
        admittedAt: at,
        updatedAt: at,
      },
    ]);
  });

  test('a named run admits every region of a source the ledger has never seen, stamped with the run', () => {
    // Act
    const writes = admitNamed([{ imageId: 'ami-2', name: 'two' }], new Map(), ['eu-west-1'], 'run-9', NOW);

    // Assess
    expect(writes).toEqual([
      {
        source: 'ami-2',
        region: 'eu-west-1',
        status: 'queued',
        sourceName: 'two',
        runId: 'run-9',
        admittedAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
      },
    ]);
  });
});

describe('failure lists in order', () => {
  test('are sorted by region and name each image of a group of three, in name order', () => {
    // Prepare
    const failures = [
      { name: 'image c', region: 'eu-west-1', error: 'throttled' },
      { name: 'image b', region: 'eu-west-1', error: 'throttled' },
      { name: 'image a', region: 'eu-west-1', error: 'throttled' },
      { name: 'image z', region: 'ap-south-1', error: 'throttled' },
    ];

    // Act
    const entries = groupFailures(failures, 10);

    // Assess
    expect(entries.map((e) => [e.region, e.id])).toEqual([
      ['ap-south-1', 'image z'],
      ['eu-west-1', 'image a'],
      ['eu-west-1', 'image b'],
      ['eu-west-1', 'image c'],
    ]);
  });

  test('sum up a larger group under the first name in name order, with the code when one is given', () => {
    // Prepare
    const failures = ['image d', 'image c', 'image b', 'image a'].map((name) => ({
      name,
      region: 'eu-west-1',
      error: 'throttled',
    }));

    // Act
    const entries = groupFailures(failures, 10, 'RequestLimitExceeded');

    // Assess
    expect(entries).toEqual([
      { id: '4 images (image a and others)', region: 'eu-west-1', error: 'throttled', code: 'RequestLimitExceeded' },
    ]);
  });
});

describe('failure lists', () => {
  test('sum up a region that refused many images in one entry and name the images of a small group', () => {
    const refused = Array.from({ length: 42 }, (_, i) => ({
      name: `FreeBSD image ${String(i).padStart(2, '0')}`,
      region: 'ap-south-1',
      error: 'ResourceLimitExceeded',
    }));
    const other = { name: 'FreeBSD image 07', region: 'eu-west-1', error: 'ModifyImageAttribute: throttled' };

    const entries = groupFailures([...refused, other], 50);

    expect(entries).toEqual([
      { id: '42 images (FreeBSD image 00 and others)', region: 'ap-south-1', error: 'ResourceLimitExceeded' },
      { id: 'FreeBSD image 07', region: 'eu-west-1', error: 'ModifyImageAttribute: throttled' },
    ]);
  });

  test('never list more entries than asked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string(), region: fc.string(), error: fc.string() })),
        fc.integer({ min: 0, max: 20 }),
        (failures, limit) => {
          expect(groupFailures(failures, limit).length).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });
});

describe('the ledger kept in memory', () => {
  test('keeps the run that published a pair while it stays published, and forgets it once it fails', async () => {
    const ledger = new MemoryLedger();
    const update = (status: 'published' | 'failed', runId: string) =>
      ledger.record([{ source: 'ami-1', region: 'eu-west-1', status, sourceName: 'one', runId, at: NOW }]);

    await update('published', 'run-1');
    await update('published', 'run-2');
    const kept = (await ledger.inRegion('eu-west-1', ['ami-1'])).get('ami-1');
    await update('failed', 'run-3');
    const failed = (await ledger.inRegion('eu-west-1', ['ami-1'])).get('ami-1');

    expect(kept).toMatchObject({ status: 'published', publishedRun: 'run-1', runId: 'run-2' });
    expect(failed?.publishedRun).toBeUndefined();
  });
});
