import { Match } from 'aws-cdk-lib/assertions';
import { acceptedCfnLintWarnings, cfnLint } from '../support/cdk';
import { synthesizePublishWorkflow } from './publish-synth';

type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
};

const config = {
  notifications: { emails: ['freebsd-snapshots@example.org'], alarmEmails: ['ec2-maintainer@example.org'] },
  publish: { regionConcurrency: 7, copyTimeoutMinutes: 120 },
  schedules: { publish: 'cron(0 5 ? * FRI *)' },
};

describe('publish workflow', () => {
  const { template, templateJson, templatePath, stack, workflow } = synthesizePublishWorkflow(config);
  const definition = (): Record<string, unknown> => {
    const state = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]!;
    const parts = (state.Properties.DefinitionString['Fn::Join'][1] as unknown[]).map((p) =>
      typeof p === 'string' ? p : 'TOKEN',
    );
    return JSON.parse(parts.join(''));
  };
  const statementsOf = (
    fn: { role?: { node: { defaultChild?: unknown } } },
    synth: { stack: typeof stack; templateJson: typeof templateJson } = { stack, templateJson },
  ): Statement[] => {
    const roleId = synth.stack.getLogicalId(fn.role!.node.defaultChild as never);
    const policy = Object.values(synth.templateJson.Resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    )!;
    return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  };
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const allFunctions = () => [
    workflow.discoverFunction,
    workflow.prepareFunction,
    workflow.pollFunction,
    workflow.finalizeFunction,
    workflow.announceFunction,
  ];

  describe('state machine', () => {
    test('fans out over the regions with the configured concurrency and times out after the copy timeout', () => {
      const states = definition() as {
        TimeoutSeconds: number;
        States: Record<string, { Type: string; MaxConcurrency?: number; ItemsPath?: string }>;
      };

      expect(states.TimeoutSeconds).toBe((120 + 60) * 60);
      expect(states.States.PublishRegions).toMatchObject({ Type: 'Map', MaxConcurrency: 7, ItemsPath: '$.regions' });
    });

    test('polls each region in a loop whose wait comes from the input, with a failure branch per region', () => {
      const map = (definition().States as Record<string, { ItemProcessor: { States: Record<string, unknown> } }>)
        .PublishRegions!;
      const inner = map.ItemProcessor.States as Record<string, Record<string, unknown>>;

      expect(inner.WaitForCopies).toMatchObject({ Type: 'Wait', SecondsPath: '$.waitSeconds', Next: 'Poll' });
      expect(inner.Poll).toMatchObject({ Next: 'CopiesPending' });
      expect(inner.CopiesPending).toMatchObject({
        Type: 'Choice',
        Choices: [{ Variable: '$.pending', BooleanEquals: true, Next: 'WaitForCopies' }],
        Default: 'Finalize',
      });
      for (const task of ['Prepare', 'Poll', 'Finalize']) {
        expect(inner[task]!.Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RegionFailed' },
        ]);
      }
      expect(inner.RegionFailed).toMatchObject({
        Type: 'Pass',
        Parameters: { 'region.$': '$.region', status: 'failed', 'error.$': '$.error.Cause' },
      });
    });

    test('fails the execution at the end when any region or image failed, after announcing', () => {
      const states = definition().States as Record<string, Record<string, unknown>>;

      expect(states.Announce).toMatchObject({ Next: 'AllPublished' });
      expect(states.AllPublished).toMatchObject({
        Choices: [{ Variable: '$.summary.failedCount', NumericGreaterThan: 0, Next: 'PublishIncomplete' }],
      });
      expect(states.PublishIncomplete).toMatchObject({ Type: 'Fail', Error: 'PublishIncomplete' });
    });

    test('logs every event with execution data and traces with X-Ray', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
        TracingConfiguration: { Enabled: true },
      });
    });
  });

  describe('schedule and alarms', () => {
    test('starts weekly from the configured cron expression', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'cron(0 5 ? * FRI *)',
        Targets: [
          Match.objectLike({ Arn: { Ref: stack.getLogicalId(workflow.stateMachine.node.defaultChild as never) } }),
        ],
      });
    });

    test('alarms the operators on failed and timed-out executions', () => {
      const alarmsTopic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) => id.includes('Alarms'))!;
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: metric,
          Namespace: 'AWS/States',
          Threshold: 1,
          AlarmActions: [{ Ref: alarmsTopic }],
        });
      }
    });
  });

  describe('least-privilege grants', () => {
    test('copying needs an own source image and puts the managed tag on the copy and its snapshots', () => {
      const pipelineKeys = {
        'ForAllValues:StringEquals': {
          'aws:TagKeys': [
            'ami-pipeline:managed-by',
            'ami-pipeline:series',
            'ami-pipeline:build-date',
            'ami-pipeline:source-image',
            'ami-pipeline:source-region',
            'ami-pipeline:git-branch',
            'ami-pipeline:git-revision',
          ],
        },
      };
      for (const fn of [workflow.prepareFunction, workflow.pollFunction]) {
        const copying = statementsOf(fn).filter((s) => actions(s).includes('ec2:CopyImage'));
        expect(copying.map((s) => [JSON.stringify(s.Resource).match(/(image|snapshot)\/\*/)![1], s.Condition])).toEqual(
          [
            [
              'image',
              {
                StringEquals: { 'ec2:Owner': '123456789012', 'aws:RequestTag/ami-pipeline:managed-by': 'ami-pipeline' },
                ...pipelineKeys,
              },
            ],
            [
              'snapshot',
              { StringEquals: { 'aws:RequestTag/ami-pipeline:managed-by': 'ami-pipeline' }, ...pipelineKeys },
            ],
          ],
        );
      }
    });

    test('tagging a copy at creation is allowed only under the CopyImage create action', () => {
      for (const fn of [workflow.prepareFunction, workflow.pollFunction]) {
        const statements = statementsOf(fn);
        const tagging = statements.filter((s) => actions(s).includes('ec2:CreateTags'));
        expect(tagging).toHaveLength(1);
        expect(tagging[0]!.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'CopyImage' } });
      }
    });

    test('deregistering, sharing and deprecating need the managed-by tag on the resource', () => {
      const guarded = [
        'ec2:DeregisterImage',
        'ec2:DeleteSnapshot',
        'ec2:ModifyImageAttribute',
        'ec2:ModifySnapshotAttribute',
        'ec2:EnableImageDeprecation',
      ];
      for (const fn of allFunctions()) {
        for (const statement of statementsOf(fn).filter((s) => actions(s).some((a) => guarded.includes(a)))) {
          expect(statement.Condition?.StringEquals).toEqual({
            'ec2:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline',
          });
        }
      }
    });

    test('later tagging may write only the pipeline’s own tag keys', () => {
      const finalizeTagging = statementsOf(workflow.finalizeFunction).find((s) =>
        actions(s).includes('ec2:CreateTags'),
      )!;
      const announceTagging = statementsOf(workflow.announceFunction).find((s) =>
        actions(s).includes('ec2:CreateTags'),
      )!;

      const keys = finalizeTagging.Condition!['ForAllValues:StringEquals']!['aws:TagKeys'] as string[];
      expect(keys.every((k) => k.startsWith('ami-pipeline:'))).toBe(true);
      expect(announceTagging.Condition).toEqual({
        StringEquals: { 'ec2:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['ami-pipeline:published-at'] },
      });
    });

    test('SSM writes are limited to the configured prefix and SNS publishing to the announcement topic', () => {
      const ssm = statementsOf(workflow.finalizeFunction).find((s) => actions(s).includes('ssm:PutParameter'))!;
      expect(JSON.stringify(ssm.Resource)).toContain(':ssm:*:123456789012:parameter/ami-pipeline/freebsd/*');
      const sns = statementsOf(workflow.announceFunction).find((s) => actions(s).includes('sns:Publish'))!;
      const topic = Object.keys(template.findResources('AWS::SNS::Topic')).find((id) => id.includes('Announcements'))!;
      expect(sns.Resource).toEqual({ Ref: topic });
      for (const fn of allFunctions().filter((f) => f !== workflow.announceFunction)) {
        expect(statementsOf(fn).some((s) => actions(s).includes('sns:Publish'))).toBe(false);
      }
    });

    test('no mutating action is granted on every resource, and only KMS data keys of the topic key are wildcarded', () => {
      const readOnly = /^(ec2:(Describe|Get)|xray:)/;
      for (const fn of allFunctions()) {
        for (const statement of statementsOf(fn)) {
          for (const action of actions(statement)) {
            if (action.includes('*'))
              expect([action, statement.Resource]).toEqual([
                'kms:GenerateDataKey*',
                { 'Fn::GetAtt': [expect.stringMatching(/Key/), 'Arn'] },
              ]);
            if (statement.Resource === '*' && !readOnly.test(action)) {
              // Account-level settings have no resource; the workflow only turns block public access off when allowed.
              expect(action).toBe('ec2:DisableImageBlockPublicAccess');
            }
          }
        }
      }
    });

    test('turning image block public access off is granted only when the configuration allows it', () => {
      const has = (c: object) => {
        const synth = synthesizePublishWorkflow(c);
        return statementsOf(synth.workflow.prepareFunction, synth).some((s) =>
          actions(s).includes('ec2:DisableImageBlockPublicAccess'),
        );
      };
      expect(
        statementsOf(workflow.prepareFunction).some((s) => actions(s).includes('ec2:DisableImageBlockPublicAccess')),
      ).toBe(false);
      expect(has({ publish: { disableBlockPublicAccess: true } })).toBe(true);
    });
  });

  describe('static analysis', () => {
    test('passes cdk-nag (synth throws otherwise) and cfn-lint with only accepted warnings', () => {
      const findings = cfnLint(templatePath);
      const accepted = acceptedCfnLintWarnings();

      expect(findings.filter((f) => f.Level === 'Error')).toEqual([]);
      expect(findings.filter((f) => f.Level !== 'Error' && !accepted[f.Rule.Id])).toEqual([]);
    });
  });
});
