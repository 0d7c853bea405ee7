import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Filter,
  RunInstancesCommand,
  type Tag,
  type TagSpecification,
} from '@aws-sdk/client-ec2';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ReproCheck, ReproImage } from '../../core/repro/plan';
import { describeError, errorCode, PipelineError } from '../../core/errors';
import { type ManagedTag, TAG, tagRecord } from '../../core/tags';
import { CLEANUP_WAITS, type CleanupReport, cleanupRun } from '../boot/cleanup';
import type { BootEc2Context } from '../boot/context';
import { CAPACITY_ERRORS } from '../boot/instances';
import type { Clock, RateLimiter } from '../rate-limiter';

/** Where check instances run: subnets tried in order, their security group, and the instance profile they get. */
export interface ReproNetwork {
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly instanceProfileArn: string;
}

/** A launched check: its instance and the volume made from the AMI's root snapshot. */
export interface LaunchedCheck {
  readonly instanceId: string;
  readonly availabilityZone: string;
  readonly volumeId: string;
  /** Epoch milliseconds of the launch; the time budget counts from it. */
  readonly launchedAt: number;
}

/** A check that could not be launched in any test subnet. */
export class ReproLaunchError extends PipelineError {
  override readonly name: string = 'ReproLaunchError';
}

/** Objects a check's instance writes under its prefix; the summary comes last. */
export const REPRO_OBJECTS = {
  summary: 'summary.json',
  diffoscopeText: 'diffoscope.txt',
  diffoscopeJson: 'diffoscope.json',
  logTail: 'build-log-tail.txt',
  tools: 'tools.txt',
} as const;

/** Device name the AMI's root snapshot is attached at (the scratch volume is `/dev/sdf`). */
export const REFERENCE_DEVICE = '/dev/sdg';
const SCRATCH_DEVICE = '/dev/sdf';

/** Tags of everything a check creates; IAM conditions, the cleanup and the sweeper rely on them. */
export function reproTags(managed: ManagedTag, runId: string, check: Pick<ReproCheck, 'imageId' | 'week'>): Tag[] {
  return [
    { Key: managed.key, Value: managed.value },
    { Key: TAG.repro, Value: runId },
    { Key: TAG.sourceImage, Value: check.imageId },
    { Key: 'Name', Value: `repro ${check.week} ${check.imageId}` },
  ];
}

/** The filters that narrow a run's cleanup to one check's instance and volumes. */
export function checkFilters(check: Pick<ReproCheck, 'imageId'>): Filter[] {
  return [{ Name: `tag:${TAG.sourceImage}`, Values: [check.imageId] }];
}

/**
 * Terminates the instances and deletes the volumes of a reproducibility run in `region`, all of them or, with
 * `check`, only those of that check: the boot test's cleanup, scoped by the run's repro tag.
 */
export function cleanupReproRun(
  ctx: BootEc2Context & { readonly managed: ManagedTag },
  runId: string,
  check?: Pick<ReproCheck, 'imageId'>,
): Promise<CleanupReport> {
  const scope = { tagKey: TAG.repro, ...(check && { filters: checkFilters(check) }) };
  return cleanupRun({ ...ctx, waits: CLEANUP_WAITS, scope }, runId);
}

const specifications = (tags: Tag[], types: readonly ('instance' | 'volume' | 'network-interface')[]) =>
  types.map((ResourceType): TagSpecification => ({ ResourceType, Tags: tags }));

