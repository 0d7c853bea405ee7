import { CreateTagsCommand, DescribeImagesCommand, type TagSpecification, EC2Client } from '@aws-sdk/client-ec2';
import type { ClientFactory, ClientPlugin } from '../../lambdas/aws/clients';

/** What the stand-ins for the emulator's missing EC2 APIs recorded. */
export interface MotoGaps {
  /** `region/imageId` -> deprecation time set through EnableImageDeprecation. */
  readonly deprecations: Map<string, string>;
  /** Image block public access state per region (`unblocked` unless a test sets it). */
  readonly blockPublicAccess: Map<string, string>;
  /** Snapshot block public access state per region (`unblocked` unless a test sets it). */
  readonly snapshotBlockPublicAccess: Map<string, string>;
  readonly calls: string[];
}

/** Empty records of the stand-ins, to share between factories. */
export function newMotoGaps(): MotoGaps {
  return { deprecations: new Map(), blockPublicAccess: new Map(), snapshotBlockPublicAccess: new Map(), calls: [] };
}

/**
 * moto 5.2.1 answers EnableImageDeprecation and the image and snapshot block public access APIs with HTTP 500. For these few
 * commands only, a middleware answers as EC2 would and DescribeImages reports the deprecation time set, so that the
 * rest of each run talks to the emulator unchanged. A client plug-in, so every EC2 client of a factory gets it.
 */
export function motoGapsPlugin(gaps: MotoGaps = newMotoGaps()): ClientPlugin {
  return (stack, { service, region }) => {
    if (service !== 'ec2') return;
    stack.add(
      (next, context) => async (args) => {
        const input = args.input as { ImageId?: string; DeprecateAt?: Date };
        const answer = (output: Record<string, unknown>) =>
          ({ output: { $metadata: {}, ...output }, response: {} }) as never;
        switch (context.commandName) {
          case 'EnableImageDeprecationCommand':
            gaps.calls.push(`${region}:EnableImageDeprecation`);
            gaps.deprecations.set(`${region}/${input.ImageId}`, input.DeprecateAt!.toISOString());
            return answer({ Return: true });
          case 'GetImageBlockPublicAccessStateCommand':
            gaps.calls.push(`${region}:GetImageBlockPublicAccessState`);
            return answer({
              ImageBlockPublicAccessState: gaps.blockPublicAccess.get(region) ?? 'unblocked',
              ManagedBy: 'account',
            });
          case 'GetSnapshotBlockPublicAccessStateCommand':
            gaps.calls.push(`${region}:GetSnapshotBlockPublicAccessState`);
            return answer({ State: gaps.snapshotBlockPublicAccess.get(region) ?? 'unblocked', ManagedBy: 'account' });
          case 'DisableImageBlockPublicAccessCommand':
            gaps.calls.push(`${region}:DisableImageBlockPublicAccess`);
            gaps.blockPublicAccess.set(region, 'unblocked');
            return answer({ ImageBlockPublicAccessState: 'unblocked' });
        }
        const result = await next(args);
        if (context.commandName === 'DescribeImagesCommand') {
          const output = result.output as { Images?: { ImageId?: string; DeprecationTime?: string }[] };
          for (const image of output.Images ?? []) {
            const time = gaps.deprecations.get(`${region}/${image.ImageId}`);
            if (time) image.DeprecationTime = time;
          }
        }
        return result;
      },
      { step: 'initialize', name: 'motoGaps' },
    );
  };
}

/** Adds the stand-ins to the EC2 clients of `regions` that `clients` has made or will make. */
export function coverMotoGaps(
  clients: ClientFactory,
  regions: readonly string[],
  gaps: MotoGaps = newMotoGaps(),
): MotoGaps {
  const plugin = motoGapsPlugin(gaps);
  for (const region of regions) plugin(clients.client(EC2Client, region).middlewareStack, { service: 'ec2', region });
  return gaps;
}

/**
 * moto 5.2.1 ignores CopyImage's TagSpecifications, which EC2 applies to the new image and its snapshots as part of
 * the copy (so the copy is never untagged, even for a moment). After each successful CopyImage the tags requested are
 * put on the copy and its snapshots through `tagger`, a factory whose calls are not the pipeline's own (so that a
 * recorder of the pipeline's calls does not see the stand-in's).
 */
export function copyTagSpecificationsPlugin(tagger: ClientFactory): ClientPlugin {
  return (stack, { service, region }) => {
    if (service !== 'ec2') return;
    stack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName !== 'CopyImageCommand') return result;
        const imageId = (result.output as { ImageId?: string }).ImageId;
        const specs = (args.input as { TagSpecifications?: TagSpecification[] }).TagSpecifications ?? [];
        if (!imageId || specs.length === 0) return result;
        const ec2 = tagger.client(EC2Client, region);
        const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
        const snapshotIds = (image?.BlockDeviceMappings ?? []).flatMap((m) =>
          m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
        );
        for (const spec of specs) {
          const resources =
            spec.ResourceType === 'image' ? [imageId] : spec.ResourceType === 'snapshot' ? snapshotIds : [];
          if (resources.length > 0 && spec.Tags?.length)
            await ec2.send(new CreateTagsCommand({ Resources: resources, Tags: spec.Tags }));
        }
        return result;
      },
      { step: 'initialize', name: 'copyTagSpecifications' },
    );
  };
}

/** Adds the CopyImage tag stand-in to the EC2 clients of `regions` that `clients` has made or will make. */
export function coverCopyTagSpecifications(
  clients: ClientFactory,
  regions: readonly string[],
  tagger: ClientFactory,
): void {
  const plugin = copyTagSpecificationsPlugin(tagger);
  for (const region of regions) plugin(clients.client(EC2Client, region).middlewareStack, { service: 'ec2', region });
}
