import { Readable } from 'node:stream';
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { ClientFactory, RETRY_DEFAULTS } from '../../lambdas/aws/clients';

const THROTTLED = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>`;
const REGIONS = `<?xml version="1.0" encoding="UTF-8"?><DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><regionInfo><item><regionName>us-east-1</regionName><optInStatus>opt-in-not-required</optInStatus></item></regionInfo></DescribeRegionsResponse>`;

/** An HTTP handler standing in for EC2: throttles the first `throttled` requests, then answers. */
function throttlingEc2(throttled: number) {
  const seen: string[] = [];
  return {
    seen,
    handler: {
      handle: async (request: { hostname: string }) => {
        seen.push(request.hostname);
        const fail = seen.length <= throttled;
        return {
          response: {
            statusCode: fail ? 503 : 200,
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([Buffer.from(fail ? THROTTLED : REGIONS)]),
          },
        };
      },
    },
  };
}

describe('client factory', () => {
  test('gives every client the same adaptive, bounded retry policy', async () => {
    const clients = new ClientFactory({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

    const ec2 = clients.ec2('eu-west-1');
    const ssm = clients.ssm('eu-west-1');

    expect(await ec2.config.maxAttempts()).toBe(RETRY_DEFAULTS.maxAttempts);
    expect((await ssm.config.retryStrategy()) as { mode?: string }).toMatchObject({ mode: 'adaptive' });
    expect(await ec2.config.region()).toBe('eu-west-1');
  });

  test('caches one client per service and region', () => {
    const clients = new ClientFactory({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

    expect(clients.ec2('us-east-1')).toBe(clients.ec2('us-east-1'));
    expect(clients.ec2('us-east-1')).not.toBe(clients.ec2('us-west-2'));
  });

  test('retries RequestLimitExceeded through an injected request handler until it succeeds', async () => {
    const ec2 = throttlingEc2(2);
    const clients = new ClientFactory({
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: ec2.handler,
      retryMode: 'standard',
      maxAttempts: 4,
    });

    const response = await clients.ec2('us-east-1').send(new DescribeRegionsCommand({}));

    expect(response.Regions?.[0]?.RegionName).toBe('us-east-1');
    expect(ec2.seen).toHaveLength(3);
  });

  test('gives up after the bounded number of attempts', async () => {
    const ec2 = throttlingEc2(10);
    const clients = new ClientFactory({
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: ec2.handler,
      retryMode: 'standard',
      maxAttempts: 2,
    });

    await expect(clients.ec2('us-east-1').send(new DescribeRegionsCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    expect(ec2.seen).toHaveLength(2);
  });
});