/** The managed builder images of the build region, with each one's root snapshot. */
export async function listBuilderImages(
  ec2: EC2Client,
  limiter: RateLimiter,
  region: string,
  managed: ManagedTag,
  imageIds?: readonly string[],
): Promise<ReproImage[]> {
  const images: ReproImage[] = [];
  let token: string | undefined;
  do {
    const page = await limiter.run(region, 'DescribeImages', () =>
      ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          ImageIds: imageIds?.length ? [...imageIds] : undefined,
          Filters: [
            { Name: `tag:${managed.key}`, Values: [managed.value] },
            { Name: 'state', Values: ['available'] },
          ],
          NextToken: token,
        }),
      ),
    );
    for (const image of page.Images ?? []) {
      if (!image.ImageId || !image.Name) continue;
      const root =
        image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName) ??
        image.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId);
      images.push({
        imageId: image.ImageId,
        region,
        name: image.Name,
        description: image.Description,
        tags: tagRecord(image.Tags),
        rootSnapshotId: root?.Ebs?.SnapshotId,
        rootDeviceName: image.RootDeviceName,
        rootVolumeGiB: root?.Ebs?.VolumeSize,
      });
    }
    token = page.NextToken;
  } while (token);
  return images;
}

/**
 * Launches a check's instance (IMDSv2 required, no key pair, the instance profile that may only put its outputs,
 * a blank scratch volume, terminate on power-off, tagged) and creates a volume from the AMI's root snapshot in its
 * zone, tagged likewise; the poll attaches it once the instance runs. Tokens make a retried step reuse both.
 */
export async function launchCheck(
  ec2: EC2Client,
  limiter: RateLimiter,
  clock: Pick<Clock, 'now'>,
  region: string,
  check: ReproCheck,
  network: ReproNetwork,
  tags: Tag[],
  userData: string,
  scratchVolumeGiB: number,
): Promise<LaunchedCheck> {
  const refusals: string[] = [];
  for (const [index, subnetId] of network.subnetIds.entries()) {
    try {
      const response = await limiter.run(region, 'RunInstances', () =>
        ec2.send(
          new RunInstancesCommand({
            ImageId: check.imageId,
            InstanceType: check.instanceType as never,
            MinCount: 1,
            MaxCount: 1,
            ClientToken: `${check.clientToken}-${index}`,
            SubnetId: subnetId,
            SecurityGroupIds: [...network.securityGroupIds],
            IamInstanceProfile: { Arn: network.instanceProfileArn },
            UserData: Buffer.from(userData, 'utf8').toString('base64'),
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
            InstanceInitiatedShutdownBehavior: 'terminate',
            BlockDeviceMappings: [
              {
                DeviceName: SCRATCH_DEVICE,
                Ebs: { VolumeSize: scratchVolumeGiB, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: true },
              },
            ],
            TagSpecifications: specifications(tags, ['instance', 'volume', 'network-interface']),
          }),
        ),
      );
      const instance = response.Instances?.[0];
      if (!instance?.InstanceId) throw new ReproLaunchError('RunInstances returned no instance');
      const availabilityZone = instance.Placement?.AvailabilityZone ?? '';
      const volume = await limiter.run(region, 'CreateVolume', () =>
        ec2.send(
          new CreateVolumeCommand({
            SnapshotId: check.rootSnapshotId,
            AvailabilityZone: availabilityZone,
            VolumeType: 'gp3',
            ClientToken: `${check.clientToken}-ref-${index}`,
            TagSpecifications: specifications(tags, ['volume']),
          }),
        ),
      );
      return { instanceId: instance.InstanceId, availabilityZone, volumeId: volume.VolumeId!, launchedAt: clock.now() };
    } catch (error) {
      const { code, message } = describeError(error);
      if (code && CAPACITY_ERRORS.has(code)) {
        refusals.push(`${subnetId}: ${code}`);
        continue;
      }
      throw new ReproLaunchError(`launch of ${check.imageId} on ${check.instanceType} failed: ${message}`, {
        cause: error,
      });
    }
  }
  throw new ReproLaunchError(`no capacity for ${check.instanceType} in any subnet (${refusals.join('; ')})`);
}

/** What one look at a running check found. */
export interface CheckPoll {
  /** Set once the workflow stops waiting: the summary is there, the instance is gone, or time ran out. */
  readonly ended?: 'reported' | 'instance-ended' | 'timeout';
  readonly instanceState: string;
  readonly attached: boolean;
  /** Seconds until the next look (the Wait state reads them). */
  readonly waitSeconds: number;
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'NotFound' || code === 'NoSuchKey' || code === '404') return false;
    throw error;
  }
}

