import type { Image } from '@aws-sdk/client-ec2';
import { classifySeries } from '../../core/series';
import { TAG, tagRecord } from '../../core/tags';
import type { SourceImage } from '../../core/publish/model';
import { chunks } from '../../shared/concurrency';
import { describeAllImages, type PublishContext } from './context';

/** An image of the build region that is not published, with why. */
export interface SkippedImage {
  readonly imageId: string;
  readonly name: string;
  readonly reason: string;
}

/** Source images of the build region and the images left out, each with a reason. */
export interface Discovery {
  readonly sources: SourceImage[];
  readonly skipped: SkippedImage[];
  /**
   * Sources carrying the first release's `published-at` tag, by id: that release marked a source so once it was in
   * every region, and such a source counts as complete.
   */
  readonly legacyPublishedAt: Readonly<Record<string, string>>;
}

/** Reads a source image as the planner needs it, or why it is not one. */
export function toSource(image: Image, ctx: Pick<PublishContext, 'config' | 'profile'>): SourceImage | string {
  const name = image.Name ?? '';
  const series = classifySeries(ctx.profile.parse(name), ctx.config.series);
  if (!series.managed) return series.reason;
  const expected = series.parsed.arch === 'amd64' ? 'x86_64' : 'arm64';
  // EC2 always reports the architecture; an endpoint that does not (the emulator) is taken at the name's word.
  const architecture = image.Architecture ?? expected;
  if (architecture !== expected) return `name says ${series.parsed.arch} but the image is ${architecture}`;
  const provenance = ctx.profile.parseDescription(image.Description);
  return {
    imageId: image.ImageId!,
    region: ctx.config.buildRegion,
    name,
    description: image.Description,
    architecture: expected,
    parsed: series.parsed,
    gitBranch: provenance?.gitBranch,
    gitRevision: provenance?.gitRevision,
    snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])),
    createdAt: image.CreationDate,
  };
}

/**
 * Source images in the build region: owned, available, in a managed series, and not copies. Which of them a run
 * publishes is the ledger's to say (`planDiscovery`); per region, what exists is looked up by name, so a half-done
 * run is completed rather than repeated. Named images (a manual start) are read whatever their state.
 */
export async function discoverSources(
  ctx: PublishContext,
  options: { readonly imageIds?: readonly string[] } = {},
): Promise<Discovery> {
  const region = ctx.config.buildRegion;
  const named = options.imageIds && options.imageIds.length > 0 ? [...new Set(options.imageIds)] : undefined;
  const images: Image[] = [];
  if (named) {
    // A filter (unlike ImageIds) does not fail the whole call when one id does not exist.
    for (const ids of chunks(named, 100)) {
      images.push(
        ...(await describeAllImages(ctx, region, { Owners: ['self'], Filters: [{ Name: 'image-id', Values: ids }] })),
      );
    }
  } else {
    images.push(
      ...(await describeAllImages(ctx, region, {
        Owners: ['self'],
        Filters: [{ Name: 'state', Values: ['available'] }],
      })),
    );
  }
  const sources: SourceImage[] = [];
  const skipped: SkippedImage[] = [];
  const legacyPublishedAt: Record<string, string> = {};
  for (const image of images) {
    const tags = tagRecord(image.Tags);
    const base = { imageId: image.ImageId ?? '', name: image.Name ?? '' };
    if (image.State !== 'available') skipped.push({ ...base, reason: `state is ${image.State}` });
    else if (tags[TAG.sourceImage])
      skipped.push({ ...base, reason: `a copy of ${tags[TAG.sourceImage]}, not a source` });
    else {
      const source = toSource(image, ctx);
      if (typeof source === 'string') skipped.push({ ...base, reason: source });
      else {
        sources.push(source);
        if (tags[TAG.publishedAt]) legacyPublishedAt[source.imageId] = tags[TAG.publishedAt];
      }
    }
  }
  for (const id of named ?? []) {
    if (!images.some((i) => i.ImageId === id)) {
      skipped.push({ imageId: id, name: '', reason: `not an image of this account in ${region}` });
    }
  }
  sources.sort((a, b) => a.name.localeCompare(b.name));
  return { sources, skipped, legacyPublishedAt };
}

/** The named sources, read again in the build region (each step of the workflow starts from ids only). */
export async function loadSources(ctx: PublishContext, imageIds: readonly string[]): Promise<SourceImage[]> {
  const { sources } = await discoverSources(ctx, { imageIds });
  return sources;
}
