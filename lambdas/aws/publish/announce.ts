import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type AnnouncedImage, renderAnnouncements } from '../../core/announce';
import { describeError, type ItemFailure } from '../../core/errors';
import type { SourceImage } from '../../core/publish/model';
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

/** Result of announcing: the messages sent, and those SNS refused. */
export interface AnnounceResult {
  readonly messages: number;
  readonly messageIds: string[];
  readonly failed: ItemFailure[];
}

/** Sends the announcements of `sources` to `topicArn`: where each image is, and where it is not yet. */
export async function announce(
  ctx: PublishContext,
  sources: readonly SourceImage[],
  regions: readonly PublishedRegion[],
  topicArn: string,
): Promise<AnnounceResult> {
  const buildRegion = ctx.config.buildRegion;
  const failed: ItemFailure[] = [];
  const messageIds: string[] = [];
  const images = announcedImages(ctx, sources, regions);
  const announcements = renderAnnouncements(images, { subjectPrefix: ctx.config.notifications.subjectPrefix });
  for (const message of announcements) {
    try {
      const sent = await ctx.clients.client(SNSClient, buildRegion).send(
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
  return { messages: messageIds.length, messageIds, failed };
}
