import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { ClientFactory } from '../../lambdas/aws/clients';
import type { PipelineConfig } from '../../lambdas/core/config';
import { PipelineError } from '../../lambdas/core/errors';
import type { Clock } from '../../lambdas/shared/invocation';
import { addPipeline } from '../../lib/app';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import { deployLocally, resolveValue, type StackDeployment } from './deployment';
import {
  type EngineLimits,
  type EventLog,
  type ExecutionReport,
  LocalEngine,
  type LocalEngineOptions,
  type LocalExecution,
} from './engine';
import { localStepFunctionsPlugin } from './sfn-api';
import type { StackFunction, StackTemplate } from './template';

const PROJECT_ROOT = join(__dirname, '..', '..');
/** The account of a stack synthesized for a local run (the emulator's and the simulation's account). */
export const LOCAL_ACCOUNT = '123456789012';

const memoryCache = new Map<string, StackTemplate>();

function sourceFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) hash.update(path).update(readFileSync(path));
    }
  };
  walk(join(PROJECT_ROOT, 'lib'));
  walk(join(PROJECT_ROOT, 'lambdas'));
  hash.update(readFileSync(join(PROJECT_ROOT, 'package-lock.json')));
  return hash.digest('hex');
}

/**
 * The stack `cdk deploy` would install for `config`, synthesized in-process (Lambda code not bundled: the local
 * engine runs the handlers from source). Templates are cached by configuration and the sources they are made from,
 * so many runs in one test suite synthesize each configuration once.
 */
export function synthesizeTemplate(config: PipelineConfig, account = LOCAL_ACCOUNT): StackTemplate {
  const key = createHash('sha256').update(JSON.stringify({ config, account })).digest('hex');
  const cached = memoryCache.get(key);
  if (cached) return cached;
  const cacheDir = join(PROJECT_ROOT, 'node_modules', '.cache', 'ami-pipeline-templates');
  const file = join(cacheDir, `${key}-${sourceFingerprint().slice(0, 16)}.json`);
  let template: StackTemplate;
  try {
    template = JSON.parse(readFileSync(file, 'utf8')) as StackTemplate;
  } catch {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // The template is checked by cdk-nag in the CDK tests and on every `cdk synth`; the checks change nothing in it.
    const stack = addPipeline(app, config, account, { checks: false });
    template = app.synth().getStackByName(stack.stackName).template as StackTemplate;
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(file, JSON.stringify(template));
  }
  memoryCache.set(key, template);
  return template;
}

export interface LocalPipelineOptions {
  readonly config: PipelineConfig;
  /** The stack's template when already synthesized for `config` (and `account`); synthesized otherwise. */
  readonly template?: StackTemplate;
  /** Where the functions' AWS calls go: the emulator, a simulated AWS, or an account. */
  readonly clients: ClientFactory;
  readonly account?: string;
  /** Where the stack's resources are; by default they are made through `clients` (`deployLocally`). */
  readonly deployment?: StackDeployment;
  /** Physical values already known, by logical id, that a local deployment does not make. */
  readonly known?: Readonly<Record<string, string>>;
  /** Functions' clients, when they differ per function (e.g. each with its role's credentials). */
  readonly clientsFor?: (fn: StackFunction, shared: ClientFactory) => ClientFactory;
  readonly services?: (fn: StackFunction) => Readonly<Record<string, unknown>>;
  readonly environment?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly limits?: Partial<EngineLimits>;
  readonly logSink?: (functionId: string, line: string) => void;
  readonly onEvent?: (execution: LocalExecution, event: EventLog) => void;
  readonly coldStartMs?: number;
  /** Handlers by entry instead of the entry's file, e.g. a real handler run under a test's own clock. */
  readonly handlers?: LocalEngineOptions['handlers'];
}

/**
 * The stack as `cdk deploy` installs it, run locally: the synthesized template, its resources, and the local engine
 * running its state machines with the handlers in-process. The CLI, the demo, the tests and the benchmarks all run
 * the pipeline through this one door.
 */
