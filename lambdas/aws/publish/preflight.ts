import {
  DisableImageBlockPublicAccessCommand,
  GetEbsEncryptionByDefaultCommand,
  GetImageBlockPublicAccessStateCommand,
  GetSnapshotBlockPublicAccessStateCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { describeError } from '../../core/errors';
import type { SnapshotSharing } from '../../core/publish/model';
import { describeAllImages, type PublishContext } from './context';

const SHARING_STATES: readonly string[] = ['unblocked', 'block-new-sharing', 'block-all-sharing'];

/**
 * A region's snapshot block public access (`unknown` when it cannot be read, which the planner treats as "cannot be
 * confirmed public"): the state decides whether a snapshot can be made public and whether its attribute is to be
 * believed.
 */
export async function readSnapshotSharing(
  ctx: PublishContext,
  region: string,
): Promise<{ readonly state: SnapshotSharing; readonly error?: string }> {
  try {
    const answer = await ctx.limiter.run(region, 'GetSnapshotBlockPublicAccessState', () =>
      ctx.clients.client(EC2Client, region).send(new GetSnapshotBlockPublicAccessStateCommand({})),
    );
    const state = answer.State ?? 'unknown';
    return SHARING_STATES.includes(state)
      ? { state: state as SnapshotSharing }
      : { state: 'unknown', error: `state ${state}` };
  } catch (error) {
    return { state: 'unknown', error: describeError(error).message };
  }
}

/** What a region's settings mean for publishing there. */
export interface PreflightReport {
  readonly region: string;
  /** False when publishing here would not give public images; `problems` says why. */
  readonly ok: boolean;
  /** `unblocked`, `block-new-sharing`, or `unknown` when it could not be read. */
  readonly blockPublicAccess: string;
  /** Snapshot block public access, when snapshots are to be made public. */
  readonly snapshotSharing?: SnapshotSharing;
  readonly blockPublicAccessManagedBy?: string;
  readonly encryptionByDefault?: boolean;
  readonly publicImages?: number;
  readonly problems: string[];
  readonly notes: string[];
}

/**
 * Checks a region before copying: image block public access (turned off only when configured, once, and never
 * when a declarative policy manages it), snapshot block public access (never fought: snapshots stay private and the
 * finding says why), EBS encryption by default (an encrypted copy cannot be public) and the number of public images
 * we own. With `dryRun`, only reads.
 */
export async function preflightRegion(
  ctx: PublishContext,
  region: string,
  options: { readonly dryRun?: boolean; readonly incoming?: number } = {},
): Promise<PreflightReport> {
  const { publish, buildRegion } = ctx.config;
  const problems: string[] = [];
  const notes: string[] = [];
  const ec2 = ctx.clients.client(EC2Client, region);
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

  let snapshotSharing: SnapshotSharing | undefined;
  if (publish.makeSnapshotPublic) {
    const sharing = await readSnapshotSharing(ctx, region);
    snapshotSharing = sharing.state;
    if (sharing.state === 'block-new-sharing' || sharing.state === 'block-all-sharing') {
      notes.push(
        `snapshot block public access is ${sharing.state}: snapshots are not made public here, so their images stay incomplete until it is lifted`,
      );
    } else if (sharing.error) {
      notes.push(
        `snapshot block public access could not be read (${sharing.error}): snapshots cannot be confirmed public`,
      );
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
    snapshotSharing,
    encryptionByDefault,
    publicImages,
    problems,
    notes,
  };
}
