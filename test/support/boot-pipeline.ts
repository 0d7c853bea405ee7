import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { ExecutionReport } from '../../bin/local/engine';
import type { LocalPipelineOptions } from '../../bin/local/pipeline';
import type { PortProbe } from '../../lambdas/aws/boot/tcp-probe';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { BootRunTable, completedResult, type RunRecord } from '../../lambdas/aws/boot/runs';
import type { ClientPlugin } from '../../lambdas/aws/clients';
import { realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import type { BootHistoryRow, BootRunResult } from '../../lambdas/core/boot/result';
import type { PipelineConfigInput } from '../../lambdas/core/config';
import { SimulatedHosts } from './simulated-hosts';
import { type EmulatorPipeline, emulatorPipeline } from './local-pipeline';

export const BOOT_REGION = 'us-east-1';

/** One EC2 call a function made, as the SDK sent it. */
export interface Ec2Call {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** An AWS error as the SDK raises it. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: {} });
}

/**
 * The boot test workflow on the local engine over this test file's emulator. Instances there have no reachable
 * address, so the probe function's `probe` service is simulated hosts on loopback (or what a test puts in
 * `probe`); every EC2 call of the functions is recorded and may be failed by `failEc2`.
 */
export class BootWorkflowHarness {
  readonly calls: Ec2Call[] = [];
  /** Fails the functions' EC2 calls: the command name (e.g. `RunInstancesCommand`) and how often it was sent. */
  failEc2: (command: string, count: number) => Error | undefined = () => undefined;
  /** When a simulated host opens port 22 after its first probe, in milliseconds; undefined keeps it closed. */
  openAfter: (host: string) => number | undefined = () => 60;
  readonly hosts = new SimulatedHosts((host) => this.openAfter(host));
  /** The probe the probe function uses; the simulated hosts unless a test wraps them. */
  probe: PortProbe = this.hosts;
  /** Log lines of the Record function (metrics in embedded metric format among them). */
  readonly recordLines: string[] = [];

  private deployed?: EmulatorPipeline;

  get world(): EmulatorPipeline {
    if (!this.deployed) throw new Error('the harness is not deployed yet');
    return this.deployed;
  }

  static async create(
    config: PipelineConfigInput,
    options: Partial<Pick<LocalPipelineOptions, 'handlers'>> = {},
  ): Promise<BootWorkflowHarness> {
    const harness = new BootWorkflowHarness();
    const instrument: ClientPlugin = (stack, info) => {
      if (info.service !== 'ec2') return;
      stack.add(
        (next, context) => async (args) => {
          const command = String(context.commandName);
          const calls = harness.calls;
          calls.push({ command, input: args.input as Record<string, unknown> });
          const error = harness.failEc2(command, calls.filter((c) => c.command === command).length);
          if (error) throw error;
          return next(args);
        },
        { step: 'initialize', name: 'bootWorkflowInstrument' },
      );
    };
    const probe: PortProbe = {
      watch: (target, watchOptions) => harness.probe.watch(target, watchOptions),
      check: (target, timeoutMs) => harness.probe.check(target, timeoutMs),
    };
    harness.deployed = await emulatorPipeline(config, {
      maxAttempts: 1,
      plugins: [instrument],
      services: (fn) => ({ limiter: unlimited, ...(fn.entry === 'boot/probe.ts' ? { probe } : {}) }),
      logSink: (functionId, line) => {
        if (functionId.startsWith('BootTestRecord')) harness.recordLines.push(line);
      },
      handlers: options.handlers,
    });
    return harness;
  }

  get pipeline() {
    return this.world.pipeline;
  }

  get ec2(): EC2Client {
    return this.world.clients.client(EC2Client, BOOT_REGION);
  }

  /** The run table of the stack, read with the emulator's own clients. */
  get runs(): BootRunTable {
    return new BootRunTable(
      this.world.clients.client(DynamoDBClient, BOOT_REGION),
      this.pipeline.bootRunTable,
      realClock,
    );
  }

  /** Runs the workflow and reads back what the run recorded: per-launch results and its history rows. */
  async run(input: Record<string, unknown>, runId: string): Promise<BootRun> {
    const report = await this.pipeline.bootTest(input, runId).done;
    await this.pipeline.settled();
    const run = await this.runs.run(runId).catch(() => undefined);
    const results = run ? (await this.runs.launches(runId)).flatMap((r) => completedResult(r) ?? []) : [];
    const history = new DynamoBootHistory(
      this.world.clients.client(DynamoDBClient, BOOT_REGION),
      this.pipeline.bootHistoryTable,
    );
    const rows = (await history.list()).filter((row) => row.runId === runId);
    return { report, run, results, rows };
  }

  /** Instances not terminated and volumes that still exist: what a run must never leave behind. */
  async leftovers(): Promise<{ instances: string[]; volumes: string[] }> {
    const instances = await this.ec2.send(new DescribeInstancesCommand({}));
    const live = (instances.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== 'terminated')
      .map((i) => `${i.InstanceId} ${i.State?.Name}`);
    const volumes = (await this.ec2.send(new DescribeVolumesCommand({}))).Volumes ?? [];
    return { instances: live, volumes: volumes.map((v) => `${v.VolumeId} ${v.State}`) };
  }

  /** Puts the knobs back after a test. */
  reset(): void {
    this.failEc2 = () => undefined;
    this.openAfter = () => 60;
    this.probe = this.hosts;
    this.calls.length = 0;
    this.recordLines.length = 0;
  }

  close(): Promise<unknown> {
    return this.hosts.close();
  }
}

/** What one run of the workflow left: the execution's report, the run record, results and history rows. */
export interface BootRun {
  readonly report: ExecutionReport;
  readonly run?: RunRecord;
  readonly results: BootRunResult[];
  readonly rows: BootHistoryRow[];
}
