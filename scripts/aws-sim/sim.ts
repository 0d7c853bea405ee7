import type { MiddlewareStack } from '@smithy/types';
import {
  ClientFactory,
  type ClientFactoryOptions,
  type ClientInfo,
  type ClientPlugin,
} from '../../lambdas/aws/clients';
import type { Clock } from '../../lambdas/shared/invocation';
import { type FleetImage, type FleetOptions, type SeededImage, weeklyFleet } from '../../test/support/fleet';
import { type BootTruth, SimulatedPortProbe } from './boot';
import { COMMERCIAL_REGIONS, DEFAULT_OPTED_IN, type RegionInfo } from './catalog';
import { SimCounters } from './counters';
import { DynamoDbService } from './dynamodb';
import { Ec2Service } from './ec2';
import { type ImageSpec, imageStateAt, snapshotStateAt } from './ec2-images';
import { instanceStateAt, type SimSubnet } from './ec2-instances';
import { awsError, SIMULATED_SERVICES, type SimulatedService, ServiceFault, SimulationGapError } from './errors';
import { type FaultHandle, type FaultRule, Faults } from './faults';
import { CloudWatchService, IamService, StsService } from './misc';
import { AWS_PHYSICS, NO_PHYSICS, type Physics, type PhysicsOverrides, withOverrides } from './physics';
import { draw, Random } from './random';
import { S3Service } from './s3';
import { SnsService } from './sns';
import { SsmService } from './ssm';
import { Throttles } from './throttle';
import { virtualClock } from './virtual-time';
import { getOrCreate, type OperationHandler, type RegionState, World } from './world';

export interface AwsSimOptions {
  /** Seeds every random draw of the model (default 1): the same seed and calls give the same world. */
  readonly seed?: number | string;
  /** The account the clients act as (default 123456789012). */
  readonly accountId?: string;
  /** AWS's physics (default), none (`off`, the emulator's world), or AWS's with overrides. */
  readonly physics?: 'aws' | 'off' | PhysicsOverrides;
  /** The physics that `physics` overrides start from (default `aws`). */
  readonly basePhysics?: 'aws' | 'off';
  /** Regions enabled for the account (default: the 17 that need no opt-in and 12 opted-in ones, 29 in all). */
  readonly regions?: readonly string[];
  /** Regions beyond the commercial catalogue, e.g. GovCloud or China ones, when a scenario asks for them. */
  readonly extraRegions?: readonly RegionInfo[];
  /** The clock of the simulated world (default `Date.now`, which a virtual-time run fakes). */
  readonly now?: () => number;
}

const SIMULATED: ReadonlySet<string> = new Set(SIMULATED_SERVICES);
const LIST_KEYS = ['Images', 'Snapshots', 'Volumes', 'Regions', 'Parameters', 'Items'] as const;
const STATIC_CREDENTIALS = { accessKeyId: 'ASIASIMULATEDAWS', secretAccessKey: 'simulated', sessionToken: 'simulated' };

/** A view of an image for assertions: the model's record with its state now. */
export interface InspectedImage {
  readonly imageId: string;
  readonly region: string;
  readonly name: string;
  readonly state: string;
  readonly public: boolean;
  readonly snapshotIds: string[];
  readonly tags: Record<string, string>;
  readonly deprecationTime?: string;
  readonly sourceImageId?: string;
  readonly createdAt: number;
  readonly availableAt: number;
  readonly deregisteredAt?: number;
  /** When it was last made public. */
  readonly publicAt?: number;
}

/** A view of a snapshot for assertions. */
export interface InspectedSnapshot {
  readonly snapshotId: string;
  readonly region: string;
  readonly state: string;
  readonly volumeSizeGiB: number;
  readonly encrypted: boolean;
  /** What DescribeSnapshotAttribute says. */
  readonly sharedWithAll: boolean;
  /** Whether anyone outside the account can really use it (block public access included). */
  readonly reallyPublic: boolean;
  readonly usedBy: string[];
  readonly tags: Record<string, string>;
}

/** A view of an instance for assertions, with its boot truth. */
export interface InspectedInstance {
  readonly instanceId: string;
  readonly region: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly state: string;
  readonly zone: string;
  readonly privateIp: string;
  readonly tags: Record<string, string>;
  readonly truth: BootTruth;
}

