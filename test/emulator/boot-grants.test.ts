import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
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
import type { PolicyStatement } from '../support/iam';
import { type MotoServer, startMoto } from '../../scripts/emulator';

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

interface MultiUserEmulator {
  readonly server: MotoServer;
  readonly admin: AwsCredentialIdentity;
  readonly users: Map<string, AwsCredentialIdentity>;
}

/**
 * One emulator enforcing IAM actions for a user per function (test/support/iam.ts starts a server per statement set;
 * six servers cost more start-up time than the whole test). Resource ARNs built with intrinsics are widened to "*"
 * because the emulator checks actions only; conditions are asserted by the CDK tests.
 */
async function startMultiUserEmulator(
  policies: Record<string, readonly PolicyStatement[]>,
): Promise<MultiUserEmulator> {
  const names = Object.keys(policies);
  const requestsPerUser = 3;
  const server = await startMoto({
    env: { INITIAL_NO_AUTH_ACTION_COUNT: String(requestsPerUser * (names.length + 1)) },
  });
  const iam = new IAMClient({
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const createUser = async (name: string, statement: readonly PolicyStatement[]): Promise<AwsCredentialIdentity> => {
    await iam.send(new CreateUserCommand({ UserName: name }));
    const document = {
      Version: '2012-10-17',
      Statement: statement.map((s) => ({
        Effect: s.Effect,
        Action: s.Action,
        Resource: typeof s.Resource === 'string' && !s.Resource.includes('${') ? s.Resource : '*',
      })),
    };
    await iam.send(
      new PutUserPolicyCommand({
        UserName: name,
        PolicyName: `${name}-policy`,
        PolicyDocument: JSON.stringify(document),
      }),
    );
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    return { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! };
  };
  const admin = await createUser('admin', [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
  const users = new Map<string, AwsCredentialIdentity>();
  for (const name of names) users.set(name, await createUser(name, policies[name]!));
  return { server, admin, users };
}

let emulator: MultiUserEmulator;
beforeAll(async () => {
  emulator = await startMultiUserEmulator(Object.fromEntries(FUNCTIONS.map((name) => [name, statements[name]!])));
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
