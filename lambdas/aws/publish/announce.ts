import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { PublishCommand } from '@aws-sdk/client-sns';
import { type AnnouncedImage, renderAnnouncements } from '../../core/announce';
import { describeError, type ItemFailure } from '../../core/errors';
import type { SourceImage } from '../../core/publish/model';
import { TAG } from '../../core/tags';
import type { PublishContext } from './context';

/** The per-region result the announcement is built from. */
export interface PublishedRegion {
  readonly region: string;
  /** Source image id -> image id in this region. */
  readonly published: Readonly<Record<string, string>>;
  /** Why the region (or an image in it) is missing, by source image id; `*` for the whole region. */
  readonly missing: Readonly<Record<string, string>>;
}

/** Turns sources and region results into the images an announcement lists. */
export function announcedImages(
  ctx: Pick<PublishContext, 'config' | 'profile'>,
  sources: readonly SourceImage[],
  regions: readonly PublishedRegion[],
): AnnouncedImage[] {
  return sources.map((source) => {
    const published: Record<string, string> = {};
    const missing: Record<string, string> = {};
    for (const region of regions) {
      const imageId = region.published[source.imageId];
      if (imageId) published[region.region] = imageId;
      else missing[region.region] = region.missing[source.imageId] ?? region.missing['*'] ?? 'not published';
    }
    const p = source.parsed;
    return {
      name: source.name,
      arch: p.arch,
      architecture: source.architecture,
      releaseVersion: `${p.version}-${p.branch}`,
      imageVersion: source.gitBranch && source.gitRevision ? `${source.gitBranch}@${source.gitRevision}` : '',
      snapshot: p.kind === 'snapshot',
      buildDate: p.buildDate,
      ssmParameter: ctx.profile.ssmParameterName(ctx.config.publish.ssmPrefix, p),
      regions: published,
      missing,
    };
  });
}

/** Result of announcing: messages sent and sources marked as published. */
export interface AnnounceResult {
  readonly messages: number;
  readonly messageIds: string[];
  readonly markedPublished: string[];
  readonly failed: ItemFailure[];
}

/**
 * Sends the announcements to `topicArn` (when given) and tags every source that is now in every selected region
 * with `ami-pipeline:published-at`, which is what discovery reads to leave it alone next time.
 */
export async function announce(
  ctx: PublishContext,
  sources: readonly SourceImage[],
  regions: readonly PublishedRegion[],
  topicArn: string | undefined,
): Promise<AnnounceResult> {
  const buildRegion = ctx.config.buildRegion;
  const failed: ItemFailure[] = [];
  const messageIds: string[] = [];
  const images = announcedImages(ctx, sources, regions);
  if (topicArn) {
    const announcements = renderAnnouncements(images, { subjectPrefix: ctx.config.notifications.subjectPrefix });
    for (const message of announcements) {
      try {
        const sent = await ctx.clients.sns(buildRegion).send(
          new PublishCommand({
            TopicArn: topicArn,
            Subject: message.subject,
            Message: message.message,
            MessageStructure: 'json',
          }),
        );
        if (sent.MessageId) messageIds.push(sent.MessageId);
      } catch (error) {
        const { message: why, code } = describeError(error);
        failed.push({ id: message.subject, region: buildRegion, error: why, code });
      }
    }
  }
  const complete = sources.filter((s) => regions.every((r) => r.published[s.imageId]));
  if (complete.length > 0) {
    try {
      await ctx.limiter.run(buildRegion, 'CreateTags', () =>
        ctx.clients.ec2(buildRegion).send(
          new CreateTagsCommand({
            Resources: complete.map((s) => s.imageId),
            Tags: [{ Key: TAG.publishedAt, Value: ctx.now().toISOString() }],
          }),
        ),
      );
    } catch (error) {
      failed.push({ id: 'published-at tag', region: buildRegion, error: describeError(error).message });
    }
  }
  return { messages: messageIds.length, messageIds, markedPublished: complete.map((s) => s.imageId), failed };
}