export class LocalPipeline {
  private constructor(
    readonly config: PipelineConfig,
    readonly template: StackTemplate,
    readonly deployment: StackDeployment,
    readonly engine: LocalEngine,
    /** The given clients, with Step Functions calls about the local state machines answered by the engine. */
    readonly clients: ClientFactory,
  ) {}

  static async create(options: LocalPipelineOptions): Promise<LocalPipeline> {
    const account = options.account ?? LOCAL_ACCOUNT;
    const template = options.template ?? synthesizeTemplate(options.config, account);
    const deployment =
      options.deployment ??
      (await deployLocally(template, options.clients, {
        region: options.config.buildRegion,
        account,
        known: options.known,
      }));
    let engine: LocalEngine | undefined;
    // The engine answers Step Functions calls about its own state machines, its functions' calls included.
    const sfnPlugin = localStepFunctionsPlugin(() => engine!);
    const clients = options.clients.withPlugins(sfnPlugin);
    engine = new LocalEngine({
      template,
      deployment,
      clients: options.clientsFor ? (fn) => options.clientsFor!(fn, clients).withPlugins(sfnPlugin) : clients,
      services: options.services,
      environment: options.environment,
      clock: options.clock,
      limits: options.limits,
      logSink: options.logSink,
      onEvent: options.onEvent,
      coldStartMs: options.coldStartMs,
      handlers: options.handlers,
    });
    return new LocalPipeline(options.config, template, deployment, engine, clients);
  }

  /** A stack output (see `STACK_OUTPUTS`) as the deployment resolves it. */
  output(name: (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS]): string {
    const outputs = (this.template as { Outputs?: Record<string, { Value: unknown }> }).Outputs ?? {};
    const value = outputs[name]?.Value;
    if (value === undefined) throw new PipelineError(`the stack has no output ${name}`);
    return String(resolveValue(value, this.deployment));
  }

  get announcementsTopicArn(): string {
    return this.output(STACK_OUTPUTS.announcementsTopic);
  }

  get alarmsTopicArn(): string {
    return this.output(STACK_OUTPUTS.alarmsTopic);
  }

  get bootHistoryTable(): string {
    return this.output(STACK_OUTPUTS.bootHistoryTable);
  }

  /** The table where each boot test run keeps its plans and results. */
  get bootRunTable(): string {
    return this.output(STACK_OUTPUTS.bootRunTable);
  }

  /** Starts the publish workflow with the input its schedule gives, or a manual one. */
  publish(input: Record<string, unknown> = {}, name?: string): LocalExecution {
    return this.engine.start('publish', input, name);
  }

  bootTest(input: Record<string, unknown>, name?: string): LocalExecution {
    return this.engine.start('boot-test', input, name);
  }

  prune(input: Record<string, unknown> = {}, name?: string): LocalExecution {
    return this.engine.start('prune', input, name);
  }

  /** Starts the audit workflow: `{ repair }` as its schedule gives it, or a manual input (regions, pollSeconds). */
  audit(input: Record<string, unknown> = {}, name?: string): LocalExecution {
    return this.engine.start('audit', input, name);
  }

  /** Starts the reproducibility workflow: the week's default checks, or `{ imageIds: [...] }`. */
  repro(input: Record<string, unknown> = {}, name?: string): LocalExecution {
    return this.engine.start('repro', input, name);
  }

  /** Runs the scheduled sweeper of leftover reproducibility check resources. */
  reproSweep(): Promise<unknown> {
    return this.engine.invoke('repro/sweep.ts', {});
  }

  /** Runs the scheduled digest function as its schedule would, for the week ending at `time`. */
  digest(time?: Date): Promise<unknown> {
    return this.engine.invoke('digest/handler.ts', time ? { time: time.toISOString() } : {});
  }

  /** Runs the scheduled sweeper of leftover boot-test resources. */
  sweep(): Promise<unknown> {
    return this.engine.invoke('boot/sweep.ts', {});
  }

  /** Waits until no execution runs, children included, and returns every execution's report. */
  settled(): Promise<ExecutionReport[]> {
    return this.engine.settled();
  }
}
