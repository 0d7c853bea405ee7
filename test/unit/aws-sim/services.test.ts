import { PutMetricDataCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBServiceException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CopyImageCommand, DescribeImagesCommand, DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { InvalidParameterException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ParameterAlreadyExists,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { DynamoBootHistory } from '../../../lambdas/aws/boot/history';
import { discoverRegions } from '../../../lambdas/aws/regions';
import type { BootHistoryRow } from '../../../lambdas/core/boot/result';
import { SimulationGapError } from '../../../scripts/aws-sim';
import { buildName, MINUTE, rejection, simulated, virtually } from './helpers';

const putImage = (name: string, value: string) =>
  new PutParameterCommand({ Name: name, Value: value, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true });

describe('simulated AWS: Parameter Store', () => {
  test('an aws:ec2:image write returns a version at once but is applied only if its image is available when validated', async () => {
    const { sim, clients } = simulated();
    const ssm = clients.client(SSMClient, 'eu-west-1');
    const name = '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT';

    const result = await virtually(async () => {
      const [available] = sim.seed.images([{ region: 'eu-west-1', name: buildName('amd64', '20260226') }]);
      const [source] = sim.seed.images([{ region: 'us-east-1', name: buildName('amd64') }]);
      const pending = await clients
        .client(EC2Client, 'eu-west-1')
        .send(new CopyImageCommand({ Name: source!.name, SourceImageId: source!.imageId, SourceRegion: 'us-east-1' }));
      const first = await ssm.send(putImage(name, available!.imageId));
      const beforeValidation = await ssm.send(new GetParametersCommand({ Names: [name] }));
      await sim.clock.sleep(MINUTE);
      const second = await ssm.send(putImage(name, pending.ImageId!));
      await sim.clock.sleep(MINUTE);
      const after = await ssm.send(new GetParametersCommand({ Names: [name] }));
      const history = await ssm.send(new GetParameterHistoryCommand({ Name: name }));
      return {
        available: available!.imageId,
        pending: pending.ImageId!,
        first,
        beforeValidation,
        second,
        after,
        history,
      };
    });

    expect(result.first.Version).toBe(1);
    expect(result.beforeValidation.InvalidParameters).toEqual([name]);
    expect(result.second.Version).toBe(2);
    // The copy was still pending: validation failed and the parameter kept the available image.
    expect(result.after.Parameters?.[0]).toMatchObject({
      Value: result.available,
      Version: 1,
      DataType: 'aws:ec2:image',
    });
    expect(result.history.Parameters?.map((p) => p.Value)).toEqual([result.available]);
    expect(sim.inspect.failedValidations()).toEqual([
      expect.objectContaining({ name, version: 2, value: result.pending, reason: `${result.pending} is pending` }),
    ]);
  });

  test('PutParameter without Overwrite on an existing name answers ParameterAlreadyExists', async () => {
    const { clients } = simulated();
    const ssm = clients.client(SSMClient, 'eu-west-1');

    const error = await virtually(async () => {
      await ssm.send(new PutParameterCommand({ Name: '/p', Value: 'a', Type: 'String' }));
      return rejection(ssm.send(new PutParameterCommand({ Name: '/p', Value: 'b', Type: 'String' })));
    });

    expect(error).toBeInstanceOf(ParameterAlreadyExists);
  });

  test('GetParametersByPath pages ten at a time, recursively only when asked', async () => {
    const { sim, clients } = simulated();
    const ssm = clients.client(SSMClient, 'eu-west-1');

    const result = await virtually(async () => {
      sim.seed.parameters(
        'eu-west-1',
        Object.fromEntries(
          Array.from({ length: 23 }, (_, i) => [`/prefix/arch/${String(i).padStart(2, '0')}`, `v${i}`]),
        ),
      );
      sim.seed.parameters('eu-west-1', { '/prefix/top': 'top', '/other/x': 'x' });
      const pages: number[] = [];
      let token: string | undefined;
      do {
        const page = await ssm.send(
          new GetParametersByPathCommand({ Path: '/prefix', Recursive: true, NextToken: token }),
        );
        pages.push(page.Parameters!.length);
        token = page.NextToken;
      } while (token);
      const shallow = await ssm.send(new GetParametersByPathCommand({ Path: '/prefix' }));
      return { pages, shallow: shallow.Parameters!.map((p) => p.Name) };
    });

    expect(result.pages).toEqual([10, 10, 4]);
    expect(result.shallow).toEqual(['/prefix/top']);
  });
});

describe('simulated AWS: SNS', () => {
  test('Publish refuses a subject of 100 characters or with a line break, an oversized message, and JSON without default', async () => {
    const { sim, clients } = simulated();
    const sns = clients.client(SNSClient, 'us-east-1');

    const result = await virtually(async () => {
      const topic = sim.seed.topic('us-east-1', 'announce');
      const publish = (input: { Message: string; Subject?: string; MessageStructure?: string }) =>
        sns.send(new PublishCommand({ TopicArn: topic, ...input }));
      return {
        ok: await publish({ Subject: 'x'.repeat(99), Message: 'body' }),
        long: await rejection(publish({ Subject: 'x'.repeat(100), Message: 'body' })),
        newline: await rejection(publish({ Subject: 'two\nlines', Message: 'body' })),
        big: await rejection(publish({ Message: 'x'.repeat(262_145) })),
        json: await rejection(publish({ Message: '{"email":"x"}', MessageStructure: 'json' })),
        jsonOk: await publish({ Message: '{"default":"d","email":"x"}', MessageStructure: 'json' }),
        topic,
      };
    });

    expect(result.ok.MessageId).toBeDefined();
    for (const error of [result.long, result.newline, result.big, result.json]) {
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect(error.Code).toBe('InvalidParameter');
    }
    expect(result.json.message).toMatch(/No default entry/);
    expect(sim.inspect.messages(result.topic).map((m) => m.subject)).toEqual(['x'.repeat(99), undefined]);
  });
});

describe('simulated AWS: DynamoDB, STS, regions', () => {
  test('the boot history table works as the project reads and writes it', async () => {
    const { sim, clients } = simulated();
    const history = new DynamoBootHistory(clients.client(DynamoDBClient, 'us-east-1'), 'boot-history');
    const row = (buildDate: string, imageId: string): BootHistoryRow => ({
      seriesKey: '15.0-CURRENT/amd64/base/ufs',
      instanceType: 'c7i.large',
      buildDate,
      imageId,
      imageName: buildName('amd64', buildDate.replaceAll('-', '')),
      region: 'us-east-1',
      network: 'isolated',
      status: 'passed',
      reason: 'ok',
      runs: 1,
      median: { runInstancesSeconds: 1.2, bootSeconds: 14.5 },
      testedAt: '2026-03-07T07:00:00.000Z',
      runId: 'run-1',
    });

    const result = await virtually(async () => {
      sim.seed.table('us-east-1', 'boot-history', { partition: 'seriesType', sort: 'buildImage' });
      for (const [date, id] of [
        ['2026-02-19', 'ami-1'],
        ['2026-02-26', 'ami-2'],
        ['2026-03-05', 'ami-3'],
      ] as const)
        await history.put(row(date, id));
      const window = await history.query('15.0-CURRENT/amd64/base/ufs', 'c7i.large', '2026-02-20', '2026-03-05');
      const all = await history.list();
      const exists = await rejection(
        clients.client(DynamoDBClient, 'us-east-1').send(
          new CreateTableCommand({
            TableName: 'boot-history',
            KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
          }),
        ),
      );
      return { window, all, exists };
    });

    expect(result.window.map((r) => r.imageId)).toEqual(['ami-2']);
    expect(result.all.map((r) => r.buildDate)).toEqual(['2026-02-19', '2026-02-26', '2026-03-05']);
    expect(result.exists).toBeInstanceOf(DynamoDBServiceException);
    expect(result.exists.name).toBe('ResourceInUseException');
  });

  test('regions: 29 enabled by default, opt-in status reported, disabled ones refuse calls', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'us-east-1');

    const result = await virtually(async () => {
      const enabled = await ec2.send(new DescribeRegionsCommand({}));
      const all = await ec2.send(new DescribeRegionsCommand({ AllRegions: true }));
      const optedIn = await ec2.send(
        new DescribeRegionsCommand({ Filters: [{ Name: 'opt-in-status', Values: ['opted-in'] }] }),
      );
      const selection = await discoverRegions(clients, 'us-east-1', { allow: [], deny: ['ap-east-1'] });
      const refused = await rejection(clients.client(EC2Client, 'mx-central-1').send(new DescribeImagesCommand({})));
      return { enabled, all, optedIn, selection, refused };
    });

    expect(result.enabled.Regions).toHaveLength(29);
    expect(result.all.Regions?.find((r) => r.RegionName === 'mx-central-1')?.OptInStatus).toBe('not-opted-in');
    expect(result.optedIn.Regions).toHaveLength(12);
    expect(result.selection.selected).toHaveLength(28);
    expect(result.refused.name).toBe('AuthFailure');
    expect(sim.world.enabledRegions()).toHaveLength(29);
  });
});

