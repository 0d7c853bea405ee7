import { StartExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { type Command, Argument } from 'commander';
import { STACK_NAME } from '../../lib/app';
import { ConfigError } from '../../lambdas/core/errors';
import type { CliContext } from '../cli/context';
import {
  consoleUrl,
  deployedStateMachines,
  ExecutionFailedError,
  followExecution,
  summarizeExecution,
  WORKFLOW_OUTPUTS,
  type WorkflowName,
} from '../cli/deployed';
import { formatOutput } from '../cli/output';
import { renderStatus } from './status';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

export interface StartOptions {
  readonly ami?: string[];
  readonly execute?: boolean;
  readonly overrideBreaker?: boolean;
  readonly repair?: boolean;
  readonly follow?: boolean;
  readonly stackName: string;
}

/**
 * The input a manual start gives: what the schedule gives (publish `{}`, prune `{}`, audit its configured `repair`;
 * the boot test gets the published images from publish), plus what the command line names. Prune plans unless `--execute`, whatever
 * `safety.dryRun` says in the deployed configuration, as `ami-pipeline prune` does.
 */
export function startInput(
  workflow: WorkflowName,
  options: Pick<StartOptions, 'ami' | 'execute' | 'overrideBreaker' | 'repair'>,
  regions: readonly string[] | undefined,
): Record<string, unknown> {
  const images = options.ami?.length ? options.ami : undefined;
  if (options.execute && workflow !== 'prune') throw new ConfigError('--execute applies to prune only');
  if (options.overrideBreaker && workflow !== 'prune')
    throw new ConfigError('--override-breaker applies to prune only');
  if (options.repair && workflow !== 'audit') throw new ConfigError('--repair applies to audit only');
  switch (workflow) {
    case 'publish':
      return { ...(images ? { imageIds: images } : {}), ...(regions ? { regions } : {}) };
    case 'boot-test':
      if (!images) throw new ConfigError('start boot-test needs the images to test: --ami ami-...');
      if (regions) throw new ConfigError('the boot test runs in the build region; --regions does not apply to it');
      return { imageIds: images };
    case 'prune':
      if (images) throw new ConfigError('--ami does not apply to prune: it plans over every managed image');
      return {
        execute: options.execute === true,
        ...(options.overrideBreaker ? { overrideBreaker: true } : {}),
        ...(regions ? { regions } : {}),
      };
    case 'audit':
      if (images) throw new ConfigError('--ami does not apply to audit: it checks the current builds');
      return { ...(options.repair ? { repair: true } : {}), ...(regions ? { regions } : {}) };
  }
}

/** `cli-publish-20260502-060000`: a manual start is told apart from the schedule's in the console and in tags. */
function executionName(workflow: WorkflowName, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `cli-${workflow}-${stamp}`;
}

/** `ami-pipeline start`: starts a deployed workflow as its schedule would, and optionally follows it to its end. */
export function registerStart(program: Command, context: () => CliContext): void {
  program
    .command('start')
    .description(
      'start the deployed publish, boot-test, prune or audit state machine with the input its schedule gives (prune only plans unless --execute)',
    )
    .addArgument(new Argument('<workflow>', 'the workflow to start').choices(Object.keys(WORKFLOW_OUTPUTS)))
    .option(
      '--ami <ids>',
      'image id(s): the sources to publish, or the images to boot-test (comma separated or repeated)',
      list,
    )
    .option('--execute', 'prune: deregister and delete for real; without it the run only plans')
    .option('--override-breaker', 'prune: let regions delete more than safety.maxDeleteShare of their images')
    .option('--repair', 'audit: repair what is found, whatever audit.repair says')
    .option('--follow', 'show the progress until the execution ends, then its outcome')
    .option('--stack-name <name>', 'the deployed stack', STACK_NAME)
    .action(async (workflow: WorkflowName, options: StartOptions) => {
      const ctx = context();
      const input = startInput(workflow, options, ctx.regions);
      const region = ctx.config.buildRegion;
      const machines = await deployedStateMachines(ctx.clients, options.stackName, region);
      const sfn = ctx.clients.client(SFNClient, region);
      const started = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: machines[workflow],
          name: executionName(workflow, ctx.now()),
          input: JSON.stringify(input),
        }),
      );
      const executionArn = started.executionArn!;
      const startDate = started.startDate ? new Date(started.startDate) : ctx.now();
      if (!options.follow) {
        const result = {
          workflow,
          executionArn,
          startDate: startDate.toISOString(),
          input,
          consoleUrl: consoleUrl(executionArn),
        };
        ctx.print(
          formatOutput(ctx.output, result, (r) =>
            [
              `Started ${workflow}: ${r.executionArn}`,
              `Input: ${JSON.stringify(r.input)}`,
              `Console: ${r.consoleUrl}`,
            ].join('\n'),
          ),
        );
        return;
      }
      ctx.progress.note(`Started ${workflow}: ${consoleUrl(executionArn)}`);
      const execution = { id: executionArn, workflow, startedAt: startDate.getTime() };
      const ended = await followExecution(
        sfn,
        executionArn,
        (event) => ctx.progress.observe(execution, event),
        ctx.followPolling,
      );
      const summary = await summarizeExecution(sfn, workflow, { ...ended, name: ended.name, executionArn }, ctx.now());
      ctx.print(
        formatOutput(
          ctx.output,
          { ...summary, output: ended.output === undefined ? undefined : JSON.parse(ended.output) },
          () => renderStatus([summary]),
        ),
      );
      if (summary.status !== 'SUCCEEDED')
        throw new ExecutionFailedError(
          `${workflow} ${summary.status.toLowerCase()}${summary.failedStep ? ` at ${summary.failedStep}` : ''}${summary.error ? `: ${summary.error}` : ''}${summary.cause ? ` ${summary.cause}` : ''}`,
        );
    });
}
