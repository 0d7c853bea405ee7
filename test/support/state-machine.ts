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
import type { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { fileEmulator } from './emulator';
import type { MotoServer } from './moto-server';

// Helpers for running a synthesized state machine on the emulator's own Step Functions engine. The engine's
// Lambda tasks return results queued in advance, so what runs is the definition, not the handlers.

/** The region the state machine and its functions live in. */
export const REGION = 'us-east-1';
/** The account of the synthesized stacks and of the emulator's ARNs. */
export const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** A synthesized stack's template, as far as these helpers read it. */
export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

/** The test file's emulator and a Step Functions client pointed at it. */
export interface StateMachineEmulator {
  readonly moto: MotoServer;
  readonly sfn: SFNClient;
}

/** How one execution ended, with its full history. */
export interface ExecutionRun {
  readonly status: ExecutionStatus;
  readonly events: HistoryEvent[];
  readonly error?: string;
  readonly output?: string;
}

/** What to create and start for one execution. */
export interface ExecutionRequest {
  /** What the functions return, one per invocation in order. */
  readonly results: readonly unknown[];
  /** Name of the state machine to create. */
  readonly name: string;
  readonly definition: string;
  /** Name of the role Step Functions assumes. */
  readonly roleName: string;
  readonly input: unknown;
  /** Name of the execution; the engine picks one when it is left out. */
  readonly executionName?: string;
}

/** The test file's emulator (its Step Functions engine switched on by `enableExecutions`) and a client for it. */
export function stateMachineEmulator(): StateMachineEmulator {
  const moto = fileEmulator();
  return { moto, sfn: new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials }) };
}

/** Clears the emulator and makes its Step Functions engine execute definitions, with Lambda running without Docker. */
export async function enableExecutions(moto: MotoServer): Promise<void> {
  await moto.reset();
  await moto.configure({ stepfunctions: { execute_state_machine: true }, lambda: { use_docker: false } });
}

/** Creates an IAM role that the given service principal may assume. */
export async function createServiceRole(moto: MotoServer, roleName: string, service: string): Promise<void> {
  const iam = new IAMClient({ region: REGION, endpoint: moto.endpoint, credentials });
  await iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
}

/** The ARN the emulator gives a function registered under `name`. */
export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

/** The ARN of an IAM role of the emulator's account. */
export function roleArn(roleName: string): string {
  return `arn:aws:iam::${ACCOUNT}:role/${roleName}`;
}

/** Registers a code-less function named after its logical id for every `AWS::Lambda::Function` of the template. */
export async function registerStubFunctions(moto: MotoServer, template: TemplateJson, roleName: string): Promise<void> {
  const emptyZip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]).toString('base64');
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const response = await fetch(`${moto.endpoint}/2015-03-31/functions`, {
      method: 'POST',
      headers: {
        // The emulator routes by the credential scope; it does not check the signature.
        Authorization: `AWS4-HMAC-SHA256 Credential=testing/20261127/${REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        FunctionName: id,
        Runtime: 'nodejs22.x',
        Role: roleArn(roleName),
        Handler: 'index.handler',
        Code: { ZipFile: emptyZip },
      }),
    });
    if (!response.ok) throw new Error(`CreateFunction ${id}: ${response.status} ${await response.text()}`);
  }
}

/** Resets the emulator for a workflow: roles `<prefix>-functions` and `<prefix>-states`, a stub per function. */
export async function prepareWorkflow(moto: MotoServer, template: TemplateJson, rolePrefix: string): Promise<void> {
  await enableExecutions(moto);
  await createServiceRole(moto, `${rolePrefix}-functions`, 'lambda.amazonaws.com');
  await createServiceRole(moto, `${rolePrefix}-states`, 'states.amazonaws.com');
  await registerStubFunctions(moto, template, `${rolePrefix}-functions`);
}

/** The definition of the template's state machine (the first whose logical id starts with `idPrefix`), resolved. */
export function templateDefinition(template: TemplateJson, idPrefix = ''): string {
  const machine = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(idPrefix),
  )![1];
  const parts = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return parts.map(resolveIntrinsic).join('');
}

/** One part of a definition's `Fn::Join`: the partition becomes `aws`, a function's `Fn::GetAtt` its stub's ARN. */
function resolveIntrinsic(part: unknown): string {
  if (typeof part === 'string') return part;
  const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (ref.Ref === 'AWS::Partition') return 'aws';
  if (ref['Fn::GetAtt']) return functionArn(ref['Fn::GetAtt'][0]);
  throw new Error(`unexpected part ${JSON.stringify(part)}`);
}

/** Queues the results the emulator's functions return, one per invocation in order. */
async function queueLambdaResults(moto: MotoServer, results: readonly unknown[]): Promise<void> {
  await fetch(`${moto.endpoint}/moto-api/static/lambda-simple/response`, {
    method: 'POST',
    body: JSON.stringify({ results: results.map((r) => JSON.stringify(r)), region: REGION }),
  });
}

/** Queues the results, creates the state machine and runs one execution to its end (up to 20 s). */
export async function runExecution(
  { moto, sfn }: StateMachineEmulator,
  request: ExecutionRequest,
): Promise<ExecutionRun> {
  await queueLambdaResults(moto, request.results);
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name: request.name,
      definition: request.definition,
      roleArn: roleArn(request.roleName),
    }),
  );
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machine.stateMachineArn,
      name: request.executionName,
      input: JSON.stringify(request.input),
    }),
  );
  let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  for (let i = 0; i < 200 && described.status === 'RUNNING'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  }
  const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return { status: described.status!, events: history.events ?? [], error: described.error, output: described.output };
}

/** Registers hooks giving the test file its emulator, reset and readied for the workflow before each test. */
export function useWorkflowEmulator(template: TemplateJson, rolePrefix: string): StateMachineEmulator {
  let started: StateMachineEmulator | undefined;
  beforeAll(() => {
    started = stateMachineEmulator();
  });
  // moto 5.2.1 cannot start a second execution once one has run (deep-copying the finished one fails on a lock), so
  // every test starts from a reset emulator with the roles and functions created again.
  beforeEach(() => prepareWorkflow(started!.moto, template, rolePrefix));
  afterAll(async () => {
    await started?.moto.stop();
  });
  return {
    get moto() {
      return started!.moto;
    },
    get sfn() {
      return started!.sfn;
    },
  };
}

/** The logical id of a construct's CloudFormation resource, e.g. of a function. */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The payloads the execution's tasks sent to the function with this logical id, in order. */
export function payloadsTo(events: readonly HistoryEvent[], functionLogicalId: string): unknown[] {
  const arn = functionArn(functionLogicalId);
  return events
    .filter((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.parameters?.includes(arn))
    .map((e) => JSON.parse(e.taskScheduledEventDetails!.parameters!).Payload);
}
