import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { ClientFactory } from '../../lambdas/aws/clients';
import type { ResourceDescriber, ResourceRef, ResourceState } from './call-recorder';

const tagsOf = (tags: readonly Tag[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : [])));

type Described = Omit<ResourceState, 'service' | 'region' | 'exists'>;

/** Reads one kind of resource by id; an id the emulator does not know is simply left out of the answer. */
async function describeKind(ec2: EC2Client, prefix: string, ids: string[], account: string): Promise<Described[]> {
  const owned = (owner?: string) => ({ owner, ownedByAccount: owner === account });
  const each = async <T>(read: (id: string) => Promise<T[]>): Promise<T[]> => {
    // One id at a time: a single unknown id fails the whole request.
    const results = await Promise.all(ids.map((id) => read(id).catch(() => [] as T[])));
    return results.flat();
  };
  switch (prefix) {
    case 'ami':
      return each(async (id) =>
        ((await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images ?? []).map((i) => ({
          id: i.ImageId!,
          type: 'image',
          tags: tagsOf(i.Tags),
          ...owned(i.OwnerId),
          public: i.Public ?? false,
          rootDeviceType: i.RootDeviceType ?? 'ebs',
          imageType: i.ImageType ?? 'machine',
          snapshotIds: (i.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])),
        })),
      );
    case 'snap':
      return each(async (id) =>
        ((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots ?? []).map((s) => ({
          id: s.SnapshotId!,
          type: 'snapshot',
          tags: tagsOf(s.Tags),
          ...owned(s.OwnerId),
          volumeSize: s.VolumeSize,
          encrypted: s.Encrypted ?? false,
        })),
      );
    case 'i':
      return each(async (id) =>
        ((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations ?? [])
          .flatMap((r) => (r.Instances ?? []).map((i) => ({ ...i, OwnerId: r.OwnerId })))
          .map((i) => ({
            id: i.InstanceId!,
            type: 'instance',
            tags: tagsOf(i.Tags),
            ...owned(i.OwnerId ?? account),
            instanceType: i.InstanceType,
            availabilityZone: i.Placement?.AvailabilityZone,
            vpcId: i.VpcId,
            subnetId: i.SubnetId,
            metadataHttpTokens: i.MetadataOptions?.HttpTokens,
            rootDeviceType: i.RootDeviceType,
          })),
      );
    case 'vol':
      return each(async (id) =>
        ((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes ?? []).map((v) => ({
          id: v.VolumeId!,
          type: 'volume',
          tags: tagsOf(v.Tags),
          ...owned(account),
          availabilityZone: v.AvailabilityZone,
          volumeSize: v.Size,
          volumeType: v.VolumeType,
          encrypted: v.Encrypted ?? false,
        })),
      );
    case 'eni':
      return each(async (id) =>
        (
          (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces ?? []
        ).map((n) => ({
          id: n.NetworkInterfaceId!,
          type: 'network-interface',
          tags: tagsOf(n.TagSet),
          ...owned(n.OwnerId ?? account),
          availabilityZone: n.AvailabilityZone,
          vpcId: n.VpcId,
          subnetId: n.SubnetId,
        })),
      );
    case 'subnet':
      return each(async (id) =>
        ((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [id] }))).Subnets ?? []).map((s) => ({
          id: s.SubnetId!,
          type: 'subnet',
          tags: tagsOf(s.Tags),
          ...owned(s.OwnerId ?? account),
          availabilityZone: s.AvailabilityZone,
          vpcId: s.VpcId,
        })),
      );
    case 'sg':
      return each(async (id) =>
        ((await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups ?? []).map((g) => ({
          id: g.GroupId!,
          type: 'security-group',
          tags: tagsOf(g.Tags),
          ...owned(g.OwnerId ?? account),
          vpcId: g.VpcId,
        })),
      );
    default:
      return [];
  }
}

const TYPE_OF_PREFIX: Readonly<Record<string, string>> = {
  ami: 'image',
  snap: 'snapshot',
  i: 'instance',
  vol: 'volume',
  eni: 'network-interface',
  subnet: 'subnet',
  sg: 'security-group',
  vpc: 'vpc',
};

/** The state of a resource the API cannot describe (a simulated account has no VPC API), or undefined. */
export type DescribedElsewhere = (
  region: string,
  type: string,
  id: string,
) => Omit<ResourceState, 'service'> | undefined;

/**
 * Resource states read from the emulator with an admin client that records nothing. An image brings the states of
 * its snapshots along (CopyImage and DeleteAssociatedSnapshots authorize them too); an unknown id is reported as
 * not existing.
 */
export function motoDescriber(admin: ClientFactory, account: string): ResourceDescriber {
  return ec2Describer(admin, account);
}

/** Resource states read through an admin client's EC2 Describe calls, `elsewhere` filling in what they cannot. */
export function ec2Describer(
  admin: ClientFactory,
  account: string,
  elsewhere: DescribedElsewhere = () => undefined,
): ResourceDescriber {
  return async (refs: readonly ResourceRef[]) => {
    const states: ResourceState[] = [];
    const read = async (region: string, wanted: readonly ResourceRef[]) => {
      const ec2 = admin.client(EC2Client, region);
      const byPrefix = new Map<string, string[]>();
      for (const ref of wanted) {
        const prefix = ref.id.split('-')[0]!;
        byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), ref.id]);
      }
      const found: ResourceState[] = [];
      for (const [prefix, ids] of byPrefix) {
        const described = await describeKind(ec2, prefix, [...new Set(ids)], account);
        for (const id of new Set(ids)) {
          const state = described.find((d) => d.id === id);
          const type = TYPE_OF_PREFIX[prefix] ?? prefix;
          const other = state ? undefined : elsewhere(region, type, id);
          found.push(
            state
              ? { ...state, service: 'ec2', region, exists: true }
              : other
                ? { ...other, service: 'ec2' }
                : { service: 'ec2', region, id, type, exists: false, tags: {} },
          );
        }
      }
      return found;
    };
    const byRegion = new Map<string, ResourceRef[]>();
    for (const ref of refs.filter((r) => r.service === 'ec2'))
      byRegion.set(ref.region, [...(byRegion.get(ref.region) ?? []), ref]);
    for (const [region, wanted] of byRegion) {
      const first = await read(region, wanted);
      states.push(...first);
      const known = new Set(first.map((s) => s.id));
      const snapshots = first
        .flatMap((s) => s.snapshotIds ?? [])
        .filter((id) => !known.has(id))
        .map((id) => ({ service: 'ec2', region, id }));
      if (snapshots.length > 0) states.push(...(await read(region, snapshots)));
    }
    return states;
  };
}
