import { DescribeImagesCommand, type DescribeImagesRequest, type Image, EC2Client } from '@aws-sdk/client-ec2';
import type { PipelineConfig } from '../../core/config';
import { errorCode } from '../../core/errors';
import type { NamingProfile } from '../../core/naming/types';
import type { Logger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import type { RateLimiter } from '../rate-limiter';
import type { PublishLedger } from './ledger';

export { publishOptions } from '../../core/publish/options';

/** What every publish step runs with; handlers and the CLI build it the same way. */
export interface PublishContext {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly limiter: RateLimiter;
  readonly logger: Logger;
  readonly profile: NamingProfile;
  readonly now: () => Date;
  /** Completion per (source, region). */
  readonly ledger: PublishLedger;
}

/** Images per DescribeImages page (AWS allows 5 to 1,000). */
export const DESCRIBE_IMAGES_PAGE = 1000;

/**
 * Every page of a DescribeImages request, each page rate-limited. Pages are asked for (`MaxResults`) wherever AWS
 * allows it, which is everywhere except with `ImageIds`; the emulator returns one page whatever is asked.
 */
export async function describeAllImages(
  ctx: Pick<PublishContext, 'clients' | 'limiter'>,
  region: string,
  request: DescribeImagesRequest,
): Promise<Image[]> {
  const images: Image[] = [];
  const paged = request.ImageIds?.length ? request : { ...request, MaxResults: DESCRIBE_IMAGES_PAGE };
  let token: string | undefined;
  do {
    const page = await ctx.limiter.run(region, 'DescribeImages', () =>
      ctx.clients.client(EC2Client, region).send(new DescribeImagesCommand({ ...paged, NextToken: token })),
    );
    images.push(...(page.Images ?? []));
    token = page.NextToken;
  } while (token);
  return images;
}

/** Whether an error says the resource is already gone, which removal treats as success. */
export function isNotFound(error: unknown): boolean {
  return /NotFound/.test(errorCode(error) ?? '');
}

/**
 * Whether an error says an image is gone: not found, or `InvalidAMIID.Unavailable`, EC2's answer for an image
 * deregistered a while ago. Deregistering it is then already done.
 */
export function isImageGone(error: unknown): boolean {
  return isNotFound(error) || errorCode(error) === 'InvalidAMIID.Unavailable';
}
