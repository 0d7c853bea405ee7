import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  deployLocally,
  deploymentFromStack,
  localRoleId,
  resolveValue,
  rolesNamedById,
} from '../../bin/local/deployment';
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
    CheckRole5678: { Type: 'AWS::IAM::Role', Properties: {} },
    DigestFunction99: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Environment: {
          Variables: {
            REPORT_BUCKET: { Ref: 'ReportsBucketA1B2C3D4' },
            REPORT_BUCKET_ARN: { 'Fn::GetAtt': ['ReportsBucketA1B2C3D4', 'Arn'] },
            ALARMS: { Ref: 'AlarmsTopic1234' },
            CHECK_ROLE_ID: { 'Fn::GetAtt': ['CheckRole5678', 'RoleId'] },
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

  test('gives a role the functions name by its unique id one, stable and shaped as IAM shapes them', async () => {
    const deployment = await deployLocally(template, clients, { region: REGION, account: ACCOUNT });

    expect(rolesNamedById(template)).toEqual(['CheckRole5678']);
    const roleId = resolveValue({ 'Fn::GetAtt': ['CheckRole5678', 'RoleId'] }, deployment);
    expect(roleId).toMatch(/^AROA[0-9A-F]{17}$/);
    expect(roleId).toBe(localRoleId(ACCOUNT, REGION, 'CheckRole5678'));
    expect(localRoleId(ACCOUNT, REGION, 'OtherRole')).not.toBe(roleId);
  });

  test('reads the unique id of a deployed role from IAM, for the roles the functions name by it', async () => {
    // Prepare: a deployed stack holding the role.
    const stackName = 'RoleIdStack';
    await clients.client(CloudFormationClient, REGION).send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: JSON.stringify({
          Resources: {
            CheckRole5678: {
              Type: 'AWS::IAM::Role',
              Properties: {
                AssumeRolePolicyDocument: {
                  Version: '2012-10-17',
                  Statement: [
                    { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
                  ],
                },
              },
            },
          },
        }),
      }),
    );

    // Act
    const deployment = (await deploymentFromStack(clients, stackName, REGION, rolesNamedById(template)))!;
    const unnamed = (await deploymentFromStack(clients, stackName, REGION))!;

    // Assess: IAM's id of the role the stack made; none is asked for when no function names it.
    const roleName = deployment.ref('CheckRole5678')!;
    const role = await clients.client(IAMClient, 'us-east-1').send(new GetRoleCommand({ RoleName: roleName }));
    expect(deployment.attribute('CheckRole5678', 'RoleId')).toBe(role.Role!.RoleId);
    expect(unnamed.attribute('CheckRole5678', 'RoleId')).toBeUndefined();
  });
});