describe('simulated AWS: faults and gaps', () => {
  test('an injected fault fails the matching calls the given number of times, then the model answers', async () => {
    const { sim, clients } = simulated({}, { maxAttempts: 1 });
    const ec2 = clients.client(EC2Client, 'eu-west-1');
    const fault = sim.fail({
      service: 'ec2',
      operation: 'DescribeImages',
      region: 'eu-west-1',
      when: (input) => (input.Owners as string[] | undefined)?.includes('self') === true,
      times: 2,
      error: { code: 'InternalError', message: 'An internal error has occurred', status: 500 },
    });

    const result = await virtually(async () => {
      const first = await rejection(ec2.send(new DescribeImagesCommand({ Owners: ['self'] })));
      const unmatched = await ec2.send(new DescribeImagesCommand({}));
      const second = await rejection(ec2.send(new DescribeImagesCommand({ Owners: ['self'] })));
      const third = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
      return { first, unmatched, second, third };
    });

    expect(result.first).toMatchObject({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    expect(result.unmatched.Images).toEqual([]);
    expect(result.second.name).toBe('InternalError');
    expect(result.third.Images).toEqual([]);
    expect(fault.hits).toBe(2);
    expect(sim.counters.errors({ code: 'InternalError' })).toBe(2);
  });

  test('EC2 DryRun answers DryRunOperation without acting; CloudWatch keeps the metrics put', async () => {
    const { sim, clients } = simulated();

    const dryRun = await virtually(async () => {
      await clients.client(CloudWatchClient, 'us-east-1').send(
        new PutMetricDataCommand({
          Namespace: 'AmiPipeline/BootTest',
          MetricData: [{ MetricName: 'BootSeconds', Value: 14.2 }],
        }),
      );
      return rejection(clients.client(EC2Client, 'us-east-1').send(new DescribeImagesCommand({ DryRun: true })));
    });

    expect(dryRun.name).toBe('DryRunOperation');
    expect(sim.inspect.metrics().map((m) => [m.namespace, m.datum.MetricName, m.datum.Value])).toEqual([
      ['AmiPipeline/BootTest', 'BootSeconds', 14.2],
    ]);
  });

  test('a call the model lacks fails loudly as a simulation gap; other services pass through untouched', async () => {
    const { clients } = simulated();

    const gap = await virtually(() =>
      rejection(clients.client(SNSClient, 'us-east-1').send(new ListTopicsCommand({}))),
    );
    const sfn = clients.client(SFNClient, 'us-east-1');

    expect(gap).toBeInstanceOf(SimulationGapError);
    expect(sfn.middlewareStack.identify().some((entry) => entry.startsWith('awsSimulation'))).toBe(false);
  });
});
