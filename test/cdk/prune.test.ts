import { Match } from 'aws-cdk-lib/assertions';
import { synthesizePipeline } from '../support/cdk';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };

function statementsOf(template: ReturnType<typeof synthesizePipeline>['template'], roleMatch: RegExp): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((r) => roleMatch.test(r.Ref)))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('prune workflow', () => {
  const { template } = synthesizePipeline({
    schedules: { prune: 'cron(0 4 ? * MON *)' },
    safety: { regionConcurrency: 7 },
  });
  const all = () =>
    Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );

  describe('IAM', () => {
    test('DeregisterImage and DeleteSnapshot are allowed only on resources carrying the managed tag', () => {
      const deleting = all().filter((s) =>
        actionsOf(s).some((a) => a === 'ec2:DeregisterImage' || a === 'ec2:DeleteSnapshot'),
      );
      const prune = statementsOf(template, /PruneExecuteFunction/);

      expect(prune.map((s) => s.Sid)).toEqual(
        expect.arrayContaining(['DeregisterManagedImagesOnly', 'DeleteManagedSnapshotsOnly']),
      );
      expect(deleting.length).toBeGreaterThanOrEqual(2);
      for (const statement of deleting) {
        const conditions = JSON.stringify(statement.Condition ?? {});
        expect(conditions).toMatch(/"(aws|ec2):ResourceTag\/ami-pipeline:managed-by":"ami-pipeline"/);
      }
      const deregister = prune.find((s) => s.Sid === 'DeregisterManagedImagesOnly')!;
      expect(deregister).toMatchObject({
        Action: 'ec2:DeregisterImage',
        Condition: { StringEquals: { 'aws:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' } },
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:*::image/*']] },
      });
      const deleteSnapshot = prune.find((s) => s.Sid === 'DeleteManagedSnapshotsOnly')!;
      expect(deleteSnapshot).toMatchObject({
        Action: 'ec2:DeleteSnapshot',
        Condition: { StringEquals: { 'aws:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' } },
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:*::snapshot/*']] },
      });
    });

    test('only the adopt function may tag, only images and snapshots of the account, with the managed and adopted-at keys', () => {
      const tagging = (pattern: RegExp) =>
        statementsOf(template, pattern).filter((s) => actionsOf(s).includes('ec2:CreateTags'));

      expect(tagging(/PrunePlanFunction|PruneExecuteFunction|PruneSummaryFunction/)).toEqual([]);
      expect(tagging(/PruneAdoptFunction/)).toEqual([
        expect.objectContaining({
          Condition: {
            StringEquals: { 'ec2:Owner': '123456789012', 'aws:RequestTag/ami-pipeline:managed-by': 'ami-pipeline' },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['ami-pipeline:managed-by', 'ami-pipeline:adopted-at'] },
          },
        }),
      ]);
    });

    test('soft delete adds only a tag-conditioned ModifyImageAttribute and the deletion-date tag', () => {
      const soft = synthesizePipeline({ retention: { softDeleteGraceDays: 14 } }).template;

      const statements = statementsOf(soft, /PruneExecuteFunction/);
      expect(statements.find((s) => s.Sid === 'TagDeletionDateOnly')).toMatchObject({
        Action: 'ec2:CreateTags',
        Condition: {
          StringEquals: { 'aws:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['ami-pipeline:delete-after'] },
        },
      });
      expect(statements.find((s) => s.Sid === 'SoftDeleteManagedImagesOnly')?.Condition).toBeDefined();
    });
  });

  describe('state machine', () => {
    const definition = () => {
      const machines = template.findResources('AWS::StepFunctions::StateMachine');
      const prune = Object.entries(machines).find(([id]) => id.startsWith('PruneStateMachine'))![1];
      const body = prune.Properties.DefinitionString;
      return JSON.stringify(body);
    };

    test('maps over regions with the configured concurrency and loops batches until a region is complete', () => {
      const text = definition();
      expect(text).toContain('\\"MaxConcurrency\\":7');
      expect(text).toContain('\\"RegionComplete\\"');
      expect(text).toMatch(/\\"Next\\":\\"ExecuteBatch\\"|\\"Default\\":\\"ExecuteBatch\\"/);
    });

    test('has its own weekly schedule from configuration and an alarm on failed executions', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'cron(0 4 ? * MON *)',
        Targets: Match.arrayWith([Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^PruneStateMachine') } })]),
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmDescription: Match.stringLikeRegexp('^A prune run failed'),
        MetricName: 'ExecutionsFailed',
        AlarmActions: Match.anyValue(),
      });
    });
  });
});
