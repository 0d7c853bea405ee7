import { Match } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../lambdas/core/config';
import { publishExecutionTimeoutMinutes } from '../../lambdas/core/publish';
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
  const { template, templateJson, stack, workflow } = synthesizePublishWorkflow(config);
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
    workflow.verifyFunction,
    workflow.announceFunction,
  ];

  describe('state machine', () => {
    test('fans out over the regions with the configured concurrency and outlives every copy deadline', () => {
      const states = definition() as {
        TimeoutSeconds: number;
        States: Record<string, { Type: string; MaxConcurrency?: number; ItemsPath?: string }>;
      };

      expect(states.TimeoutSeconds).toBe(publishExecutionTimeoutMinutes(parseConfig(config).publish) * 60);
      expect(states.States.PublishRegions).toMatchObject({ Type: 'Map', MaxConcurrency: 7, ItemsPath: '$.regions' });
    });

    test('gives each region the run’s id (the execution name), which keys the ledger and the copy tokens', () => {
      const states = definition().States as Record<string, Record<string, unknown>>;

      expect(states.Discover).toMatchObject({
        Parameters: { Payload: { 'start.$': '$', 'runId.$': '$$.Execution.Name' } },
      });
      expect(states.PublishRegions!.ItemSelector).toEqual({
        'region.$': '$$.Map.Item.Value',
        'images.$': '$.images',
        'pollSeconds.$': '$.pollSeconds',
        'recheck.$': '$.recheck',
        'runId.$': '$$.Execution.Name',
      });
    });

    test('polls each region in a loop whose wait comes from the input, reads SSM back, with a failure branch per region', () => {
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
      expect(inner.Finalize).toMatchObject({ Next: 'ParametersWritten' });
      expect(inner.ParametersWritten).toMatchObject({
        Choices: [{ Variable: '$.verify', IsPresent: true, Next: 'WaitForParameters' }],
        Default: 'RegionDone',
      });
      expect(inner.WaitForParameters).toMatchObject({ SecondsPath: '$.verify.waitSeconds', Next: 'VerifyParameters' });
      expect(inner.RegionDone).toMatchObject({ Type: 'Pass', OutputPath: '$.summary', End: true });
      expect(inner.VerifyParameters).toMatchObject({ End: true });
      for (const task of ['Prepare', 'Poll', 'Finalize', 'VerifyParameters']) {
        expect(inner[task]!.Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RegionFailed' },
        ]);
      }
      expect(inner.RegionFailed).toMatchObject({
        Type: 'Pass',
        Parameters: { 'region.$': '$.region', status: 'failed', 'error.$': '$.error.Cause' },
      });
    });

    test('announces from the region summaries and the ledger, keeping only the run summary', () => {
      const states = definition().States as Record<string, Record<string, unknown>>;

      expect(states.Announce).toMatchObject({
        Parameters: {
          Payload: {
            'runId.$': '$$.Execution.Name',
            'regions.$': '$.regions',
            'images.$': '$.images',
            'outcomes.$': '$.outcomes',
            'gaveUpCount.$': '$.gaveUpCount',
          },
        },
        ResultPath: '$.summary',
      });
    });

    test('fails the execution at the end when any pair failed or was given up, after announcing', () => {
      const states = definition().States as Record<string, Record<string, unknown>>;

      expect(states.Announce).toMatchObject({ Next: 'AllPublished' });
      expect(states.AllPublished).toMatchObject({
        Choices: [{ Variable: '$.summary.failedCount', NumericGreaterThan: 0, Next: 'PublishIncomplete' }],
      });
      expect(states.AnythingToPublish).toMatchObject({ Default: 'AnyGivenUp' });
      expect(states.AnyGivenUp).toMatchObject({
        Choices: [{ Variable: '$.gaveUpCount', NumericGreaterThan: 0, Next: 'PublishIncomplete' }],
        Default: 'NothingToPublish',
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

  describe('ledger', () => {
    test('is a table keyed by source image and region, with point-in-time recovery, kept on stack deletion', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({
          KeySchema: [
            { AttributeName: 'source', KeyType: 'HASH' },
            { AttributeName: 'region', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
        DeletionPolicy: 'Retain',
      });
    });

    test('each function gets only the item actions it makes, on that table only', () => {
      const table = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0]!;
      const ledgerActions = (fn: Parameters<typeof statementsOf>[0]) =>
        statementsOf(fn)
          .filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')))
          .map((s) => {
            expect(JSON.stringify(s.Resource)).toContain(table);
            return actions(s).sort();
          });

      expect(ledgerActions(workflow.discoverFunction)).toEqual([['dynamodb:BatchWriteItem', 'dynamodb:Query']]);
      expect(ledgerActions(workflow.prepareFunction)).toEqual([['dynamodb:BatchGetItem']]);
      expect(ledgerActions(workflow.pollFunction)).toEqual([]);
      expect(ledgerActions(workflow.finalizeFunction)).toEqual([['dynamodb:UpdateItem']]);
      expect(ledgerActions(workflow.verifyFunction)).toEqual([['dynamodb:UpdateItem']]);
      expect(ledgerActions(workflow.announceFunction)).toEqual([['dynamodb:Query', 'dynamodb:UpdateItem']]);
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

    test('later tagging may write only the pipeline’s own tag keys, and nothing tags sources to mark them', () => {
      const finalizeTagging = statementsOf(workflow.finalizeFunction).find((s) =>
        actions(s).includes('ec2:CreateTags'),
      )!;

      const keys = finalizeTagging.Condition!['ForAllValues:StringEquals']!['aws:TagKeys'] as string[];
      expect(keys.every((k) => k.startsWith('ami-pipeline:'))).toBe(true);
      expect(keys).not.toContain('ami-pipeline:published-at');
      for (const fn of [workflow.discoverFunction, workflow.verifyFunction, workflow.announceFunction]) {
        expect(statementsOf(fn).some((s) => actions(s).includes('ec2:CreateTags'))).toBe(false);
      }
    });

    test('reading back SSM is limited to the configured prefix', () => {
      const read = statementsOf(workflow.verifyFunction).find((s) => actions(s).includes('ssm:GetParameters'))!;

      expect(actions(read)).toEqual(['ssm:GetParameters']);
      expect(JSON.stringify(read.Resource)).toContain(':ssm:*:123456789012:parameter/ami-pipeline/freebsd/*');
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
});
