import { SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { STACK_NAME } from '../../lib/app';
import { ConfigError } from '../../lambdas/core/errors';
import type { CliContext } from '../cli/context';
import { deployedStateMachines, type ExecutionSummary, latestExecutions, type WorkflowName } from '../cli/deployed';
import { formatOutput, renderTable } from '../cli/output';
import { formatDuration } from '../cli/progress';

/** The executions as a table: what ran, how it ended, where it failed, and its page in the console. */
export function renderStatus(rows: readonly ExecutionSummary[]): string {
  return renderTable(rows, [
    { header: 'WORKFLOW', value: (r) => r.workflow },
    { header: 'EXECUTION', value: (r) => r.name },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'STARTED', value: (r) => r.startDate?.replace(/\.\d+Z$/, 'Z') },
    {
      header: 'DURATION',
      value: (r) => (r.durationSeconds === undefined ? '' : formatDuration(r.durationSeconds * 1000)),
      align: 'right',
    },
    {
      header: 'FAILED',
      value: (r) =>
        [
          r.failedRegions?.length ? `regions ${r.failedRegions.join(',')}` : '',
          r.failedStep ? `step ${r.failedStep}` : r.error && !r.failedRegions?.length ? r.error : '',
        ]
          .filter(Boolean)
          .join('; '),
    },
    { header: 'CONSOLE', value: (r) => r.consoleUrl },
  ]);
}

/** `ami-pipeline status`: the latest executions of each deployed workflow. */
export function registerStatus(program: Command, context: () => CliContext): void {
  program
    .command('status')
    .description(
      'list the latest executions of each deployed workflow: state, start, duration, failed region or step, console link',
    )
    .option('--limit <n>', 'executions per workflow', '3')
    .option('--stack-name <name>', 'the deployed stack', STACK_NAME)
    .action(async (options: { limit: string; stackName: string }) => {
      const ctx = context();
      const limit = Number(options.limit);
      if (!(Number.isInteger(limit) && limit >= 1 && limit <= 100))
        throw new ConfigError(`--limit must be a whole number from 1 to 100 (got ${options.limit})`);
      const region = ctx.config.buildRegion;
      const machines = await deployedStateMachines(ctx.clients, options.stackName, region);
      const sfn = ctx.clients.client(SFNClient, region);
      const now = ctx.now();
      const rows = (
        await Promise.all(
          (Object.entries(machines) as [WorkflowName, string][]).map(([workflow, arn]) =>
            latestExecutions(sfn, workflow, arn, limit, now),
          ),
        )
      ).flat();
      ctx.print(formatOutput(ctx.output, rows, (r) => (r.length ? renderStatus(r) : 'No executions yet.')));
    });
}