/**
 * An in-memory AWS account that real SDK v3 clients talk to: a middleware placed below the SDK's retry middleware
 * answers each command from the model (EC2, SSM, SNS, DynamoDB, STS, CloudWatch, IAM, S3) or throws the service's error, so
 * the SDK's own retries see throttling as they would on AWS. AWS's pace and limits ({@link Physics}) live here and
 * nowhere else: request buckets, latency, copy durations, the copy limit, block public access, quotas, capacity,
 * boot timelines. Clients of other services (Step Functions, SQS) pass through untouched.
 */
export class AwsSim {
  readonly counters = new SimCounters();
  readonly world: World;
  readonly ec2: Ec2Service;
  readonly ssm: SsmService;
  readonly sns: SnsService;
  readonly dynamodb: DynamoDbService;
  readonly sts: StsService;
  readonly cloudwatch: CloudWatchService;
  readonly iam: IamService;
  readonly s3: S3Service;
  /** Watches simulated instances' port 22 as the boot test's TCP probe watches real ones. */
  readonly probe: SimulatedPortProbe;
  /** Time as the simulated world reads it (virtual inside a virtual-time run). */
  readonly clock: Clock;
  readonly seed: Seeder;
  readonly inspect: Inspector;
  private readonly faults = new Faults();
  private readonly throttles: Throttles;
  private readonly latencyStream: Random;
  private requests = 0;

  constructor(options: AwsSimOptions = {}) {
    const seed = String(options.seed ?? 1);
    const now = options.now ?? (() => Date.now());
    const catalog = [...COMMERCIAL_REGIONS, ...(options.extraRegions ?? [])];
    const enabled =
      options.regions ?? catalog.filter((r) => !r.optIn || DEFAULT_OPTED_IN.includes(r.name)).map((r) => r.name);
    this.world = new World(
      options.accountId ?? '123456789012',
      seed,
      resolvePhysics(options),
      this.counters,
      now,
      enabled,
      catalog,
    );
    const regionOf = (name: string) => this.region(name);
    this.ec2 = new Ec2Service(this.world, regionOf);
    this.ssm = new SsmService(this.world, regionOf);
    this.sns = new SnsService(this.world);
    this.dynamodb = new DynamoDbService(this.world);
    this.sts = new StsService(this.world);
    this.cloudwatch = new CloudWatchService(this.world);
    this.iam = new IamService(this.world);
    this.s3 = new S3Service(this.world);
    this.throttles = new Throttles(() => this.world.physics);
    this.latencyStream = new Random(`${seed}:latency`);
    this.clock = options.now ? { now, sleep: virtualClock.sleep } : virtualClock;
    this.probe = new SimulatedPortProbe((ip) => this.ec2.instances.hostAt(ip), now, this.clock.sleep);
    this.seed = new Seeder(this);
    this.inspect = new Inspector(this);
  }

  /** The physics in force. */
  get physics(): Physics {
    return this.world.physics;
  }

  /** Changes the physics from now on (e.g. a region that turns slow halfway through a scenario). */
  configure(overrides: PhysicsOverrides): void {
    this.world.physics = withOverrides(this.world.physics, overrides);
  }

