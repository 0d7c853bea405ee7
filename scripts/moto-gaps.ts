import type { ClientFactory } from '../lambdas/aws/clients';

/** What the stand-ins for the emulator's missing EC2 APIs recorded. */
export interface MotoGaps {
  /** `region/imageId` -> deprecation time set through EnableImageDeprecation. */
  readonly deprecations: Map<string, string>;
  /** Image block public access state per region (`unblocked` unless a test sets it). */
  readonly blockPublicAccess: Map<string, string>;
  readonly calls: string[];
}

/**
 * moto 5.2.1 answers EnableImageDeprecation and the image block public access APIs with HTTP 500. For these few
 * commands only, a middleware answers as EC2 would and DescribeImages reports the deprecation time set, so that the
 * rest of each run talks to the emulator unchanged. Pass the `gaps` of an earlier factory to share its state.
 */
export function coverMotoGaps(
  clients: ClientFactory,
  regions: readonly string[],
  gaps: MotoGaps = { deprecations: new Map(), blockPublicAccess: new Map(), calls: [] },
): MotoGaps {
  for (const region of regions) {
    clients.ec2(region).middlewareStack.add(
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
  }
  return gaps;
}
