import {
  DescribeImagesCommand,
  EC2ServiceException,
  RunInstancesCommand,
  CopyImageCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { PublishCommand, ThrottledException, SNSClient } from '@aws-sdk/client-sns';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { snsBucket } from '../../../scripts/aws-sim/physics';
import { buildName, outcomes, rejection, simulated, virtually } from './helpers';

// Calls without latency, sent once by a client that does not pace itself (standard retries, one attempt), arrive
// exactly when they are made, so bucket arithmetic can be checked to the token.
const NO_LATENCY = { latency: { byService: {}, byOperation: {}, perResultMs: 0 } };
const ONE_SHOT = { maxAttempts: 1, retryMode: 'standard' } as const;

describe('simulated AWS: request buckets', () => {
  test('EC2 answers RequestLimitExceeded past a non-mutating bucket of 100, refilled at 20 per second', async () => {
    const { sim, clients } = simulated({ physics: NO_LATENCY }, ONE_SHOT);
    const ec2 = clients.client(EC2Client, 'eu-west-1');
    const describe = () => ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));

    const { burst, refill, throttle } = await virtually(async () => {
      const burst = await outcomes(Array.from({ length: 150 }, describe));
      await sim.clock.sleep(1000);
      const refill = await outcomes(Array.from({ length: 30 }, describe));
      const throttle = await rejection(describe());
      return { burst, refill, throttle };
    });

    expect(burst.ok).toHaveLength(100);
    expect(burst.errors).toEqual(Array(50).fill('RequestLimitExceeded'));
    expect(refill.ok).toHaveLength(20);
    expect(refill.errors).toHaveLength(10);
    expect(throttle).toBeInstanceOf(EC2ServiceException);
    expect(throttle).toMatchObject({
      name: 'RequestLimitExceeded',
      // The SDK calls any 5xx answer a server fault, EC2's 503 throttling included.
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
    expect(sim.counters.throttled({ service: 'ec2', region: 'eu-west-1', bucket: 'DescribeImages' })).toBe(
      50 + refill.errors.length + 1,
    );
  });

  test('CopyImage has its own bucket of 100, refilled at 1 per second, per region', async () => {
    const { sim, clients } = simulated({ physics: NO_LATENCY }, ONE_SHOT);
    const copy = (region: string, sourceImageId: string, index: number) =>
      clients
        .client(EC2Client, region)
        .send(new CopyImageCommand({ Name: `copy ${index}`, SourceImageId: sourceImageId, SourceRegion: 'us-east-1' }));

    const result = await virtually(async () => {
      const [source] = sim.seed.images([{ region: 'us-east-1', name: buildName('amd64'), architecture: 'x86_64' }]);
      const first = await outcomes(Array.from({ length: 101 }, (_, i) => copy('eu-west-1', source!.imageId, i)));
      const otherRegion = await outcomes([copy('eu-west-2', source!.imageId, 0)]);
      await sim.clock.sleep(1000);
      const later = await outcomes([copy('eu-west-1', source!.imageId, 200), copy('eu-west-1', source!.imageId, 201)]);
      return { first, otherRegion, later };
    });

    expect(result.first.ok).toHaveLength(100);
    expect(result.first.errors).toEqual(['RequestLimitExceeded']);
    expect(result.otherRegion.ok).toHaveLength(1);
    expect(result.later.ok).toHaveLength(1);
    expect(result.later.errors).toEqual(['RequestLimitExceeded']);
  });

  test('RunInstances has a bucket of 5, refilled at 2 per second', async () => {
    const { sim, clients } = simulated({ physics: NO_LATENCY }, ONE_SHOT);

    const result = await virtually(async () => {
      const [image] = sim.seed.images([{ region: 'us-east-1', name: buildName('arm64'), architecture: 'arm64' }]);
      const launch = () =>
        clients
          .client(EC2Client, 'us-east-1')
          .send(
            new RunInstancesCommand({ ImageId: image!.imageId, InstanceType: 'c7g.large', MinCount: 1, MaxCount: 1 }),
          );
      const burst = await outcomes(Array.from({ length: 7 }, launch));
      await sim.clock.sleep(1000);
      const refill = await outcomes(Array.from({ length: 3 }, launch));
      return { burst, refill };
    });

    expect(result.burst.ok).toHaveLength(5);
    expect(result.burst.errors).toEqual(['RequestLimitExceeded', 'RequestLimitExceeded']);
    expect(result.refill.ok).toHaveLength(2);
    expect(sim.counters.throttled({ bucket: 'RunInstances' })).toBe(3);
  });

  test("the SDK's adaptive retries get 130 describe calls through in the seconds the bucket needs", async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'ap-south-1');

    const { pages, elapsed } = await virtually(async () => {
      const started = sim.clock.now();
      const pages = await Promise.all(
        Array.from({ length: 130 }, () => ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))),
      );
      return { pages, elapsed: sim.clock.now() - started };
    });

    expect(pages).toHaveLength(130);
    const throttled = sim.counters.throttled({ service: 'ec2', bucket: 'DescribeImages' });
    expect(throttled).toBeGreaterThan(0);
    expect(sim.counters.calls({ operation: 'DescribeImages' })).toBe(130 + throttled);
    // 30 calls beyond the burst need at least 1.5 s of refill at 20 per second.
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(pages.some((p) => (p.$metadata.attempts ?? 1) > 1)).toBe(true);
  });

  test("past the SDK's retry quota, throttling reaches the caller as it would on AWS", async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'ap-south-1');

    const result = await virtually(() =>
      outcomes(Array.from({ length: 400 }, () => ec2.send(new DescribeImagesCommand({ Owners: ['self'] })))),
    );

    // 300 calls past the bucket's burst exhaust the client's 500 retry tokens (5 per throttled retry).
    expect(result.errors.length).toBeGreaterThan(0);
    expect(new Set(result.errors)).toEqual(new Set(['RequestLimitExceeded']));
    expect(sim.counters.throttled({ bucket: 'DescribeImages' })).toBeGreaterThan(result.errors.length);
  });

  test('Parameter Store throttles PutParameter at 3 per second with ThrottlingException', async () => {
    const { clients } = simulated({ physics: NO_LATENCY }, ONE_SHOT);
    const ssm = clients.client(SSMClient, 'us-east-1');

    const result = await virtually(() =>
      outcomes(
        Array.from({ length: 5 }, (_, i) =>
          ssm.send(new PutParameterCommand({ Name: `/p/${i}`, Value: 'v', Type: 'String' })),
        ),
      ),
    );

    expect(result.ok).toHaveLength(3);
    expect(result.errors).toEqual(['ThrottlingException', 'ThrottlingException']);
  });

  test('SNS Publish allows 30,000 per second in us-east-1, 9,000 in us-west-2 and eu-west-1, 1,500 elsewhere', () => {
    expect(snsBucket('Publish', 'us-east-1').perSecond).toBe(30_000);
    expect(snsBucket('Publish', 'us-west-2').perSecond).toBe(9_000);
    expect(snsBucket('Publish', 'eu-west-1').perSecond).toBe(9_000);
    expect(snsBucket('Publish', 'eu-north-1').perSecond).toBe(1_500);
  });

  test('SNS Publish answers Throttled (a ThrottledException, HTTP 429) when its bucket is empty', async () => {
    const { sim, clients } = simulated(
      { physics: { ...NO_LATENCY, snsBucket: () => ({ burst: 10, perSecond: 10 }) } },
      ONE_SHOT,
    );
    const sns = clients.client(SNSClient, 'eu-north-1');

    const { result, error } = await virtually(async () => {
      const topic = sim.seed.topic('eu-north-1', 'announce');
      const publish = () => sns.send(new PublishCommand({ TopicArn: topic, Message: 'hello' }));
      const result = await outcomes(Array.from({ length: 10 }, publish));
      return { result, error: await rejection(publish()) };
    });

    expect(result.ok).toHaveLength(10);
    expect(error).toBeInstanceOf(ThrottledException);
    expect(error).toMatchObject({ Code: 'Throttled', $metadata: { httpStatusCode: 429 } });
  });

  test('with physics off nothing is throttled', async () => {
    const { sim, clients } = simulated({ physics: 'off' }, { maxAttempts: 1 });

    const result = await virtually(() =>
      outcomes(
        Array.from({ length: 300 }, () => clients.client(EC2Client, 'us-east-1').send(new DescribeImagesCommand({}))),
      ),
    );

    expect(result.errors).toEqual([]);
    expect(sim.counters.throttled()).toBe(0);
  });
});
