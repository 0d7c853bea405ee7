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

/** Source images to publish and the images left out, each with a reason. */
export interface Discovery {
  readonly sources: SourceImage[];
  readonly skipped: SkippedImage[];
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
  };
}

/**
 * New source images in the build region: owned, available, in a managed series, and not yet published. "Published"
 * is a tag (`ami-pipeline:published-at`) that the announcement step puts on a source once every selected region has
 * it; per region, what exists is looked up by name, so a half-done run is completed rather than repeated. Naming
 * images explicitly (a manual start) skips the tag check, so a published image can be re-checked.
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
  for (const image of images) {
    const tags = tagRecord(image.Tags);
    const base = { imageId: image.ImageId ?? '', name: image.Name ?? '' };
    if (image.State !== 'available') skipped.push({ ...base, reason: `state is ${image.State}` });
    else if (tags[TAG.sourceImage])
      skipped.push({ ...base, reason: `a copy of ${tags[TAG.sourceImage]}, not a source` });
    else if (!named && tags[TAG.publishedAt])
      skipped.push({ ...base, reason: `published at ${tags[TAG.publishedAt]}` });
    else {
      const source = toSource(image, ctx);
      if (typeof source === 'string') skipped.push({ ...base, reason: source });
      else sources.push(source);
    }
  }
  for (const id of named ?? []) {
    if (!images.some((i) => i.ImageId === id)) {
      skipped.push({ imageId: id, name: '', reason: `not an image of this account in ${region}` });
    }
  }
  sources.sort((a, b) => a.name.localeCompare(b.name));
  return { sources, skipped };
}

/** The named sources, read again in the build region (each step of the workflow starts from ids only). */
export async function loadSources(ctx: PublishContext, imageIds: readonly string[]): Promise<SourceImage[]> {
  const { sources } = await discoverSources(ctx, { imageIds });
  return sources;
}
