import { Match } from 'aws-cdk-lib/assertions';
import { synthesizePipeline } from '../support/cdk';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('weekly digest', () => {
  const { template } = synthesizePipeline({ schedules: { digest: 'cron(0 7 ? * MON *)' } });
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
