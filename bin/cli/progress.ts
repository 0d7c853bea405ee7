import { Format, MultiBar, type Options, type SingleBar } from 'cli-progress';

/** How an execution ended, as Step Functions names it. */
export type ExecutionEnd = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/**
 * A state entered (with its input) or left (with its output), or the end of the execution: what both the local
 * engine's events and an execution's history in an account say, so one display serves local and deployed runs.
 */
export type StateEvent =
  | {
      readonly kind: 'entered' | 'exited';
      readonly name: string;
      /** The state's type: Task, Map, Parallel, Choice, Wait, Pass, Succeed, Fail. */
      readonly type: string;
      readonly data: unknown;
      readonly time: number;
    }
  | { readonly kind: 'ended'; readonly status: ExecutionEnd; readonly time: number };

/** States whose start says what an execution is doing; choices, waits and passes only say how it gets there. */
const WORK_STATES = new Set(['Task', 'Map', 'Parallel']);

/** The execution an event belongs to. */
export interface ExecutionRef {
  /** Unique per execution, e.g. its ARN. */
  readonly id: string;
  /** `publish`, `boot-test` or `prune`. */
  readonly workflow: string;
  /** When the execution started, in milliseconds since the epoch. */
  readonly startedAt: number;
}

/** One line of the display: an execution, or one region of it. */
export interface ProgressRow {
  readonly key: string;
  readonly label: string;
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  /** What is counted: copies, images, boots. */
  readonly unit: string;
  /** What the row is doing now, or how it ended. */
  readonly phase: string;
  readonly startedAt: number;
  readonly finishedAt?: number;
}

type Row = { -readonly [K in keyof ProgressRow]: ProgressRow[K] };

const UNITS: Readonly<Record<string, string>> = {
  publish: 'images',
  prune: 'images',
  'boot-test': 'boots',
  audit: 'findings',
};

/** Reads a workflow's state events into rows; each workflow says its progress in its own state outputs. */
type Interpreter = (progress: ExecutionProgress, event: Extract<StateEvent, { kind: 'entered' | 'exited' }>) => void;

interface CopyState {
  readonly state?: string;
}

const asObject = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asNumber = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** Publish: each region's images, there or copied, from what Prepare and Poll return, until Finalize's verdict. */
const publishProgress: Interpreter = (progress, event) => {
  const data = asObject(event.data);
  const region = typeof data.region === 'string' ? data.region : undefined;
  if (!region) return;
  if (event.kind === 'entered' && event.name === 'Prepare') {
    progress.region(region, event.time, { total: asArray(data.images).length, phase: 'preflight' });
  } else if (event.kind === 'exited' && (event.name === 'Prepare' || event.name === 'Poll')) {
    const copies = asArray(data.copies).map((c) => asObject(c) as CopyState);
    const images = asArray(data.images).length;
    const failure = typeof data.failure === 'string' ? data.failure : undefined;
    // Images that need no copy here (the sources themselves, in the build region) are there already.
    const present = failure ? 0 : Math.max(0, images - copies.length);
    progress.region(region, event.time, {
      total: images,
      done: present + copies.filter((c) => c.state === 'available').length,
      failed: copies.filter((c) => c.state === 'failed').length,
      phase: failure ? 'preflight failed' : data.pending === true ? 'copying' : 'finalizing',
    });
  } else if (event.kind === 'entered' && event.name === 'Finalize') {
    progress.region(region, event.time, { phase: 'finalizing' });
  } else if (event.kind === 'exited' && event.name === 'Finalize') {
    // Finalize's verdict, unless SSM values are still to be read back (VerifyParameters gives the last word).
    const summary = asObject(data.summary);
    const verifying = data.verify !== undefined;
    progress.region(region, event.time, {
      done: asNumber(summary.published),
      failed: asNumber(summary.failed),
      phase: verifying ? 'verifying' : typeof summary.status === 'string' ? summary.status : 'finished',
      finished: !verifying,
    });
  } else if (event.kind === 'exited' && event.name === 'VerifyParameters') {
    progress.region(region, event.time, {
      done: asNumber(data.published),
      failed: asNumber(data.failed),
      phase: typeof data.status === 'string' ? data.status : 'finished',
      finished: true,
    });
  } else if (event.kind === 'exited' && event.name === 'RegionFailed') {
    progress.region(region, event.time, { phase: 'failed', finished: true });
  }
};

