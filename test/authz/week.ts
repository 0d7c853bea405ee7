import { chartLibraries } from '../../lambdas/core/report';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTagsCommand,
  CreateVolumeCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DisableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  EC2Client,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ClientFactory } from '../../lambdas/aws/clients';
import type { StackDeployment } from '../../bin/local/deployment';
import type { StackTemplate } from '../../bin/local/template';
import { LocalPipeline } from '../../bin/local/pipeline';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { bootTestTags } from '../../lambdas/aws/boot/instances';
import type { ClientPlugin } from '../../lambdas/aws/clients';
import { REPRO_OBJECTS, reproTags } from '../../lambdas/aws/repro/checks';
import { PipelineError } from '../../lambdas/core/errors';
import { freebsdProfile } from '../../lambdas/core/naming';
import { isoWeek } from '../../lambdas/core/repro/plan';
import { TAG } from '../../lambdas/core/tags';
import { REPRO_ENV } from '../../lambdas/repro/schemas';
import { SWEEP_MARGIN_MINUTES as REPRO_SWEEP_MARGIN_MINUTES } from '../../lambdas/repro/sweep';
import { invocationInProgress, runInvocation } from '../../lambdas/shared/invocation';
import { type AwsSim, createAwsSim, runInVirtualTime } from '../../scripts/aws-sim';
import type { SeededImage } from '../support/fleet';
import { CallRecorder, type RecordedCall, ROLE_SESSION_NAME_ENV } from '../support/call-recorder';
import { ec2Describer } from '../support/moto-describer';
import { authorizedResources } from './requests';
import { ACCOUNT, OTHER_REGION, PROOF_CONFIG, ProvenStack, REGION } from './stack';
import type { CfnTemplate } from './template';
import { DAY_MS } from '../../lambdas/core/time';

const START = new Date('2026-03-07T06:00:00Z');
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A week of the pipeline recorded: every call each function made, against the stack as deployed. */
export interface RecordedWeek {
  readonly stack: ProvenStack;
  readonly calls: readonly RecordedCall[];
  /** The functions that ran, by logical id, with how often. */
  readonly invocations: ReadonlyMap<string, number>;
}

/** The stack's resources where the proof's deployment names them, for the local engine. */
function deploymentOf(stack: ProvenStack): StackDeployment {
  const { deployed } = stack;
  const attempt = (read: () => string) => {
    try {
      return read();
    } catch {
      return undefined;
    }
  };
  return {
    region: REGION,
    account: ACCOUNT,
    partition: 'aws',
    ref: (id) => (deployed.template.Resources[id] ? attempt(() => deployed.ref(id)) : undefined),
    attribute: (id, name) => (deployed.template.Resources[id] ? attempt(() => deployed.getAtt(id, name)) : undefined),
  };
}

/**
 * Makes the simulated account look like the one the stack is deployed in: the test subnets are the account's own
 * (the simulation has no VPC API), the topics and tables carry the names the deployment gives them.
 */
function deployInto(sim: AwsSim, template: CfnTemplate): ProvenStack {
  const subnets = sim.seed.subnets(REGION);
  const physicalIds: Record<string, string> = {};
  let next = 0;
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::EC2::VPC') physicalIds[id] = subnets[0]!.vpcId;
    if (resource.Type === 'AWS::EC2::Subnet') physicalIds[id] = subnets[next++ % subnets.length]!.subnetId;
    // Bucket names are lower case, and global: CloudFormation's generated names would not be valid ones.
    if (resource.Type === 'AWS::S3::Bucket')
      physicalIds[id] = `${id.toLowerCase().slice(0, 30)}-${sim.world.accountId}`;
  }
  const stack = new ProvenStack(template, physicalIds);
  const { deployed } = stack;
  for (const id of deployed.idsOf('AWS::SNS::Topic')) sim.seed.topic(REGION, deployed.physicalName(id));
  for (const id of deployed.idsOf('AWS::S3::Bucket')) sim.seed.bucket(REGION, deployed.ref(id));
  for (const id of deployed.idsOf('AWS::DynamoDB::Table')) {
    const schema = deployed.resource(id).Properties!.KeySchema as { AttributeName: string; KeyType: string }[];
    sim.seed.table(REGION, deployed.physicalName(id), {
      partition: schema.find((k) => k.KeyType === 'HASH')!.AttributeName,
      sort: schema.find((k) => k.KeyType === 'RANGE')?.AttributeName,
    });
  }
  return stack;
}

