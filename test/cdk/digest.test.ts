import { Match } from 'aws-cdk-lib/assertions';
import { synthesizePipeline } from '../support/cdk';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('weekly digest', () => {
  // A public boot-performance page: the digest's grants are the same either way, and its distribution is checked here.
  const { template } = synthesizePipeline({ schedules: { digest: 'cron(0 7 ? * MON *)' }, report: { public: true } });
  const logicalId = (type: string, prefix: string) =>
    Object.keys(template.findResources(type)).find((id) => id.startsWith(prefix))!;
  const digestFunction = logicalId('AWS::Lambda::Function', 'DigestFunction');
  const digestRole = logicalId('AWS::IAM::Role', 'DigestFunctionResourcesRole');
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === digestRole))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const publishMachine = logicalId('AWS::StepFunctions::StateMachine', 'PublishStateMachine');
  const pruneMachine = logicalId('AWS::StepFunctions::StateMachine', 'PruneStateMachine');
  const auditMachine = logicalId('AWS::StepFunctions::StateMachine', 'AuditStateMachine');
  const reportBucket = logicalId('AWS::S3::Bucket', 'ReportsBucket');
  const distribution = logicalId('AWS::CloudFront::Distribution', 'ReportSite');

  describe('schedule', () => {
    test('a rule on schedules.digest starts the digest function', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'cron(0 7 ? * MON *)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [digestFunction, 'Arn'] } })],
      });
    });

    test('the function is not retried asynchronously, which would mail the digest again', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: digestFunction },
        MaximumRetryAttempts: 0,
      });
    });

    test('the function is told the three state machines, the history table and the announcements topic', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            PUBLISH_STATE_MACHINE_ARN: { Ref: publishMachine },
            PRUNE_STATE_MACHINE_ARN: { Ref: pruneMachine },
            AUDIT_STATE_MACHINE_ARN: { Ref: auditMachine },
            BOOT_HISTORY_TABLE: { Ref: logicalId('AWS::DynamoDB::Table', 'BootTestHistory') },
            DIGEST_TOPIC_ARN: { Ref: logicalId('AWS::SNS::Topic', 'NotificationsAnnouncements') },
          }),
        },
      });
    });
  });

  describe('IAM', () => {
    test('the role may do exactly what the digest needs and nothing else', () => {
      expect(new Set(statements.flatMap(actionsOf))).toEqual(
        new Set([
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'states:ListExecutions',
          'states:DescribeExecution',
          'states:GetExecutionHistory',
          'dynamodb:Query',
          'dynamodb:Scan',
          'sns:Publish',
          's3:PutObject',
          'kms:Decrypt',
          'kms:GenerateDataKey*',
        ]),
      );
    });

    test('executions are listed, described and their history read for the publish, prune and audit state machines only', () => {
      const list = statements.find((s) => s.Sid === 'ListExecutionsOfReportedWorkflows')!;
      expect(list.Resource).toEqual([{ Ref: publishMachine }, { Ref: pruneMachine }, { Ref: auditMachine }]);
      const describe = statements.find((s) => s.Sid === 'DescribeExecutionsOfReportedWorkflows')!;
      expect(describe.Action).toEqual(['states:DescribeExecution', 'states:GetExecutionHistory']);
      const resources = describe.Resource as unknown[];
      expect(resources).toHaveLength(3);
      for (const [resource, machine] of [
        [resources[0], publishMachine],
        [resources[1], pruneMachine],
        [resources[2], auditMachine],
      ] as const) {
        expect(JSON.stringify(resource)).toContain(':execution:');
        expect(resource).toMatchObject({
          'Fn::Join': ['', expect.arrayContaining([{ 'Fn::GetAtt': [machine, 'Name'] }, ':*'])],
        });
      }
    });

    test('the boot-performance page may be put under boot/ of the report bucket, and nothing else of S3', () => {
      const s3 = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));

      expect(s3).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reportBucket, 'Arn'] }, '/boot/*']] },
        }),
      ]);
    });

    test('the history table is read, the announcements topic and its key are used, each named by ARN', () => {
      expect(statements.find((s) => s.Sid === 'ReadBootHistory')!.Resource).toEqual({
        'Fn::GetAtt': [logicalId('AWS::DynamoDB::Table', 'BootTestHistory'), 'Arn'],
      });
      expect(statements.find((s) => actionsOf(s).includes('sns:Publish'))!.Resource).toEqual({
        Ref: logicalId('AWS::SNS::Topic', 'NotificationsAnnouncements'),
      });
      expect(statements.find((s) => actionsOf(s).includes('kms:GenerateDataKey*'))!.Resource).toEqual({
        'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'NotificationsKey'), 'Arn'],
      });
    });
  });

  describe('public boot-performance page (report.public)', () => {
    test('one distribution over the bucket’s boot/ prefix: HTTPS only, security headers, index.html at the root', () => {
      template.resourceCountIs('AWS::CloudFront::Distribution', 1);
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          DefaultRootObject: 'index.html',
          DefaultCacheBehavior: Match.objectLike({
            ViewerProtocolPolicy: 'https-only',
            AllowedMethods: ['GET', 'HEAD'],
            // The managed SecurityHeadersPolicy.
            ResponseHeadersPolicyId: '67f7725c-6f97-4210-82d7-5512b31e9d03',
          }),
          Origins: [
            Match.objectLike({
              DomainName: { 'Fn::GetAtt': [reportBucket, 'RegionalDomainName'] },
              OriginPath: '/boot',
              OriginAccessControlId: Match.anyValue(),
              S3OriginConfig: { OriginAccessIdentity: '' },
            }),
          ],
        }),
      });
    });

    test('origin access control signs every request; no origin access identity exists', () => {
      template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: {
          OriginAccessControlOriginType: 's3',
          SigningBehavior: 'always',
          SigningProtocol: 'sigv4',
        },
      });
      template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    });

    test('the bucket lets this distribution read objects, signed by its origin access control', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: reportBucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudfront.amazonaws.com' },
              Action: 's3:GetObject',
              // CloudFront reads from the origin path /boot only: viewers cannot name a key outside boot/.
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reportBucket, 'Arn'] }, '/*']] },
              Condition: {
                StringEquals: {
                  'AWS:SourceArn': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: distribution }])] }),
                },
              },
            }),
          ]),
        },
      });
    });

    test('the digest is told the bucket and links the distribution’s address, as the stack output does', () => {
      const address = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }, '/']] };
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ REPORT_BUCKET: { Ref: reportBucket }, REPORT_PAGE_URL: address }),
        },
      });
      template.hasOutput('BootPageUrl', { Value: address });
    });
  });

  describe('alarm', () => {
    test('errors of the digest function alarm the operators', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: digestFunction } }],
        Threshold: 1,
        AlarmActions: [{ Ref: logicalId('AWS::SNS::Topic', 'NotificationsAlarms') }],
      });
    });
  });
});
