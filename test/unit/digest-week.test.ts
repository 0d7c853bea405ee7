import fc from 'fast-check';
import type { BootStatus } from '../../lambdas/core/boot/result';
import { defaultConfig } from '../../lambdas/core/config';
import {
  bootTestSummaryFromHistory,
  digestWindow,
  type ExecutionRecord,
  pruneSummaryFromExecutions,
  publishSummaryFromExecutions,
  renderWeeklyDigest,
} from '../../lambdas/core/digest-week';
import {
  ACCOUNT,
  bootHistory,
  firstReleasePublishOutput,
  gaveUpOutput,
  historyRow,
  nothingToPublishOutput,
  PUBLISHED_NAMES,
  publishRunOutput,
  pruneRunOutput,
} from './digest-outputs';

const now = new Date('2026-11-29T18:00:00.000Z');
const window = digestWindow(now);
const policy = defaultConfig().bootTest.regression;

function execution(
  machine: string,
  name: string,
  status: string,
  fields: Partial<ExecutionRecord> & { outputOf?: unknown } = {},
): ExecutionRecord {
  const { outputOf, ...rest } = fields;
  return {
    executionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:${machine}:${name}`,
    name,
    status,
    startDate: '2026-11-28T06:00:00.000Z',
    output: outputOf === undefined ? undefined : JSON.stringify(outputOf),
    ...rest,
  };
}

describe('digestWindow', () => {
  test('covers the seven days before now', () => {
    expect(window).toEqual({ from: '2026-11-22T18:00:00.000Z', to: '2026-11-29T18:00:00.000Z' });
  });
});

describe('publishSummaryFromExecutions', () => {
  test('maps a publish output to image names with where they are, pairs published, failed regions and failures', () => {
    // Prepare
    const run = execution('publish', 'weekly', 'SUCCEEDED', { outputOf: publishRunOutput() });

    // Act
    const { summary, notes } = publishSummaryFromExecutions([run], window);

    // Assess
    expect(notes).toEqual([]);
    expect(summary).toEqual({
      images: [`${PUBLISHED_NAMES[0]} (in 2 of 3 regions)`, `${PUBLISHED_NAMES[1]} (in 1 of 3 regions)`],
      regions: 3,
      copiesMade: 3,
      regionsFailed: ['ap-south-1', 'sa-east-1'],
      announced: true,
      failures: publishRunOutput().summary.failures,
    });
  });

  test('reads the output of the first release too, by image id', () => {
    const run = execution('publish', 'weekly', 'SUCCEEDED', { outputOf: firstReleasePublishOutput() });

    const { summary } = publishSummaryFromExecutions([run], window);

    expect(summary).toEqual({
      images: ['ami-0aaa00000000000a1', 'ami-0aaa00000000000a2'],
      regions: 3,
      copiesMade: 3,
      regionsFailed: ['sa-east-1'],
      announced: true,
      failures: [
        { id: 'ami-0aaa00000000000a2', region: 'ap-south-1', error: 'copy failed: snapshot quota', code: 'Quota' },
        { id: 'region', region: 'sa-east-1', error: 'UnauthorizedOperation: region disabled' },
      ],
    });
  });

  test('a later run of the week says where a source is now, listing it once', () => {
    const completed = {
      ...publishRunOutput(),
      summary: {
        ...publishRunOutput().summary,
        published: [{ name: PUBLISHED_NAMES[0], regions: 3, of: 3 }],
        pairsPublished: 1,
        failures: [],
        failedRegions: [],
      },
      outcomes: [],
    };
    const runs = [
      execution('publish', 'weekly', 'SUCCEEDED', { outputOf: publishRunOutput() }),
      execution('publish', 'rerun', 'SUCCEEDED', { outputOf: completed, startDate: '2026-11-28T09:00:00.000Z' }),
    ];

    const { summary } = publishSummaryFromExecutions(runs, window);

    expect(summary?.images).toEqual([PUBLISHED_NAMES[0], `${PUBLISHED_NAMES[1]} (in 1 of 3 regions)`]);
    expect(summary?.copiesMade).toBe(4);
  });

  test('pairs given up in a run that found nothing new are failures of that run', () => {
    const run = execution('publish', 'weekly', 'FAILED', {
      error: 'PublishIncomplete',
      failedWithState: JSON.stringify(gaveUpOutput()),
    });

    const { summary } = publishSummaryFromExecutions([run], window);

    expect(summary).toMatchObject({ images: [], copiesMade: 0, failures: gaveUpOutput().gaveUp });
  });

  test('a run with nothing to publish publishes and announces nothing', () => {
    const run = execution('publish', 'weekly', 'SUCCEEDED', { outputOf: nothingToPublishOutput() });

    const { summary } = publishSummaryFromExecutions([run], window);

    expect(summary).toMatchObject({ images: [], copiesMade: 0, announced: false, failures: [] });
  });

  test('failed and timed-out executions become failures naming the execution and its error', () => {
    const runs = [
      execution('publish', 'weekly', 'FAILED', { error: 'PublishIncomplete', cause: 'Some regions failed' }),
      execution('publish', 'retry', 'TIMED_OUT', { startDate: '2026-11-28T09:00:00.000Z' }),
    ];

    const { summary } = publishSummaryFromExecutions(runs, window);

    expect(summary?.failures).toEqual([
      {
        id: 'execution weekly',
        region: 'us-east-1',
        error: 'failed (PublishIncomplete: Some regions failed)',
        code: 'FAILED',
      },
      { id: 'execution retry', region: 'us-east-1', error: 'timed out', code: 'TIMED_OUT' },
    ]);
  });

  test('a run failed after its summary is reported from its final state, its own failures saying what went wrong', () => {
    const run = execution('publish', 'weekly', 'FAILED', {
      error: 'PublishIncomplete',
      failedWithState: JSON.stringify(publishRunOutput()),
    });

    const { summary } = publishSummaryFromExecutions([run], window);

    expect(summary).toMatchObject({ copiesMade: 3, regionsFailed: ['ap-south-1', 'sa-east-1'] });
    expect(summary?.failures.map((f) => `${f.region} ${f.id}`)).toEqual([
      `ap-south-1 ${PUBLISHED_NAMES[1]}`,
      `sa-east-1 ${PUBLISHED_NAMES[0]}`,
      `sa-east-1 ${PUBLISHED_NAMES[1]}`,
    ]);
  });

  test('a failed run whose final state lists no failure is still one failure', () => {
    const run = execution('publish', 'weekly', 'FAILED', {
      error: 'PublishIncomplete',
      failedWithState: JSON.stringify(nothingToPublishOutput()),
    });

    const { summary } = publishSummaryFromExecutions([run], window);

    expect(summary?.failures).toEqual([
      { id: 'execution weekly', region: 'us-east-1', error: 'failed (PublishIncomplete)', code: 'FAILED' },
    ]);
  });

  test('no execution is said in a note, and a running one is named', () => {
    expect(publishSummaryFromExecutions([], window)).toEqual({
      notes: [`No publish run finished between ${window.from} and ${window.to}.`],
    });
    const running = publishSummaryFromExecutions([execution('publish', 'late', 'RUNNING')], window);
    expect(running.summary).toBeUndefined();
    expect(running.notes[0]).toBe('The publish execution late started 2026-11-28T06:00:00.000Z has not finished yet.');
  });

  test('an output of another shape is a failure, not a crash', () => {
    const run = execution('publish', 'odd', 'SUCCEEDED', { output: '{"outcomes": "many"}' });

    const { summary } = publishSummaryFromExecutions([run], window);

    expect(summary?.failures).toHaveLength(1);
    expect(summary?.failures[0]).toMatchObject({ id: 'execution odd', code: 'UnreadableOutput' });
  });
});

describe('pruneSummaryFromExecutions', () => {
  test('an executed run reports its deletions, what was kept, unmanaged images, refusals and failures', () => {
    const run = execution('prune', 'weekly', 'SUCCEEDED', { outputOf: pruneRunOutput(true) });

    const { summary } = pruneSummaryFromExecutions([run], window);

    expect(summary).toEqual({
      dryRun: false,
      imagesDeregistered: 3,
      snapshotsDeleted: 2,
      reclaimedGiB: 10,
      remainingOverCap: 2,
      unmanagedFound: 2,
      keptByReason: { 'newest-builds': 8, release: 4 },
      regionsRefused: ['ap-south-1'],
      retiredLines: [
        {
          line: '12-STABLE',
          endOfLife: '2024-12-31',
          images: 8,
          snapshots: 8,
          gib: 40,
          imagesDeleted: 6,
          keptByReason: { 'ssm-referenced': 2 },
        },
      ],
      failures: [
        { id: 'snap-0123456789abcdef0', region: 'eu-west-1', error: 'DeleteSnapshot: throttled', code: 'Throttling' },
      ],
    });
  });

  test('a dry run reports what would be deleted from its plan', () => {
    const run = execution('prune', 'weekly', 'SUCCEEDED', { outputOf: pruneRunOutput(false) });

    const { summary } = pruneSummaryFromExecutions([run], window);

    expect(summary).toMatchObject({ dryRun: true, imagesDeregistered: 6, snapshotsDeleted: 6, reclaimedGiB: 30 });
  });

  test('a region caught by the Map is a failure with its Lambda error message', () => {
    const output = pruneRunOutput(true) as { results: unknown[] };
    output.results[1] = {
      region: 'ap-south-1',
      error: JSON.stringify({ errorType: 'Error', errorMessage: 'RequestLimitExceeded' }),
    };
    const run = execution('prune', 'weekly', 'SUCCEEDED', { outputOf: output });

    const { summary } = pruneSummaryFromExecutions([run], window);

    expect(summary?.failures).toContainEqual({ id: 'region', region: 'ap-south-1', error: 'RequestLimitExceeded' });
  });

  test('a run failed after its summary reports its deletions and failures from its final state', () => {
    const run = execution('prune', 'weekly', 'FAILED', {
      error: 'PruneIncomplete',
      failedWithState: JSON.stringify(pruneRunOutput(true)),
    });

    const { summary } = pruneSummaryFromExecutions([run], window);

    expect(summary).toMatchObject({ dryRun: false, imagesDeregistered: 3, snapshotsDeleted: 2 });
    expect(summary?.failures.map((f) => f.id)).toEqual(['snap-0123456789abcdef0']);
  });

  test('a failed execution is a failure and nothing is claimed deleted', () => {
    const run = execution('prune', 'weekly', 'FAILED', { error: 'PruneIncomplete', cause: 'Some regions failed' });

    const { summary } = pruneSummaryFromExecutions([run], window);

    expect(summary).toMatchObject({ imagesDeregistered: 0, snapshotsDeleted: 0, reclaimedGiB: 0 });
    expect(summary?.failures).toEqual([
      {
        id: 'execution weekly',
        region: 'us-east-1',
        error: 'failed (PruneIncomplete: Some regions failed)',
        code: 'FAILED',
      },
    ]);
  });
});

describe('bootTestSummaryFromHistory', () => {
  test('counts the rows tested in the window, finds the regression against earlier weeks and lists failures', () => {
    const { summary, notes } = bootTestSummaryFromHistory(bootHistory(), window, policy);

    expect(notes).toEqual([]);
    expect(summary).toEqual({
      runs: 2,
      passed: 1,
      failed: 1,
      skipped: 0,
      regressions: ['15.0-CURRENT amd64 base/ufs on c7i.large: 11.1 s -> 22.9 s between main@261119a and main@261126a'],
      notable: ['FreeBSD 15.0-CURRENT-amd64-20261126 base UFS on c7i.large: 22.9 s'],
      failures: [
        {
          id: 'FreeBSD 15.0-CURRENT-amd64-20261126 base UFS on c7g.large',
          region: 'us-east-1',
          error: 'port 22 never opened within 600 s',
          code: 'timeout',
        },
      ],
    });
  });

  test('a week without rows is said in a note', () => {
    const { summary, notes } = bootTestSummaryFromHistory([historyRow('2026-11-01', 11)], window, policy);

    expect(summary).toBeUndefined();
    expect(notes).toEqual([`No boot test was recorded between ${window.from} and ${window.to}.`]);
  });

  test('every row tested in the window is counted once, as passed, failed or skipped', () => {
    const statuses: BootStatus[] = ['passed', 'failed', 'skipped', 'timeout'];
    fc.assert(
      fc.property(
        fc.array(fc.record({ day: fc.integer({ min: 0, max: 20 }), status: fc.constantFrom(...statuses) }), {
          maxLength: 30,
        }),
        (entries) => {
          const rows = entries.map(({ day, status }, i) =>
            historyRow(`2026-11-${String(10 + day).padStart(2, '0')}`, status === 'passed' ? 10 : undefined, {
              status,
              instanceType: `t${i}.large`,
            }),
          );
          const inside = rows.filter((r) => r.testedAt >= window.from && r.testedAt < window.to).length;
          const { summary } = bootTestSummaryFromHistory(rows, window, policy);
          if (inside === 0) return summary === undefined;
          return summary!.runs === inside && summary!.passed + summary!.failed + summary!.skipped === inside;
        },
      ),
    );
  });
});

describe('renderWeeklyDigest', () => {
  test('says which parts had no data and which could not be read', () => {
    const digest = renderWeeklyDigest({
      window,
      subjectPrefix: '[ami-pipeline]',
      publish: publishSummaryFromExecutions(
        [execution('publish', 'weekly', 'SUCCEEDED', { outputOf: nothingToPublishOutput() })],
        window,
      ),
      bootTest: bootTestSummaryFromHistory([], window, policy),
      prune: pruneSummaryFromExecutions([], window),
      unreadable: ['boot history: AccessDeniedException'],
    });

    expect(digest.subject).toBe('[ami-pipeline] 2026-11-29: 0 published');
    expect(digest.text).toContain(`  No prune run finished between ${window.from} and ${window.to}.`);
    expect(digest.text).toContain(`  No boot test was recorded between ${window.from} and ${window.to}.`);
    expect(digest.text).toContain('Could not be read\n  boot history: AccessDeniedException');
    expect(digest.needsAttention).toBe(true);
  });

  test('a complete quiet week needs no attention and has no missing-part lines', () => {
    const digest = renderWeeklyDigest({
      window,
      subjectPrefix: '[ami-pipeline]',
      publish: publishSummaryFromExecutions(
        [execution('publish', 'weekly', 'SUCCEEDED', { outputOf: nothingToPublishOutput() })],
        window,
      ),
      bootTest: bootTestSummaryFromHistory([historyRow('2026-11-26', 11)], window, policy),
      prune: pruneSummaryFromExecutions(
        [execution('prune', 'weekly', 'SUCCEEDED', { outputOf: { ...pruneRunOutput(false) } })],
        window,
      ),
    });

    expect(digest.text).not.toContain('Not reported');
    expect(digest.text).toContain('would be deregistered');
  });
});