  /**
   * The client plug-in: `new ClientFactory({ plugins: [sim.plugin] })` or `factory.withPlugins(sim.plugin)`. Clients
   * of simulated services get the answering middleware and static credentials (no provider chain is consulted).
   */
  readonly plugin: ClientPlugin = (stack: MiddlewareStack<object, object>, info: ClientInfo) => {
    if (!SIMULATED.has(info.service)) return;
    if (info.config) {
      info.config.credentials = async () => STATIC_CREDENTIALS;
      // The stack is complete once the plug-ins have run: resolving it again on every call is the SDK's largest
      // per-call cost here, and nothing in a simulated run changes a client's middleware afterwards.
      info.config.cacheMiddleware = true;
    }
    const middleware = (_next: unknown, context: { commandName?: string }) => async (args: { input: unknown }) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      return this.answer(
        info.service as SimulatedService,
        info.region,
        operation,
        args.input as Record<string, unknown>,
      );
    };
    // The model answers from the command's input: a request serialized for the wire would never be sent. In its
    // place the input goes on as it is, and what works on the wire request (user agent, signing) has none to do.
    stack.add(((next: (args: unknown) => unknown) => (args: unknown) => next(args)) as never, {
      name: 'serializerMiddleware',
      step: 'serialize',
      tags: ['SERIALIZER'],
      override: true,
    });
    stack.addRelativeTo(middleware as unknown as Parameters<typeof stack.addRelativeTo>[0], {
      name: 'awsSimulation',
      relation: 'after',
      toMiddleware: 'retryMiddleware',
      override: true,
    });
  };

  /** A client factory whose clients talk to this simulation. */
  clientFactory(options: ClientFactoryOptions = {}): ClientFactory {
    return new ClientFactory({ ...options, plugins: [...(options.plugins ?? []), this.plugin] });
  }

  /** Makes matching calls fail with `rule.error` (once, unless `times` says otherwise). */
  fail(rule: FaultRule): FaultHandle {
    return this.faults.add(rule);
  }

  /** Image block public access of `region`, set at once (no transition), and who manages it. */
  setImageBlockPublicAccess(
    region: string,
    state: 'unblocked' | 'block-new-sharing',
    managedBy: 'account' | 'declarative-policy' = 'account',
  ): void {
    const r = this.region(region);
    r.imageBlockPublicAccess = { from: state, to: state, at: 0 };
    r.imageBlockPublicAccessManagedBy = managedBy;
  }

  setSnapshotBlockPublicAccess(region: string, state: 'unblocked' | 'block-new-sharing' | 'block-all-sharing'): void {
    this.region(region).snapshotBlockPublicAccess = state;
  }

  setEncryptionByDefault(region: string, enabled: boolean): void {
    this.region(region).encryptionByDefault = enabled;
  }

  enableRegion(region: string): void {
    this.world.enable(region);
  }

  disableRegion(region: string): void {
    this.world.disable(region);
  }

  /** The state of `name`; fails for a region the catalogue does not know. */
  region(name: string): RegionState {
    const region = this.world.region(name);
    if (!region) throw new SimulationGapError(`region ${name} is not in the simulation's catalogue`);
    return region;
  }

  private handler(service: SimulatedService, operation: string): OperationHandler | undefined {
    return this[service].handler(operation);
  }

  private latency(service: string, operation: string): number {
    const latency = this.world.physics.latency;
    const distribution = latency.byOperation[operation] ?? latency.byService[service];
    // Whole milliseconds, as timers run: the answer reaches the caller exactly when the model says it leaves.
    return distribution === undefined ? 0 : Math.max(0, Math.ceil(draw(distribution, this.latencyStream)));
  }

  /** Answers one call as the service would: after its latency, with an output or a service error. */
  async answer(
    service: SimulatedService,
    regionName: string,
    operation: string,
    input: Record<string, unknown>,
  ): Promise<{ output: object; response: object }> {
    const requestId = `00000000-5157-4000-8000-${(++this.requests).toString(16).padStart(12, '0')}`;
    const now = this.world.now();
    this.counters.recordCall(service, operation, regionName);
    let latency = this.latency(service, operation);
    let output: object | undefined;
    let error: Error | undefined;
    try {
      const region = this.world.region(regionName);
      if (!region || !this.world.isEnabled(regionName)) unreachableRegion(service, regionName);
      const throttle = this.throttles.admit(service, regionName, operation, input, now);
      if (throttle) {
        this.counters.recordThrottle(service, regionName, throttle.bucket);
        throw new ServiceFault(throttle.error);
      }
      const injected = this.faults.match(service, operation, regionName, input);
      if (injected) {
        this.counters.add('faultsInjected');
        throw new ServiceFault(injected);
      }
      const handler = this.handler(service, operation);
      if (!handler) throw new SimulationGapError(`${service} ${operation} is not simulated`);
      // EC2's DryRun checks permissions only, which the simulation grants: the answer is always DryRunOperation.
      if (service === 'ec2' && input.DryRun === true)
        throw new ServiceFault({
          code: 'DryRunOperation',
          message: 'Request would have succeeded, but DryRun flag is set.',
          status: 412,
        });
      output = handler(region, input, { respondsAt: now + latency });
      const listed = countListed(output);
      if (listed !== undefined) {
        latency += Math.ceil(listed * this.world.physics.latency.perResultMs);
        this.counters.recordListing({
          service,
          operation,
          region: regionName,
          results: listed,
          paginated:
            input.MaxResults !== undefined ||
            input.NextToken !== undefined ||
            input.Limit !== undefined ||
            input.ExclusiveStartKey !== undefined,
          at: now,
        });
      }
    } catch (caught) {
      if (!(caught instanceof ServiceFault)) throw caught;
      this.counters.recordError(service, operation, regionName, caught.spec.code);
      error = awsError(service, caught.spec, requestId);
    }
    if (latency > 0) await this.clock.sleep(latency);
    if (error) throw error;
    return {
      output: { ...output, $metadata: { httpStatusCode: 200, requestId, attempts: 1, totalRetryDelay: 0 } },
      response: { statusCode: 200, headers: { 'x-amzn-requestid': requestId } },
    };
  }
}

