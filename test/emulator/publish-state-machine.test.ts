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
import { publishHistoryEvents } from '../../lambdas/core/publish';
import { regionOutcomeSchema } from '../../lambdas/publish/shared';
import { type MotoServer, startMoto } from '../../scripts/emulator';
import { synthesizePublishWorkflow } from '../cdk/publish-synth';

// The synthesized definition runs on the emulator's Step Functions engine. Its Lambda tasks return results queued
// in advance (not the handlers, which have tests of their own), so this checks the definition: paths, the poll loop
// with waits read from the input, the failure branch and the end-of-run failure.
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const SOURCE = 'ami-0123456789abcdef0';
const COPY = 'ami-0fedcba9876543210';
const synth = synthesizePublishWorkflow({ publish: { regionConcurrency: 1 } });

let moto: MotoServer;
let sfn: SFNClient;
const functionArns = new Map<string, string>();

async function lambdaApi(method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${moto.endpoint}/2015-03-31/functions${path}`, {
    method,
    headers: {
      // The emulator routes by the credential scope; it does not check the signature.
      Authorization: `AWS4-HMAC-SHA256 Credential=testing/20261127/${REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
      'Content-Type': 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`Lambda ${method} ${path}: ${response.status} ${await response.text()}`);
}

/** The definition with CloudFormation references replaced by the partition and the emulator's functions. */
function resolvedDefinition(overrides: Record<string, unknown> = {}): string {
  const machine = Object.values(synth.templateJson.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  )!;
  const parts = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (ref.Ref === 'AWS::Partition') return 'aws';
      if (ref['Fn::GetAtt']) return functionArns.get(ref['Fn::GetAtt'][0])!;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.stringify({ ...JSON.parse(text), ...overrides });
}

async function queueResults(results: readonly unknown[]): Promise<void> {
  await fetch(`${moto.endpoint}/moto-api/static/lambda-simple/response`, {
    method: 'POST',
    body: JSON.stringify({ results: results.map((r) => JSON.stringify(r)), region: REGION }),
  });
}

async function execute(
  name: string,
  results: readonly unknown[],
  overrides: Record<string, unknown> = {},
  definition = resolvedDefinition(overrides),
  input: unknown = { pollSeconds: 0 },
): Promise<{ status: ExecutionStatus; events: HistoryEvent[]; error?: string; output?: string }> {
  await queueResults(results);
  const machine = await sfn.send(
    new CreateStateMachineCommand({ name, definition, roleArn: `arn:aws:iam::${ACCOUNT}:role/publish-states` }),
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
  return { status: described.status!, events: history.events ?? [], error: described.error, output: described.output };
}

function scheduledInput(events: readonly HistoryEvent[], functionLogicalId: string): unknown[] {
  const arn = functionArns.get(functionLogicalId)!;
  return events
    .filter((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.parameters?.includes(arn))
    .map((e) => JSON.parse(e.taskScheduledEventDetails!.parameters!).Payload);
}

const progress = (pending: boolean, waitSeconds: number, state: string, error?: string) => ({
  region: 'eu-west-1',
  images: [SOURCE],
  pollSeconds: 0,
  waitSeconds,
  deadline: '2026-11-27T09:00:00.000Z',
  pending,
  copies: [
    { source: SOURCE, name: 'FreeBSD 15.0-CURRENT-amd64-20261120 base UFS', imageId: COPY, attempt: 1, state, error },
  ],
});
const regions = { buildRegion: REGION, regions: ['eu-west-1'], decisions: [] };
const discovered = {
  buildRegion: REGION,
  regions: ['eu-west-1'],
  images: [SOURCE],
  count: 1,
  pollSeconds: 0,
  skipped: [],
};
const logicalId = (fn: object) => synth.stack.getLogicalId((fn as { node: { defaultChild: never } }).node.defaultChild);

beforeAll(async () => {
  moto = await startMoto();
  sfn = new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials });
});

