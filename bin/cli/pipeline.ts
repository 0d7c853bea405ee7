import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { deployLocally, deploymentFromStack } from '../../bin/local/deployment';
import type { EventLog, LocalExecution } from '../../bin/local/engine';
import { LocalPipeline, synthesizeTemplate } from '../../bin/local/pipeline';
import type { StackFunction } from '../../bin/local/template';
import { STACK_NAME } from '../../lib/app';
import type { PipelineConfig } from '../../lambdas/core/config';
import type { CliContext } from './context';

export interface CliPipelineOptions {
  /** The configuration of this run, when a flag changes it (e.g. boot tests off); the context's otherwise. */
  readonly config?: PipelineConfig;
  /** Environment set on every function over the stack's (e.g. the boot test network named on the command line). */
  readonly environment?: Readonly<Record<string, string>>;
  readonly services?: (fn: StackFunction) => Readonly<Record<string, unknown>>;
}

/** A progress line for the events worth showing: each task as it starts, with its region when it has one. */
function progressOf(execution: LocalExecution, event: EventLog): string | undefined {
  if (event.type !== 'StateEntered' || event.state?.type !== 'Task') return undefined;
  const input = event.state.input as { region?: unknown } | null;
  const region = typeof input?.region === 'string' ? ` ${input.region}` : '';
  const seconds = ((Date.now() - execution.startDate.getTime()) / 1000).toFixed(0);
  return `${execution.workflow} ${seconds}s: ${event.state.name}${region}`;
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
    : (await ctx.clients.sts(region).send(new GetCallerIdentityCommand({}))).Account;
  const template = synthesizeTemplate(config, account);
  const deployment = ctx.endpointUrl
    ? undefined
    : ((await deploymentFromStack(ctx.clients, STACK_NAME, region)) ??
      (await deployLocally(template, ctx.clients, { region, account: account!, makeResources: false })));
  return LocalPipeline.create({
    config,
    clients: ctx.clients,
    account,
    deployment,
    environment: options.environment,
    services: options.services,
    onEvent: (execution, event) => {
      const line = progressOf(execution, event);
      if (line) ctx.progress(line);
    },
    logSink: (fn, line) => ctx.logger.debug('function log', { function: fn, line }),
  });
}