/** Prune: the plan gives each region's deletions; each batch adds what it deregistered. */
const pruneProgress: Interpreter = (progress, event) => {
  if (event.kind !== 'exited') return;
  const data = asObject(event.data);
  if (event.name === 'Plan') {
    const plan = asObject(data.plan);
    const execute = plan.execute === true;
    for (const entry of asArray(asObject(plan.report).regions)) {
      const report = asObject(entry);
      if (typeof report.region !== 'string') continue;
      const failed = typeof report.error === 'string';
      progress.region(report.region, event.time, {
        total: asNumber(report.imagesDeregistered) + asNumber(report.imagesSoftDeleted),
        phase: failed ? 'failed' : execute ? 'planned' : 'planned (dry run)',
        finished: failed || !execute,
      });
    }
  } else if (event.name === 'ExecuteBatch' && typeof data.region === 'string') {
    const totals = asObject(data.totals);
    const complete = data.complete === true;
    progress.region(data.region, event.time, {
      done: asNumber(totals.imagesDeregistered) + asNumber(totals.imagesSoftDeleted),
      failed: asNumber(totals.failureCount),
      phase: complete ? 'done' : `batch ${asNumber(data.batch)}`,
      finished: complete,
    });
  } else if (event.name === 'RegionFailed' && typeof data.region === 'string') {
    progress.region(data.region, event.time, { phase: 'failed', finished: true });
  }
};

/** Audit: Inspect gives each region's findings; Settle how many were repaired and left. */
const auditProgress: Interpreter = (progress, event) => {
  if (event.kind !== 'exited') return;
  const data = asObject(event.data);
  if (typeof data.region !== 'string') return;
  if (event.name === 'Inspect') {
    progress.region(data.region, event.time, {
      total: asArray(data.found).length,
      phase: data.pending === true ? 'copying' : 'settling',
    });
  } else if (event.name === 'Settle') {
    progress.region(data.region, event.time, {
      total: asNumber(data.found),
      done: asNumber(data.repaired),
      failed: data.status === 'findings' ? asNumber(data.unrepaired) : 0,
      phase: typeof data.status === 'string' ? data.status : 'done',
      finished: true,
    });
  } else if (event.name === 'RegionFailed') {
    progress.region(data.region, event.time, { phase: 'failed', finished: true });
  }
};

const BOOT_RESULT_STATES = new Set(['Inspect', 'InspectAfterHotplug']);

/** Boot test: the plan gives the launches of every round; each inspected instance is one boot done. */
const bootTestProgress: Interpreter = (progress, event) => {
  if (event.kind !== 'exited') return;
  const data = asObject(event.data);
  if (event.name === 'Plan') {
    const rounds = asArray(asObject(asObject(data.plan).value).rounds);
    progress.own(event.time, {
      total: rounds.reduce<number>((sum, round) => sum + asArray(asObject(round).launches).length, 0),
    });
  } else if (BOOT_RESULT_STATES.has(event.name)) {
    const failed = data.status === 'failed' || data.status === 'timeout';
    progress.own(event.time, { done: progress.row.done + 1, failed: progress.row.failed + (failed ? 1 : 0) });
  }
};

const INTERPRETERS: Readonly<Record<string, Interpreter>> = {
  publish: publishProgress,
  prune: pruneProgress,
  'boot-test': bootTestProgress,
  audit: auditProgress,
};

interface RowChange {
  readonly total?: number;
  readonly done?: number;
  readonly failed?: number;
  readonly phase?: string;
  readonly finished?: boolean;
}

/** Where one execution stands, per region where the workflow works per region, read from its state events. */
export class ExecutionProgress {
  readonly row: Row;
  private readonly regions = new Map<string, Row>();

  constructor(readonly execution: ExecutionRef) {
    this.row = {
      key: execution.id,
      label: execution.workflow,
      done: 0,
      total: 0,
      failed: 0,
      unit: UNITS[execution.workflow] ?? 'steps',
      phase: 'started',
      startedAt: execution.startedAt,
    };
  }