// moto 5.2.1 cannot start a second execution once one has run (deep-copying the finished one fails on a lock), so
// every test starts from a reset emulator with the roles and functions created again.
beforeEach(async () => {
  await moto.reset();
  await moto.configure({ stepfunctions: { execute_state_machine: true }, lambda: { use_docker: false } });
  const iam = new IAMClient({ region: REGION, endpoint: moto.endpoint, credentials });
  for (const [role, service] of [
    ['publish-functions', 'lambda.amazonaws.com'],
    ['publish-states', 'states.amazonaws.com'],
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
    await lambdaApi('POST', '', {
      FunctionName: id,
      Runtime: 'nodejs22.x',
      Role: `arn:aws:iam::${ACCOUNT}:role/publish-functions`,
      Handler: 'index.handler',
      Code: { ZipFile: emptyZip },
    });
    functionArns.set(id, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`);
  }
});

afterAll(async () => {
  await moto?.stop();
});

describe('the synthesized publish state machine on the emulator’s engine', () => {
  test('loops Wait and Poll per region with waits from the input until the copies are done, then succeeds', async () => {
    const run = await execute('poll-loop', [
      regions,
      discovered,
      progress(true, 0, 'copying'),
      progress(true, 1, 'copying'),
      progress(false, 1, 'available'),
      { region: 'eu-west-1', status: 'published', published: { [SOURCE]: COPY }, failed: [], changes: 5 },
      { messages: 1, markedPublished: 1, failedRegions: [], failedCount: 0, failures: [] },
    ]);

    expect(run.status).toBe('SUCCEEDED');
    const waits = run.events.filter((e) => e.type === 'WaitStateEntered');
    expect(waits).toHaveLength(2);
    expect(scheduledInput(run.events, logicalId(synth.workflow.prepareFunction))).toEqual([
      { region: 'eu-west-1', images: [SOURCE], pollSeconds: 0, startedAt: expect.any(String) },
    ]);
    expect(scheduledInput(run.events, logicalId(synth.workflow.pollFunction))).toHaveLength(2);
    expect(scheduledInput(run.events, logicalId(synth.workflow.announceFunction))).toEqual([
      {
        images: [SOURCE],
        outcomes: [{ region: 'eu-west-1', status: 'published', published: { [SOURCE]: COPY }, failed: [], changes: 5 }],
      },
    ]);
    // The history-size model of the unit tests, measured: one region, two polls.
    expect(run.events.length).toBe(publishHistoryEvents(1, 2));
  });

  test('reports copies that time out, announces, and fails the execution at the end', async () => {
    const run = await execute('copy-deadline', [
      regions,
      discovered,
      progress(true, 0, 'copying'),
      progress(false, 0, 'failed', `copy ${COPY} timed out`),
      {
        region: 'eu-west-1',
        status: 'failed',
        published: {},
        failed: [{ id: SOURCE, region: 'eu-west-1', error: `copy ${COPY} timed out` }],
        changes: 0,
      },
      { messages: 0, markedPublished: 0, failedRegions: ['eu-west-1'], failedCount: 1, failures: [] },
    ]);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PublishIncomplete');
  });

  // The engine cannot fail a Lambda task: moto's Lambda without Docker returns queued results and never sets
  // FunctionError, and its port of the engine's mock configuration is stubbed out. So the Catch wiring is asserted on
  // the template (test/cdk) and the failure branch's own state runs here on the error shape a Catch produces.
  test('the failure branch turns a caught error into an outcome the announcement accepts', async () => {
    const inner = JSON.parse(resolvedDefinition()).States.PublishRegions.ItemProcessor.States;
    const definition = JSON.stringify({ StartAt: 'RegionFailed', States: { RegionFailed: inner.RegionFailed } });
    const caught = {
      region: 'eu-west-1',
      images: [SOURCE],
      pollSeconds: 0,
      error: { Error: 'Lambda.Unknown', Cause: '{"errorMessage":"Task timed out after 300.00 seconds"}' },
    };

    const run = await execute('region-failed', [], {}, definition, caught);

    expect(run.status).toBe('SUCCEEDED');
    const outcome = JSON.parse(run.output!);
    expect(outcome).toEqual({ region: 'eu-west-1', status: 'failed', error: caught.error.Cause });
    expect(regionOutcomeSchema.safeParse(outcome).success).toBe(true);
  });

  test('an execution that outlives its timeout ends as TIMED_OUT (timeout shortened to 1 s)', async () => {
    const run = await execute('times-out', [regions, discovered, progress(true, 3, 'copying')], { TimeoutSeconds: 1 });

    expect(run.status).toBe('TIMED_OUT');
  });
});
