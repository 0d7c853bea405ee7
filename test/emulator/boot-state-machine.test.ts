import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import { defaultConfig } from '../../lambdas/core/config';
import { BootTestWorkflow } from '../../lib/boot-test-workflow';
import { Notifications } from '../../lib/notifications';
import type { PipelineFunction } from '../../lib/pipeline-function';
import { type MotoServer, startMoto } from '../../scripts/emulator';

// The synthesized definition runs on the emulator's Step Functions engine. Its Lambda tasks return results queued in
// advance (the handlers have tests of their own), so this checks the definition itself: paths, the hot-plug batch
// loop and the per-round cleanup. The engine's queued results always succeed, so the Catch paths (cleanup, then fail)
// are asserted on the definition by the CDK tests instead.
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'BootMachine', { env: { account: ACCOUNT, region: REGION } });
const workflow = new BootTestWorkflow(stack, 'BootTest', {
  config: defaultConfig(),
  notifications: new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] }),
});
const template = app.synth().getStackByName('BootMachine').template as {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
};
const logicalId = (fn: PipelineFunction) => stack.getLogicalId(fn.node.defaultChild as never);

let moto: MotoServer;
let sfn: SFNClient;

function definition(): string {
  const machine = Object.values(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
  const parts = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (ref.Ref === 'AWS::Partition') return 'aws';
      if (ref['Fn::GetAtt']) return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${ref['Fn::GetAtt'][0]}`;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join('');
}

async function execute(name: string, results: readonly unknown[]) {
  await fetch(`${moto.endpoint}/moto-api/static/lambda-simple/response`, {
    method: 'POST',
    body: JSON.stringify({ results: results.map((r) => JSON.stringify(r)), region: REGION }),
  });
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name,
      definition: definition(),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/boot-states`,
    }),
  );
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machine.stateMachineArn,
      name: 'weekly-20261128',
      input: JSON.stringify({ imageIds: ['ami-0123456789abcdef0'] }),
    }),
  );
  let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  for (let i = 0; i < 200 && described.status === 'RUNNING'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  }
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return { status: described.status, events: history.events ?? [] };
}

/** The payloads each function was invoked with, in order. */
function invoked(events: readonly HistoryEvent[], fn: PipelineFunction): unknown[] {
  const arn = `function:${logicalId(fn)}`;
  return events
    .filter((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.parameters?.includes(arn))
    .map((e) => JSON.parse(e.taskScheduledEventDetails!.parameters!).Payload);
}

const entered = (events: readonly HistoryEvent[]) =>
  events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));

const spec = (hotplugCycles: number) => ({
  key: 'ami-0123456789abcdef0/c6g.large/0',
  imageId: 'ami-0123456789abcdef0',
  instanceType: 'c6g.large',
  clientToken: 'boot-x',
  checks: { stop: true, hotplugCycles },
});
const launched = (hotplugCycles: number) => ({
  launched: [
    {
      spec: spec(hotplugCycles),
      launch: { status: 'launched', instanceId: 'i-0abc', privateIp: '10.20.1.5', runInstancesReturnedAt: 1 },
      host: '10.20.1.5',
    },
  ],
  notLaunched: [],
  instanceIds: ['i-0abc'],
});
// The engine runs Parallel branches in threads, so which of WaitRunning and WatchPort takes which queued result is
// not fixed; both get this one object, which carries the fields either consumer reads.
const watched = { runningAt: { 'i-0abc': 2 }, gaveUp: {}, outcome: 'open', startedAt: 1, openAt: 9, attempts: 3 };
const plan = (hotplugCycles: number) => ({
  runId: 'weekly-20261128',
  rounds: [{ launches: [spec(hotplugCycles)] }],
  skippedImages: [],
  probe: { timeoutSeconds: 600, intervalMs: 50 },
});
const passed = {
  key: 'ami-0123456789abcdef0/c6g.large/0',
  status: 'passed',
  seriesKey: 's',
  instanceType: 'c6g.large',
};

beforeAll(async () => {
  moto = await startMoto();
  sfn = new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials });
}, 60_000);
afterAll(() => moto?.stop());