/**
 * This week's builds in the build region (the builder last), aged builds and a build nobody adopted yet elsewhere,
 * and SSM.
 */
function seedImages(sim: AwsSim, now: number): SeededImage[] {
  const managed = { [PROOF_CONFIG.managedTag.key]: PROOF_CONFIG.managedTag.value };
  const fresh = sim.seed.fleet({
    regions: [REGION],
    series: ['15.0-CURRENT/amd64/base/ufs', '14.3-STABLE/arm64/base/zfs'],
    weeks: 1,
    newestBuildDate: isoDate(now - DAY_MS),
    tags: managed,
  });
  // The week's builder build, which the reproducibility check rebuilds.
  const builder = sim.seed.fleet({
    regions: [REGION],
    series: ['15.0-CURRENT/arm64/builder/ufs'],
    weeks: 1,
    newestBuildDate: isoDate(now - DAY_MS),
    tags: managed,
  });
  sim.seed.fleet({
    regions: [OTHER_REGION],
    series: ['15.0-CURRENT/amd64/base/ufs'],
    weeks: 3,
    newestBuildDate: isoDate(now - 8 * DAY_MS),
    tags: { ...managed, [TAG.series]: '15.0-CURRENT/amd64/base/ufs' },
  });
  sim.seed.fleet({
    regions: [OTHER_REGION],
    series: ['13.5-STABLE/arm64/small/ufs'],
    weeks: 1,
    newestBuildDate: isoDate(now - 30 * DAY_MS),
    tags: {},
  });
  sim.seed.parameters(OTHER_REGION, {
    [`${PROOF_CONFIG.publish.ssmPrefix}/amd64/base/ufs/15.0/CURRENT`]: 'ami-00000000000000000',
  });
  return [...fresh, ...builder];
}

/** Earlier weeks' fast boots of the new builds' series, so this week's boots are a regression and alarm. */
async function seedBootHistory(stack: ProvenStack, sim: AwsSim, fresh: readonly SeededImage[], now: number) {
  const table = stack.deployed.physicalName(
    stack.deployed.idsOf('AWS::DynamoDB::Table').find((id) => /History/.test(id))!,
  );
  const history = new DynamoBootHistory(sim.clientFactory().client(DynamoDBClient, REGION), table);
  for (const image of fresh) {
    const series = (freebsdProfile.parse(image.name) as { seriesKey: string }).seriesKey;
    const types = series.includes('arm64')
      ? PROOF_CONFIG.bootTest.instanceTypes.arm64
      : PROOF_CONFIG.bootTest.instanceTypes.amd64;
    for (const instanceType of types)
      for (let week = 1; week <= 3; week++) {
        const buildDate = isoDate(now - week * 7 * DAY_MS);
        await history.put({
          seriesKey: series,
          instanceType,
          buildDate,
          imageId: `ami-${String(week).padStart(17, '0')}`,
          imageName: image.name,
          region: REGION,
          revision: `main@${week}a2b3c4`,
          network: 'isolated',
          status: 'passed',
          reason: 'single run',
          runs: 1,
          median: { runInstancesSeconds: 0.1, bootSeconds: 0.5 },
          testedAt: `${buildDate}T12:00:00Z`,
          runId: `week-${week}`,
        });
      }
  }
}

/** The first copy into the other region fails once: the poll deregisters it and copies again. */
function failFirstCopy(sim: AwsSim): ClientPlugin {
  let failed = false;
  return (stack, info) => {
    if (info.service !== 'ec2' || info.region !== OTHER_REGION) return;
    stack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'CopyImageCommand' || failed) return next(args);
        failed = true;
        sim.configure({ images: { copyFailureRate: 1 } });
        try {
          return await next(args);
        } finally {
          sim.configure({ images: { copyFailureRate: 0 } });
        }
      },
      { step: 'initialize', name: 'failFirstCopy' },
    );
  };
}

