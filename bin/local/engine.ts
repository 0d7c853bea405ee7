import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { ClientFactory, ClientPlugin } from '../../lambdas/aws/clients';
import { RateLimiter } from '../../lambdas/aws/rate-limiter';
import { PipelineError } from '../../lambdas/core/errors';
import {
  type Clock,
  currentInvocation,
  type Invocation,
  realClock,
  runInvocation,
} from '../../lambdas/shared/invocation';
import { referencedIds, resolveValue, type StackDeployment } from './deployment';
import { readStack, type StackFunction, type StackTemplate, type StackWorkflow } from './template';

const VALIDATED_DEFINITIONS_DIR = join(__dirname, '..', '..', 'node_modules', '.cache', 'ami-pipeline-asl');
const validatedInProcess = new Set<string>();
let lockedVersions: string | undefined;

/**
 * Whether a definition already passed the States Language validator, in this process or an earlier one. The
 * validator builds its JSON schemas anew on every call, which costs more than most executions; its verdict depends
 * only on the definition and the locked package versions, so it is kept by both.
 */
function definitionValidation(text: string): { known: boolean; record: () => void } {
  lockedVersions ??= createHash('sha256')
    .update(readFileSync(join(__dirname, '..', '..', 'package-lock.json')))
    .digest('hex');
  const key = createHash('sha256').update(lockedVersions).update(text).digest('hex');
  const marker = join(VALIDATED_DEFINITIONS_DIR, key);
  const known = validatedInProcess.has(key) || existsSync(marker);
  return {
    known,
    record: () => {
      validatedInProcess.add(key);
      if (known) return;
      try {
        mkdirSync(VALIDATED_DEFINITIONS_DIR, { recursive: true });
        writeFileSync(marker, '');
      } catch {
        // A read-only checkout only validates again next time.
      }
    },
  };
}

