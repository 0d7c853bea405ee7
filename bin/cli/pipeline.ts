import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { deployLocally, deploymentFromStack, rolesNamedById } from '../../bin/local/deployment';
import type { EventLog } from '../../bin/local/engine';
import { LocalPipeline, synthesizeTemplate } from '../../bin/local/pipeline';
import type { StackFunction } from '../../bin/local/template';
import { STACK_NAME } from '../../lib/app';
import type { PipelineConfig } from '../../lambdas/core/config';
import type { CliContext } from './context';
import type { ExecutionEnd, StateEvent } from './progress';

export interface CliPipelineOptions {
  /** The configuration of this run, when a flag changes it (e.g. boot tests off); the context's otherwise. */
  readonly config?: PipelineConfig;
  /** Environment set on every function over the stack's (e.g. the boot test network named on the command line). */
  readonly environment?: Readonly<Record<string, string>>;
  readonly services?: (fn: StackFunction) => Readonly<Record<string, unknown>>;
}

const ENDS: Readonly<Record<string, ExecutionEnd>> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionAborted: 'ABORTED',
  ExecutionTimeout: 'TIMED_OUT',
};

/** An engine event as the progress display reads it: a state entered or left, or the execution's end. */
export function stateEventOf(event: EventLog): StateEvent | undefined {
  const time = event.timestamp || Date.now();
  if (event.type === 'StateEntered' && event.state)
    return { kind: 'entered', name: event.state.name, type: event.state.type, data: event.state.input, time };
  if (event.type === 'StateExited' && event.state)
    return { kind: 'exited', name: event.state.name, type: event.state.type, data: event.state.output, time };
  const status = ENDS[event.type];
  return status ? { kind: 'ended', status, time } : undefined;
}

/**
 * What a function's log line has to tell the operator at once, or undefined: warnings meant for people (a `warning`
 * field, e.g. a configured region the account does not report) and errors. Per-item failures stay in the results.
 */
export function warningOf(functionId: string, line: string): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof entry.warning === 'string') return entry.warning;
  if (entry.level !== 'error') return undefined;
  const where = typeof entry.region === 'string' ? ` in ${entry.region}` : '';
  const error =
    entry.error === undefined ? '' : `: ${typeof entry.error === 'string' ? entry.error : JSON.stringify(entry.error)}`;
  return `${functionId}: ${String(entry.message)}${where}${error}`;
}

/**
 * The stack's state machines run on this machine by the local engine, their functions calling AWS with the CLI's
 * credentials. Against an emulator (`--endpoint-url`) the stack's topics, tables and network are made there; against
 * an account they are the deployed stack's when it is deployed, and otherwise only what the command line names.
 */
export async function openPipeline(ctx: CliContext, options: CliPipelineOptions = {}): Promise<LocalPipeline> {
  const config = options.config ?? ctx.config;
  const region = config.buildRegion;
  const account = ctx.endpointUrl
    ? undefined
    : (await ctx.clients.client(STSClient, region).send(new GetCallerIdentityCommand({}))).Account;
  const template = synthesizeTemplate(config, account);
  const deployment = ctx.endpointUrl
    ? undefined
    : ((await deploymentFromStack(ctx.clients, STACK_NAME, region, rolesNamedById(template))) ??
      (await deployLocally(template, ctx.clients, { region, account: account!, makeResources: false })));
  return LocalPipeline.create({
    config,
    clients: ctx.clients,
    account,
    deployment,
    environment: options.environment,
    services: options.services,
    onEvent: (execution, event) => {
      const state = stateEventOf(event);
      if (!state) return;
      ctx.progress.observe(
        { id: execution.executionArn, workflow: execution.workflow.name, startedAt: execution.startDate.getTime() },
        state,
      );
    },
    logSink: (fn, line) => {
      const warning = warningOf(fn, line);
      if (warning) ctx.warn(warning);
      ctx.logger.debug('function log', { function: fn, line });
    },
  });
}