/**
 * What an audit finds a week after publishing: in the other region one copy deregistered, one made private with its
 * snapshot, one with a tag changed and its deprecation time removed, and an SSM parameter deleted, so that the audit
 * repairs by every path (copy, poll, tags, permissions, deprecation, SSM, ledger).
 */
async function driftAfterPublishing(admin: ClientFactory, fresh: readonly SeededImage[]): Promise<void> {
  const ec2 = admin.client(EC2Client, OTHER_REGION);
  const copies = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
  const copyOf = (image: SeededImage) => copies.find((c) => c.Name === image.name)!;
  const [gone, drifted] = [copyOf(fresh[0]!), copyOf(fresh[1]!)];
  await ec2.send(new DeregisterImageCommand({ ImageId: gone.ImageId }));
  await ec2.send(
    new ModifyImageAttributeCommand({ ImageId: drifted.ImageId, LaunchPermission: { Remove: [{ Group: 'all' }] } }),
  );
  await ec2.send(
    new ModifySnapshotAttributeCommand({
      SnapshotId: drifted.BlockDeviceMappings![0]!.Ebs!.SnapshotId!,
      Attribute: 'createVolumePermission',
      OperationType: 'remove',
      GroupNames: ['all'],
    }),
  );
  await ec2.send(
    new CreateTagsCommand({ Resources: [drifted.ImageId!], Tags: [{ Key: TAG.series, Value: 'drifted' }] }),
  );
  await ec2.send(new DisableImageDeprecationCommand({ ImageId: drifted.ImageId }));
  const parsed = freebsdProfile.parse(drifted.Name!);
  if (parsed.managed)
    await admin
      .client(SSMClient, OTHER_REGION)
      .send(
        new DeleteParameterCommand({ Name: freebsdProfile.ssmParameterName(PROOF_CONFIG.publish.ssmPrefix, parsed) }),
      );
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'repro');
/** Minutes after its launch at which a simulated builder has built, compared and uploaded its outputs. */
const BUILD_MINUTES = 40;

/**
 * The part of a reproducibility check that runs on its builder instance, simulated: for each instance the check
 * function launches, it reads the bucket and prefix from the user data as the instance job does, and
 * `BUILD_MINUTES` later puts what the job uploads for a build that differs (the summary last) with the instance
 * role's credentials, so that its puts are recorded and proven as that role's. The instance stays running after its
 * uploads, as one whose power-off hangs would, so the workflow's finish must terminate it and delete its volumes.
 */
class SimulatedBuilders {
  private readonly builds = new Map<string, Promise<void>>();

  constructor(
    private readonly options: {
      /** Clients that record the calls the instance makes. */
      readonly clients: ClientFactory;
      readonly clock: AwsSim['clock'];
      /** The logical id of the function that launches checks. */
      readonly launchFunction: string;
      /** The logical id of the role the check instances run with. */
      readonly instanceRole: string;
    },
  ) {}

