import { Match } from 'aws-cdk-lib/assertions';
import { WORKFLOW_METADATA } from '../../lib/workflow-metadata';
import { synthesizePipeline } from '../support/cdk';

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};
type Template = ReturnType<typeof synthesizePipeline>['template'];

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
/** What every function of the stack may do: write its own logs and traces. */
const BASE = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

function statementsOf(template: Template, role: RegExp): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((r) => role.test(r.Ref)))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

function allowed(template: Template, role: RegExp): Set<string> {
  return new Set(
    statementsOf(template, role)
      .filter((s) => s.Effect === 'Allow')
      .flatMap(actionsOf),
  );
}

function auditMachine(template: Template): { id: string; definition: string } {
  const [id, machine] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).find(
    ([, m]) => m.Metadata?.[WORKFLOW_METADATA] === 'audit',
  )!;
  return { id, definition: JSON.stringify(machine.Properties.DefinitionString).replaceAll('\\', '') };
}

describe('audit workflow', () => {
  const { template } = synthesizePipeline({
    regions: { allow: ['us-east-1', 'eu-west-1'] },
    schedules: { audit: 'cron(0 5 ? * SUN *)' },
    audit: { repair: false },
    publish: { regionConcurrency: 12 },
  });

  test('is a state machine named as the audit workflow: regions, discovery, a Map over regions polling copies, a summary', () => {
    const { definition } = auditMachine(template);

    expect(definition).toContain('"Defaults":{"Type":"Pass"');
    expect(definition).toContain('"repair":false');
    expect(definition).toMatch(/"AuditRegions":\{"Type":"Map".*"MaxConcurrency":12/);
    expect(definition).toContain('"ItemsPath":"$.selection.regions"');
    expect(definition).toMatch(/"WaitForCopies":\{"Type":"Wait",[^}]*"SecondsPath":"\$\.waitSeconds"/);
    expect(definition).toContain('"CopiesPending":{"Type":"Choice"');
    expect(definition).toContain('"AuditIncomplete":{"Type":"Fail"');
    expect(definition).toContain('"NothingToAudit":{"Type":"Succeed"}');
  });

  test('runs on its own schedule with the configured repair as input', () => {
    const { id } = auditMachine(template);

    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 5 ? * SUN *)',
      Targets: [Match.objectLike({ Arn: { Ref: id }, Input: '{"repair":false}' })],
    });
  });

  test('alarms the operators on failed and timed-out executions', () => {
    const { id } = auditMachine(template);

    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut'])
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: id } }],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsAlarms') }],
      });
  });

  test('copies only own images as managed, and changes only managed images, with the pipeline’s tag keys', () => {
    const inspect = statementsOf(template, /AuditInspectFunction/);
    const copy = inspect.find((s) => s.Sid === 'CopyOwnImagesAsManaged')!;
    const tag = inspect.find((s) => s.Sid === 'TagManagedWithPipelineKeysOnly')!;
    const remove = inspect.find((s) => s.Sid === 'RemoveFailedManagedCopies')!;

    expect(copy.Condition).toMatchObject({
      StringEquals: { 'ec2:Owner': '123456789012', 'aws:RequestTag/ami-pipeline:managed-by': 'ami-pipeline' },
    });
    expect(tag.Condition).toMatchObject({
      StringEquals: { 'aws:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': expect.arrayContaining(['ami-pipeline:series']) },
    });
    expect(remove.Condition).toEqual({ StringEquals: { 'ec2:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' } });
    for (const statement of inspect.filter((s) => s.Effect === 'Allow')) {
      const mutating = actionsOf(statement).some(
        (a) => !/^ec2:(Describe|Get)|^ssm:Get/.test(a) && a.startsWith('ec2:'),
      );
      if (mutating) expect(statement.Condition).toBeDefined();
    }
  });

  test('each function holds only the actions its step calls', () => {
    expect(allowed(template, /AuditDiscoverFunction/)).toEqual(
      new Set(['ec2:DescribeImages', 'dynamodb:Query', ...BASE]),
    );
    expect(allowed(template, /AuditPollFunction/)).toEqual(
      new Set([
        'ec2:DescribeImages',
        'ec2:CopyImage',
        'ec2:CreateTags',
        'ec2:DeregisterImage',
        'ec2:DeleteSnapshot',
        ...BASE,
      ]),
    );
    const settle = allowed(template, /AuditSettleFunction/);
    expect(settle.has('ec2:CopyImage')).toBe(false);
    expect(settle.has('ec2:DeregisterImage')).toBe(false);
    expect(settle.has('dynamodb:UpdateItem')).toBe(true);
    expect(allowed(template, /AuditSummaryFunction/)).toEqual(new Set(BASE));
  });

  test('reads and writes SSM only under the prefix, and copies or publishes nowhere outside the allowed regions', () => {
    const inspect = statementsOf(template, /AuditInspectFunction/);
    const parameters = inspect.filter((s) => s.Effect === 'Allow' && actionsOf(s).some((a) => a.startsWith('ssm:')));
    const guards = inspect.filter((s) => s.Effect === 'Deny');

    expect(JSON.stringify(parameters)).not.toMatch(/parameter\/\*|"\*"/);
    expect(parameters.flatMap(actionsOf).sort()).toEqual(['ssm:GetParametersByPath', 'ssm:PutParameter']);
    expect(guards.map((g) => g.Sid).sort()).toEqual([
      'NoCopiesOutsideAllowedRegions',
      'NoPublishingOutsideAllowedRegions',
    ]);
    expect(guards[0]!.Condition).toEqual({
      StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] },
    });
  });

  test('the digest reads the audit executions, and the stack names the audit state machine in its outputs', () => {
    const { id } = auditMachine(template);

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUDIT_STATE_MACHINE_ARN: { Ref: id } }) },
    });
    const digest = statementsOf(template, /DigestFunction/).find((s) => s.Sid === 'ListExecutionsOfReportedWorkflows')!;
    expect(digest.Resource).toEqual(expect.arrayContaining([{ Ref: id }]));
    template.hasOutput('AuditStateMachineArn', { Value: { Ref: id } });
  });
});