  /** The execution's row, then its regions' rows in the order they appeared. */
  rows(): ProgressRow[] {
    return [this.row, ...this.regions.values()].map((row) => ({ ...row }));
  }

  /** Applies one event; returns whether any row changed. */
  apply(event: StateEvent): boolean {
    const before = JSON.stringify(this.rows());
    if (event.kind === 'ended') {
      this.row.phase = event.status.toLowerCase().replace('_', ' ');
      this.row.finishedAt = event.time;
      for (const row of this.regions.values()) row.finishedAt ??= event.time;
    } else {
      // A step of one region (its input names the region) shows on that region's row, not the execution's.
      const regional = typeof asObject(event.data).region === 'string';
      if (event.kind === 'entered' && WORK_STATES.has(event.type) && !regional) this.row.phase = event.name;
      INTERPRETERS[this.execution.workflow]?.(this, event);
    }
    if (this.regions.size > 0) {
      const rows = [...this.regions.values()];
      this.row.total = rows.reduce((sum, r) => sum + r.total, 0);
      this.row.done = rows.reduce((sum, r) => sum + r.done, 0);
      this.row.failed = rows.reduce((sum, r) => sum + r.failed, 0);
    }
    return JSON.stringify(this.rows()) !== before;
  }

  /** Updates (or starts) the row of one region. */
  region(region: string, time: number, change: RowChange): void {
    let row = this.regions.get(region);
    if (!row) {
      row = {
        key: `${this.execution.id}/${region}`,
        label: `${this.execution.workflow} ${region}`,
        done: 0,
        total: 0,
        failed: 0,
        unit: this.row.unit,
        phase: 'started',
        startedAt: time,
      };
      this.regions.set(region, row);
    }
    update(row, time, change);
  }

  /** Updates the execution's own counts (a workflow that does not work per region). */
  own(time: number, change: RowChange): void {
    update(this.row, time, change);
  }
}

function update(row: Row, time: number, change: RowChange): void {
  if (change.total !== undefined) row.total = change.total;
  if (change.done !== undefined) row.done = change.done;
  if (change.failed !== undefined) row.failed = change.failed;
  if (change.phase !== undefined) row.phase = change.phase;
  if (change.finished) row.finishedAt = time;
  row.total = Math.max(row.total, row.done);
}

/** `12s`, `4m05s`, `2h13m`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Time left at the pace so far, once something is done and something remains. */
export function estimateMs(row: ProgressRow, now: number): number | undefined {
  if (row.finishedAt !== undefined || row.done <= 0 || row.total <= row.done) return undefined;
  return ((now - row.startedAt) * (row.total - row.done)) / row.done;
}

/** The counts, phase, elapsed time and estimate of a row, as words. */
export function describeRow(row: ProgressRow, now: number): string {
  const counts = row.total > 0 ? `${row.done}/${row.total} ${row.unit}` : '';
  const failed = row.failed > 0 ? `${row.failed} failed` : '';
  const elapsed = `${formatDuration((row.finishedAt ?? now) - row.startedAt)} elapsed`;
  const left = estimateMs(row, now);
  const estimate = left === undefined || left < 1000 ? '' : `about ${formatDuration(left)} left`;
  return [counts, failed, row.phase, elapsed, estimate].filter(Boolean).join(', ');
}

/** Where progress goes while commands run; always standard error, so standard output stays the result alone. */
export interface ProgressDisplay {
  /** Takes one event of an execution. */
  observe(execution: ExecutionRef, event: StateEvent): void;
  /** Writes a line (a warning) without breaking the display. */
  note(text: string): void;
  /** Ends the display, leaving the last state of every row on screen. */
  stop(): void;
}

/** The stream progress is written to: standard error, or a stand-in in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

/**
 * A live display on a terminal (one bar per execution and region, redrawn in place by cli-progress), or plain lines
 * elsewhere (a log file, CI): one line each time a row's counts or phase change.
 */
