import {
  DisableImageBlockPublicAccessCommand,
  GetEbsEncryptionByDefaultCommand,
  GetImageBlockPublicAccessStateCommand,
} from '@aws-sdk/client-ec2';
import { describeError } from '../../core/errors';
import { describeAllImages, type PublishContext } from './context';

/** What a region's settings mean for publishing there. */
export interface PreflightReport {
  readonly region: string;
  /** False when publishing here would not give public images; `problems` says why. */
  readonly ok: boolean;
  /** `unblocked`, `block-new-sharing`, or `unknown` when it could not be read. */
  readonly blockPublicAccess: string;
  readonly blockPublicAccessManagedBy?: string;
  readonly encryptionByDefault?: boolean;
  readonly publicImages?: number;
  readonly problems: string[];
  readonly notes: string[];
}

/**
 * Checks a region before copying: image block public access (turned off only when configured, once, and never
 * when a declarative policy manages it), EBS encryption by default (an encrypted copy cannot be public) and the
 * number of public images we own. With `dryRun`, only reads.
 */
export async function preflightRegion(
  ctx: PublishContext,
  region: string,
  options: { readonly dryRun?: boolean; readonly incoming?: number } = {},
): Promise<PreflightReport> {
  const { publish, buildRegion } = ctx.config;
  const problems: string[] = [];
  const notes: string[] = [];
  const ec2 = ctx.clients.ec2(region);
  if (!publish.makeAmiPublic && !publish.makeSnapshotPublic) {
    return { region, ok: true, blockPublicAccess: 'not checked', problems, notes: ['images stay private'] };
  }

  let blockPublicAccess = 'unknown';
  let managedBy: string | undefined;
  try {
    const state = await ctx.limiter.run(region, 'GetImageBlockPublicAccessState', () =>
      ec2.send(new GetImageBlockPublicAccessStateCommand({})),
    );
    blockPublicAccess = state.ImageBlockPublicAccessState ?? 'unknown';
    managedBy = state.ManagedBy;
  } catch (error) {
    problems.push(`image block public access state could not be read: ${describeError(error).message}`);
  }
  if (publish.makeAmiPublic && blockPublicAccess === 'block-new-sharing') {
    if (managedBy === 'declarative-policy') {
      problems.push('image block public access is on and managed by a declarative policy; it is left as it is');
    } else if (!publish.disableBlockPublicAccess) {
      problems.push(
        'image block public access is on; set publish.disableBlockPublicAccess to let the workflow turn it off',
      );
    } else if (options.dryRun) {
      notes.push('image block public access is on and would be turned off');
    } else {
      try {
        await ctx.limiter.run(region, 'DisableImageBlockPublicAccess', () =>
          ec2.send(new DisableImageBlockPublicAccessCommand({})),
        );
        notes.push('image block public access was on and has been turned off');
      } catch (error) {
        problems.push(`image block public access could not be turned off: ${describeError(error).message}`);
      }
    }
  }

  let encryptionByDefault: boolean | undefined;
  if (region !== buildRegion) {
    try {
      const encryption = await ctx.limiter.run(region, 'GetEbsEncryptionByDefault', () =>
        ec2.send(new GetEbsEncryptionByDefaultCommand({})),
      );
      encryptionByDefault = encryption.EbsEncryptionByDefault === true;
      if (encryptionByDefault) {
        problems.push(
          'EBS encryption by default is on: copies would be encrypted, and encrypted images cannot be public',
        );
      }
    } catch (error) {
      problems.push(`EBS encryption by default could not be read: ${describeError(error).message}`);
    }
  }

  let publicImages: number | undefined;
  try {
    const images = await describeAllImages(ctx, region, {
      Owners: ['self'],
      Filters: [{ Name: 'is-public', Values: ['true'] }],
    });
    publicImages = images.length;
    notes.push(`${publicImages} public image(s) owned in the region`);
    const quota = publish.publicImageQuota;
    const incoming = options.incoming ?? 0;
    if (quota !== undefined && publish.makeAmiPublic && publicImages + incoming > quota)
      problems.push(
        `${publicImages} public image(s) plus ${incoming} new would exceed the public AMI quota of ${quota}; raise the quota or prune first`,
      );
  } catch (error) {
    notes.push(`public images could not be counted: ${describeError(error).message}`);
  }

  return {
    region,
    ok: problems.length === 0,
    blockPublicAccess,
    blockPublicAccessManagedBy: managedBy,
    encryptionByDefault,
    publicImages,
    problems,
    notes,
  };
}
