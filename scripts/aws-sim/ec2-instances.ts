import type {
  AttachVolumeRequest,
  CreateVolumeRequest,
  DeleteVolumeRequest,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeVolumesRequest,
  DescribeVolumesResult,
  DetachVolumeRequest,
  GetConsoleOutputRequest,
  GetConsoleOutputResult,
  Instance,
  InstanceStateChange,
  Reservation,
  RunInstancesRequest,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
  Volume,
  VolumeAttachment,
} from '@aws-sdk/client-ec2';
import { type BootTruth, consoleTextAt, planBoot, type ProbedHost } from './boot';
import { INSTANCE_STATE_CODES, instanceTypeInfo } from './catalog';
import {
  applyTags,
  compileFilters,
  type FilterFields,
  paginate,
  queryKey,
  stableJson,
  tagFields,
  toTagList,
} from './ec2-common';
import { type ImageModel, imageStateAt } from './ec2-images';
import { fault } from './errors';
import { type CallTiming, dateAt, getOrCreate, isoAt, type RegionState, type World } from './world';

const INSTANCE_ID = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;
const VOLUME_ID = /^vol-[0-9a-f]{8}([0-9a-f]{9})?$/;

const INSTANCE_FILTERS = new Set([
  'architecture',
  'availability-zone',
  'client-token',
  'image-id',
  'instance-id',
  'instance-state-code',
  'instance-state-name',
  'instance-type',
  'launch-time',
  'private-ip-address',
  'reservation-id',
  'subnet-id',
  'vpc-id',
]);

const VOLUME_FILTERS = new Set([
  'attachment.device',
  'attachment.instance-id',
  'attachment.status',
  'availability-zone',
  'create-time',
  'encrypted',
  'size',
  'snapshot-id',
  'status',
  'volume-id',
  'volume-type',
]);

/** A subnet of the account's VPC in one zone. */
export interface SimSubnet {
  readonly subnetId: string;
  readonly vpcId: string;
  readonly zone: string;
  readonly region: string;
  /** The first three octets of its addresses, e.g. `172.31.16`. */
  readonly prefix: string;
  /** The lowest host number EC2 hands out in it (a /24: 4-254, the first four and the last being reserved). */
  nextHost: number;
}

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** An instance and its lifecycle, each transition a moment in time. */
export interface SimInstance {
  readonly instanceId: string;
  readonly region: string;
  readonly reservationId: string;
  readonly seq: number;
  readonly instanceType: string;
  readonly imageId: string;
  readonly architecture: string;
  readonly subnet: SimSubnet;
  readonly privateIp: string;
  readonly securityGroupIds: readonly string[];
  readonly clientToken?: string;
  readonly metadataOptions: { HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number };
  readonly tags: Map<string, string>;
  readonly truth: BootTruth;
  readonly rootDeviceName: string;
  readonly volumeIds: Set<string>;
  stopRequestedAt?: number;
  stoppedAt?: number;
  terminateRequestedAt?: number;
  terminatedAt?: number;
  attaches: number;
}

/** An EBS volume; its state follows from its times and its attachment's. */
export interface SimVolume {
  readonly volumeId: string;
  readonly region: string;
  readonly seq: number;
  readonly zone: string;
  readonly size: number;
  readonly volumeType: string;
  readonly encrypted: boolean;
  readonly snapshotId?: string;
  readonly createdAt: number;
  readonly availableAt: number;
  readonly tags: Map<string, string>;
  attachment?: {
    readonly instanceId: string;
    readonly device: string;
    readonly requestedAt: number;
    /** Infinity when the attachment never completes (the instance ran out of hot-plug slots). */
    readonly attachedAt: number;
    readonly deleteOnTermination: boolean;
    detachRequestedAt?: number;
    detachedAt?: number;
  };
  deleteRequestedAt?: number;
  deletedAt?: number;
}

interface RunToken {
  readonly request: string;
  readonly reservationId: string;
  readonly instanceIds: readonly string[];
}

/** Per-region state of the instance model. */
class InstanceRegion {
  readonly instances = new Map<string, SimInstance>();
  readonly volumes = new Map<string, SimVolume>();
  readonly subnets = new Map<string, SimSubnet>();
  readonly runTokens = new Map<string, RunToken>();
  vpcId?: string;
}