export function progressDisplay(stream: ProgressStream, options: { readonly live?: boolean } = {}): ProgressDisplay {
  return (options.live ?? stream.isTTY === true) ? new LiveDisplay(stream) : new LineDisplay(stream);
}

abstract class RowDisplay implements ProgressDisplay {
  private readonly executions = new Map<string, ExecutionProgress>();

  observe(execution: ExecutionRef, event: StateEvent): void {
    let progress = this.executions.get(execution.id);
    if (!progress) {
      progress = new ExecutionProgress(execution);
      this.executions.set(execution.id, progress);
    }
    if (progress.apply(event)) this.show(progress.rows());
  }

  protected abstract show(rows: readonly ProgressRow[]): void;
  abstract note(text: string): void;
  abstract stop(): void;
}

class LineDisplay extends RowDisplay {
  private readonly last = new Map<string, string>();

  constructor(private readonly stream: ProgressStream) {
    super();
  }

  protected show(rows: readonly ProgressRow[]): void {
    const [execution, ...regions] = rows;
    for (const row of rows) {
      // Elapsed time alone does not make a new line: only counts and phases do. Where regions have their own lines,
      // the execution's line comes when its step changes, not with every region's counts again.
      const counts = row === execution && regions.length > 0 ? '' : `${row.done}/${row.total}/${row.failed}/`;
      const state = `${counts}${row.phase}`;
      if (this.last.get(row.key) === state) continue;
      this.last.set(row.key, state);
      this.stream.write(`${row.label}: ${describeRow(row, row.finishedAt ?? Date.now())}\n`);
    }
  }

  note(text: string): void {
    this.stream.write(`${text}\n`);
  }

  stop(): void {}
}

interface BarPayload {
  readonly row: ProgressRow;
}

class LiveDisplay extends RowDisplay {
  private readonly bars = new Map<string, SingleBar>();
  private labelWidth = 0;
  private multibar?: MultiBar;

  constructor(private readonly stream: ProgressStream) {
    super();
  }

  private display(): MultiBar {
    this.multibar ??= new MultiBar({
      stream: this.stream as unknown as NodeJS.WritableStream,
      format: (options, params, payload) => this.format(options, params.maxWidth, payload as BarPayload),
      barsize: 20,
      fps: 4,
      hideCursor: true,
      clearOnComplete: false,
      // Lines are cut to the terminal's width, so a redraw never wraps and scrolls.
      linewrap: false,
      // The library's own handler would keep the process alive after Ctrl-C; this one ends it as Node would.
      gracefulExit: false,
    });
    process.once('SIGINT', this.interrupted);
    return this.multibar;
  }

  /** Ctrl-C: the cursor and line wrapping come back, then the signal ends the process as it would have. */
  private readonly interrupted = () => {
    this.stop();
    process.kill(process.pid, 'SIGINT');
  };

  private format(options: Options, maxWidth: number, payload: BarPayload): string {
    const { row } = payload;
    const now = Date.now();
    const fraction = row.total > 0 ? row.done / row.total : row.finishedAt === undefined ? 0 : 1;
    const bar = Format.BarFormat(fraction, options);
    const line = `${row.label.padEnd(this.labelWidth)} [${bar}] ${describeRow(row, now)}`;
    return line.slice(0, Math.max(20, maxWidth - 1));
  }

  protected show(rows: readonly ProgressRow[]): void {
    const display = this.display();
    for (const row of rows) {
      this.labelWidth = Math.max(this.labelWidth, row.label.length);
      const payload: BarPayload = { row };
      const bar = this.bars.get(row.key);
      if (bar) {
        bar.setTotal(Math.max(1, row.total));
        bar.update(row.done, payload);
      } else this.bars.set(row.key, display.create(Math.max(1, row.total), row.done, payload));
    }
  }

  note(text: string): void {
    if (!this.multibar) {
      this.stream.write(`${text}\n`);
      return;
    }
    // Written above the bars at the next redraw, which comes now so that a note just before the end is not lost.
    this.multibar.log(`${text}\n`);
    this.multibar.update();
  }

  stop(): void {
    process.removeListener('SIGINT', this.interrupted);
    this.multibar?.stop();
    this.multibar = undefined;
    this.bars.clear();
  }
}