// The engine cannot start a second execution once one has run, so each test starts from a reset emulator.
beforeEach(async () => {
  await moto.reset();
  await moto.configure({ stepfunctions: { execute_state_machine: true }, lambda: { use_docker: false } });
  const iam = new IAMClient({ region: REGION, endpoint: moto.endpoint, credentials });
  for (const [role, service] of [
    ['boot-functions', 'lambda.amazonaws.com'],
    ['boot-states', 'states.amazonaws.com'],
  ])
    await iam.send(
      new CreateRoleCommand({
        RoleName: role,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
  const emptyZip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]).toString('base64');
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const response = await fetch(`${moto.endpoint}/2015-03-31/functions`, {
      method: 'POST',
      headers: {
        Authorization: `AWS4-HMAC-SHA256 Credential=testing/20261127/${REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        FunctionName: id,
        Runtime: 'nodejs22.x',
        Role: `arn:aws:iam::${ACCOUNT}:role/boot-functions`,
        Handler: 'index.handler',
        Code: { ZipFile: emptyZip },
      }),
    });
    if (!response.ok) throw new Error(`CreateFunction ${id}: ${response.status}`);
  }
});

describe('the synthesized boot test state machine on the emulator’s engine', () => {
  test('runs a round: launch, poll and probe side by side, inspect, clean up, record, clean up again', async () => {
    const run = await execute('plain', [
      plan(0),
      launched(0),
      watched,
      watched,
      passed,
      { terminated: 1, volumesDeleted: 1 },
      { rows: [], regressions: [] },
      { terminated: 0, volumesDeleted: 0 },
    ]);

    expect(run.status).toBe('SUCCEEDED');
    expect(invoked(run.events, workflow.apiFunctions.plan)).toEqual([
      { runId: 'weekly-20261128', request: { imageIds: ['ami-0123456789abcdef0'] } },
    ]);
    expect(invoked(run.events, workflow.apiFunctions.waitRunning)).toEqual([{ instanceIds: ['i-0abc'] }]);
    expect(invoked(run.events, workflow.probeFunction)).toEqual([
      { host: '10.20.1.5', mode: 'watch', timeoutSeconds: 600, intervalMs: 50 },
    ]);
    expect(invoked(run.events, workflow.apiFunctions.inspect)).toEqual([
      expect.objectContaining({
        runId: 'weekly-20261128',
        spec: spec(0),
        probe: expect.anything(),
        running: expect.anything(),
      }),
    ]);
    expect(invoked(run.events, workflow.apiFunctions.record)).toEqual([
      { runId: 'weekly-20261128', rounds: [{ results: [passed], notLaunched: [] }] },
    ]);
    expect(invoked(run.events, workflow.apiFunctions.cleanup)).toEqual([
      { runId: 'weekly-20261128' },
      { runId: 'weekly-20261128' },
    ]);
    expect(entered(run.events)).not.toContain('Hotplug');
  });

  test('runs hot-plug cycles in batches, carrying the kept volume, then re-checks port 22 inside the VPC', async () => {
    const run = await execute('hotplug', [
      plan(100),
      launched(100),
      watched,
      watched,
      { name: 'hotplug', passed: true, finished: false, cycles: 60, volumeId: 'vol-0keep', reason: '60 of 100' },
      { name: 'hotplug', passed: true, finished: true, cycles: 100, volumeId: 'vol-0keep', reason: '100 cycles' },
      { open: true, reason: 'port 22 accepted' },
      passed,
      { terminated: 1, volumesDeleted: 1 },
      { rows: [], regressions: [] },
      { terminated: 0, volumesDeleted: 0 },
    ]);

    expect(run.status).toBe('SUCCEEDED');
    const batches = invoked(run.events, workflow.apiFunctions.hotplug) as { resume: unknown }[];
    expect(batches.map((b) => b.resume)).toEqual([{ completed: 0 }, { volumeId: 'vol-0keep', completed: 60 }]);
    expect(invoked(run.events, workflow.probeFunction)).toContainEqual({
      host: '10.20.1.5',
      mode: 'check',
      timeoutSeconds: 10,
    });
    expect(invoked(run.events, workflow.apiFunctions.inspect)).toEqual([
      expect.objectContaining({
        hotplug: expect.objectContaining({ cycles: 100, finished: true }),
        recheck: { open: true, reason: 'port 22 accepted' },
      }),
    ]);
  });
});
