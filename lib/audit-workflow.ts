import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { publishExecutionTimeoutMinutes } from '../lambdas/core/publish/history';
import { LEDGER_ENV } from '../lambdas/publish/shared';
import { ImageGrants } from './image-grants';
import { lambdaTask } from './lambda-task';
import type { Notifications } from './notifications';
import { PipelineFunction } from './pipeline-function';
import { regionGuard } from './region-guard';
import { nameWorkflow } from './workflow-metadata';

export interface AuditWorkflowProps {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
  /** The stack's region lister, the workflow's first step. */
  readonly regionsFunction: PipelineFunction;
  /** The publish ledger: the audit reads which builds publish took on and records the pairs it repairs. */
  readonly ledger: dynamodb.ITable;
}

/**
 * The weekly audit: selects the current builds (the newest of each line, the supported releases), then a Map over the
 * regions in which each region is inspected (and, with `repair`, given every change publish would have made and the
 * copies it lacks), its copies polled as publish polls them, and looked at again; a summary fails the execution when
 * a region failed or, when repairing, a finding is left. Repairs only add (a copy, a permission, a tag, a deprecation
 * time, an SSM value): its functions hold publish's statements and no deletion beyond a failed managed copy.
 */
export class AuditWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly discoverFunction: PipelineFunction;
  readonly inspectFunction: PipelineFunction;
  readonly pollFunction: PipelineFunction;
  readonly settleFunction: PipelineFunction;
  readonly summaryFunction: PipelineFunction;
  readonly schedule: events.Rule;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  readonly timedOutExecutionsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AuditWorkflowProps) {
    super(scope, id);
    const { config } = props;
    const fn = (name: string, entry: string, description: string, timeout: Duration) =>
      new PipelineFunction(this, name, {
        entry,
        description,
        config,
        timeout,
        memorySize: 512,
        environment: { [LEDGER_ENV]: props.ledger.tableName },
      });
    this.discoverFunction = fn(
      'DiscoverFunction',
      'audit/discover.ts',
      'selects the current builds every region must have',
      Duration.minutes(5),
    );
    this.inspectFunction = fn(
      'InspectFunction',
      'audit/inspect.ts',
      'audits a region and starts its repairs',
      Duration.minutes(10),
    );
    this.pollFunction = fn('PollFunction', 'audit/poll.ts', 'polls the repair copies of a region', Duration.minutes(5));
    this.settleFunction = fn(
      'SettleFunction',
      'audit/settle.ts',
      'audits a region again after its repairs',
      Duration.minutes(10),
    );
    this.summaryFunction = fn('SummaryFunction', 'audit/summary.ts', 'sums up an audit run', Duration.seconds(30));
    this.grant(props);

    this.stateMachine = this.buildStateMachine(props);
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Starts the weekly audit of every region (repair: ${config.audit.repair})`,
      schedule: events.Schedule.expression(config.schedules.audit),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ repair: config.audit.repair }),
        }),
      ],
    });
    const alarm = (alarmId: string, description: string, metric: cloudwatch.Metric) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      props.notifications.notifyOnAlarm(created);
      return created;
    };
    this.failedExecutionsAlarm = alarm(
      'FailedExecutions',
      'An audit run failed: a region could not be audited or a finding was left unrepaired (see the Summary step)',
      this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
    );
    this.timedOutExecutionsAlarm = alarm(
      'TimedOutExecutions',
      'An audit run exceeded its execution timeout',
      this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
    );
  }

  private buildStateMachine(props: AuditWorkflowProps): sfn.StateMachine {
    const { config } = props;
    const invoke = (id: string, lambdaFunction: PipelineFunction, extra: Partial<tasks.LambdaInvokeProps> = {}) =>
      lambdaTask(this, id, { lambdaFunction, outputPath: '$.Payload', ...extra });

    const withDefaults = new sfn.Pass(this, 'Defaults', {
      comment: 'A scheduled start passes { repair }; a manual start may pass repair, regions and pollSeconds',
      parameters: { regions: [], repair: config.audit.repair, pollSeconds: config.publish.pollIntervalSeconds },
      resultPath: '$.defaults',
    });
    const merged = new sfn.Pass(this, 'Input', {
      parameters: { 'input.$': 'States.JsonMerge($.defaults, $$.Execution.Input, false)' },
    });
    const regions = lambdaTask(this, 'Regions', {
      lambdaFunction: props.regionsFunction,
      payload: sfn.TaskInput.fromObject({ 'regions.$': '$.input.regions' }),
      resultSelector: { 'regions.$': '$.Payload.regions' },
      resultPath: '$.selection',
    });
    const discover = lambdaTask(this, 'Discover', {
      lambdaFunction: this.discoverFunction,
      payload: sfn.TaskInput.fromObject({}),
      resultSelector: {
        'images.$': '$.Payload.images',
        'count.$': '$.Payload.count',
        'builds.$': '$.Payload.builds',
        'skipped.$': '$.Payload.skipped',
      },
      resultPath: '$.discovery',
    });

    const regionFailed = new sfn.Pass(this, 'RegionFailed', {
      comment: 'A region that failed is reported; the other regions go on',
      parameters: { 'region.$': '$.region', status: 'failed', 'error.$': '$.error.Cause' },
    });
    const catchInto = <T extends tasks.LambdaInvoke>(task: T): T =>
      task.addCatch(regionFailed, { errors: ['States.ALL'], resultPath: '$.error' }) as T;
    const inspect = catchInto(invoke('Inspect', this.inspectFunction));
    const poll = catchInto(invoke('Poll', this.pollFunction));
    const settle = catchInto(invoke('Settle', this.settleFunction));
    const wait = new sfn.Wait(this, 'WaitForCopies', {
      comment: 'Seconds come from the previous step, as in publish; tests pass 0',
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });
    const copiesPending = new sfn.Choice(this, 'CopiesPending')
      .when(sfn.Condition.booleanEquals('$.pending', true), wait.next(poll))
      .otherwise(settle);
    poll.next(copiesPending);

    const perRegion = new sfn.Map(this, 'AuditRegions', {
      comment:
        'One iteration per region, each returning a bounded report; a region that fails does not stop the others',
      itemsPath: '$.selection.regions',
      itemSelector: {
        'region.$': '$$.Map.Item.Value',
        'images.$': '$.discovery.images',
        'repair.$': '$.input.repair',
        'pollSeconds.$': '$.input.pollSeconds',
        'runId.$': '$$.Execution.Name',
      },
      maxConcurrency: config.publish.regionConcurrency,
      resultPath: '$.outcomes',
    });
    perRegion.itemProcessor(inspect.next(copiesPending));

    const summary = lambdaTask(this, 'Summary', {
      lambdaFunction: this.summaryFunction,
      payload: sfn.TaskInput.fromObject({
        'repair.$': '$.input.repair',
        'builds.$': '$.discovery.count',
        'outcomes.$': '$.outcomes',
      }),
      resultSelector: { 'failedCount.$': '$.Payload.failedCount', 'summary.$': '$.Payload' },
      resultPath: '$.summary',
    });
    const incomplete = new sfn.Fail(this, 'AuditIncomplete', {
      error: 'AuditIncomplete',
      cause: 'A region could not be audited, or findings were left unrepaired; the Summary step lists them',
    });
    const outcome = new sfn.Choice(this, 'Outcome')
      .when(sfn.Condition.numberGreaterThan('$.summary.failedCount', 0), incomplete)
      .otherwise(new sfn.Succeed(this, 'Audited'));
    const anything = new sfn.Choice(this, 'AnythingToAudit')
      .when(sfn.Condition.numberGreaterThan('$.discovery.count', 0), perRegion.next(summary).next(outcome))
      .otherwise(new sfn.Succeed(this, 'NothingToAudit'));

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Checks that every enabled region has every current build, public and tagged, with SSM up to date',
      definitionBody: sfn.DefinitionBody.fromChainable(
        withDefaults.next(merged).next(regions).next(discover).next(anything),
      ),
      // Repair copies are polled as publish polls its copies, so the same bound holds.
      timeout: Duration.minutes(publishExecutionTimeoutMinutes(config.publish)),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    nameWorkflow(stateMachine, 'audit');
    Validations.of(stateMachine.role).acknowledge({
      reason: 'X-Ray and CloudWatch Logs delivery actions of Step Functions accept only Resource "*".',
      id: 'AwsSolutions-IAM5[Resource::*]',
    });
    for (const target of [
      props.regionsFunction,
      this.discoverFunction,
      this.inspectFunction,
      this.pollFunction,
      this.settleFunction,
      this.summaryFunction,
    ]) {
      Validations.of(stateMachine.role).acknowledge({
        reason: 'The LambdaInvoke task may call any version or alias of its own function, and no other function.',
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(target.node.defaultChild as never)}.Arn>:*]`,
      });
    }
    return stateMachine;
  }

  private grant(props: AuditWorkflowProps): void {
    const { config } = props;
    const grants = new ImageGrants(this, config);
    const read = grants.describe(
      'ec2:DescribeImages',
      'ec2:DescribeSnapshots',
      'ec2:DescribeSnapshotAttribute',
      'ec2:GetSnapshotBlockPublicAccessState',
    );
    const readParameters = new iam.PolicyStatement({
      sid: 'ReadSsmUnderPrefix',
      actions: ['ssm:GetParametersByPath'],
      resources: [grants.parameterPath, grants.parameters],
    });
    const writeParameters = new iam.PolicyStatement({
      sid: 'WriteSsmUnderPrefixOnly',
      actions: ['ssm:PutParameter'],
      resources: [grants.parameters],
    });

    // The ledger: which builds publish took on, and the pairs brought in order.
    props.ledger.grant(this.discoverFunction, 'dynamodb:Query');
    props.ledger.grant(this.settleFunction, 'dynamodb:UpdateItem');
    this.discoverFunction.addToRolePolicy(grants.describe('ec2:DescribeImages'));

    const copyGuard = regionGuard(config, 'NoCopies', ImageGrants.COPY_ACTIONS);
    const publishGuard = regionGuard(config, 'NoPublishing', ImageGrants.PUBLISH_ACTIONS);
    for (const statement of [
      read,
      readParameters,
      ...grants.copying(),
      ...grants.publishing(),
      writeParameters,
      ...copyGuard,
      ...publishGuard,
    ]) {
      this.inspectFunction.addToRolePolicy(statement);
    }
    for (const statement of [grants.describe('ec2:DescribeImages'), ...grants.copying(), ...copyGuard]) {
      this.pollFunction.addToRolePolicy(statement);
    }
    for (const statement of [read, readParameters, ...grants.publishing(), writeParameters, ...publishGuard]) {
      this.settleFunction.addToRolePolicy(statement);
    }
    grants.acknowledge(this, { parameterPath: true });
  }
}
