import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import type { AwsCredentialIdentity } from '@smithy/types';
import { App, Stack } from 'aws-cdk-lib';
import { hotplugCheck, stopCheck } from '../../lambdas/aws/boot/checks';
import { cleanupRun, sweepTestResources } from '../../lambdas/aws/boot/cleanup';
import { bootTestTags, fetchConsoleText, launchInstance, waitUntilRunning } from '../../lambdas/aws/boot/instances';
import { ClientFactory } from '../../lambdas/aws/clients';
import { realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import { planBootTest } from '../../lambdas/core/boot/plan';
import { defaultConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { BootTestWorkflow } from '../../lib/boot-test-workflow';
import { Notifications } from '../../lib/notifications';
import type { PipelineFunction } from '../../lib/pipeline-function';
import { seedFleet, weeklyFleet } from '../../scripts/fleet';
import { type MultiUserIamEmulator, type PolicyStatement, startIamEnforcingEmulatorForUsers } from '../support/iam';

const REGION = 'us-east-1';
const config = defaultConfig();
const waits = { cycleTimeoutMs: 2000, pollMs: 10 };

/** The statements the stack grants each boot test function, read from the synthesized template. */
function grantedStatements(): Record<string, PolicyStatement[]> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
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
    Object.fromEntries(FUNCTIONS.map((name) => [name, statements[name]!])),
  );
}, 60_000);
afterAll(() => emulator.server.stop());

/** Clients of one function's user in its own region, seeded by the admin with a network and an image. */
async function emulatorFor(name: FunctionName) {
  const region = REGION_OF[name];
  const factory = (credentials: AwsCredentialIdentity) =>
    new ClientFactory({ endpoint: emulator.server.endpoint, credentials, maxAttempts: 1 });
  const admin = factory(emulator.admin);
  const ec2 = admin.ec2(region);
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
      ec2,
      unlimited,
      realClock,
      spec,
      network,
      bootTestTags(config.managedTag, 'grants', spec),
    );
    if (outcome.status !== 'launched') throw new Error(outcome.reason);
    return outcome;
  };
  return { admin, restricted: factory(emulator.users.get(name)!).ec2(region), spec, network, launch, region };
}

describe('synthesized boot test grants cover every call each function makes', () => {
  test('launch: RunInstances with tags, in the test subnet', async () => {
    const { restricted, spec, network } = await emulatorFor('launch');

    const outcome = await launchInstance(
      restricted,
      unlimited,
      realClock,
      spec,
      network,
      bootTestTags(config.managedTag, 'grants', spec),
    );

    expect(outcome.status).toBe('launched');
  });

  test('wait-running: one DescribeInstances per poll', async () => {
    const { restricted, launch } = await emulatorFor('waitRunning');
    const launched = await launch();

    const running = await waitUntilRunning(restricted, unlimited, realClock, REGION, [launched.instanceId], {
      intervalMs: 10,
      timeoutMs: 1000,
    });

    expect(running.runningAt.size).toBe(1);
  });

  test('inspect: GetConsoleOutput, DescribeInstances and StopInstances', async () => {
    const { restricted, launch } = await emulatorFor('inspect');
    const launched = await launch();

    const text = await fetchConsoleText(restricted, unlimited, REGION, launched.instanceId, 'c5.large');
    const stopped = await stopCheck(restricted, unlimited, realClock, REGION, launched.instanceId, {
      cleanWithinMs: 5000,
      timeoutMs: 5000,
      pollMs: 10,
    });

    expect(text.length).toBeGreaterThan(0);
    expect(stopped.passed).toBe(true);
  });

  test('hot-plug: CreateVolume, AttachVolume, DetachVolume, DeleteVolume and the console', async () => {
    const { restricted, launch } = await emulatorFor('hotplug');
    const launched = await launch();

    const result = await hotplugCheck(restricted, unlimited, realClock, REGION, {
      instanceId: launched.instanceId,
      availabilityZone: launched.availabilityZone!,
      cycles: 2,
      tags: bootTestTags(config.managedTag, 'grants'),
      cycleTimeoutMs: 2000,
      pollMs: 10,
      afterCycles: async () => {
        await fetchConsoleText(restricted, unlimited, REGION, launched.instanceId, 'c5.large');
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
        ? await cleanupRun(restricted, unlimited, realClock, REGION, config.managedTag, 'grants', waits)
        : await sweepTestResources(
            restricted,
            unlimited,
            realClock,
            REGION,
            config.managedTag,
            new Date(Date.now() + 60_000),
            waits,
          );

    expect(report.failed).toEqual([]);
    expect(report.terminated).toHaveLength(1);
  });

  test('a function without the grant is refused, so the checks above mean something', async () => {
    const { restricted } = await emulatorFor('waitRunning');

    await expect(
      cleanupRun(restricted, unlimited, realClock, REGION, config.managedTag, 'grants', waits),
    ).rejects.toMatchObject({
      name: expect.stringMatching(/UnauthorizedOperation|AccessDenied/),
    });
  });
});
