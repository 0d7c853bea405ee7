import { classifyConsole } from '../../lambdas/core/boot/console';
import { type BootRunResult, historyRows, judgeRun, type ProbeObservation } from '../../lambdas/core/boot/result';

const open: ProbeObservation = {
  outcome: 'open',
  startedAt: 0,
  closedAt: 9000,
  openAt: 14000,
  attempts: 280,
  reason: 'port 22 accepted',
};
const timedOut: ProbeObservation = {
  outcome: 'timeout',
  startedAt: 0,
  attempts: 12000,
  reason: 'port 22 never answered within 600 s',
};

describe('verdict of one boot', () => {
  test('a panic on the console fails the boot even when the port opened', () => {
    const verdict = judgeRun({ probe: open, console: classifyConsole('panic: page fault\n'), checks: [] });
    expect(verdict).toEqual({ status: 'failed', reason: 'kernel panic at console line 1: panic: page fault' });
  });

  test('a port that never opened is a timeout that quotes the console', () => {
    const verdict = judgeRun({ probe: timedOut, console: classifyConsole('Starting devd.\n'), checks: [] });
    expect(verdict.status).toBe('timeout');
    expect(verdict.reason).toMatch(/^port 22 never answered within 600 s; console: no login prompt/);
  });

  test('a port already open at the first probe is inconclusive: no refusal was seen, so the boot time is unknown', () => {
    const alreadyOpen: ProbeObservation = { ...open, closedAt: undefined, openAt: 0, attempts: 1 };

    const verdict = judgeRun({ probe: alreadyOpen, console: classifyConsole('login: '), checks: [] });

    expect(verdict.status).toBe('inconclusive');
    expect(verdict.reason).toMatch(/^port 22 accepted the first connection without refusing one first/);
  });

  test('a failed check fails the boot and is named', () => {
    const verdict = judgeRun({
      probe: open,
      checks: [{ name: 'hotplug', passed: false, reason: 'attach 67 of 100 never completed' }],
    });
    expect(verdict).toEqual({ status: 'failed', reason: 'hotplug: attach 67 of 100 never completed' });
  });
});

describe('history rows', () => {
  const base = {
    imageId: 'ami-1',
    region: 'us-east-1',
    imageName: 'FreeBSD 15.0-CURRENT-amd64-20261126 base UFS',
    seriesKey: '15.0-CURRENT/amd64/base/ufs',
    instanceType: 'c7i.large',
    buildDate: '2026-11-26',
    network: 'isolated' as const,
    checks: [],
  };
  const run = (round: number, status: BootRunResult['status'], bootSeconds?: number): BootRunResult => ({
    ...base,
    key: `ami-1/c7i.large/${round}`,
    round,
    status,
    reason: status,
    intervals: bootSeconds === undefined ? undefined : { runInstancesSeconds: 1, bootSeconds },
  });

  test('summarise the repeats of one (image, type) into one row with the median of the warm runs', () => {
    const rows = historyRows(
      [run(0, 'passed', 30), run(1, 'passed', 12), run(2, 'passed', 10)],
      'r',
      new Date('2026-11-28T07:00:00Z'),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        runs: 3,
        status: 'passed',
        buildDate: '2026-11-26',
        testedAt: '2026-11-28T07:00:00.000Z',
      }),
    ]);
    expect(rows[0]!.median.bootSeconds).toBe(11);
  });

  test('one failed repeat marks the row failed with the run it came from', () => {
    const rows = historyRows([run(0, 'passed', 30), run(1, 'timeout')], 'r', new Date('2026-11-28T07:00:00Z'));
    expect(rows[0]).toMatchObject({ status: 'timeout', reason: 'run 2: timeout' });
  });

  test('a release without a build date is recorded under the test date', () => {
    const rows = historyRows([{ ...run(0, 'skipped'), buildDate: undefined }], 'r', new Date('2026-11-28T07:00:00Z'));
    expect(rows[0]).toMatchObject({ buildDate: '2026-11-28', status: 'skipped' });
  });
});
