import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { localStepFunctionsPlugin } from '../../bin/local/sfn-api';
import type { LocalPipeline } from '../../bin/local/pipeline';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { type FleetImage, seedFleet } from '../support/fleet';
import type { ExecutionSummary } from '../../bin/cli/deployed';
import { runCliWith } from '../support/cli';
import { emulatorEndpoint } from '../support/emulator';
import { emulatorPipeline } from '../support/local-pipeline';

const STACK = 'AmiPipelineUnderTest';
const REGIONS = 'us-east-1,eu-west-1';

const releases: FleetImage[] = (['amd64', 'arm64'] as const).map((arch) => ({
  region: 'us-east-1',
  arch,
  name: `FreeBSD 14.3-RELEASE-${arch} base UFS`,
  description: `FreeBSD/${arch} releng/14.3@1a2b3c4d5e`,
  tags: {},
}));

/** A stack whose outputs name the local engine's state machines, as `cdk deploy` leaves them in an account. */
async function deployOutputs(clients: ClientFactory, pipeline: LocalPipeline): Promise<void> {
  const machine = (workflow: string) => ({
    Value: pipeline.engine.stateMachineArn(pipeline.engine.workflow(workflow)),
  });
  const outputs = {
    [STACK_OUTPUTS.publishStateMachine]: machine('publish'),
    [STACK_OUTPUTS.bootTestStateMachine]: machine('boot-test'),
    [STACK_OUTPUTS.pruneStateMachine]: machine('prune'),
    [STACK_OUTPUTS.auditStateMachine]: machine('audit'),
  };
  await clients.client(CloudFormationClient, 'us-east-1').send(
    new CreateStackCommand({
      StackName: STACK,
      TemplateBody: JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } }, Outputs: outputs }),
    }),
  );
}

describe('the deployed workflows: start and status', () => {
  let pipeline: LocalPipeline;
  let clients: ClientFactory;
  let sources: string[];
  /** The CLI with Step Functions answered by the local engine, and polling fast enough for a test. */
  const cli = (...args: string[]) =>
    runCliWith(
      {
        plugins: [localStepFunctionsPlugin(() => pipeline.engine)],
        followPolling: { initialMs: 20, maxMs: 200 },
      },
      ...args,
      '--endpoint-url',
      emulatorEndpoint(),
      '--stack-name',
      STACK,
    );

  beforeAll(async () => {
    // A one-second poll interval keeps the SSM read-back's wait (at most the interval) to a second of real time.
    ({ pipeline, clients } = await emulatorPipeline({
      bootTest: { enabled: false },
      publish: { pollIntervalSeconds: 1 },
    }));
    await deployOutputs(clients, pipeline);
    sources = (await seedFleet(clients, releases)).map((s) => s.imageId);
  });

  test('start publish --follow fails as the execution does, naming the step that failed', async () => {
    const prepare = [...pipeline.engine.functions.values()].find((f) => f.entry === 'publish/prepare.ts')!;
    pipeline.engine.injectFault({
      functionId: prepare.logicalId,
      error: 'RegionUnreachable',
      message: 'eu-west-1 did not answer (injected)',
      when: (event) => (event as { region?: string }).region === 'eu-west-1',
    });

    const run = cli('start', 'publish', '--ami', sources.join(','), '--follow', '--regions', REGIONS);

    await expect(run).rejects.toThrow(/^publish failed at Prepare: PublishIncomplete/);
    const [execution] = pipeline.engine.allExecutions();
    expect(execution!.input).toEqual({ imageIds: sources, regions: ['us-east-1', 'eu-west-1'] });
  });

  test('start publish --follow --output json: the outcome alone on standard output, progress lines on standard error', async () => {
    const { stdout, stderr } = await cli('start', 'publish', '--follow', '--regions', REGIONS, '--output', 'json');

    const outcome = JSON.parse(stdout) as ExecutionSummary & { output: { outcomes: { status: string }[] } };
    expect(outcome).toMatchObject({ workflow: 'publish', status: 'SUCCEEDED' });
    expect(outcome.output.outcomes.map((o) => o.status)).toEqual(['published', 'published']);
    expect(outcome.consoleUrl).toBe(
      `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${outcome.executionArn}`,
    );
    expect(stderr).toContain(`Started publish: ${outcome.consoleUrl}`);
    expect(stderr).toMatch(/^publish eu-west-1: 0\/2 images, copying, \d+s elapsed$/m);
    expect(stderr).toMatch(/^publish eu-west-1: 2\/2 images, published, \d+s elapsed$/m);
    expect(stderr).toMatch(/^publish: 2\/2 images, succeeded, \d+s elapsed$/m);
    const europe = await clients.client(EC2Client, 'eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(europe.Images).toHaveLength(2);
  });

  test('start prune only plans unless --execute, as the schedule’s safety defaults say', async () => {
    const { stdout } = await cli('start', 'prune', '--output', 'json');
    await pipeline.settled();

    const started = JSON.parse(stdout) as { executionArn: string; input: unknown };
    expect(started.input).toEqual({ execute: false });
    const prune = pipeline.engine.allExecutions().find((e) => e.executionArn === started.executionArn)!;
    expect(prune.input).toEqual({ execute: false });
    expect(prune.status).toBe('SUCCEEDED');
  });

  test('status lists the latest executions of each workflow, newest first, with where a failed one failed', async () => {
    const { stdout } = await cli('status', '--output', 'json');

    const rows = JSON.parse(stdout) as ExecutionSummary[];
    expect(rows.map((r) => [r.workflow, r.status])).toEqual([
      ['publish', 'SUCCEEDED'],
      ['publish', 'FAILED'],
      ['prune', 'SUCCEEDED'],
    ]);
    expect(rows[1]).toMatchObject({
      failedStep: 'Prepare',
      failedRegions: ['eu-west-1'],
      error: 'PublishIncomplete',
    });
    for (const row of rows) expect(row.durationSeconds).toBeGreaterThanOrEqual(0);
  });

  test('status as a table: one line per execution with its console link', async () => {
    const { stdout } = await cli('status', '--limit', '1');

    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WORKFLOW\s+EXECUTION\s+STATUS\s+STARTED\s+DURATION\s+FAILED\s+CONSOLE$/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(
      /^publish\s+cli-publish-\d{8}-\d{6}\s+SUCCEEDED\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\s+\d+s\s+https:\/\/us-east-1\.console\.aws\.amazon\.com\/states\//,
    );
  });

  test('start boot-test asks for the images, and a stack that is not there is named', async () => {
    await expect(cli('start', 'boot-test')).rejects.toThrow('start boot-test needs the images to test: --ami ami-...');
    await expect(
      runCliWith({}, 'status', '--endpoint-url', emulatorEndpoint(), '--stack-name', 'NotDeployed'),
    ).rejects.toThrow('no stack NotDeployed in us-east-1: deploy it (npx cdk deploy)');
  });
});