function resolvePhysics(options: AwsSimOptions): Physics {
  if (options.physics === 'off') return NO_PHYSICS;
  if (options.physics === 'aws' || options.physics === undefined)
    return options.basePhysics === 'off' ? NO_PHYSICS : AWS_PHYSICS;
  return withOverrides(options.basePhysics === 'off' ? NO_PHYSICS : AWS_PHYSICS, options.physics);
}

function unreachableRegion(service: string, region: string): never {
  // A disabled region refuses the account's credentials.
  if (service === 'ec2')
    throw new ServiceFault({
      code: 'AuthFailure',
      message: 'AWS was not able to validate the provided access credentials',
      status: 401,
    });
  if (service === 'ssm' || service === 'dynamodb')
    throw new ServiceFault({
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      status: 400,
    });
  throw new ServiceFault({
    code: 'InvalidClientTokenId',
    message: `The security token included in the request is invalid (${region}).`,
    status: 403,
  });
}

function countListed(output: object): number | undefined {
  const record = output as Record<string, unknown>;
  if (Array.isArray(record.Reservations))
    return (record.Reservations as { Instances?: unknown[] }[]).reduce((n, r) => n + (r.Instances?.length ?? 0), 0);
  for (const key of LIST_KEYS) if (Array.isArray(record[key])) return (record[key] as unknown[]).length;
  return undefined;
}

function tagObject(tags: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(tags);
}

/** Fills the simulated account in bulk, without per-call cost: fleets, parameters, topics, tables, subnets. */
export class Seeder {
  constructor(private readonly sim: AwsSim) {}

  /**
   * Registers available images with their root snapshots. A fleet image's creation time is its build date (from
   * its name) unless `createdAt` says otherwise; the returned records match the emulator fleet helper's.
   */
  images(
    images: readonly (FleetImage | (ImageSpec & { readonly region: string }))[],
    options: Omit<ImageSpec, 'name'> & { readonly createdAt?: number } = {},
  ): SeededImage[] {
    const now = this.sim.world.now();
    const buildTimes = new Map<string, number>();
    return images.map((image) => {
      const arch = 'arch' in image ? image.arch : image.architecture === 'arm64' ? 'arm64' : 'amd64';
      const built = /-(\d{4})(\d{2})(\d{2})\b/.exec(image.name);
      const buildTime = built
        ? getOrCreate(buildTimes, built[0], () => Date.parse(`${built[1]}-${built[2]}-${built[3]}T06:00:00Z`))
        : undefined;
      const spec: ImageSpec = {
        ...options,
        name: image.name,
        description: image.description,
        tags: image.tags,
        ...('arch' in image ? {} : (image as ImageSpec)),
        architecture: arch === 'arm64' ? 'arm64' : 'x86_64',
        createdAt:
          ('createdAt' in image ? image.createdAt : undefined) ?? options.createdAt ?? Math.min(now, buildTime ?? now),
      };
      const stored = this.sim.ec2.images.seedImage(this.sim.region(image.region), spec);
      return {
        region: image.region,
        name: image.name,
        description: image.description ?? '',
        arch,
        tags: image.tags ?? {},
        imageId: stored.imageId,
        snapshotIds: stored.mappings.flatMap((m) => (m.snapshotId ? [m.snapshotId] : [])),
      };
    });
  }

