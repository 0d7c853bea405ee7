import type { ClientFactory, ClientPlugin } from '../lambdas/aws/clients';

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
  for (const region of regions) plugin(clients.ec2(region).middlewareStack, { service: 'ec2', region });
  return gaps;
}
