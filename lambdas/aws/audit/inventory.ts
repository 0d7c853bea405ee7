import type { Image } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { AuditRegionInventory, AuditSource } from '../../core/audit/model';
import type { RegionImage, SsmPointer } from '../../core/publish/model';
import { TAG, tagRecord } from '../../core/tags';
import { describeAllImages, type PublishContext } from '../publish/context';
import { discoverSources, loadSources } from '../publish/discover';
import { publicSnapshots, snapshotIdsOf, snapshotTags } from '../publish/inventory';
import { readSnapshotSharing } from '../publish/preflight';

/**
 * Every managed source of the build region, each marked published when publish has taken it on (a ledger row in any
 * region, or the first release's `published-at` tag): the audit checks only builds publish has announced.
 */
export async function readAuditSources(ctx: PublishContext): Promise<AuditSource[]> {
  const discovery = await discoverSources(ctx);
  const rows = await ctx.ledger.rowsOf(
    discovery.sources.filter((s) => !discovery.legacyPublishedAt[s.imageId]).map((s) => s.imageId),
  );
  return discovery.sources.map((source) => ({
    ...source,
    published: Boolean(discovery.legacyPublishedAt[source.imageId]) || (rows.get(source.imageId)?.size ?? 0) > 0,
  }));
}

/** The named builds read again in the build region (each step of the workflow starts from ids only). */
export async function loadAuditedBuilds(ctx: PublishContext, imageIds: readonly string[]): Promise<AuditSource[]> {
  return (await loadSources(ctx, imageIds)).map((source) => ({ ...source, published: true }));
}

/** Every parameter under the prefix and the image id it holds (GetParametersByPath, recursive, paginated). */
async function parametersUnderPrefix(ctx: PublishContext, region: string): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await ctx.clients.client(SSMClient, region).send(
      new GetParametersByPathCommand({
        Path: ctx.config.publish.ssmPrefix,
        Recursive: true,
        MaxResults: 10,
        NextToken: token,
      }),
    );
    for (const parameter of page.Parameters ?? []) {
      if (parameter.Name && parameter.Value) values[parameter.Name] = parameter.Value;
    }
    token = page.NextToken;
  } while (token);
  return values;
}

/**
 * What the audit reads in a region: every image we own (paginated, so copies under other names are seen), the
 * snapshot tags and permissions of the images that are copies of the current builds, every SSM parameter under the
 * prefix with the name of the image it points at, and snapshot block public access (read only when snapshots are to
 * be public, as publish does).
 */
export async function readAuditRegion(
  ctx: PublishContext,
  region: string,
  builds: readonly AuditSource[],
): Promise<AuditRegionInventory> {
  const all = (await describeAllImages(ctx, region, { Owners: ['self'] })).filter((i) => i.ImageId);
  const names = new Set(builds.map((b) => b.name));
  const ids = new Set(builds.map((b) => b.imageId));
  const relevant = (image: Image) =>
    names.has(image.Name ?? '') || ids.has(image.ImageId!) || ids.has(tagRecord(image.Tags)[TAG.sourceImage] ?? '');
  const available = all.filter((i) => relevant(i) && i.State === 'available');
  const snapshots = available.flatMap(snapshotIdsOf);
  const [tags, open, sharing, values] = await Promise.all([
    snapshotTags(ctx, region, snapshots),
    ctx.config.publish.makeSnapshotPublic ? publicSnapshots(ctx, region, snapshots) : new Set<string>(),
    ctx.config.publish.makeSnapshotPublic ? readSnapshotSharing(ctx, region) : undefined,
    parametersUnderPrefix(ctx, region),
  ]);
  const images: RegionImage[] = all.map((image) => {
    const snapshotIds = snapshotIdsOf(image);
    return {
      imageId: image.ImageId!,
      name: image.Name ?? '',
      state: image.State ?? 'unknown',
      public: image.Public === true,
      snapshotIds,
      publicSnapshotIds: snapshotIds.filter((id) => open.has(id)),
      tags: tagRecord(image.Tags),
      snapshotTags: Object.fromEntries(snapshotIds.map((id) => [id, tags[id] ?? {}])),
      deprecationTime: image.DeprecationTime,
      encrypted: (image.BlockDeviceMappings ?? []).some((m) => m.Ebs?.Encrypted === true),
    };
  });
  // A parameter pointing at an image that is no longer available (deregistered, still listed for a while) is stale,
  // whatever that image was called.
  const imageNames = new Map(images.filter((i) => i.state === 'available').map((i) => [i.imageId, i.name]));
  const ssm: Record<string, SsmPointer> = Object.fromEntries(
    Object.entries(values).map(([parameter, imageId]) => [parameter, { imageId, imageName: imageNames.get(imageId) }]),
  );
  return { region, images, ssm, snapshotSharing: sharing?.state };
}
