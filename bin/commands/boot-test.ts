import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { BootRunTable, completedResult } from '../../lambdas/aws/boot/runs';
import { BOOT_ENV } from '../../lambdas/boot/schemas';
import type { BootHistoryRow, BootRunResult } from '../../lambdas/core/boot/result';
import { ConfigError, PipelineError } from '../../lambdas/core/errors';
import { describeFailure } from '../../bin/local/engine';
import type { LocalPipeline } from '../../bin/local/pipeline';
import type { CliContext } from '../cli/context';
import { formatOutput, renderTable } from '../cli/output';
import { openPipeline } from '../cli/pipeline';

/** Environment variable naming the boot history table for `boot-history` and `boot-test --record`. */
export const HISTORY_TABLE_ENV = 'AMI_PIPELINE_BOOT_HISTORY_TABLE';
/** Environment variable naming the run table `boot-test` keeps a run's plans and results in, without a stack. */
export const RUN_TABLE_ENV = 'AMI_PIPELINE_BOOT_RUN_TABLE';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];
const seconds = (value: number | undefined) => (value === undefined ? 'never' : value.toFixed(3));

interface BootTestOptions {
  readonly ami: string[];
  readonly types?: string[];
  readonly runs?: string;
  readonly subnet?: string[];
  readonly securityGroup?: string[];
  readonly runId?: string;
  readonly record?: boolean;
  readonly table?: string;
  readonly runTable?: string;
}

/** `ami-pipeline boot-test` and `ami-pipeline boot-history`: the boot test run in-process, and its history. */
export function registerBootTest(program: Command, context: () => CliContext): void {
  program
    .command('boot-test')
    .description(
      'launch images on Graviton and x86 types, measure the boot like ec2-boot-bench, check the console, always terminate (run it from a machine that can reach the instances on TCP 22)',
    )
    .requiredOption('--ami <ids>', 'image id(s) in the build region, comma separated or repeated', list)
    .option('--types <types>', 'instance types (default: bootTest.instanceTypes of each image architecture)', list)
    .option('--runs <n>', 'boots per (image, type); with more than one the first is left out of the median')
    .option('--subnet <ids>', 'subnet(s) to launch into, one per AZ, tried in order', list)
    .option('--security-group <ids>', 'security group(s) admitting TCP 22 from this machine', list)
    .option('--run-id <id>', 'tags and client tokens of this run (default: cli-<timestamp>)')
    .option('--record', 'store the results in the boot history table and compare with earlier weeks')
    .option('--table <name>', `boot history table (default: $${HISTORY_TABLE_ENV})`)
    .option(
      '--run-table <name>',
      `table for the run's plans and results (default: the deployed stack's, or $${RUN_TABLE_ENV})`,
    )
    .action(async (options: BootTestOptions) => {
      const ctx = context();
      if (!options.subnet?.length || !options.securityGroup?.length)
        throw new ConfigError(
          'boot-test needs --subnet and --security-group: the stack’s test subnets are reachable only from inside its VPC',
        );
      const runs = options.runs === undefined ? undefined : Number(options.runs);
      if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1 && runs <= 10))
        throw new ConfigError(`--runs must be a whole number from 1 to 10 (got ${options.runs})`);
      const table = options.record ? historyTableName(options.table) : '';
      const runId =
        options.runId ??
        `cli-${ctx
          .now()
          .toISOString()
          .replace(/[^0-9]/g, '')
          .slice(0, 14)}`;
      const namedRunTable = options.runTable ?? process.env[RUN_TABLE_ENV];
      // The stack's boot test workflow on this machine: its probe function opens TCP connections from here.
      const pipeline = await openPipeline(ctx, {
        environment: {
          [BOOT_ENV.subnets]: options.subnet.join(','),
          [BOOT_ENV.securityGroups]: options.securityGroup.join(','),
          [BOOT_ENV.network]: 'operator',
          [BOOT_ENV.historyTable]: table,
          ...(namedRunTable ? { [BOOT_ENV.runTable]: namedRunTable } : {}),
        },
      });
      const runTable = new BootRunTable(
        ctx.clients.client(DynamoDBClient, ctx.config.buildRegion),
        namedRunTable ?? runTableOf(pipeline),
        pipeline.engine.clock,
      );
      const report = await pipeline.bootTest(
        {
          imageIds: options.ami,
          ...(options.types?.length ? { instanceTypes: options.types } : {}),
          ...(runs === undefined ? {} : { runs }),
        },
        runId,
      ).done;
      // The execution carries counts only; the results are in the run table (absent when Plan itself failed).
      const run = await runTable.run(runId).catch(() => undefined);
      const results = run ? (await runTable.launches(runId)).flatMap((record) => completedResult(record) ?? []) : [];
      const regressions = run?.regressions ?? [];
      const skippedImages = run?.skippedImages ?? [];
      ctx.print(
        formatOutput(ctx.output, { execution: report, results, regressions, skippedImages }, () =>
          [
            renderResults(results, regressions),
            ...skippedImages.map((s) => `skipped ${s.imageId}: ${s.reason}`),
            ...(report.status === 'SUCCEEDED'
              ? []
              : ['', `boot test ${report.status.toLowerCase()}: ${report.error} ${report.cause ?? ''}`]),
          ].join('\n'),
        ),
      );
      if (report.status !== 'SUCCEEDED') throw new PipelineError(describeFailure(report));
      if (results.some((r) => r.status === 'failed' || r.status === 'timeout')) process.exitCode = 1;
    });

  program
    .command('boot-history')
    .description('list recorded boot times per series and instance type')
    .option('--series <prefix>', 'only series starting with this, e.g. 15.0-CURRENT/arm64')
    .option('--type <instanceType>', 'only this instance type')
    .option('--table <name>', `boot history table (default: $${HISTORY_TABLE_ENV})`)
    .action(async (options: { series?: string; type?: string; table?: string }) => {
      const ctx = context();
      const rows = (await historyTable(ctx, options.table).list()).filter(
        (r) =>
          (!options.series || r.seriesKey.startsWith(options.series)) &&
          (!options.type || r.instanceType === options.type),
      );
      ctx.print(formatOutput(ctx.output, rows, renderHistory));
    });
}