  /** Weekly builds of each series in each region (test/support/fleet.ts naming), registered in bulk. */
  fleet(options: FleetOptions, extra: Omit<ImageSpec, 'name'> = {}): SeededImage[] {
    // Every region gets the same builds: the fleet is made once and placed in each region.
    const [first] = options.regions;
    if (first === undefined) return [];
    const template = weeklyFleet({ ...options, regions: [first] });
    return this.images(
      options.regions.flatMap((region) => template.map((image) => ({ ...image, region }))),
      extra,
    );
  }

  /** An orphan snapshot (its image gone), e.g. for the prune's orphan rule. */
  snapshot(
    region: string,
    spec: { volumeSizeGiB?: number; tags?: Record<string, string>; createdAt?: number; description?: string } = {},
  ): string {
    return this.sim.ec2.images.seedSnapshot(this.sim.region(region), { volumeSizeGiB: 6, ...spec }).snapshotId;
  }

  /** SSM parameters, written at once (no asynchronous validation). */
  parameters(region: string, values: Readonly<Record<string, string>>, dataType = 'text'): void {
    for (const [name, value] of Object.entries(values)) this.sim.ssm.seed(region, name, value, dataType);
  }

  /** An S3 bucket in `region`. */
  bucket(region: string, name: string): void {
    this.sim.s3.CreateBucket(this.sim.region(region), { Bucket: name });
  }

  /** An SNS topic; returns its ARN. */
  topic(region: string, name: string): string {
    return this.sim.sns.CreateTopic(this.sim.region(region), { Name: name }).TopicArn!;
  }

  /** A DynamoDB table keyed by a string partition key and, optionally, a string sort key. */
  table(region: string, name: string, keys: { partition: string; sort?: string }): void {
    this.sim.dynamodb.CreateTable(this.sim.region(region), {
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: keys.partition, KeyType: 'HASH' },
        ...(keys.sort ? [{ AttributeName: keys.sort, KeyType: 'RANGE' as const }] : []),
      ],
      AttributeDefinitions: [
        { AttributeName: keys.partition, AttributeType: 'S' },
        ...(keys.sort ? [{ AttributeName: keys.sort, AttributeType: 'S' as const }] : []),
      ],
    });
  }

  /** Subnets in the given zones (default: every zone of the region), like the stack's isolated test subnets. */
  subnets(region: string, zones?: readonly string[]): SimSubnet[] {
    const r = this.sim.region(region);
    return (zones ?? r.info.zones.map((suffix) => `${region}${suffix}`)).map((zone) =>
      this.sim.ec2.instances.addSubnet(r, zone),
    );
  }
}

/** Reads the simulated account back for assertions. */
export class Inspector {
  constructor(private readonly sim: AwsSim) {}

  private get now(): number {
    return this.sim.world.now();
  }

  /** An image as the model holds it (deregistered ones too, until they are forgotten). */
  image(region: string, imageId: string): InspectedImage | undefined {
    const image = this.sim.region(region).images.get(imageId);
    if (!image) return undefined;
    return {
      imageId: image.imageId,
      region: image.region,
      name: image.name,
      state: imageStateAt(image, this.now),
      public: image.public,
      snapshotIds: image.mappings.flatMap((m) => (m.snapshotId ? [m.snapshotId] : [])),
      tags: tagObject(image.tags),
      deprecationTime: image.deprecationTime,
      sourceImageId: image.sourceImageId,
      createdAt: image.createdAt,
      availableAt: image.availableAt,
      deregisteredAt: image.deregisteredAt,
      publicAt: image.public ? image.publicAt : undefined,
    };
  }

  /** The images of `region`, deregistered ones included only when asked for. */
  images(region: string, options: { includeDeregistered?: boolean } = {}): InspectedImage[] {
    return [...this.sim.region(region).images.keys()]
      .map((id) => this.image(region, id)!)
      .filter((image) => options.includeDeregistered || image.state !== 'deregistered');
  }

