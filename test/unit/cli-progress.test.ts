import {
  describeRow,
  estimateMs,
  ExecutionProgress,
  formatDuration,
  type ProgressRow,
  progressDisplay,
  type StateEvent,
} from '../../bin/cli/progress';

const T0 = Date.parse('2026-05-02T06:00:00Z');
const at = (seconds: number) => T0 + seconds * 1000;
const entered = (name: string, type: string, data: unknown, seconds: number): StateEvent => ({
  kind: 'entered',
  name,
  type,
  data,
  time: at(seconds),
});
const exited = (name: string, type: string, data: unknown, seconds: number): StateEvent => ({
  kind: 'exited',
  name,
  type,
  data,
  time: at(seconds),
});
const copies = (...states: string[]) => states.map((state, i) => ({ source: `ami-${i}`, state }));

/** A stream standing in for standard error, keeping what was written. */
function stream(isTTY: boolean) {
  const written: string[] = [];
  return {
    isTTY,
    columns: 120,
    written,
    write(text: string) {
      written.push(text);
      return true;
    },
  };
}

describe('progress of a publish execution', () => {
  test('counts each region’s images from Prepare and Poll, and Finalize says how the region ended', () => {
    const progress = new ExecutionProgress({ id: 'arn:publish:1', workflow: 'publish', startedAt: at(0) });

    progress.apply(entered('Discover', 'Task', {}, 1));
    progress.apply(entered('Prepare', 'Task', { region: 'eu-west-1', images: ['a', 'b', 'c'] }, 2));
    progress.apply(
      exited(
        'Prepare',
        'Task',
        {
          region: 'eu-west-1',
          images: ['a', 'b', 'c'],
          copies: copies('copying', 'copying', 'available'),
          pending: true,
        },
        3,
      ),
    );
    progress.apply(entered('Prepare', 'Task', { region: 'us-east-1', images: ['a', 'b', 'c'] }, 3));
    progress.apply(
      exited('Prepare', 'Task', { region: 'us-east-1', images: ['a', 'b', 'c'], copies: [], pending: false }, 4),
    );
    progress.apply(
      exited(
        'Poll',
        'Task',
        {
          region: 'eu-west-1',
          images: ['a', 'b', 'c'],
          copies: copies('available', 'failed', 'available'),
          pending: false,
        },
        62,
      ),
    );

    expect(progress.rows().map((r) => [r.label, r.done, r.total, r.failed, r.phase])).toEqual([
      ['publish', 5, 6, 1, 'Discover'],
      ['publish eu-west-1', 2, 3, 1, 'finalizing'],
      ['publish us-east-1', 3, 3, 0, 'finalizing'],
    ]);

    progress.apply(
      exited(
        'Finalize',
        'Task',
        { region: 'eu-west-1', summary: { region: 'eu-west-1', status: 'partial', published: 2, failed: 1 } },
        70,
      ),
    );
    progress.apply({ kind: 'ended', status: 'FAILED', time: at(75) });

    const [execution, europe] = progress.rows();
    expect(europe).toMatchObject({ done: 2, failed: 1, phase: 'partial', startedAt: at(2), finishedAt: at(70) });
    expect(execution).toMatchObject({ phase: 'failed', finishedAt: at(75) });
  });

  test('a region that failed preflight has nothing there and is reported failed', () => {
    const progress = new ExecutionProgress({ id: 'arn:publish:2', workflow: 'publish', startedAt: at(0) });

    progress.apply(
      exited(
        'Prepare',
        'Task',
        { region: 'ap-south-2', images: ['a'], copies: [], pending: false, failure: 'block public access is on' },
        1,
      ),
    );
    progress.apply(exited('RegionFailed', 'Pass', { region: 'ap-south-2', status: 'failed' }, 2));

    expect(progress.rows()[1]).toMatchObject({ done: 0, total: 1, phase: 'failed', finishedAt: at(2) });
  });

  test('choices, waits and one region’s steps do not change what the execution is doing', () => {
    const progress = new ExecutionProgress({ id: 'arn:publish:3', workflow: 'publish', startedAt: at(0) });

    progress.apply(entered('PublishRegions', 'Map', {}, 1));
    const changed = [
      progress.apply(entered('CopiesPending', 'Choice', {}, 2)),
      progress.apply(entered('WaitForCopies', 'Wait', {}, 2)),
      progress.apply(entered('Poll', 'Task', { region: 'eu-west-1', images: [] }, 3)),
    ];

    expect(changed).toEqual([false, false, false]);
    expect(progress.row.phase).toBe('PublishRegions');
  });
});

