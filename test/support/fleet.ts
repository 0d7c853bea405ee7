import {
  CreateTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  RegisterImageCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { ClientFactory } from '../../lambdas/aws/clients';

/** One image to register in the emulator. */
export interface FleetImage {
  readonly region: string;
  readonly name: string;
  readonly description: string;
  readonly arch: 'amd64' | 'arm64';
  readonly tags: Readonly<Record<string, string>>;
}

export interface FleetOptions {
  readonly regions: readonly string[];
  /** Series as `<version>-<branch>/<arch>/<flavour>/<fs>`, e.g. `15.0-CURRENT/amd64/base/ufs`. */
  readonly series: readonly string[];
  readonly weeks: number;
  /** Build date of the newest week, `YYYY-MM-DD`. */
  readonly newestBuildDate: string;
  /** Tags put on every image and its snapshot; defaults to the managed-by tag. */
  readonly tags?: Readonly<Record<string, string>>;
}

export const DEFAULT_FLEET_SERIES: readonly string[] = [
  '15.0-CURRENT/amd64/base/ufs',
  '15.0-CURRENT/arm64/base/zfs',
  '14.3-STABLE/amd64/cloud-init/ufs',
  '14.3-STABLE/arm64/small/ufs',
  '13.5-STABLE/amd64/builder/ufs',
  '13.5-STABLE/arm64/cloud-init/zfs',
];

const FS_IN_NAME = { ufs: 'UFS', zfs: 'ZFS' } as const;
const GIT_BRANCH: Record<string, string> = { CURRENT: 'main' };

function isoDaysBefore(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

/** A deterministic git revision for a series and build date, so regression messages can name a range. */
export function fakeRevision(seriesKey: string, buildDate: string): string {
  let hash = 2166136261;
  for (const char of `${seriesKey}@${buildDate}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash.toString(16).padStart(8, '0').slice(0, 7) + (hash % 9);
}

/** Weekly snapshot builds of each series in each region, newest first, with FreeBSD names and descriptions. */
export function weeklyFleet(options: FleetOptions): FleetImage[] {
  const images: FleetImage[] = [];
  for (const region of options.regions) {
    for (const series of options.series) {
      const [versionBranch, arch, flavour, fs] = series.split('/') as [
        string,
        'amd64' | 'arm64',
        string,
        'ufs' | 'zfs',
      ];
      const [version, branch] = versionBranch.split('-') as [string, string];
      const major = version.split('.')[0];
      const gitBranch = GIT_BRANCH[branch] ?? `stable/${major}`;
      for (let week = 0; week < options.weeks; week++) {
        const buildDate = isoDaysBefore(options.newestBuildDate, week * 7);
        const compact = buildDate.replaceAll('-', '');
        images.push({
          region,
          arch,
          name: `FreeBSD ${version}-${branch}-${arch}-${compact} ${flavour} ${FS_IN_NAME[fs]}`,
          description: `FreeBSD/${arch} ${gitBranch}@${fakeRevision(series, buildDate)}`,
          tags: options.tags ?? { 'ami-pipeline:managed-by': 'ami-pipeline' },
        });
      }
    }
  }
  return images;
}

/** A registered image with the snapshots the emulator made for it. */
export interface SeededImage extends FleetImage {
  readonly imageId: string;
  readonly snapshotIds: string[];
}

function toTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

async function registerOne(ec2: EC2Client, image: FleetImage): Promise<SeededImage> {
  const registered = await ec2.send(
    new RegisterImageCommand({
      Name: image.name,
      Description: image.description,
      Architecture: image.arch === 'amd64' ? 'x86_64' : 'arm64',
      RootDeviceName: '/dev/sda1',
      VirtualizationType: 'hvm',
      EnaSupport: true,
      BootMode: image.arch === 'arm64' ? 'uefi' : 'uefi-preferred',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 6, VolumeType: 'gp3' } }],
    }),
  );
  const imageId = registered.ImageId!;
  const described = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  const snapshotIds = (described.Images?.[0]?.BlockDeviceMappings ?? []).flatMap((m) =>
    m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
  );
  if (Object.keys(image.tags).length > 0) {
    await ec2.send(new CreateTagsCommand({ Resources: [imageId, ...snapshotIds], Tags: toTags(image.tags) }));
  }
  return { ...image, imageId, snapshotIds };
}

/** Registers `images` in the emulator (or any account the factory reaches), a few at a time per region. */
export async function seedFleet(clients: ClientFactory, images: readonly FleetImage[]): Promise<SeededImage[]> {
  const seeded: SeededImage[] = new Array(images.length);
  const byRegion = new Map<string, number[]>();
  images.forEach((image, index) => {
    byRegion.set(image.region, [...(byRegion.get(image.region) ?? []), index]);
  });
  await Promise.all(
    [...byRegion].map(async ([region, indexes]) => {
      const ec2 = clients.client(EC2Client, region);
      for (const index of indexes) seeded[index] = await registerOne(ec2, images[index]!);
    }),
  );
  return seeded;
}