/** The instance's state at time `t`. */
export function instanceStateAt(instance: SimInstance, t: number): InstanceState {
  if (instance.terminateRequestedAt !== undefined && t >= instance.terminateRequestedAt)
    return t >= (instance.terminatedAt ?? Number.POSITIVE_INFINITY) ? 'terminated' : 'shutting-down';
  if (instance.stopRequestedAt !== undefined && t >= instance.stopRequestedAt)
    return t >= (instance.stoppedAt ?? Number.POSITIVE_INFINITY) ? 'stopped' : 'stopping';
  return t >= instance.truth.runningAt ? 'running' : 'pending';
}

type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted';

function volumeStateAt(volume: SimVolume, t: number): VolumeState {
  if (volume.deletedAt !== undefined && t >= volume.deletedAt) return 'deleted';
  if (volume.deleteRequestedAt !== undefined && t >= volume.deleteRequestedAt) return 'deleting';
  if (t < volume.availableAt) return 'creating';
  const a = volume.attachment;
  if (a && t >= a.requestedAt && (a.detachedAt === undefined || t < a.detachedAt)) return 'in-use';
  return 'available';
}

function attachmentStateAt(volume: SimVolume, t: number): 'attaching' | 'attached' | 'detaching' | undefined {
  const a = volume.attachment;
  if (!a || t < a.requestedAt || (a.detachedAt !== undefined && t >= a.detachedAt)) return undefined;
  if (a.detachRequestedAt !== undefined && t >= a.detachRequestedAt) return 'detaching';
  return t >= a.attachedAt ? 'attached' : 'attaching';
}

/** EC2 instances, their boots, consoles and volumes, and the account's subnets. */
export class InstanceModel {
  private readonly regions = new Map<string, InstanceRegion>();

  constructor(
    private readonly world: World,
    private readonly images: ImageModel,
  ) {}

  private state(region: string): InstanceRegion {
    return getOrCreate(this.regions, region, () => new InstanceRegion());
  }

  /** The account's default VPC in `region`: one subnet per zone, created on first use. */
  subnets(region: RegionState): SimSubnet[] {
    const state = this.state(region.name);
    if (!state.vpcId) {
      state.vpcId = this.world.newId('vpc');
      region.info.zones.forEach((suffix, index) => {
        this.addSubnet(region, `${region.name}${suffix}`, `172.31.${index * 16}`);
      });
    }
    return [...state.subnets.values()];
  }

  /** A further subnet in `zone` (the stack's isolated test subnets, say). */
  addSubnet(region: RegionState, zone: string, prefix?: string): SimSubnet {
    const state = this.state(region.name);
    if (!state.vpcId) this.subnets(region);
    if (!region.info.zones.some((suffix) => `${region.name}${suffix}` === zone))
      fault('InvalidParameterValue', `Value (${zone}) for parameter availabilityZone is invalid.`);
    const subnet: SimSubnet = {
      subnetId: this.world.newId('subnet'),
      vpcId: state.vpcId!,
      zone,
      region: region.name,
      prefix: prefix ?? `10.${20 + (state.subnets.size % 200)}.${state.subnets.size}`,
      nextHost: 4,
    };
    state.subnets.set(subnet.subnetId, subnet);
    return subnet;
  }

  instance(region: string, instanceId: string): SimInstance | undefined {
    return this.state(region).instances.get(instanceId);
  }

  allInstances(region?: string): SimInstance[] {
    const regions = region ? [this.state(region)] : [...this.regions.values()];
    return regions.flatMap((r) => [...r.instances.values()]);
  }

  allVolumes(region?: string): SimVolume[] {
    const regions = region ? [this.state(region)] : [...this.regions.values()];
    return regions.flatMap((r) => [...r.volumes.values()]);
  }

  /**
   * A private address of the subnet that no instance holds: a terminated instance gives its address back, so a /24
   * serves any number of launches over time, but at most 251 instances at once (InsufficientFreeAddressesInSubnet).
   */
  private freeAddress(state: { instances: Map<string, SimInstance> }, subnet: SimSubnet, now: number): string {
    const held = new Set<string>();
    for (const instance of state.instances.values())
      if (instance.subnet === subnet && instanceStateAt(instance, now) !== 'terminated') held.add(instance.privateIp);
    for (let host = subnet.nextHost; host <= 254; host++) {
      const ip = `${subnet.prefix}.${host}`;
      if (!held.has(ip)) return ip;
    }
    return fault(
      'InsufficientFreeAddressesInSubnet',
      `There are not enough free addresses in subnet '${subnet.subnetId}' to satisfy the requested number of instances.`,
    );
  }