/**
 * One look at a check: is its summary in the bucket, is its instance still there, has the time budget with its grace
 * run out; and, once the instance runs, the AMI snapshot's volume is attached (EC2 attaches only to running instances).
 */
export async function pollCheck(
  ec2: EC2Client,
  s3: S3Client,
  limiter: RateLimiter,
  clock: Pick<Clock, 'now'>,
  region: string,
  outputs: CheckOutputs,
  check: ReproCheck,
  launched: LaunchedCheck,
  options: { readonly pollSeconds: number; readonly graceMinutes: number },
): Promise<CheckPoll> {
  const reported = await objectExists(s3, outputs.bucket, `${outputs.folder}${REPRO_OBJECTS.summary}`);
  const described = await limiter.run(region, 'DescribeInstances', () =>
    ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [launched.instanceId] }] })),
  );
  const instance = described.Reservations?.flatMap((r) => r.Instances ?? [])[0];
  const instanceState = instance?.State?.Name ?? 'gone';
  const attached = (instance?.BlockDeviceMappings ?? []).some((m) => m.Ebs?.VolumeId === launched.volumeId);
  if (reported) return { ended: 'reported', instanceState, attached, waitSeconds: 0 };
  if (['shutting-down', 'terminated', 'stopping', 'stopped', 'gone'].includes(instanceState))
    return { ended: 'instance-ended', instanceState, attached, waitSeconds: 0 };
  const deadline = launched.launchedAt + (check.timeBudgetMinutes + options.graceMinutes) * 60_000;
  const left = deadline - clock.now();
  if (left <= 0) return { ended: 'timeout', instanceState, attached, waitSeconds: 0 };
  let nowAttached = attached;
  if (!attached && instanceState === 'running') {
    const volumes = await limiter.run(region, 'DescribeVolumes', () =>
      ec2.send(new DescribeVolumesCommand({ VolumeIds: [launched.volumeId] })),
    );
    if (volumes.Volumes?.[0]?.State === 'available') {
      await limiter.run(region, 'AttachVolume', () =>
        ec2.send(
          new AttachVolumeCommand({
            VolumeId: launched.volumeId,
            InstanceId: launched.instanceId,
            Device: REFERENCE_DEVICE,
          }),
        ),
      );
      nowAttached = true;
    }
  }
  // The first looks come soon, to attach the volume; later ones every poll interval, never past the deadline.
  const interval = nowAttached ? options.pollSeconds : Math.min(options.pollSeconds, 60);
  return { instanceState, attached: nowAttached, waitSeconds: Math.max(0, Math.min(interval, Math.ceil(left / 1000))) };
}

/** Largest part of diffoscope's JSON output read back: enough for thousands of paths, never a Lambda's memory. */
export const DIFFOSCOPE_READ_BYTES = 8 * 1024 * 1024;

async function readObject(s3: S3Client, bucket: string, key: string, range?: string): Promise<string | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
    return await response.Body?.transformToString('utf8');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'NoSuchKey' || code === 'NotFound' || code === 'InvalidRange') return undefined;
    throw error;
  }
}

/** Where one check instance's outputs are: the report bucket and the instance's own folder in it. */
export interface CheckOutputs {
  readonly bucket: string;
  /** `checkOutputFolder` of the check and its instance. */
  readonly folder: string;
}

/** What a check's instance left in its folder: its summary and (the start of) diffoscope's JSON output. */
export async function readCheckOutputs(
  s3: S3Client,
  { bucket, folder }: CheckOutputs,
): Promise<{ summaryText?: string; diffoscopeJson?: string }> {
  const summaryText = await readObject(s3, bucket, `${folder}${REPRO_OBJECTS.summary}`);
  const diffoscopeJson = summaryText
    ? await readObject(s3, bucket, `${folder}${REPRO_OBJECTS.diffoscopeJson}`, `bytes=0-${DIFFOSCOPE_READ_BYTES - 1}`)
    : undefined;
  return { summaryText, diffoscopeJson };
}