  readonly plugin: ClientPlugin = (stack, info) => {
    if (info.service !== 'ec2') return;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (
          context.commandName === 'RunInstancesCommand' &&
          invocationInProgress()?.functionName === this.options.launchFunction
        ) {
          const instanceId = (result.output as { Instances?: { InstanceId?: string }[] }).Instances?.[0]?.InstanceId;
          const userData = String((args.input as { UserData?: string }).UserData ?? '');
          // A retried launch with the same client token gets the same instance back: it builds once.
          if (instanceId && !this.builds.has(instanceId))
            this.builds.set(instanceId, this.build(instanceId, Buffer.from(userData, 'base64').toString('utf8')));
        }
        return result;
      },
      { step: 'initialize', name: 'simulatedBuilders' },
    );
  };

  /** Every build started so far, finished. */
  async settled(): Promise<number> {
    await Promise.all(this.builds.values());
    return this.builds.size;
  }

  private async build(instanceId: string, userData: string): Promise<void> {
    const parameter = (name: string) => {
      const value = new RegExp(`^${name}=(.+)$`, 'm').exec(userData)?.[1];
      if (!value) throw new PipelineError(`the check's user data has no ${name}`);
      return value;
    };
    const bucket = parameter('REPRO_BUCKET');
    // The folder the job writes to, as it forms it: the prefix, then its IAM user id (role id, instance id).
    const folder = `${parameter('REPRO_PREFIX')}${parameter('REPRO_ROLE_ID')}:${instanceId}/`;
    const region = parameter('REPRO_REGION');
    const { clients, clock, instanceRole } = this.options;
    await clock.sleep(BUILD_MINUTES * 60_000);
    // The instance role's session is named by the instance id, as EC2 names it.
    const instance = {
      functionName: instanceRole,
      env: { [ROLE_SESSION_NAME_ENV]: instanceId },
      clock,
      remainingMs: () => Infinity,
      services: {},
    };
    await runInvocation(instance, async () => {
      const s3 = clients.client(S3Client, region);
      const outputs: [string, string][] = [
        [REPRO_OBJECTS.tools, 'git version 2.47.1\ndiffoscope 285\n'],
        [REPRO_OBJECTS.logTail, '>>> Image build completed\n'],
        [REPRO_OBJECTS.diffoscopeText, readFileSync(join(FIXTURES, 'trees.txt'), 'utf8')],
        [REPRO_OBJECTS.diffoscopeJson, readFileSync(join(FIXTURES, 'trees.json'), 'utf8')],
        [REPRO_OBJECTS.summary, readFileSync(join(FIXTURES, 'summary-differs.json'), 'utf8')],
      ];
      for (const [name, body] of outputs)
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}${name}`, Body: body }));
    });
  }
}

/**
 * A week of the stack as deployed, run by the local engine with every function's handler in-process on a simulated
 * account in virtual time, each AWS call recorded with the state of what it authorizes: publish (with a copy that
 * fails once), the boot test it starts (with a regression alarm), the reproducibility check of the week's builder
 * (its instance's uploads simulated and recorded as the check instances' role), the audit repairing a day's drift,
 * prune with deletions, adopt, both sweepers finding what aborted runs left, and the digest.
 */
export async function recordedWeek(template: CfnTemplate): Promise<RecordedWeek> {
  process.env.LOG_LEVEL ??= 'error';
  const sim = createAwsSim({ seed: 17, regions: [REGION, OTHER_REGION] });
  // The digest draws the boot page: its plotting libraries load in real time, before virtual time starts.
  await chartLibraries();
  const run = await runInVirtualTime(
    async () => {
      const stack = deployInto(sim, template);
      // An account whose owner turned image block public access off, as publishing public AMIs needs.
      for (const region of [REGION, OTHER_REGION]) sim.setImageBlockPublicAccess(region, 'unblocked');
      const now = sim.clock.now();
      const fresh = seedImages(sim, now);
      await seedBootHistory(stack, sim, fresh, now);
      const admin = sim.clientFactory({ maxAttempts: 1 });
      const recorder = new CallRecorder({
        // The simulation has no VPC API: security groups are taken as the account's, subnets read from its model.
        describe: ec2Describer(admin, ACCOUNT, (region, type, id) => {
          const owned = { region, id, type, exists: true, tags: {}, owner: ACCOUNT, ownedByAccount: true };
          if (type === 'security-group') return owned;
          const subnet = type === 'subnet' ? sim.inspect.subnets(region).find((s) => s.subnetId === id) : undefined;
          return subnet && { ...owned, availabilityZone: subnet.zone, vpcId: subnet.vpcId };
        }),
        references: authorizedResources,
      });
      const [instanceRole, ...otherRoles] = stack.instanceRoles.keys();
      if (!instanceRole || otherRoles.length > 0)
        throw new PipelineError(`the stack has ${stack.instanceRoles.size} instance roles; the week simulates one`);
      const builders = new SimulatedBuilders({
        clients: sim.clientFactory().withPlugins(recorder.plugin),
        clock: sim.clock,
        launchFunction: stack.functionOf('repro/launch.ts').logicalId,
        instanceRole,
      });
      const pipeline = await LocalPipeline.create({
        config: PROOF_CONFIG,
        template: template as unknown as StackTemplate,
        deployment: deploymentOf(stack),
        clients: sim.clientFactory().withPlugins(recorder.plugin, failFirstCopy(sim), builders.plugin),
        clock: sim.clock,
        services: (fn) => (fn.entry === 'boot/probe.ts' ? { probe: sim.probe } : {}),
      });

      await pipeline.publish({ pollSeconds: 60 }).done;
      await pipeline.settled();
      // The schedule's input: the week's default checks, which the proof's configuration limits to one builder.
      const repro = await pipeline.repro({}).done;
      const results = (repro.output as { results?: { status: string }[] } | undefined)?.results ?? [];
      // The proof covers launch, poll, the summary's read and the cleanup only if the check got that far.
      if (repro.status !== 'SUCCEEDED' || (await builders.settled()) !== 1 || results[0]?.status !== 'differs')
        throw new PipelineError(
          `the week's reproducibility run ${repro.status} with ${JSON.stringify(results)}: ${repro.error ?? ''} ${repro.cause ?? ''}`,
        );
      await sim.clock.sleep(DAY_MS);
      await driftAfterPublishing(admin, fresh);
      const audit = await pipeline.audit({ repair: true, pollSeconds: 60 }).done;
      // The proof covers the repairs only if they took: a run that left findings ends failed.
      if (audit.status !== 'SUCCEEDED')
        throw new PipelineError(`the week's audit ${audit.status}: ${audit.error ?? ''} ${audit.cause ?? ''}`);
      await pipeline.prune({ execute: true }).done;
      await pipeline.engine.invoke('prune/adopt.ts', { execute: true });

      const sweeper = stack.functionOf('boot/sweep.ts');
      const tags = bootTestTags(PROOF_CONFIG.managedTag, 'aborted-run');
      await admin.client(EC2Client, REGION).send(
        new RunInstancesCommand({
          ImageId: fresh[0]!.imageId,
          InstanceType: 'c7i.large',
          MinCount: 1,
          MaxCount: 1,
          SubnetId: sweeper.environment.BOOT_SUBNET_IDS!.split(',')[0],
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      );
      // A reproducibility run that an execution timeout cut short leaves its instance and reference volume.
      const reproSweeper = stack.functionOf('repro/sweep.ts');
      const builder = fresh.find((image) => image.name.includes(' builder '))!;
      const checkTags = reproTags(PROOF_CONFIG.managedTag, 'aborted-check', {
        imageId: builder.imageId,
        week: isoWeek(new Date(now)),
      });
      const leftover = await admin.client(EC2Client, REGION).send(
        new RunInstancesCommand({
          ImageId: builder.imageId,
          InstanceType: PROOF_CONFIG.repro.instanceTypes.arm64[0] as _InstanceType,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: reproSweeper.environment[REPRO_ENV.subnets]!.split(',')[0],
          TagSpecifications: [
            { ResourceType: 'instance', Tags: checkTags },
            { ResourceType: 'volume', Tags: checkTags },
          ],
        }),
      );
      await admin.client(EC2Client, REGION).send(
        new CreateVolumeCommand({
          SnapshotId: builder.snapshotIds[0],
          AvailabilityZone: leftover.Instances![0]!.Placement!.AvailabilityZone,
          TagSpecifications: [{ ResourceType: 'volume', Tags: checkTags }],
        }),
      );
      const { repro: checks } = PROOF_CONFIG;
      const sweepAfterMinutes = Math.max(
        PROOF_CONFIG.bootTest.sweepAfterMinutes,
        checks.timeBudgetMinutes + checks.graceMinutes + REPRO_SWEEP_MARGIN_MINUTES,
      );
      await sim.clock.sleep((sweepAfterMinutes + 60) * 60_000);
      await pipeline.sweep();
      await pipeline.reproSweep();
      await pipeline.digest(new Date(sim.clock.now() + DAY_MS));

      const invocations = new Map(
        [...pipeline.engine.stats].filter(([, s]) => s.invocations > 0).map(([id, s]) => [id, s.invocations]),
      );
      return { stack, calls: recorder.calls, invocations };
    },
    { start: START, seedMathRandom: 17 },
  );
  return run.result;
}