/** The deployed (or locally made) stack's run table; without one, the operator has to name a table. */
function runTableOf(pipeline: LocalPipeline): string {
  try {
    const name = pipeline.bootRunTable;
    if (name && !name.includes('{')) return name;
  } catch {
    // Not deployed here: the output cannot be resolved.
  }
  throw new ConfigError(
    `boot-test keeps a run's plans and results in the stack's run table: deploy the stack, or name a table with --run-table or ${RUN_TABLE_ENV}`,
  );
}

function historyTableName(table: string | undefined): string {
  const name = table ?? process.env[HISTORY_TABLE_ENV];
  if (!name) throw new ConfigError(`name the boot history table with --table or ${HISTORY_TABLE_ENV}`);
  return name;
}

function historyTable(ctx: CliContext, table: string | undefined): DynamoBootHistory {
  return new DynamoBootHistory(ctx.clients.client(DynamoDBClient, ctx.config.buildRegion), historyTableName(table));
}

/** One line per launch with ec2-boot-bench's four intervals, then any regressions. */
export function renderResults(results: readonly BootRunResult[], regressions: readonly string[]): string {
  const table = renderTable(results, [
    { header: 'IMAGE', value: (r) => r.imageId },
    { header: 'TYPE', value: (r) => r.instanceType },
    { header: 'RUN', value: (r) => r.round + 1, align: 'right' },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'RUNINSTANCES', value: (r) => seconds(r.intervals?.runInstancesSeconds), align: 'right' },
    { header: 'PENDING>RUNNING', value: (r) => seconds(r.intervals?.pendingToRunningSeconds), align: 'right' },
    { header: 'RUNNING>CLOSED', value: (r) => seconds(r.intervals?.runningToClosedSeconds), align: 'right' },
    { header: 'CLOSED>OPEN', value: (r) => seconds(r.intervals?.closedToOpenSeconds), align: 'right' },
    { header: 'BOOT', value: (r) => seconds(r.intervals?.bootSeconds), align: 'right' },
    { header: 'REASON', value: (r) => r.reason },
  ]);
  return regressions.length ? `${table}\n\nRegressions:\n${regressions.map((m) => `  ${m}`).join('\n')}` : table;
}

/** History rows as a table, oldest build first within each series and type. */
export function renderHistory(rows: readonly BootHistoryRow[]): string {
  return renderTable(rows, [
    { header: 'SERIES', value: (r) => r.seriesKey },
    { header: 'TYPE', value: (r) => r.instanceType },
    { header: 'BUILD', value: (r) => r.buildDate },
    { header: 'REVISION', value: (r) => r.revision },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'BOOT S', value: (r) => seconds(r.median.bootSeconds), align: 'right' },
    { header: 'RUNS', value: (r) => r.runs, align: 'right' },
    { header: 'NETWORK', value: (r) => r.network },
    { header: 'IMAGE', value: (r) => r.imageId },
  ]);
}
