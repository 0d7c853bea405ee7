import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { deployLocally, resolveValue } from '../../bin/local/deployment';
import type { StackTemplate } from '../../bin/local/template';
import { ClientFactory } from '../../lambdas/aws/clients';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** A function whose environment names a bucket, a topic and a table, and a bucket nothing refers to. */
const template: StackTemplate = {
  Resources: {
    ReportsBucketA1B2C3D4: { Type: 'AWS::S3::Bucket', Properties: {} },
    UnusedBucket0000: { Type: 'AWS::S3::Bucket', Properties: {} },
    AlarmsTopic1234: { Type: 'AWS::SNS::Topic', Properties: {} },
    DigestFunction99: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Environment: {
          Variables: {
            REPORT_BUCKET: { Ref: 'ReportsBucketA1B2C3D4' },
            REPORT_BUCKET_ARN: { 'Fn::GetAtt': ['ReportsBucketA1B2C3D4', 'Arn'] },
            ALARMS: { Ref: 'AlarmsTopic1234' },
          },
        },
      },
    },
  },
} as unknown as StackTemplate;

describe('a local deployment of the resources the functions refer to', () => {
  const clients = new ClientFactory({ maxAttempts: 1 });
  const s3 = clients.client(S3Client, REGION);

  test('makes each referenced bucket once, outside the region’s default, and resolves its name and ARN', async () => {
    const first = await deployLocally(template, clients, { region: REGION, account: ACCOUNT });
    const again = await deployLocally(template, clients, { region: REGION, account: ACCOUNT });

    const bucket = first.ref('ReportsBucketA1B2C3D4')!;
    expect(bucket).toBe(`reportsbucketa1b2c3d4-${ACCOUNT}-${REGION}`);
    expect(again.ref('ReportsBucketA1B2C3D4')).toBe(bucket);
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    expect(resolveValue({ 'Fn::GetAtt': ['ReportsBucketA1B2C3D4', 'Arn'] }, first)).toBe(`arn:aws:s3:::${bucket}`);
    const topics = await clients.client(SNSClient, REGION).send(new ListTopicsCommand({}));
    expect(topics.Topics?.map((t) => t.TopicArn)).toContain(first.ref('AlarmsTopic1234'));
  });

  test('leaves a bucket no function or state machine refers to unmade', async () => {
    const deployment = await deployLocally(template, clients, { region: REGION, account: ACCOUNT });

    expect(deployment.ref('UnusedBucket0000')).toBeUndefined();
    await expect(s3.send(new HeadBucketCommand({ Bucket: `unusedbucket0000-${ACCOUNT}-${REGION}` }))).rejects.toThrow();
  });
});
