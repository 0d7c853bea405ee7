import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import { parseConfig } from '../../lambdas/core/config';
import { EMPTY_TOTALS } from '../../lambdas/prune/schemas';
import { Notifications } from '../../lib/notifications';
import { PipelineFunction } from '../../lib/pipeline-function';
import { PruneWorkflow } from '../../lib/prune-workflow';
import { type MotoServer, startMoto } from '../../scripts/emulator';

// The synthesized definition runs on the emulator's Step Functions engine. Its Lambda tasks return results queued in
// advance (the handlers have tests of their own), so this checks the definition: paths, the batch loop, the dry-run
// branch and the end-of-run failure.
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

function synthesize() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'PruneOnly', { env: { account: ACCOUNT, region: REGION } });
  const config = parseConfig({ safety: { regionConcurrency: 1 } });
  const notifications = new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] });
  const regionsFunction = new PipelineFunction(stack, 'RegionsFunction', {
    entry: 'regions/handler.ts',
    description: 'lists regions',
    config,
  });
  const workflow = new PruneWorkflow(stack, 'Prune', { config, notifications, regionsFunction });
  const templateJson = app.synth().getStackByName('PruneOnly').template as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const logicalId = (fn: object) => stack.getLogicalId((fn as { node: { defaultChild: never } }).node.defaultChild);
  return { templateJson, workflow, regionsFunction, logicalId };
}

const synth = synthesize();
let moto: MotoServer;
let sfn: SFNClient;
const functionArns = new Map<string, string>();

async function lambdaApi(body: unknown): Promise<void> {
  const response = await fetch(`${moto.endpoint}/2015-03-31/functions`, {
    method: 'POST',
    headers: {
      // The emulator routes by the credential scope; it does not check the signature.
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20261127/${REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`CreateFunction: ${response.status} ${await response.text()}`);
}

function resolvedDefinition(): string {
  const machine = Object.entries(synth.templateJson.Resources).find(
    ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith('Prune'),
  )![1];
  const parts = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (ref.Ref === 'AWS::Partition') return 'aws';
      if (ref['Fn::GetAtt']) return functionArns.get(ref['Fn::GetAtt'][0])!;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join('');
}

async function execute(name: string, results: readonly unknown[], input: unknown = {}) {
  await fetch(`${moto.endpoint}/moto-api/static/lambda-simple/response`, {
    method: 'POST',
    body: JSON.stringify({ results: results.map((r) => JSON.stringify(r)), region: REGION }),
  });
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name,
      definition: resolvedDefinition(),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/prune-states`,
    }),
  );
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, input: JSON.stringify(input) }),
  );
  let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  for (let i = 0; i < 200 && described.status === 'RUNNING'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  }
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return { status: described.status as ExecutionStatus, events: history.events ?? [], error: described.error };
}

function payloadsTo(events: readonly HistoryEvent[], fn: object): unknown[] {
  const arn = functionArns.get(synth.logicalId(fn))!;
  return events
    .filter((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.parameters?.includes(arn))
    .map((e) => JSON.parse(e.taskScheduledEventDetails!.parameters!).Payload);
}

const item = (batch: number, complete: boolean) => ({
  region: 'eu-west-1',
  capBoundary: '2026-01-01|eu-west-1|ami-1',
  overrideBreaker: true,
  batch,
  complete,
  totals: { ...EMPTY_TOTALS, imagesDeregistered: batch * 10 },
});
const planned = (execute: boolean) => ({ execute, items: [item(0, false)], failedRegions: [], report: { totals: {} } });
const summed = (failedCount: number) => ({ execute: true, imagesDeregistered: 20, failedRegions: [], failedCount });

beforeAll(async () => {
  moto = await startMoto();
  sfn = new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials });
});

// moto 5.2.1 cannot start a second execution once one has run, so every test starts from a reset emulator.
beforeEach(async () => {
  await moto.reset();
  await moto.configure({ stepfunctions: { execute_state_machine: true }, lambda: { use_docker: false } });
  const iam = new IAMClient({ region: REGION, endpoint: moto.endpoint, credentials });
  for (const [role, service] of [
    ['prune-functions', 'lambda.amazonaws.com'],
    ['prune-states', 'states.amazonaws.com'],
  ]) {
    await iam.send(
      new CreateRoleCommand({
        RoleName: role,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
        }),
      }),
    );
  }
  const emptyZip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]).toString('base64');
  for (const [id, resource] of Object.entries(synth.templateJson.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    await lambdaApi({
      FunctionName: id,
      Runtime: 'nodejs22.x',
      Role: `arn:aws:iam::${ACCOUNT}:role/prune-functions`,
      Handler: 'index.handler',
      Code: { ZipFile: emptyZip },
    });
    functionArns.set(id, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`);
  }
});

afterAll(async () => {
  await moto?.stop();
});

describe('the synthesized prune state machine on the emulator’s engine', () => {
  test('passes the start input to Plan and loops a region’s batches on their own cursor until it is complete', async () => {
    const run = await execute(
      'batches',
      [{ regions: ['eu-west-1'] }, planned(true), item(1, false), item(2, true), summed(0)],
      { execute: true, overrideBreaker: true },
    );

    expect(run.status).toBe('SUCCEEDED');
    expect(payloadsTo(run.events, synth.regionsFunction)).toEqual([{ regions: [] }]);
    expect(payloadsTo(run.events, synth.workflow.planFunction)).toEqual([
      { regions: ['eu-west-1'], options: { regions: [], execute: true, overrideBreaker: true } },
    ]);
    expect(payloadsTo(run.events, synth.workflow.executeFunction)).toEqual([item(0, false), item(1, false)]);
    expect(payloadsTo(run.events, synth.workflow.summaryFunction)).toEqual([
      { execute: true, results: [item(2, true)], failedRegions: [] },
    ]);
  });

  test('a scheduled start ({}) that plans a dry run deletes nothing and only sums up', async () => {
    const run = await execute('dry-run', [{ regions: ['eu-west-1'] }, planned(false), summed(0)]);

    expect(run.status).toBe('SUCCEEDED');
    expect(payloadsTo(run.events, synth.workflow.planFunction)).toEqual([
      { regions: ['eu-west-1'], options: { regions: [] } },
    ]);
    expect(payloadsTo(run.events, synth.workflow.executeFunction)).toEqual([]);
    expect(payloadsTo(run.events, synth.workflow.summaryFunction)).toHaveLength(1);
  });

  test('fails the execution at the end when the summary counts failures, so the alarm fires', async () => {
    const run = await execute('failures', [{ regions: ['eu-west-1'] }, planned(true), item(1, true), summed(2)]);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PruneIncomplete');
  });
});
