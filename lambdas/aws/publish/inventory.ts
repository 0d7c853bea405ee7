import { DescribeSnapshotAttributeCommand, DescribeSnapshotsCommand, type Image, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { tagRecord } from '../../core/tags';
import type { RegionImage, PublishInventory, SourceImage, SsmPointer } from '../../core/publish/model';
import { chunks, mapLimit } from '../../shared/concurrency';
import { describeAllImages, type PublishContext } from './context';

/** The EBS snapshots of an image's block device mappings. */
export function snapshotIdsOf(image: Image): string[] {
  return (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
}

/** Tags of each snapshot, by id (DescribeSnapshots by id, paginated). */
export async function snapshotTags(
  ctx: PublishContext,
  region: string,
  snapshotIds: readonly string[],
): Promise<Record<string, Record<string, string>>> {
  const tags: Record<string, Record<string, string>> = {};
  for (const ids of chunks(snapshotIds, 100)) {
    let token: string | undefined;
    do {
      const page = await ctx.limiter.run(region, 'DescribeSnapshots', () =>
        ctx.clients.client(EC2Client, region).send(
          new DescribeSnapshotsCommand({
            Filters: [{ Name: 'snapshot-id', Values: ids }],
            MaxResults: 1000,
            NextToken: token,
          }),
        ),
      );
      for (const snapshot of page.Snapshots ?? []) tags[snapshot.SnapshotId!] = tagRecord(snapshot.Tags);
      token = page.NextToken;
    } while (token);
  }
  return tags;
}

/** The snapshots among `snapshotIds` that grant `createVolumePermission` to group `all`. */
export async function publicSnapshots(
  ctx: PublishContext,
  region: string,
  snapshotIds: readonly string[],
): Promise<Set<string>> {
  const open = new Set<string>();
  await mapLimit(snapshotIds, 10, async (snapshotId) => {
    const attribute = await ctx.limiter.run(region, 'DescribeSnapshotAttribute', () =>
      ctx.clients
        .client(EC2Client, region)
        .send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' })),
    );
    if (attribute.CreateVolumePermissions?.some((p) => p.Group === 'all')) open.add(snapshotId);
  });
  return open;
}

async function ssmPointers(
  ctx: PublishContext,
  region: string,
  parameters: readonly string[],
  known: readonly RegionImage[],
): Promise<Record<string, SsmPointer>> {
  const values: Record<string, string> = {};
  for (const names of chunks(parameters, 10)) {
    const answer = await ctx.clients.client(SSMClient, region).send(new GetParametersCommand({ Names: names }));
    for (const parameter of answer.Parameters ?? []) {
      if (parameter.Name && parameter.Value) values[parameter.Name] = parameter.Value;
    }
  }
  const names = new Map(known.map((i) => [i.imageId, i.name]));
  const unknown = [...new Set(Object.values(values))].filter((id) => !names.has(id) && id.startsWith('ami-'));
  for (const ids of chunks(unknown, 100)) {
    const images = await describeAllImages(ctx, region, { Filters: [{ Name: 'image-id', Values: ids }] });
    for (const image of images) if (image.ImageId && image.Name) names.set(image.ImageId, image.Name);
  }
  return Object.fromEntries(
    Object.entries(values).map(([parameter, imageId]) => [parameter, { imageId, imageName: names.get(imageId) }]),
  );
}

/**
 * What exists in `region` for these sources: our images of the same names (with public state, snapshot permissions,
 * tags and deprecation time) and, with `ssm`, where the SSM parameters point. Copies are found by name, which EC2
 * keeps unique per account and region.
 */
export async function readPublishInventory(
  ctx: PublishContext,
  region: string,
  sources: readonly SourceImage[],
  options: { readonly ssm: boolean; readonly attributes: boolean },
): Promise<PublishInventory> {
  const names = [...new Set(sources.map((s) => s.name))];
  const found: Image[] = [];
  for (const batch of chunks(names, 100)) {
    found.push(
      ...(await describeAllImages(ctx, region, { Owners: ['self'], Filters: [{ Name: 'name', Values: batch }] })),
    );
  }
  const available = found.filter((i) => i.State === 'available');
  const allSnapshots = available.flatMap(snapshotIdsOf);
  const [tags, open] = options.attributes
    ? await Promise.all([
        snapshotTags(ctx, region, allSnapshots),
        ctx.config.publish.makeSnapshotPublic ? publicSnapshots(ctx, region, allSnapshots) : new Set<string>(),
      ])
    : [{}, new Set<string>()];
  const images: RegionImage[] = found.map((image) => {
    const snapshotIds = snapshotIdsOf(image);
    return {
      imageId: image.ImageId!,
      name: image.Name ?? '',
      state: image.State ?? 'unknown',
      public: image.Public === true,
      snapshotIds,
      publicSnapshotIds: snapshotIds.filter((id) => open.has(id)),
      tags: tagRecord(image.Tags),
      snapshotTags: Object.fromEntries(
        snapshotIds.map((id) => [id, (tags as Record<string, Record<string, string>>)[id] ?? {}]),
      ),
      deprecationTime: image.DeprecationTime,
      encrypted: (image.BlockDeviceMappings ?? []).some((m) => m.Ebs?.Encrypted === true),
    };
  });
  const parameters = [
    ...new Set(sources.map((s) => ctx.profile.ssmParameterName(ctx.config.publish.ssmPrefix, s.parsed))),
  ];
  const ssm = options.ssm ? await ssmPointers(ctx, region, parameters, images) : {};
  return { region, images, ssm };
}
