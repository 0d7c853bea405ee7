import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { DynamoReproHistory } from '../../lambdas/aws/repro/history';
import { ConfigError } from '../../lambdas/core/errors';
import type { ReproHistoryRow } from '../../lambdas/core/repro/history';
import { STACK_NAME } from '../../lib/app';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import type { CliContext } from '../cli/context';
import { consoleUrl, deployedOutput } from '../cli/deployed';
import { formatOutput, renderTable } from '../cli/output';

/** Environment variable naming the reproducibility history table for `repro-history` without a deployed stack. */
export const REPRO_HISTORY_TABLE_ENV = 'AMI_PIPELINE_REPRO_HISTORY_TABLE';

/** The input `repro` starts the workflow with: the schedule's `{}`, or the image and type named. */
export function reproInput(options: {
  readonly ami?: string;
  readonly instanceType?: string;
}): Record<string, unknown> {
  if (options.ami !== undefined && !/^ami-[0-9a-f]+$/.test(options.ami))
    throw new ConfigError(`--ami takes one image id like ami-0123456789abcdef0 (got ${options.ami})`);
  if (options.instanceType && !options.ami) throw new ConfigError('--instance-type applies with --ami only');
  return {
    ...(options.ami ? { imageIds: [options.ami] } : {}),
    ...(options.instanceType ? { instanceType: options.instanceType } : {}),
  };
}

/** History rows as a table, newest week first. */
export function renderReproHistory(rows: readonly ReproHistoryRow[]): string {
  const ordered = [...rows].sort((a, b) => b.week.localeCompare(a.week) || a.lineKey.localeCompare(b.lineKey));
  return renderTable(ordered, [
    { header: 'WEEK', value: (r) => r.week },
    { header: 'LINE', value: (r) => r.lineKey },
    { header: 'REVISION', value: (r) => r.revision },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'DIFFERING', value: (r) => r.differingFiles, align: 'right' },
    { header: 'TOP PATHS', value: (r) => r.topPaths.slice(0, 3).join(' ') },
    { header: 'IMAGE', value: (r) => r.imageId },
    { header: 'REPORT', value: (r) => r.reportPrefix },
  ]);
}

/** `ami-pipeline repro` and `ami-pipeline repro-history`: start a reproducibility check, and list past results. */
export function registerRepro(program: Command, context: () => CliContext): void {
  program
    .command('repro')
    .description(
      'start the deployed reproducibility workflow: the week’s checks, or one builder image with --ami (it runs for hours; read the result with repro-history)',
    )
    .option('--ami <id>', 'a builder image of the build region to check now (within the weekly caps)')
    .option('--instance-type <type>', 'with --ami: the instance type that builds (of the image’s architecture)')
    .option('--stack-name <name>', 'the deployed stack', STACK_NAME)
    .action(async (options: { ami?: string; instanceType?: string; stackName: string }) => {
      const ctx = context();
      const input = reproInput(options);
      const region = ctx.config.buildRegion;
      const stateMachineArn = await deployedOutput(
        ctx.clients,
        options.stackName,
        region,
        STACK_OUTPUTS.reproStateMachine,
      );
      const stamp = ctx.now().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const started = await ctx.clients
        .client(SFNClient, region)
        .send(new StartExecutionCommand({ stateMachineArn, name: `cli-repro-${stamp}`, input: JSON.stringify(input) }));
      const result = { executionArn: started.executionArn!, input, consoleUrl: consoleUrl(started.executionArn!) };
      ctx.print(
        formatOutput(ctx.output, result, (r) =>
          [`Started repro: ${r.executionArn}`, `Input: ${JSON.stringify(r.input)}`, `Console: ${r.consoleUrl}`].join(
            '\n',
          ),
        ),
      );
    });

  program
    .command('repro-history')
    .description('list reproducibility results per line and week')
    .option('--line <prefix>', 'only lines starting with this, e.g. 15-CURRENT/arm64')
    .option('--week <week>', 'only this ISO week, e.g. 2026-W48')
    .option(
      '--table <name>',
      `reproducibility history table (default: the deployed stack’s, or $${REPRO_HISTORY_TABLE_ENV})`,
    )
    .option('--stack-name <name>', 'the deployed stack', STACK_NAME)
    .action(async (options: { line?: string; week?: string; table?: string; stackName: string }) => {
      const ctx = context();
      const region = ctx.config.buildRegion;
      const table =
        options.table ??
        process.env[REPRO_HISTORY_TABLE_ENV] ??
        (await deployedOutput(ctx.clients, options.stackName, region, STACK_OUTPUTS.reproHistoryTable));
      const rows = (await new DynamoReproHistory(ctx.clients.client(DynamoDBClient, region), table).list()).filter(
        (r) => (!options.line || r.lineKey.startsWith(options.line)) && (!options.week || r.week === options.week),
      );
      ctx.print(formatOutput(ctx.output, rows, renderReproHistory));
    });
}
