import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { AwsCredentialIdentity } from '@smithy/types';
import { App, Stack } from 'aws-cdk-lib';
import { hotplugCheck, stopCheck } from '../../lambdas/aws/boot/checks';
import { cleanupRun, sweepTestResources, terminateInstances } from '../../lambdas/aws/boot/cleanup';
import { bootTestTags, describeByIdFilter, fetchConsoleText, launchInstance } from '../../lambdas/aws/boot/instances';
import { BootRunTable } from '../../lambdas/aws/boot/runs';
import { ClientFactory } from '../../lambdas/aws/clients';
import { realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import { planBootTest } from '../../lambdas/core/boot/plan';
import { defaultConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { BootTestWorkflow } from '../../lib/boot-test-workflow';
import { Notifications } from '../../lib/notifications';
import type { PipelineFunction } from '../../lib/pipeline-function';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { createBootRunTable } from '../support/boot-history-table';
import { type MultiUserIamEmulator, type PolicyStatement, startIamEnforcingEmulatorForUsers } from '../support/iam';

const REGION = 'us-east-1';
const config = defaultConfig();
const waits = { cycleTimeoutMs: 2000, pollMs: 10 };

/** The boot adapters' context for calls made with `ec2`'s credentials. */
const through = (ec2: EC2Client) => ({ ec2, limiter: unlimited, clock: realClock, region: REGION });
/** The same for a cleanup or sweep of the boot test's resources. */
const cleanupThrough = (ec2: EC2Client) => ({ ...through(ec2), managed: config.managedTag, waits });

/** The statements the stack grants each boot test function, read from the synthesized template. */
function grantedStatements(): Record<string, PolicyStatement[]> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Grants', { env: { account: '123456789012', region: REGION } });
  const workflow = new BootTestWorkflow(stack, 'BootTest', {
    config,
    notifications: new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] }),
  });
  const template = app.synth().getStackByName('Grants').template as {
    Resources: Record<
      string,
      { Type: string; Properties: { Roles?: unknown; PolicyDocument?: { Statement: PolicyStatement[] } } }
    >;
  };
  const of = (fn: PipelineFunction) => {
    const role = stack.getLogicalId(fn.role!.node.defaultChild as never);
    return Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role))
      .flatMap((r) => r.Properties.PolicyDocument!.Statement);
  };
  return {
    ...Object.fromEntries(Object.entries(workflow.apiFunctions).map(([name, fn]) => [name, of(fn)])),
    sweep: of(workflow.sweepFunction),
  };
}

const statements = grantedStatements();

const FUNCTIONS = ['launch', 'waitRunning', 'inspect', 'hotplug', 'cleanup', 'sweep'] as const;
type FunctionName = (typeof FUNCTIONS)[number];
/** Functions whose only AWS calls checked here are on the run table. */
const TABLE_ONLY = ['plan', 'record'] as const;
// One region per function keeps their resources apart on a single server (the sweeper sweeps a whole region).
const REGION_OF: Record<FunctionName, string> = {
  launch: 'us-east-1',
  waitRunning: 'us-east-2',
  inspect: 'us-west-1',
  hotplug: 'us-west-2',
  cleanup: 'eu-west-1',
  sweep: 'eu-central-1',
};

let emulator: MultiUserIamEmulator;
beforeAll(async () => {
  emulator = await startIamEnforcingEmulatorForUsers(
    Object.fromEntries([...FUNCTIONS, ...TABLE_ONLY].map((name) => [name, statements[name]!])),
  );
}, 60_000);
afterAll(() => emulator.server.stop());

/** Clients of one function's user in its own region, seeded by the admin with a network and an image. */
async function emulatorFor(name: FunctionName) {
  const region = REGION_OF[name];
  const factory = (credentials: AwsCredentialIdentity) =>
    new ClientFactory({ endpoint: emulator.server.endpoint, credentials, maxAttempts: 1 });
  const admin = factory(emulator.admin);
  const ec2 = admin.client(EC2Client, region);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const subnet = await ec2.send(
    new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.20.1.0/24', AvailabilityZone: `${region}a` }),
  );
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'boot', Description: 'boot', VpcId: vpc.Vpc!.VpcId! }),
  );
  const [image] = await seedFleet(
    admin,
    weeklyFleet({
      regions: [region],
      series: ['15.0-CURRENT/amd64/base/ufs'],
      weeks: 1,
      newestBuildDate: '2026-11-26',
    }),
  );
  const spec = planBootTest({
    runId: 'grants',
    images: [{ imageId: image!.imageId, region, name: image!.name }],
    config: config.bootTest,
    profile: freebsdProfile,
  }).rounds[0]![0]!;
  const network = { kind: 'isolated' as const, subnetIds: [subnet.Subnet!.SubnetId!], securityGroupIds: [sg.GroupId!] };
  const launch = async () => {
    const outcome = await launchInstance(
      { ec2, limiter: unlimited, clock: realClock, network },
      spec,
      bootTestTags(config.managedTag, 'grants', spec),
    );
    if (outcome.status !== 'launched') throw new Error(outcome.reason);
    return outcome;
  };
  return {
    admin,
    restricted: factory(emulator.users.get(name)!).client(EC2Client, region),
    spec,
    network,
    launch,
    region,
  };
}

