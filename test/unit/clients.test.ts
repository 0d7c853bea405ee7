import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
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

    const ec2 = clients.client(EC2Client, 'eu-west-1');
    const ssm = clients.client(SSMClient, 'eu-west-1');

    expect(await ec2.config.maxAttempts()).toBe(RETRY_DEFAULTS.maxAttempts);
    expect((await ssm.config.retryStrategy()) as { mode?: string }).toMatchObject({ mode: 'adaptive' });
    expect(await ec2.config.region()).toBe('eu-west-1');
  });

  test('caches one client per service and region', () => {
    const clients = new ClientFactory({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

    expect(clients.client(EC2Client, 'us-east-1')).toBe(clients.client(EC2Client, 'us-east-1'));
    expect(clients.client(EC2Client, 'us-east-1')).not.toBe(clients.client(EC2Client, 'us-west-2'));
  });

  test("tells plug-ins each new client's service by the SDK's own name, once per service and region", () => {
    const seen: string[] = [];
    const clients = new ClientFactory({
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      plugins: [(_stack, info) => seen.push(`${info.service}@${info.region}`)],
    });

    clients.client(DynamoDBClient, 'eu-west-1');
    clients.client(DynamoDBClient, 'eu-west-1');
    clients.withPlugins().client(SFNClient, 'us-east-1');

    expect(seen).toEqual(['dynamodb@eu-west-1', 'sfn@us-east-1']);
  });

  test('retries RequestLimitExceeded through an injected request handler until it succeeds', async () => {
    const ec2 = throttlingEc2(2);
    const clients = new ClientFactory({
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: ec2.handler,
      retryMode: 'standard',
      maxAttempts: 4,
    });

    const response = await clients.client(EC2Client, 'us-east-1').send(new DescribeRegionsCommand({}));

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

    await expect(clients.client(EC2Client, 'us-east-1').send(new DescribeRegionsCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    expect(ec2.seen).toHaveLength(2);
  });
});