  snapshot(region: string, snapshotId: string): InspectedSnapshot | undefined {
    const r = this.sim.region(region);
    const snapshot = r.snapshots.get(snapshotId);
    if (!snapshot) return undefined;
    return {
      snapshotId,
      region,
      state: snapshotStateAt(snapshot, this.now),
      volumeSizeGiB: snapshot.volumeSize,
      encrypted: snapshot.encrypted,
      sharedWithAll: snapshot.sharedWithAll,
      reallyPublic: this.sim.ec2.images.isReallyPublic(r, snapshot),
      usedBy: [...snapshot.usedBy],
      tags: tagObject(snapshot.tags),
    };
  }

  snapshots(region: string): InspectedSnapshot[] {
    return [...this.sim.region(region).snapshots.keys()].map((id) => this.snapshot(region, id)!);
  }

  /** Whether anyone outside the account can really use the snapshot, whatever its attribute says. */
  isReallyPublic(region: string, snapshotId: string): boolean {
    return this.snapshot(region, snapshotId)?.reallyPublic ?? false;
  }

  /** Image block public access as it applies now. */
  imageBlockPublicAccess(region: string): 'unblocked' | 'block-new-sharing' {
    return this.sim.ec2.images.imageBlockPublicAccess(this.sim.region(region), this.now);
  }

  snapshotBlockPublicAccess(region: string): string {
    return this.sim.region(region).snapshotBlockPublicAccess;
  }

  publicImageCount(region: string): number {
    return this.sim.region(region).publicImages.size;
  }

  /** Copies still pending in `region`. */
  copiesInFlight(region: string): number {
    return this.sim.ec2.images.copiesInFlight(this.sim.region(region), this.now);
  }

  instances(region?: string): InspectedInstance[] {
    return this.sim.ec2.instances.allInstances(region).map((i) => ({
      instanceId: i.instanceId,
      region: i.region,
      instanceType: i.instanceType,
      imageId: i.imageId,
      state: instanceStateAt(i, this.now),
      zone: i.subnet.zone,
      privateIp: i.privateIp,
      tags: tagObject(i.tags),
      truth: i.truth,
    }));
  }

  /** When an instance really booted: what a boot measurement is judged against. */
  bootTruth(instanceId: string): BootTruth | undefined {
    return this.sim.ec2.instances.allInstances().find((i) => i.instanceId === instanceId)?.truth;
  }

  volumes(region?: string) {
    return this.sim.ec2.instances.allVolumes(region);
  }

  /**
   * Instance-seconds per instance type so far, from running until stop or termination was asked for; with
   * `billedMinimumSeconds` (EC2 bills at least 60 seconds each time an instance starts) each counts at least that.
   */
  instanceSeconds(options: { readonly billedMinimumSeconds?: number } = {}): Record<string, number> {
    return this.sim.ec2.instances.instanceSeconds(this.now, options.billedMinimumSeconds);
  }

  /** The default subnets of `region` (one per zone). */
  subnets(region: string): SimSubnet[] {
    return this.sim.ec2.instances.subnets(this.sim.region(region));
  }

  /** A parameter's value and history as Parameter Store holds it now (pending validations applied). */
  parameter(region: string, name: string) {
    const parameter = this.sim.ssm.parameter(region, name);
    if (!parameter) return undefined;
    const latest = parameter.versions[parameter.versions.length - 1]!;
    return {
      value: latest.value,
      version: latest.version,
      dataType: latest.dataType,
      history: [...parameter.versions],
    };
  }

  parameterNames(region: string): string[] {
    return this.sim.ssm.names(region);
  }

  /** `aws:ec2:image` writes that failed their asynchronous validation. */
  failedValidations() {
    return [...this.sim.ssm.failedValidations];
  }

  /** Messages published, to one topic or to all. */
  messages(topicArn?: string) {
    return this.sim.sns.messages.filter((m) => topicArn === undefined || m.topicArn === topicArn);
  }

  items(region: string, table: string) {
    return this.sim.dynamodb.items(region, table);
  }

  metrics() {
    return [...this.sim.cloudwatch.metrics];
  }
}

/** A simulated AWS account with AWS's physics unless `options.physics` says otherwise. */
export function createAwsSim(options: AwsSimOptions = {}): AwsSim {
  return new AwsSim(options);
}
