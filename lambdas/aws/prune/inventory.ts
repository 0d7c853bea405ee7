import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Snapshot,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { PipelineError } from '../../core/errors';
import type { InventoryImage, InventorySnapshot, PruneInventory } from '../../core/prune';
import { tagRecord } from '../../core/tags';
import type { ClientFactory } from '../clients';
import { type RateLimiter, unlimited } from '../rate-limiter';

/** The inventory of a region could not be read; the region is reported as failed and the others go on. */
export class InventoryError extends PipelineError {
  override readonly name: string = 'InventoryError';
}

export interface InventoryOptions {
  readonly ssmPrefix: string;
  readonly limiter?: RateLimiter;
  /** Known account id; asked of STS when absent. */
  readonly accountId?: string;
}

/** The account the clients act as. */
export async function callerAccount(clients: ClientFactory, region: string): Promise<string> {
  const identity = await clients.client(STSClient, region).send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new InventoryError(`STS returned no account id in ${region}`);
  return identity.Account;
}

function toImage(image: Image): InventoryImage | undefined {
  if (!image.ImageId) return undefined;
  return {
    imageId: image.ImageId,
    name: image.Name ?? '',
    ownerId: image.OwnerId ?? '',
    state: image.State ?? 'unknown',
    ...(image.CreationDate && { creationDate: image.CreationDate }),
    ...(image.LastLaunchedTime && { lastLaunchedTime: image.LastLaunchedTime }),
    ...(image.DeregistrationProtection && { deregistrationProtection: image.DeregistrationProtection }),
    public: image.Public === true,
    snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [])),
    tags: tagRecord(image.Tags),
  };
}

function toSnapshot(snapshot: Snapshot): InventorySnapshot | undefined {
  if (!snapshot.SnapshotId) return undefined;
  return {
    snapshotId: snapshot.SnapshotId,
    ownerId: snapshot.OwnerId ?? '',
    ...(snapshot.Description && { description: snapshot.Description }),
    ...(snapshot.StartTime && { startTime: new Date(snapshot.StartTime).toISOString() }),
    volumeSizeGiB: snapshot.VolumeSize ?? 0,
    ...(snapshot.FullSnapshotSizeInBytes !== undefined && { fullSizeBytes: snapshot.FullSnapshotSizeInBytes }),
    tags: tagRecord(snapshot.Tags),
  };
}

/**
 * Reads what the planner needs in one region: every image the account owns (deprecated and disabled included), its
 * snapshots, and the AMI ids referenced by SSM parameters under the prefix. Every call paginates, even where the
 * emulator returns one page; snapshots are filtered on owner-id as well because not every endpoint honours OwnerIds.
 */
export async function readPruneInventory(
  clients: ClientFactory,
  region: string,
  options: InventoryOptions,
): Promise<PruneInventory> {
  const limiter = options.limiter ?? unlimited;
  const ec2 = clients.client(EC2Client, region);
  try {
    const accountId = options.accountId ?? (await callerAccount(clients, region));
    const images: InventoryImage[] = [];
    let token: string | undefined;
    do {
      const page = await limiter.run(region, 'DescribeImages', () =>
        ec2.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            IncludeDeprecated: true,
            IncludeDisabled: true,
            MaxResults: 1000,
            NextToken: token,
          }),
        ),
      );
      images.push(...(page.Images ?? []).flatMap((i) => toImage(i) ?? []));
      token = page.NextToken;
    } while (token);

    const snapshots: InventorySnapshot[] = [];
    token = undefined;
    do {
      const page = await limiter.run(region, 'DescribeSnapshots', () =>
        ec2.send(
          new DescribeSnapshotsCommand({
            OwnerIds: ['self'],
            Filters: [{ Name: 'owner-id', Values: [accountId] }],
            MaxResults: 1000,
            NextToken: token,
          }),
        ),
      );
      snapshots.push(
        ...(page.Snapshots ?? []).filter((s) => s.OwnerId === accountId).flatMap((s) => toSnapshot(s) ?? []),
      );
      token = page.NextToken;
    } while (token);

    const ssmReferences: Record<string, string[]> = {};
    const ssm = clients.client(SSMClient, region);
    token = undefined;
    do {
      const page = await limiter.run(region, 'GetParametersByPath', () =>
        ssm.send(new GetParametersByPathCommand({ Path: options.ssmPrefix, Recursive: true, NextToken: token })),
      );
      for (const parameter of page.Parameters ?? []) {
        const value = parameter.Value?.trim();
        if (value && /^ami-[0-9a-f]+$/.test(value) && parameter.Name) {
          ssmReferences[value] = [...(ssmReferences[value] ?? []), parameter.Name];
        }
      }
      token = page.NextToken;
    } while (token);

    return { region, accountId, images, snapshots, ssmReferences };
  } catch (cause) {
    if (cause instanceof InventoryError) throw cause;
    throw new InventoryError(`could not read the image inventory of ${region}: ${(cause as Error).message}`, { cause });
  }
}