  /** The instance answering at a private address now (the latest to hold it), for the simulated port probe. */
  hostAt(ip: string): ProbedHost | undefined {
    let holder: SimInstance | undefined;
    for (const region of this.regions.values())
      for (const instance of region.instances.values())
        if (instance.privateIp === ip && (!holder || instance.seq > holder.seq)) holder = instance;
    if (!holder) return undefined;
    const down = [holder.stopRequestedAt, holder.terminateRequestedAt].filter((t) => t !== undefined);
    return { truth: holder.truth, downAt: down.length ? Math.min(...down) : undefined };
  }

  /** Billable seconds per instance type: from `running` until a stop or terminate was asked for (or `now`). */
  instanceSeconds(now: number, minimumSeconds = 0): Record<string, number> {
    const out: Record<string, number> = {};
    for (const instance of this.allInstances()) {
      const start = instance.truth.runningAt;
      const end = Math.min(now, instance.stopRequestedAt ?? now, instance.terminateRequestedAt ?? now);
      if (end > start)
        out[instance.instanceType] = (out[instance.instanceType] ?? 0) + Math.max(minimumSeconds, (end - start) / 1000);
    }
    return out;
  }

  private requireInstance(region: string, instanceId: string | undefined, now: number): SimInstance {
    if (!instanceId || !INSTANCE_ID.test(instanceId))
      fault('InvalidInstanceID.Malformed', `Invalid id: "${instanceId ?? ''}"`);
    const instance = this.state(region).instances.get(instanceId);
    if (!instance || !this.visible(instance, now))
      fault('InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`);
    return instance;
  }

  private visible(instance: SimInstance, now: number): boolean {
    return (
      instance.terminatedAt === undefined ||
      now < instance.terminatedAt + this.world.physics.instances.terminatedVisibleMs
    );
  }

  private requireVolume(region: string, volumeId: string | undefined, now: number): SimVolume {
    if (!volumeId || !VOLUME_ID.test(volumeId)) fault('InvalidParameterValue', `Invalid id: "${volumeId ?? ''}"`);
    const volume = this.state(region).volumes.get(volumeId);
    if (!volume || volumeStateAt(volume, now) === 'deleted')
      fault('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
    return volume;
  }

  /** Tags of an instance or volume for CreateTags; fails the way EC2 does when it does not exist. */
  taggable(region: string, id: string): Map<string, string> {
    const now = this.world.now();
    return id.startsWith('i-') ? this.requireInstance(region, id, now).tags : this.requireVolume(region, id, now).tags;
  }

  private runningVcpus(bucket: string, now: number): number {
    let total = 0;
    for (const instance of this.allInstances()) {
      const state = instanceStateAt(instance, now);
      if (state === 'terminated' || state === 'stopped') continue;
      const info = instanceTypeInfo(instance.instanceType);
      if (info.vcpuBucket === bucket) total += info.vcpus;
    }
    return total;
  }

  RunInstances(region: RegionState, input: RunInstancesRequest, timing: CallTiming): Reservation {
    const now = this.world.now();
    const state = this.state(region.name);
    const request = stableJson({ ...input, ClientToken: undefined });
    if (input.ClientToken) {
      // "If you repeat a request with the same client token and the same parameters, the request returns the
      // result of the first one; with other parameters, IdempotentParameterMismatch" (EC2 idempotency docs).
      const known = state.runTokens.get(input.ClientToken);
      if (known) {
        if (known.request !== request)
          fault(
            'IdempotentParameterMismatch',
            'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
          );
        return this.reservation(
          known.reservationId,
          known.instanceIds.map((id) => state.instances.get(id)!),
          now,
        );
      }
    }
    if (!input.InstanceType) fault('MissingParameter', 'The request must contain the parameter InstanceType');
    const image = this.images.requireImage(region, input.ImageId);
    if (imageStateAt(image, now) !== 'available')
      fault('InvalidAMIID.Unavailable', `The image id '[${image.imageId}]' is not available`);
    const type = instanceTypeInfo(input.InstanceType);
    if (type.architecture !== image.architecture)
      fault(
        'InvalidParameterValue',
        `The architecture '${type.architecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.`,
      );
    const subnets = this.subnets(region);
    let subnet: SimSubnet | undefined;
    if (input.SubnetId) {
      subnet = state.subnets.get(input.SubnetId);
      if (!subnet) fault('InvalidSubnetID.NotFound', `The subnet ID '${input.SubnetId}' does not exist`);
    } else {
      const zone = input.Placement?.AvailabilityZone;
      subnet = zone ? subnets.find((s) => s.zone === zone) : subnets[0];
      if (!subnet) fault('InvalidParameterValue', `Invalid availability zone: [${zone}]`);
    }
    const zone = subnet.zone;
    const otherZones = region.info.zones.map((s) => `${region.name}${s}`).filter((z) => z !== zone);
    if (this.world.physics.instances.unsupported[zone]?.includes(input.InstanceType))
      fault(
        'Unsupported',
        `Your requested instance type (${input.InstanceType}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing ${otherZones.join(', ')}.`,
      );
    const random = this.world.random(`capacity:${this.world.counters.calls({ operation: 'RunInstances' })}`);
    if (this.world.physics.instances.insufficientCapacity(input.InstanceType, zone, now, random))
      // A server error (HTTP 500) in EC2's error list, so the SDK's retries see it as transient.
      fault(
        'InsufficientInstanceCapacity',
        `We currently do not have sufficient ${input.InstanceType} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity. You can currently get ${input.InstanceType} capacity by not specifying an Availability Zone in your request or choosing ${otherZones.join(', ')}.`,
        500,
      );
    const count = Math.max(1, input.MaxCount ?? input.MinCount ?? 1);
    const limit = this.world.physics.instances.vcpuLimits[type.vcpuBucket];
    if (limit !== undefined && this.runningVcpus(type.vcpuBucket, now) + count * type.vcpus > limit)
      fault(
        'VcpuLimitExceeded',
        `You have requested more vCPU capacity than your current vCPU limit of ${limit} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
      );
    const reservationId = this.world.newId('r');
    const tagsFor = (resourceType: string, id: string) => {
      const tags = new Map<string, string>();
      for (const spec of input.TagSpecifications ?? [])
        if (spec.ResourceType === resourceType) applyTags(tags, spec.Tags, id);
      return tags;
    };
    const instances: SimInstance[] = [];
    for (let index = 0; index < count; index++) {
      const instanceId = this.world.newId('i');
      const truth = planBoot(this.world, this.world.physics, {
        instanceId,
        region: region.name,
        instanceType: input.InstanceType,
        imageId: image.imageId,
        imageName: image.name,
        architecture: image.architecture,
        requestedAt: now,
        returnedAt: timing.respondsAt,
      });
      const root = image.mappings.find((m) => m.deviceName === image.rootDeviceName) ?? image.mappings[0];
      const instance: SimInstance = {
        instanceId,
        region: region.name,
        reservationId,
        seq: this.world.nextSeq(),
        instanceType: input.InstanceType,
        imageId: image.imageId,
        architecture: image.architecture,
        subnet,
        privateIp: this.freeAddress(state, subnet, now),
        securityGroupIds: [...(input.SecurityGroupIds ?? [])],
        clientToken: input.ClientToken,
        metadataOptions: { ...input.MetadataOptions },
        tags: tagsFor('instance', instanceId),
        truth,
        rootDeviceName: image.rootDeviceName,
        volumeIds: new Set(),
        attaches: 0,
      };
      state.instances.set(instanceId, instance);
      if (root) {
        const volume = this.addVolume(region.name, {
          zone,
          size: root.volumeSize,
          volumeType: root.volumeType,
          encrypted: root.encrypted || region.encryptionByDefault,
          snapshotId: root.snapshotId,
          createdAt: now,
          availableAt: now,
          tags: tagsFor('volume', instanceId),
        });
        volume.attachment = {
          instanceId,
          device: image.rootDeviceName,
          requestedAt: now,
          attachedAt: now,
          deleteOnTermination: root.deleteOnTermination,
        };
        instance.volumeIds.add(volume.volumeId);
      }
      instances.push(instance);
    }
    image.lastLaunchedAt = now;
    if (input.ClientToken)
      state.runTokens.set(input.ClientToken, {
        request,
        reservationId,
        instanceIds: instances.map((i) => i.instanceId),
      });
    this.world.counters.add(`instancesLaunched:${region.name}`, instances.length);
    return this.reservation(reservationId, instances, now);
  }

  private reservation(reservationId: string, instances: SimInstance[], now: number): Reservation {
    return {
      ReservationId: reservationId,
      OwnerId: this.world.accountId,
      Groups: [],
      Instances: instances.map((i, index) => this.toInstance(i, now, index)),
    };
  }

  private toInstance(instance: SimInstance, now: number, launchIndex = 0): Instance {
    const state = instanceStateAt(instance, now);
    const info = instanceTypeInfo(instance.instanceType);
    const volumes = [...instance.volumeIds]
      .map((id) => this.state(instance.region).volumes.get(id))
      .filter((v): v is SimVolume => v !== undefined && attachmentStateAt(v, now) !== undefined);
    const ended = state === 'terminated' || state === 'shutting-down';
    return {
      InstanceId: instance.instanceId,
      ImageId: instance.imageId,
      InstanceType: instance.instanceType as Instance['InstanceType'],
      State: { Code: INSTANCE_STATE_CODES[state], Name: state },
      StateTransitionReason: ended
        ? `User initiated (${isoAt(instance.terminateRequestedAt!)})`
        : state === 'stopped' || state === 'stopping'
          ? `User initiated (${isoAt(instance.stopRequestedAt!)})`
          : '',
      StateReason: ended
        ? { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' }
        : undefined,
      PrivateIpAddress: state === 'terminated' ? undefined : instance.privateIp,
      PrivateDnsName: state === 'terminated' ? '' : `ip-${instance.privateIp.replaceAll('.', '-')}.ec2.internal`,
      Placement: { AvailabilityZone: instance.subnet.zone, Tenancy: 'default' },
      SubnetId: state === 'terminated' ? undefined : instance.subnet.subnetId,
      VpcId: state === 'terminated' ? undefined : instance.subnet.vpcId,
      LaunchTime: dateAt(instance.truth.requestedAt),
      AmiLaunchIndex: launchIndex,
      Architecture: instance.architecture as Instance['Architecture'],
      Hypervisor: 'xen',
      VirtualizationType: 'hvm',
      EnaSupport: true,
      RootDeviceName: instance.rootDeviceName,
      RootDeviceType: 'ebs',
      ClientToken: instance.clientToken ?? '',
      SecurityGroups: instance.securityGroupIds.map((GroupId) => ({ GroupId })),
      MetadataOptions: {
        State: 'applied',
        HttpTokens: (instance.metadataOptions.HttpTokens ?? 'required') as 'required',
        HttpEndpoint: (instance.metadataOptions.HttpEndpoint ?? 'enabled') as 'enabled',
        HttpPutResponseHopLimit: instance.metadataOptions.HttpPutResponseHopLimit ?? 2,
      },
      Monitoring: { State: 'disabled' },
      BlockDeviceMappings: volumes.map((v) => ({
        DeviceName: v.attachment!.device,
        Ebs: {
          VolumeId: v.volumeId,
          Status: attachmentStateAt(v, now),
          AttachTime: dateAt(v.attachment!.requestedAt),
          DeleteOnTermination: v.attachment!.deleteOnTermination,
        },
      })),
      CpuOptions: { CoreCount: Math.max(1, info.vcpus / 2), ThreadsPerCore: info.architecture === 'arm64' ? 1 : 2 },
      Tags: toTagList(instance.tags),
    };
  }

  private instanceFields(instance: SimInstance, now: number): FilterFields {
    return (name) => {
      const state = instanceStateAt(instance, now);
      switch (name) {
        case 'architecture':
          return [instance.architecture];
        case 'availability-zone':
          return [instance.subnet.zone];
        case 'client-token':
          return instance.clientToken ? [instance.clientToken] : [];
        case 'image-id':
          return [instance.imageId];
        case 'instance-id':
          return [instance.instanceId];
        case 'instance-state-code':
          return [String(INSTANCE_STATE_CODES[state])];
        case 'instance-state-name':
          return [state];
        case 'instance-type':
          return [instance.instanceType];
        case 'launch-time':
          return [isoAt(instance.truth.requestedAt)];
        case 'private-ip-address':
          return [instance.privateIp];
        case 'reservation-id':
          return [instance.reservationId];
        case 'subnet-id':
          return [instance.subnet.subnetId];
        case 'vpc-id':
          return [instance.subnet.vpcId];
        default:
          return tagFields(instance.tags, name);
      }
    };
  }

  DescribeInstances(region: RegionState, input: DescribeInstancesRequest): DescribeInstancesResult {
    const now = this.world.now();
    const state = this.state(region.name);
    if (input.InstanceIds?.length && input.MaxResults !== undefined)
      fault('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    const filters = compileFilters(input.Filters, INSTANCE_FILTERS);
    let candidates: Iterable<SimInstance> = state.instances.values();
    if (input.InstanceIds?.length) {
      const missing = input.InstanceIds.filter((id) => {
        if (!INSTANCE_ID.test(id)) fault('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
        const instance = state.instances.get(id);
        return !instance || !this.visible(instance, now);
      });
      if (missing.length)
        fault(
          'InvalidInstanceID.NotFound',
          `The instance ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' do${missing.length > 1 ? '' : 'es'} not exist`,
        );
      candidates = input.InstanceIds.map((id) => state.instances.get(id)!).sort((a, b) => a.seq - b.seq);
    }
    const matching = function* (this: InstanceModel) {
      for (const instance of candidates) {
        if (!this.visible(instance, now)) continue;
        if (filters.count && !filters.matches(this.instanceFields(instance, now))) continue;
        yield instance;
      }
    }.call(this);
    const page = paginate(matching, (i) => i.seq, input, queryKey('DescribeInstances', input));
    const reservations = new Map<string, SimInstance[]>();
    for (const instance of page.items) {
      const list = reservations.get(instance.reservationId) ?? [];
      list.push(instance);
      reservations.set(instance.reservationId, list);
    }
    return {
      Reservations: [...reservations].map(([id, instances]) => this.reservation(id, instances, now)),
      NextToken: page.nextToken,
    };
  }

  private change(instance: SimInstance, previous: string, now: number): InstanceStateChange {
    const current = instanceStateAt(instance, now);
    return {
      InstanceId: instance.instanceId,
      CurrentState: { Code: INSTANCE_STATE_CODES[current], Name: current },
      PreviousState: { Code: INSTANCE_STATE_CODES[previous], Name: previous as 'running' },
    };
  }

  TerminateInstances(region: RegionState, input: TerminateInstancesRequest): TerminateInstancesResult {
    const now = this.world.now();
    const instances = (input.InstanceIds ?? []).map((id) => this.requireInstance(region.name, id, now));
    const changes = instances.map((instance) => {
      const previous = instanceStateAt(instance, now);
      if (instance.terminateRequestedAt === undefined) {
        instance.terminateRequestedAt = now;
        const terminatedAt =
          now + this.world.draw(this.world.physics.instances.terminateMs, `terminate:${instance.instanceId}`);
        instance.terminatedAt = terminatedAt;
        for (const volumeId of instance.volumeIds) {
          const volume = this.state(region.name).volumes.get(volumeId);
          const a = volume?.attachment;
          if (!volume || !a || (a.detachedAt !== undefined && a.detachedAt <= now)) continue;
          a.detachedAt = Math.min(a.detachedAt ?? terminatedAt, terminatedAt);
          if (a.deleteOnTermination) {
            volume.deleteRequestedAt = terminatedAt;
            volume.deletedAt = terminatedAt;
          }
        }
      }
      return this.change(instance, previous, now);
    });
    return { TerminatingInstances: changes };
  }

  StopInstances(region: RegionState, input: StopInstancesRequest): StopInstancesResult {
    const now = this.world.now();
    const instances = (input.InstanceIds ?? []).map((id) => this.requireInstance(region.name, id, now));
    const changes = instances.map((instance) => {
      const previous = instanceStateAt(instance, now);
      if (previous === 'terminated' || previous === 'shutting-down')
        fault(
          'IncorrectInstanceState',
          `This instance '${instance.instanceId}' is not in a state from which it can be stopped.`,
        );
      if (instance.stopRequestedAt === undefined) {
        instance.stopRequestedAt = now;
        // A forced stop (`Force`) does not wait for the operating system.
        instance.stoppedAt = now + (input.Force ? 5000 : instance.truth.stopMs);
      }
      return this.change(instance, previous, now);
    });
    return { StoppingInstances: changes };
  }

  GetConsoleOutput(region: RegionState, input: GetConsoleOutputRequest): GetConsoleOutputResult {
    const now = this.world.now();
    const instance = this.requireInstance(region.name, input.InstanceId, now);
    const info = instanceTypeInfo(instance.instanceType);
    if (input.Latest && !info.nitro)
      // "Latest=true works on Nitro types only" (DESIGN.md; GetConsoleOutput docs). The error code is an assumption.
      fault(
        'UnsupportedOperation',
        'The latest console output is only available on instances built on the Nitro System.',
      );
    let at = now;
    if (!input.Latest) {
      // Without Latest, the console is a capture taken some minutes after boot, then periodically.
      const every = this.world.physics.instances.consoleCaptureMs;
      if (every > 0) {
        const since = now - instance.truth.runningAt;
        if (since < every) return { InstanceId: instance.instanceId, Timestamp: dateAt(now) };
        at = instance.truth.runningAt + Math.floor(since / every) * every;
      }
    }
    const text = consoleTextAt(instance.truth, instance.architecture, at);
    return {
      InstanceId: instance.instanceId,
      Timestamp: dateAt(at),
      Output: text ? Buffer.from(text, 'utf8').toString('base64') : undefined,
    };
  }

  private addVolume(
    region: string,
    spec: Omit<SimVolume, 'volumeId' | 'region' | 'seq' | 'tags'> & { tags: Map<string, string> },
  ): SimVolume {
    const volume: SimVolume = { ...spec, volumeId: this.world.newId('vol'), region, seq: this.world.nextSeq() };
    this.state(region).volumes.set(volume.volumeId, volume);
    return volume;
  }

  private toVolume(volume: SimVolume, now: number): Volume {
    const attachmentState = attachmentStateAt(volume, now);
    const attachments: VolumeAttachment[] =
      attachmentState && volume.attachment
        ? [
            {
              VolumeId: volume.volumeId,
              InstanceId: volume.attachment.instanceId,
              Device: volume.attachment.device,
              State: attachmentState,
              AttachTime: dateAt(volume.attachment.requestedAt),
              DeleteOnTermination: volume.attachment.deleteOnTermination,
            },
          ]
        : [];
    return {
      VolumeId: volume.volumeId,
      Size: volume.size,
      AvailabilityZone: volume.zone,
      State: volumeStateAt(volume, now) as Volume['State'],
      CreateTime: dateAt(volume.createdAt),
      VolumeType: volume.volumeType as Volume['VolumeType'],
      Encrypted: volume.encrypted,
      SnapshotId: volume.snapshotId ?? '',
      Iops: 3000,
      Throughput: volume.volumeType === 'gp3' ? 125 : undefined,
      MultiAttachEnabled: false,
      Attachments: attachments,
      Tags: toTagList(volume.tags),
    };
  }

  CreateVolume(region: RegionState, input: CreateVolumeRequest): Volume {
    const now = this.world.now();
    const zone = input.AvailabilityZone;
    if (!zone || !region.info.zones.some((s) => `${region.name}${s}` === zone))
      fault('InvalidParameterValue', `Value (${zone}) for parameter availabilityZone is invalid.`);
    let size = input.Size;
    let encrypted = (input.Encrypted ?? false) || region.encryptionByDefault;
    if (input.SnapshotId) {
      const snapshot = this.images.requireSnapshot(region, input.SnapshotId);
      size ??= snapshot.volumeSize;
      encrypted ||= snapshot.encrypted;
    }
    if (!size) fault('MissingParameter', 'The request must contain the parameter size or snapshotId');
    const volumeId = this.world.newId('vol');
    const tags = new Map<string, string>();
    for (const spec of input.TagSpecifications ?? [])
      if (spec.ResourceType === 'volume') applyTags(tags, spec.Tags, volumeId);
    const volume: SimVolume = {
      volumeId,
      region: region.name,
      seq: this.world.nextSeq(),
      zone,
      size,
      volumeType: input.VolumeType ?? 'gp2',
      encrypted,
      snapshotId: input.SnapshotId,
      createdAt: now,
      availableAt: now + this.world.draw(this.world.physics.volumes.createMs, `create:${volumeId}`),
      tags,
    };
    this.state(region.name).volumes.set(volumeId, volume);
    return this.toVolume(volume, now);
  }

  AttachVolume(region: RegionState, input: AttachVolumeRequest): VolumeAttachment {
    const now = this.world.now();
    const volume = this.requireVolume(region.name, input.VolumeId, now);
    const instance = this.requireInstance(region.name, input.InstanceId, now);
    const state = volumeStateAt(volume, now);
    if (state === 'in-use') fault('VolumeInUse', `${volume.volumeId} is already attached to an instance`);
    if (state !== 'available') fault('IncorrectState', `vol '${volume.volumeId}' is not 'available'.`);
    const instanceState = instanceStateAt(instance, now);
    if (instanceState !== 'running' && instanceState !== 'stopped')
      fault('IncorrectState', `Instance '${instance.instanceId}' is not 'running'.`);
    if (volume.zone !== instance.subnet.zone)
      fault(
        'InvalidVolume.ZoneMismatch',
        `The volume '${volume.volumeId}' is not in the same availability zone as instance '${instance.instanceId}'`,
      );
    const device = input.Device ?? '';
    const taken = [...instance.volumeIds].some((id) => {
      const other = this.state(region.name).volumes.get(id);
      return other?.attachment?.device === device && attachmentStateAt(other, now) !== undefined;
    });
    if (taken) fault('InvalidParameterValue', `Attachment point ${device} is already in use`);
    instance.attaches++;
    const limit = instance.truth.hotplugLimit;
    const hangs = limit !== undefined && instance.attaches > limit;
    volume.attachment = {
      instanceId: instance.instanceId,
      device,
      requestedAt: now,
      attachedAt: hangs
        ? Number.POSITIVE_INFINITY
        : now + this.world.draw(this.world.physics.volumes.attachMs, `attach:${volume.volumeId}:${instance.attaches}`),
      deleteOnTermination: false,
    };
    instance.volumeIds.add(volume.volumeId);
    return {
      VolumeId: volume.volumeId,
      InstanceId: instance.instanceId,
      Device: device,
      State: 'attaching',
      AttachTime: dateAt(now),
      DeleteOnTermination: false,
    };
  }

  DetachVolume(region: RegionState, input: DetachVolumeRequest): VolumeAttachment {
    const now = this.world.now();
    const volume = this.requireVolume(region.name, input.VolumeId, now);
    const a = volume.attachment;
    const current = attachmentStateAt(volume, now);
    if (!a || current === undefined)
      fault('IncorrectState', `Volume '${volume.volumeId}' is in the '${volumeStateAt(volume, now)}' state.`);
    if (input.InstanceId && input.InstanceId !== a.instanceId)
      fault('InvalidAttachment.NotFound', `The volume ${volume.volumeId} is not attached to ${input.InstanceId}`);
    if (a.detachRequestedAt === undefined || input.Force) {
      a.detachRequestedAt = now;
      // A stuck attachment only lets go when forced.
      const stuck = a.attachedAt === Number.POSITIVE_INFINITY && !input.Force;
      a.detachedAt = stuck
        ? Number.POSITIVE_INFINITY
        : now +
          (input.Force
            ? 1000
            : this.world.draw(this.world.physics.volumes.detachMs, `detach:${volume.volumeId}:${now}`));
    }
    return {
      VolumeId: volume.volumeId,
      InstanceId: a.instanceId,
      Device: a.device,
      State: 'detaching',
      AttachTime: dateAt(a.requestedAt),
      DeleteOnTermination: a.deleteOnTermination,
    };
  }

  DeleteVolume(region: RegionState, input: DeleteVolumeRequest): Record<string, never> {
    const now = this.world.now();
    const volume = this.requireVolume(region.name, input.VolumeId, now);
    const state = volumeStateAt(volume, now);
    if (state === 'in-use')
      fault('VolumeInUse', `Volume ${volume.volumeId} is currently attached to ${volume.attachment?.instanceId}`);
    if (volume.deleteRequestedAt === undefined) {
      volume.deleteRequestedAt = now;
      volume.deletedAt = now + this.world.draw(this.world.physics.volumes.deleteMs, `delete:${volume.volumeId}`);
    }
    return {};
  }

  private volumeFields(volume: SimVolume, now: number): FilterFields {
    return (name) => {
      const a = volume.attachment;
      const attached = attachmentStateAt(volume, now);
      switch (name) {
        case 'attachment.device':
          return attached && a ? [a.device] : [];
        case 'attachment.instance-id':
          return attached && a ? [a.instanceId] : [];
        case 'attachment.status':
          return attached ? [attached] : [];
        case 'availability-zone':
          return [volume.zone];
        case 'create-time':
          return [isoAt(volume.createdAt)];
        case 'encrypted':
          return [String(volume.encrypted)];
        case 'size':
          return [String(volume.size)];
        case 'snapshot-id':
          return volume.snapshotId ? [volume.snapshotId] : [];
        case 'status':
          return [volumeStateAt(volume, now)];
        case 'volume-id':
          return [volume.volumeId];
        case 'volume-type':
          return [volume.volumeType];
        default:
          return tagFields(volume.tags, name);
      }
    };
  }

  DescribeVolumes(region: RegionState, input: DescribeVolumesRequest): DescribeVolumesResult {
    const now = this.world.now();
    const state = this.state(region.name);
    if (input.VolumeIds?.length && input.MaxResults !== undefined)
      fault('InvalidParameterCombination', 'The parameter volumeSet cannot be used with the parameter maxResults');
    const filters = compileFilters(input.Filters, VOLUME_FILTERS);
    let candidates: Iterable<SimVolume> = state.volumes.values();
    if (input.VolumeIds?.length)
      candidates = input.VolumeIds.map((id) => this.requireVolume(region.name, id, now)).sort((a, b) => a.seq - b.seq);
    const matching = function* (this: InstanceModel) {
      for (const volume of candidates) {
        if (volumeStateAt(volume, now) === 'deleted') continue;
        if (filters.count && !filters.matches(this.volumeFields(volume, now))) continue;
        yield volume;
      }
    }.call(this);
    const page = paginate(matching, (v) => v.seq, input, queryKey('DescribeVolumes', input), { min: 5, max: 500 });
    return { Volumes: page.items.map((v) => this.toVolume(v, now)), NextToken: page.nextToken };
  }
}