// aws-local-stepfunctions calls Promise.withResolvers (Node 22); these machines also run Node 20.
const promiseStatics = Promise as unknown as { withResolvers?: () => unknown };
promiseStatics.withResolvers ??= () => {
  let resolve!: (value: unknown) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

/** One event of the library's execution log (the fields the engine reads). */
export interface EventLog {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: { readonly name: string; readonly type: string; readonly input: unknown; readonly output?: unknown };
  readonly index?: number;
  readonly Error?: string;
  readonly Cause?: unknown;
}

interface LibraryExecution {
  abort(): void;
  readonly eventLogs: AsyncGenerator<EventLog>;
  readonly result: Promise<unknown>;
}

// The package is an ES module whose CommonJS build the engine loads; its typings declare the ES module only.
const library = require('aws-local-stepfunctions') as {
  StateMachine: new (
    definition: unknown,
    options: unknown,
  ) => { run(input: unknown, options: unknown): LibraryExecution };
  ExecutionError: new (...args: never[]) => Error;
  ExecutionAbortedError: new (...args: never[]) => Error;
  ExecutionTimeoutError: new (...args: never[]) => Error;
};

/** Step Functions' and Lambda's limits that the engine enforces, with AWS's values as defaults. */
export interface EngineLimits {
  /** Largest state input, output or Map result, in UTF-8 bytes (Step Functions: 256 KiB). */
  readonly payloadBytes: number;
  /** Events in one Standard execution's history (Step Functions: 25,000). */
  readonly historyEvents: number;
  /** Iterations an inline Map runs at once (Step Functions: 40). */
  readonly inlineMapConcurrency: number;
  /** Concurrent invocations of all functions of the account (Lambda's default quota: 1,000). */
  readonly lambdaConcurrency: number;
}

export const AWS_LIMITS: EngineLimits = {
  payloadBytes: 262_144,
  historyEvents: 25_000,
  inlineMapConcurrency: 40,
  lambdaConcurrency: 1_000,
};

/**
 * What a Task state waits when its definition sets no TimeoutSeconds. Step Functions waits 99,999,999 s; a timer
 * cannot wait beyond 2^31 ms, about 24.8 days, which is still longer than any execution timeout of the stack.
 */
const TASK_DEFAULT_TIMEOUT_SECONDS = 2_147_483;
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const START_EXECUTION = 'arn:aws:states:::states:startExecution';

/** A definition uses a service integration the engine cannot run locally. */
export class UnsupportedIntegrationError extends PipelineError {
  override readonly name: string = 'UnsupportedIntegrationError';
}

/** One failure to inject into a function's invocations, as Lambda or the function itself would fail. */
export interface InjectedLambdaFault {
  /** Logical id of the function. */
  readonly functionId: string;
  /** Error name Step Functions sees, e.g. `Lambda.ServiceException`, `Lambda.TooManyRequestsException`. */
  readonly error: string;
  readonly message?: string;
  /** How many invocations fail (default 1). */
  readonly times?: number;
  /** Fails only invocations whose event matches. */
  readonly when?: (event: unknown) => boolean;
  /** Runs the handler first and fails after it (a response lost after the work was done). */
  readonly afterHandler?: boolean;
}

/** A function's statistics: how often it ran, for how long, at which memory size. */
export interface FunctionStats {
  invocations: number;
  coldStarts: number;
  errors: number;
  timeouts: number;
  /** Sum of invocation durations, in milliseconds of the engine's clock. */
  durationMs: number;
  /** Longest single invocation, in milliseconds. */
  maxDurationMs: number;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

export interface LocalEngineOptions {
  readonly template: StackTemplate;
  readonly deployment: StackDeployment;
  /** Clients the functions use; a function may get its own (e.g. credentials of its role). */
  readonly clients: ClientFactory | ((fn: StackFunction) => ClientFactory);
  /** Further services a function's invocation gets, e.g. a port probe for the probe function. */
  readonly services?: (fn: StackFunction) => Readonly<Record<string, unknown>>;
  /** Environment variables set on every function over the synthesized ones (values the deployment lacks). */
  readonly environment?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly limits?: Partial<EngineLimits>;
  /** Where the handler files are; `lambdas/` of this project by default. */
  readonly lambdasDir?: string;
  /** Handlers by entry, instead of loading the entry's file (engine tests). */
  readonly handlers?: Readonly<Record<string, (event: unknown, context: unknown) => Promise<unknown>>>;
  /** Each function's log lines; dropped by default. */
  readonly logSink?: (functionId: string, line: string) => void;
  /** Every event of every execution as it happens (progress displays). */
  readonly onEvent?: (execution: LocalExecution, event: EventLog) => void;
  /** Lambda's cold start, in milliseconds of the engine's clock. */
  readonly coldStartMs?: number;
}

/** The final state of an execution, as DescribeExecution reports it, plus what the engine measured. */
export interface ExecutionReport {
  readonly executionArn: string;
  readonly name: string;
  readonly workflow: string;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
  /** Events in the execution's history, counted as Step Functions counts them for a Standard execution. */
  readonly historyEventCount: number;
  /** State transitions (each state entered), what Step Functions bills. */
  readonly transitions: number;
  /** The largest state input, output or Map result seen, and where. */
  readonly largestPayload: { readonly bytes: number; readonly state: string };
  /** For an execution that did not succeed: the last task that failed in it, and how. */
  readonly failedTask?: { readonly state: string; readonly error: string; readonly message: string };
}

/** The message inside a Lambda task failure's cause (`{ errorType, errorMessage }`), or the cause itself. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

/** One line saying why an execution did not succeed: its error, and the task failure behind it. */
export function describeFailure(report: ExecutionReport): string {
  const task = report.failedTask ? ` after ${report.failedTask.state} failed: ${report.failedTask.message}` : '';
  return `${report.workflow} ${report.status.toLowerCase()}: ${report.error ?? ''} ${causeMessage(report.cause)}${task}`.trim();
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function utf8Bytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** An error the definition's Retry and Catch fields cannot match, as Step Functions treats a payload over its limit. */
class UncatchableStatesError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The error a Task gets from a failed Lambda invocation: the function's error type, its payload as the cause. */
class LambdaTaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

interface Container {
  readonly limiter: RateLimiter;
  /** Made on the container's first invocation and kept, as a handler's module-scope clients are in Lambda. */
  clients?: ClientFactory;
  busy: boolean;
}

/** One execution of a workflow on the local engine. */
export class LocalExecution {
  readonly startDate: Date;
  status: ExecutionReport['status'] = 'RUNNING';
  output?: unknown;
  error?: string;
  cause?: string;
  stopDate?: Date;
  readonly history: HistoryEvent[] = [];
  transitions = 0;
  largestPayload = { bytes: 0, state: '' };
  /** Set when a state's data passed the payload limit; the execution fails at its next step, as on AWS. */
  dataLimitExceeded?: string;
  /** Set when the history passed its cap. */
  historyLimitExceeded = false;
  readonly done: Promise<ExecutionReport>;
  abort: () => void = () => undefined;
  private lastEventId = 0;

  constructor(
    readonly engine: LocalEngine,
    readonly workflow: StackWorkflow,
    readonly executionArn: string,
    readonly name: string,
    readonly input: unknown,
    run: (execution: LocalExecution) => Promise<void>,
  ) {
    this.startDate = new Date(engine.clock.now());
    this.done = run(this).then(() => this.report());
  }

  get stateMachineArn(): string {
    return this.engine.stateMachineArn(this.workflow);
  }

  /** The last task failure of the history, with the state it happened in. */
  failedTask(): ExecutionReport['failedTask'] {
    let state = '';
    let failure: ExecutionReport['failedTask'];
    for (const event of this.history) {
      if (event.type === 'TaskStateEntered') state = event.stateEnteredEventDetails?.name ?? state;
      if (event.type === 'TaskFailed') {
        const details = event.taskFailedEventDetails;
        failure = { state, error: details?.error ?? '', message: causeMessage(details?.cause) };
      }
    }
    return failure;
  }

  report(): ExecutionReport {
    return {
      executionArn: this.executionArn,
      name: this.name,
      workflow: this.workflow.name,
      status: this.status,
      input: this.input,
      output: this.output,
      error: this.error,
      cause: this.cause,
      startDate: this.startDate,
      stopDate: this.stopDate,
      historyEventCount: this.history.length,
      transitions: this.transitions,
      largestPayload: { ...this.largestPayload },
      failedTask: this.status === 'SUCCEEDED' || this.status === 'RUNNING' ? undefined : this.failedTask(),
    };
  }

  /** Appends one event to the execution's history (AWS's shape, ids in order). */
  record(type: string, details: Record<string, unknown> = {}): void {
    this.lastEventId++;
    this.history.push({
      id: this.lastEventId,
      previousEventId: this.lastEventId - 1,
      timestamp: new Date(this.engine.clock.now()),
      type: type as HistoryEvent['type'],
      ...details,
    });
  }
}

/**
 * Runs the stack's synthesized state machines in-process, each Lambda task calling the function's real handler with
 * that function's environment, timeout and clients. What Step Functions and Lambda enforce and the library does not
 * is enforced here: 256 KiB per state's input and output (uncatchable, as on AWS), the history cap, at most 40
 * concurrent iterations of an inline Map, Step Functions' default task timeout, Lambda timeouts and concurrency.
 */
export class LocalEngine {
  readonly clock: Clock;
  readonly limits: EngineLimits;
  readonly functions: ReadonlyMap<string, StackFunction>;
  readonly workflows: ReadonlyMap<string, StackWorkflow>;
  readonly stats = new Map<string, FunctionStats>();
  private readonly executions: LocalExecution[] = [];
  private readonly containers = new Map<string, Container[]>();
  private readonly handlers = new Map<string, (event: unknown, context: unknown) => Promise<unknown>>();
  private readonly faults: (InjectedLambdaFault & { remaining: number })[] = [];
  private readonly environments = new Map<string, Record<string, string>>();
  private activeInvocations = 0;
  private executionCounter = 0;

  constructor(private readonly options: LocalEngineOptions) {
    this.clock = options.clock ?? realClock;
    this.limits = { ...AWS_LIMITS, ...options.limits };
    const stack = readStack(options.template);
    this.functions = stack.functions;
    this.workflows = stack.workflows;
    for (const fn of this.functions.values()) {
      this.stats.set(fn.logicalId, {
        invocations: 0,
        coldStarts: 0,
        errors: 0,
        timeouts: 0,
        durationMs: 0,
        maxDurationMs: 0,
        memoryMb: fn.memoryMb,
        timeoutSeconds: fn.timeoutSeconds,
      });
    }
  }

  /** The ARN the deployment gives a workflow's state machine. */
  stateMachineArn(workflow: StackWorkflow): string {
    return (
      this.options.deployment.ref(workflow.logicalId) ??
      `arn:${this.options.deployment.partition}:states:${this.options.deployment.region}:${this.options.deployment.account}:stateMachine:${workflow.logicalId}`
    );
  }

  /** The workflow called `name` (`publish`, `boot-test`, `prune`) or whose state machine has this ARN. */
  workflow(nameOrArn: string): StackWorkflow {
    const found =
      this.workflows.get(nameOrArn) ?? [...this.workflows.values()].find((w) => this.stateMachineArn(w) === nameOrArn);
    if (!found)
      throw new PipelineError(`no workflow ${nameOrArn} in the stack (${[...this.workflows.keys()].join(', ')})`);
    return found;
  }

  /** Every execution started so far, children included, oldest first. */
  allExecutions(): readonly LocalExecution[] {
    return this.executions;
  }

  /** Makes the next matching invocations of a function fail as Lambda (or the function) would. */
  injectFault(fault: InjectedLambdaFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** Starts an execution; its `done` resolves with the final report (it never rejects). */
  start(workflowName: string, input: unknown = {}, name?: string): LocalExecution {
    const workflow = this.workflow(workflowName);
    this.executionCounter++;
    const executionName = name ?? `local-${String(this.executionCounter).padStart(4, '0')}-${this.clock.now()}`;
    const { partition, region, account } = this.options.deployment;
    // An execution's ARN names its state machine by its deployed name, as IAM policies on executions expect.
    const machineName = this.stateMachineArn(workflow).split(':').pop();
    const arn = `arn:${partition}:states:${region}:${account}:execution:${machineName}:${executionName}`;
    if (this.executions.some((e) => e.executionArn === arn)) {
      throw Object.assign(new PipelineError(`Execution ${executionName} already exists`), {
        name: 'ExecutionAlreadyExists',
      });
    }
    const execution = new LocalExecution(this, workflow, arn, executionName, input, (e) => this.run(e));
    this.executions.push(execution);
    return execution;
  }

  /** Resolves once no execution is running (children started along the way included). */
  async settled(): Promise<ExecutionReport[]> {
    for (;;) {
      const running = this.executions.filter((e) => e.status === 'RUNNING');
      if (running.length === 0) return this.executions.map((e) => e.report());
      await Promise.all(running.map((e) => e.done));
    }
  }

  /** Invokes a function directly (a scheduled function such as the digest or the sweeper), as Lambda would. */
  invoke(functionId: string, event: unknown): Promise<unknown> {
    const fn = this.functions.get(functionId) ?? [...this.functions.values()].find((f) => f.entry === functionId);
    if (!fn) throw new PipelineError(`no function ${functionId} in the stack`);
    return this.invokeFunction(fn, event);
  }

  /** Total billed Lambda compute, in GB-seconds. */
  lambdaGbSeconds(): number {
    let total = 0;
    for (const stats of this.stats.values()) total += (stats.durationMs / 1000) * (stats.memoryMb / 1024);
    return total;
  }

  private definitionOf(workflow: StackWorkflow): Record<string, unknown> {
    const resolved = resolveValue(workflow.definition, this.options.deployment);
    const definition = JSON.parse(typeof resolved === 'string' ? resolved : JSON.stringify(resolved));
    return this.withAwsDefaults(definition);
  }

  /**
   * The definition as AWS runs it: a Task without a timeout waits as long as Step Functions does (the library would
   * stop it after 60 s), and an inline Map runs at most 40 iterations at once whatever MaxConcurrency says.
   */
  private withAwsDefaults(definition: Record<string, unknown>): Record<string, unknown> {
    const states = definition.States as Record<string, Record<string, unknown>>;
    for (const state of Object.values(states)) {
      if (state.Type === 'Task' && state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
        state.TimeoutSeconds = TASK_DEFAULT_TIMEOUT_SECONDS;
      }
      if (state.Type === 'Map') {
        const processor = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown>;
        const mode = (processor.ProcessorConfig as { Mode?: string } | undefined)?.Mode ?? 'INLINE';
        if (mode === 'INLINE') {
          const asked = Number(state.MaxConcurrency ?? 0);
          state.MaxConcurrency =
            asked > 0 ? Math.min(asked, this.limits.inlineMapConcurrency) : this.limits.inlineMapConcurrency;
        }
        this.withAwsDefaults(processor);
      }
      if (state.Type === 'Parallel') {
        for (const branch of state.Branches as Record<string, unknown>[]) this.withAwsDefaults(branch);
      }
    }
    return definition;
  }

  private taskOverrides(
    definition: Record<string, unknown>,
    execution: LocalExecution,
    into: Record<string, (input: Json) => Promise<Json>> = {},
  ): Record<string, (input: Json) => Promise<Json>> {
    const states = definition.States as Record<string, Record<string, unknown>>;
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') into[name] = this.taskOverride(name, String(state.Resource), execution);
      if (state.Type === 'Map')
        this.taskOverrides((state.ItemProcessor ?? state.Iterator) as Record<string, unknown>, execution, into);
      if (state.Type === 'Parallel')
        for (const branch of state.Branches as Record<string, unknown>[]) this.taskOverrides(branch, execution, into);
    }
    return into;
  }

  private taskOverride(stateName: string, resource: string, execution: LocalExecution) {
    return async (input: Json): Promise<Json> => {
      // Let the execution's event consumer see every event up to here before this task does anything.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (execution.dataLimitExceeded) {
        throw new UncatchableStatesError('States.DataLimitExceeded', execution.dataLimitExceeded);
      }
      if (execution.historyLimitExceeded) {
        throw new UncatchableStatesError(
          'States.Runtime',
          `the execution history passed ${this.limits.historyEvents} events`,
        );
      }
      const parameters = input as Record<string, Json>;
      if (resource === LAMBDA_INVOKE || resource.startsWith(`${LAMBDA_INVOKE}:`)) {
        const fn = this.functionByArn(String(parameters.FunctionName));
        return this.lambdaTask(fn, parameters.Payload ?? {}, execution);
      }
      if (resource.startsWith('arn:aws:lambda:') || /^arn:[^:]+:lambda:/.test(resource)) {
        const response = (await this.lambdaTask(this.functionByArn(resource), input, execution)) as { Payload: Json };
        return response.Payload;
      }
      if (resource === START_EXECUTION) {
        execution.record('TaskScheduled', { taskScheduledEventDetails: { resource: START_EXECUTION } });
        execution.record('TaskStarted');
        const child = this.start(
          String(parameters.StateMachineArn),
          typeof parameters.Input === 'string' ? JSON.parse(parameters.Input) : (parameters.Input ?? {}),
          typeof parameters.Name === 'string' ? parameters.Name : undefined,
        );
        execution.record('TaskSucceeded');
        return { ExecutionArn: child.executionArn, StartDate: child.startDate.toISOString() };
      }
      throw new UnsupportedIntegrationError(`${stateName}: the local engine cannot run ${resource}`);
    };
  }

  private functionByArn(arn: string): StackFunction {
    const bare = arn.replace(/:(\$LATEST|[0-9]+)$/, '');
    for (const fn of this.functions.values()) {
      const fnArn = this.options.deployment.attribute(fn.logicalId, 'Arn');
      if (fnArn === bare || bare.endsWith(`:function:${fn.logicalId}`)) return fn;
    }
    throw new PipelineError(`no function of the stack has the ARN ${arn}`);
  }

  /** The lambda:invoke integration: the function's result as `Payload`, beside the metadata AWS returns. */
  private async lambdaTask(fn: StackFunction, payload: unknown, execution: LocalExecution): Promise<Json> {
    execution.record('TaskScheduled', { taskScheduledEventDetails: { resource: fn.logicalId } });
    execution.record('TaskStarted');
    try {
      const result = await this.invokeFunction(fn, payload);
      execution.record('TaskSucceeded');
      return {
        ExecutedVersion: '$LATEST',
        Payload: (result ?? null) as Json,
        SdkHttpMetadata: {
          AllHttpHeaders: { 'Content-Type': ['application/json'] },
          HttpHeaders: { 'Content-Type': 'application/json' },
          HttpStatusCode: 200,
        },
        SdkResponseMetadata: { RequestId: `local-${this.executionCounter}` },
        StatusCode: 200,
      };
    } catch (error) {
      execution.record('TaskFailed', {
        taskFailedEventDetails: { error: (error as Error).name, cause: (error as Error).message },
      });
      throw error;
    }
  }

  private resolvedEnvironment(fn: StackFunction): Record<string, string> {
    let env = this.environments.get(fn.logicalId);
    if (!env) {
      const deployment = this.options.deployment;
      env = {
        AWS_REGION: deployment.region,
        AWS_DEFAULT_REGION: deployment.region,
        AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      };
      for (const [key, value] of Object.entries(fn.environment)) {
        // A value the deployment cannot give stays unset: the handler names the variable if it needs it.
        const unresolved = referencedIds(value).size > 0 ? undefined : value;
        const resolved = resolveValue(value, deployment, () => '\u0000');
        const text = typeof resolved === 'string' ? resolved : unresolved;
        if (typeof text === 'string' && !text.includes('\u0000')) env[key] = text;
      }
      Object.assign(env, this.options.environment);
      this.environments.set(fn.logicalId, env);
    }
    return env;
  }

  private handlerOf(fn: StackFunction): (event: unknown, context: unknown) => Promise<unknown> {
    let handler = this.handlers.get(fn.entry) ?? this.options.handlers?.[fn.entry];
    if (!handler) {
      const file = join(this.options.lambdasDir ?? join(__dirname, '..', '..', 'lambdas'), fn.entry);
      handler = (require(file) as { handler: (event: unknown, context: unknown) => Promise<unknown> }).handler;
      this.handlers.set(fn.entry, handler);
    }
    return handler;
  }

  private takeFault(fn: StackFunction, event: unknown, afterHandler: boolean): InjectedLambdaFault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.functionId === fn.logicalId &&
        f.remaining > 0 &&
        Boolean(f.afterHandler) === afterHandler &&
        (!f.when || f.when(event)),
    );
    if (fault) fault.remaining--;
    return fault;
  }

  private container(fn: StackFunction): { container: Container; cold: boolean } {
    const pool = this.containers.get(fn.logicalId) ?? [];
    this.containers.set(fn.logicalId, pool);
    const idle = pool.find((c) => !c.busy);
    if (idle) {
      idle.busy = true;
      return { container: idle, cold: false };
    }
    // Each container keeps its own limiter, as each Lambda container does: they do not share AWS's buckets.
    const container = { limiter: new RateLimiter(undefined, this.clock), busy: true };
    pool.push(container);
    return { container, cold: true };
  }

  /** One synchronous invocation as Lambda runs it: concurrency, a container, the timeout, the function's error. */
  private async invokeFunction(fn: StackFunction, event: unknown): Promise<unknown> {
    const stats = this.stats.get(fn.logicalId)!;
    const before = this.takeFault(fn, event, false);
    if (before) throw new LambdaTaskError(before.error, before.message ?? `${before.error} (injected)`);
    if (this.activeInvocations >= this.limits.lambdaConcurrency) {
      throw new LambdaTaskError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
    }
    this.activeInvocations++;
    const { container, cold } = this.container(fn);
    const startedAt = this.clock.now();
    if (cold) {
      stats.coldStarts++;
      if (this.options.coldStartMs) await this.clock.sleep(this.options.coldStartMs);
    }
    const deadline = startedAt + fn.timeoutSeconds * 1000;
    const abort = new AbortController();
    container.clients ??= (
      typeof this.options.clients === 'function' ? this.options.clients(fn) : this.options.clients
    ).withPlugins(refuseAfterTimeout);
    const invocation: Invocation = {
      functionName: fn.logicalId,
      env: this.resolvedEnvironment(fn),
      clock: this.clock,
      remainingMs: () => Math.max(0, deadline - this.clock.now()),
      services: {
        clients: container.clients,
        limiter: container.limiter,
        abortSignal: abort.signal,
        logSink: (line: string) => this.options.logSink?.(fn.logicalId, line),
        ...this.options.services?.(fn),
      },
    };
    const context = {
      functionName: fn.logicalId,
      memoryLimitInMB: String(fn.memoryMb),
      getRemainingTimeInMillis: () => invocation.remainingMs(),
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new LambdaTaskError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`));
      }, fn.timeoutSeconds * 1000);
    });
    stats.invocations++;
    try {
      const handler = this.handlerOf(fn);
      const result = await Promise.race([runInvocation(invocation, () => handler(event, context)), timedOut]);
      const after = this.takeFault(fn, event, true);
      if (after) throw new LambdaTaskError(after.error, after.message ?? `${after.error} (injected)`);
      return JSON.parse(JSON.stringify(result ?? null));
    } catch (error) {
      stats.errors++;
      if (error instanceof LambdaTaskError) {
        if (error.name === 'Sandbox.Timedout') stats.timeouts++;
        throw error;
      }
      const failure = error as Error;
      // As the Lambda runtime reports a thrown error, and the lambda:invoke integration passes it on.
      throw new LambdaTaskError(
        failure.name || 'Error',
        JSON.stringify({ errorType: failure.name, errorMessage: failure.message }),
      );
    } finally {
      clearTimeout(timer);
      const duration = this.clock.now() - startedAt;
      stats.durationMs += duration;
      stats.maxDurationMs = Math.max(stats.maxDurationMs, duration);
      this.activeInvocations--;
      // A timed-out container is discarded, as Lambda discards the sandbox.
      if (abort.signal.aborted) {
        const pool = this.containers.get(fn.logicalId)!;
        pool.splice(pool.indexOf(container), 1);
      } else container.busy = false;
    }
  }

  private async run(execution: LocalExecution): Promise<void> {
    const definition = this.definitionOf(execution.workflow);
    const validation = definitionValidation(JSON.stringify(definition));
    const machine = new library.StateMachine(definition, {
      validationOptions: { checkArn: false, noValidate: validation.known },
    });
    validation.record();
    const { deployment } = this.options;
    const run = machine.run(execution.input, {
      overrides: { taskResourceLocalHandlers: this.taskOverrides(definition, execution) },
      context: {
        Execution: {
          Id: execution.executionArn,
          Name: execution.name,
          RoleArn: `arn:${deployment.partition}:iam::${deployment.account}:role/${execution.workflow.logicalId}Role`,
        },
        StateMachine: { Id: execution.stateMachineArn, Name: execution.stateMachineArn.split(':').pop() },
      },
    });
    execution.abort = run.abort;
    execution.record('ExecutionStarted', {
      executionStartedEventDetails: { input: JSON.stringify(execution.input) },
    });
    const consumed = this.consumeEvents(execution, run.eventLogs);
    try {
      const output = await run.result;
      await consumed;
      if (execution.dataLimitExceeded)
        this.finish(execution, 'FAILED', 'States.DataLimitExceeded', execution.dataLimitExceeded);
      else {
        const bytes = utf8Bytes(output);
        if (bytes > this.limits.payloadBytes) {
          this.finish(execution, 'FAILED', 'States.DataLimitExceeded', `the execution output is ${bytes} bytes`);
        } else {
          execution.output = output;
          this.finish(execution, 'SUCCEEDED');
        }
      }
    } catch (error) {
      await consumed.catch(() => undefined);
      if (error instanceof library.ExecutionTimeoutError) this.finish(execution, 'TIMED_OUT', 'States.Timeout');
      else if (error instanceof library.ExecutionAbortedError) this.finish(execution, 'ABORTED');
      else {
        const cause = error instanceof library.ExecutionError ? (error.cause as Error) : (error as Error);
        this.finish(execution, 'FAILED', cause?.name ?? 'Error', cause?.message ?? String(error));
      }
    }
  }

  private finish(execution: LocalExecution, status: ExecutionReport['status'], error?: string, cause?: string): void {
    execution.status = status;
    execution.error = error;
    execution.cause = cause;
    execution.stopDate = new Date(this.clock.now());
    const type = {
      SUCCEEDED: 'ExecutionSucceeded',
      FAILED: 'ExecutionFailed',
      TIMED_OUT: 'ExecutionTimedOut',
      ABORTED: 'ExecutionAborted',
      RUNNING: 'ExecutionStarted',
    }[status];
    execution.record(type, {
      ...(status === 'SUCCEEDED'
        ? { executionSucceededEventDetails: { output: JSON.stringify(execution.output) } }
        : {}),
      ...(status === 'FAILED' ? { executionFailedEventDetails: { error, cause } } : {}),
    });
  }

  /** Reads the library's event log: history events, transitions, payload sizes, progress. */
  private async consumeEvents(execution: LocalExecution, events: AsyncGenerator<EventLog>): Promise<void> {
    for await (const event of events) {
      this.options.onEvent?.(execution, event);
      this.recordEvent(execution, event);
      if (execution.history.length > this.limits.historyEvents && !execution.historyLimitExceeded) {
        execution.historyLimitExceeded = true;
      }
    }
  }

  private checkPayload(execution: LocalExecution, state: string, what: string, value: unknown): void {
    const bytes = utf8Bytes(value);
    if (bytes > execution.largestPayload.bytes) execution.largestPayload = { bytes, state };
    if (bytes > this.limits.payloadBytes && !execution.dataLimitExceeded) {
      execution.dataLimitExceeded = `the ${what} of state ${state} is ${bytes} bytes, over the ${this.limits.payloadBytes}-byte limit`;
    }
  }

  private recordEvent(execution: LocalExecution, event: EventLog): void {
    switch (event.type) {
      case 'StateEntered': {
        if (!event.state) break;
        execution.transitions++;
        this.checkPayload(execution, event.state.name, 'input', event.state.input);
        execution.record(`${event.state.type}StateEntered`, {
          stateEnteredEventDetails: { name: event.state.name, input: JSON.stringify(event.state.input) },
        });
        if (event.state.type === 'Map' || event.state.type === 'Parallel')
          execution.record(`${event.state.type}StateStarted`);
        break;
      }
      case 'StateExited': {
        if (!event.state) break;
        this.checkPayload(execution, event.state.name, 'output', event.state.output);
        if (event.state.type === 'Map' || event.state.type === 'Parallel') {
          execution.record(`${event.state.type}StateSucceeded`);
        }
        execution.record(`${event.state.type}StateExited`, {
          stateExitedEventDetails: { name: event.state.name, output: JSON.stringify(event.state.output) },
        });
        break;
      }
      case 'StateFailed':
        if (event.state && (event.state.type === 'Map' || event.state.type === 'Parallel'))
          execution.record(`${event.state.type}StateFailed`);
        break;
      case 'MapIterationStarted':
        execution.record('MapIterationStarted', { mapIterationStartedEventDetails: { index: event.index } });
        break;
      case 'MapIterationSucceeded':
        execution.record('MapIterationSucceeded', { mapIterationSucceededEventDetails: { index: event.index } });
        break;
      case 'MapIterationFailed':
        execution.record('MapIterationFailed', { mapIterationFailedEventDetails: { index: event.index } });
        break;
      default:
        break;
    }
  }
}

/** Refuses every AWS call of an invocation that Lambda has already ended (its timeout passed). */
const refuseAfterTimeout: ClientPlugin = (stack) => {
  stack.add(
    (next) => async (args) => {
      const signal = currentInvocation().services.abortSignal as AbortSignal | undefined;
      if (signal?.aborted) throw new PipelineError('the invocation timed out; its sandbox no longer runs');
      return next(args);
    },
    { step: 'initialize', name: 'refuseAfterTimeout' },
  );
};