describe('synthesized boot test grants cover every call each function makes', () => {
  test('launch: RunInstances with tags, in the test subnet', async () => {
    const { restricted, spec, network } = await emulatorFor('launch');

    const outcome = await launchInstance(
      { ec2: restricted, limiter: unlimited, clock: realClock, network },
      spec,
      bootTestTags(config.managedTag, 'grants', spec),
    );

    expect(outcome.status).toBe('launched');
  });

  test('wait-running: one DescribeInstances per poll', async () => {
    const { restricted, launch } = await emulatorFor('waitRunning');
    const launched = await launch();

    const states = await describeByIdFilter(through(restricted), [launched.instanceId]);

    expect(states.get(launched.instanceId)?.state).toBe('running');
  });

  test('inspect: GetConsoleOutput, DescribeInstances, StopInstances and TerminateInstances', async () => {
    const { restricted, launch } = await emulatorFor('inspect');
    const launched = await launch();

    const text = await fetchConsoleText(through(restricted), {
      instanceId: launched.instanceId,
      instanceType: 'c5.large',
    });
    const stopped = await stopCheck(through(restricted), launched.instanceId, {
      cleanWithinMs: 5000,
      timeoutMs: 5000,
      pollMs: 10,
    });

    const ended = await terminateInstances(through(restricted), [launched.instanceId]);

    expect(text.length).toBeGreaterThan(0);
    expect(stopped.passed).toBe(true);
    expect(ended).toEqual({ succeeded: [launched.instanceId], failed: [] });
  });

  test('hot-plug: CreateVolume, AttachVolume, DetachVolume, DeleteVolume and the console', async () => {
    const { restricted, launch } = await emulatorFor('hotplug');
    const launched = await launch();

    const result = await hotplugCheck(through(restricted), {
      instanceId: launched.instanceId,
      availabilityZone: launched.availabilityZone!,
      cycles: 2,
      tags: bootTestTags(config.managedTag, 'grants'),
      cycleTimeoutMs: 2000,
      pollMs: 10,
      afterCycles: async () => {
        await fetchConsoleText(through(restricted), { instanceId: launched.instanceId, instanceType: 'c5.large' });
        return undefined;
      },
    });

    expect(result).toMatchObject({ passed: true, cycles: 2, finished: true });
  });

  test.each(['cleanup', 'sweep'] as const)('%s: find, terminate and delete by tag', async (name) => {
    const { restricted, launch } = await emulatorFor(name);
    await launch();

    const report =
      name === 'cleanup'
        ? await cleanupRun(cleanupThrough(restricted), 'grants')
        : await sweepTestResources(cleanupThrough(restricted), new Date(Date.now() + 60_000));

    expect(report.failed).toEqual([]);
    expect(report.terminated).toHaveLength(1);
  });

  test('run table: each function reads and writes only what its step needs', async () => {
    const factory = (credentials: AwsCredentialIdentity) =>
      new ClientFactory({ endpoint: emulator.server.endpoint, credentials, maxAttempts: 1 });
    await createBootRunTable(factory(emulator.admin).client(DynamoDBClient, REGION), 'runs');
    const table = (name: FunctionName | (typeof TABLE_ONLY)[number]) =>
      new BootRunTable(factory(emulator.users.get(name)!).client(DynamoDBClient, REGION), 'runs', realClock);
    const address = { batch: 0, slot: 1 };
    const spec = { key: 'ami-1/c7i.large/0', imageId: 'ami-1', instanceType: 'c7i.large', round: 0 } as never;
    const launched = {
      status: 'launched' as const,
      key: 'ami-1/c7i.large/0',
      instanceId: 'i-0123456789abcdef0',
      subnetId: 'subnet-1',
      runInstancesStartedAt: 1,
      runInstancesReturnedAt: 2,
      reason: 'launched',
    };
    const result = { key: 'ami-1/c7i.large/0', status: 'passed' } as never;

    await table('plan').putPlan({ runId: 'grants', request: {}, skippedImages: [], batchSizes: [1], plannedAt: 1 }, [
      [spec],
    ]);
    await table('launch').launch('grants', address);
    await table('launch').setOutcome('grants', address, launched);
    await table('waitRunning').batch('grants', 0);
    await table('waitRunning').run('grants');
    await table('waitRunning').setRunning('grants', address, { runningAt: 3 });
    await table('inspect').launch('grants', address);
    await table('inspect').setResult('grants', address, result);
    await table('cleanup').close('grants');
    const records = await table('record').launches('grants');
    await table('record').setRegressions('grants', []);

    expect(records).toEqual([expect.objectContaining({ outcome: launched, running: { runningAt: 3 }, result })]);
    // The emulator answers a denied DynamoDB call in XML, which the JSON client cannot read: the status tells.
    await expect(table('cleanup').launches('grants')).rejects.toMatchObject({ $response: { statusCode: 403 } });
  });

  test('a function without the grant is refused, so the checks above mean something', async () => {
    const { restricted } = await emulatorFor('waitRunning');

    await expect(cleanupRun(cleanupThrough(restricted), 'grants')).rejects.toMatchObject({
      name: expect.stringMatching(/UnauthorizedOperation|AccessDenied/),
    });
  });
});