describe('progress of a prune execution', () => {
  test('the plan gives each region’s deletions and each batch adds what it deregistered', () => {
    const progress = new ExecutionProgress({ id: 'arn:prune:1', workflow: 'prune', startedAt: at(0) });
    const report = {
      regions: [
        { region: 'us-east-1', imagesDeregistered: 7000, imagesSoftDeleted: 500 },
        { region: 'eu-west-1', imagesDeregistered: 0, imagesSoftDeleted: 0, error: 'AccessDenied' },
      ],
    };

    progress.apply(exited('Plan', 'Task', { plan: { execute: true, report } }, 30));
    progress.apply(
      exited(
        'ExecuteBatch',
        'Task',
        {
          region: 'us-east-1',
          batch: 1,
          complete: false,
          totals: { imagesDeregistered: 3000, imagesSoftDeleted: 0, failureCount: 2 },
        },
        930,
      ),
    );

    expect(progress.rows().map((r) => [r.label, r.done, r.total, r.failed, r.phase])).toEqual([
      ['prune', 3000, 7500, 2, 'started'],
      ['prune us-east-1', 3000, 7500, 2, 'batch 1'],
      ['prune eu-west-1', 0, 0, 0, 'failed'],
    ]);
    expect(describeRow(progress.rows()[1]!, at(930))).toBe(
      '3000/7500 images, 2 failed, batch 1, 15m00s elapsed, about 22m30s left',
    );
  });

  test('a dry run ends every region at the plan', () => {
    const progress = new ExecutionProgress({ id: 'arn:prune:2', workflow: 'prune', startedAt: at(0) });

    progress.apply(
      exited(
        'Plan',
        'Task',
        {
          plan: {
            execute: false,
            report: { regions: [{ region: 'sa-east-1', imagesDeregistered: 3, imagesSoftDeleted: 0 }] },
          },
        },
        5,
      ),
    );

    expect(progress.rows()[1]).toMatchObject({ total: 3, phase: 'planned (dry run)', finishedAt: at(5) });
  });
});

describe('progress of a boot test', () => {
  test('counts the launches the plan made and each inspected boot, failed ones apart', () => {
    const progress = new ExecutionProgress({ id: 'arn:boot:1', workflow: 'boot-test', startedAt: at(0) });
    const rounds = [{ launches: [1, 2, 3] }, { launches: [4, 5, 6] }];

    progress.apply(exited('Plan', 'Task', { plan: { value: { rounds } } }, 2));
    progress.apply(entered('Launch', 'Task', {}, 3));
    progress.apply(exited('Inspect', 'Task', { status: 'passed' }, 60));
    progress.apply(exited('InspectAfterHotplug', 'Task', { status: 'timeout' }, 90));

    expect(progress.rows()).toEqual([
      expect.objectContaining({ done: 2, total: 6, failed: 1, unit: 'boots', phase: 'Launch' }),
    ]);
  });
});

describe('elapsed time and estimates', () => {
  const row: ProgressRow = {
    key: 'k',
    label: 'l',
    done: 10,
    total: 40,
    failed: 0,
    unit: 'images',
    phase: 'copying',
    startedAt: at(0),
  };

  test('the estimate is the time left at the pace so far', () => {
    expect(estimateMs(row, at(120))).toBe(360_000);
  });

  test('no estimate before anything is done, or once the row finished', () => {
    expect(estimateMs({ ...row, done: 0 }, at(120))).toBeUndefined();
    expect(estimateMs({ ...row, finishedAt: at(100) }, at(120))).toBeUndefined();
  });

  test.each([
    [0, '0s'],
    [59_999, '59s'],
    [61_000, '1m01s'],
    [3_600_000 + 125_000, '1h02m'],
  ])('%i ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('where progress is shown', () => {
  const execution = { id: 'arn:publish:9', workflow: 'publish', startedAt: Date.now() };
  const prepared = (copiesNow: unknown[]): StateEvent => ({
    kind: 'exited',
    name: 'Poll',
    type: 'Task',
    data: { region: 'eu-west-1', images: ['a', 'b'], copies: copiesNow, pending: true },
    time: Date.now(),
  });

  test('off a terminal: a line when a region’s counts or phase change, and when the execution’s step does', () => {
    const out = stream(false);
    const display = progressDisplay(out);

    display.observe(execution, prepared(copies('copying', 'copying')));
    display.observe(execution, prepared(copies('copying', 'copying')));
    display.observe(execution, prepared(copies('available', 'copying')));
    display.observe(execution, { kind: 'entered', name: 'Announce', type: 'Task', data: {}, time: Date.now() });
    display.stop();

    expect(out.written.join('')).toMatch(
      /^publish: 0\/2 images, started, \d+s elapsed\npublish eu-west-1: 0\/2 images, copying, \d+s elapsed\npublish eu-west-1: 1\/2 images, copying, \d+s elapsed(, about \d+s left)?\npublish: 1\/2 images, Announce, \d+s elapsed(, about \d+s left)?\n$/,
    );
  });

  test('on a terminal: a bar per execution and region, redrawn in place, the last state left on screen', () => {
    const out = stream(true);
    const display = progressDisplay(out);

    display.observe(execution, prepared(copies('available', 'copying')));
    display.note('warning: something to know');
    display.stop();

    const screen = out.written.join('');
    expect(screen).toContain('\u001b[?25l');
    expect(screen).toMatch(/publish eu-west-1 \[=+-+\] 1\/2 images, copying, \d+s elapsed/);
    expect(screen).toMatch(/publish {11}\[=+-+\] 1\/2 images, started/);
    expect(screen).toContain('warning: something to know');
    expect(screen.slice(screen.indexOf('\u001b[?25l'))).toContain('\u001b[?25h');
  });
});
