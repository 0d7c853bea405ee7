import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { TAG } from '../lambdas/core/tags';
import type { Notifications } from './notifications';
import { lambdaTask } from './lambda-task';
import { PipelineFunction } from './pipeline-function';
import { regionGuard } from './region-guard';
import { nameWorkflow } from './workflow-metadata';

export interface PruneWorkflowProps {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
  /** The stack's region lister, the workflow's first step. */
  readonly regionsFunction: PipelineFunction;
}

/**
 * The weekly prune workflow: list regions, plan every region at once (which fixes the run's deletion cap), then a
 * Map over the regions with the configured concurrency in which each region runs resumable batches (each batch plans
 * its region again and deletes until its time budget ends, so a killed invocation loses nothing), and a summary that
 * fails the execution when anything failed. Deletions are allowed only on resources carrying the managed tag;
 * CreateTags for adoption lives in a separate function that no schedule starts.
 */
export class PruneWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly planFunction: PipelineFunction;
  readonly executeFunction: PipelineFunction;
  readonly summaryFunction: PipelineFunction;
  readonly adoptFunction: PipelineFunction;
  readonly schedule: events.Rule;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PruneWorkflowProps) {
    super(scope, id);
    const { config } = props;
    const fn = (name: string, entry: string, description: string, timeout: Duration) =>
      new PipelineFunction(this, name, { entry, description, config, timeout, memorySize: 1024 });
    this.planFunction = fn('PlanFunction', 'prune/plan.ts', 'plans the retention of AMIs', Duration.minutes(10));
    this.executeFunction = fn(
      'ExecuteFunction',
      'prune/execute.ts',
      'deregisters aged AMIs of a region in resumable batches',
      Duration.minutes(15),
    );
    this.summaryFunction = fn('SummaryFunction', 'prune/summary.ts', 'sums up a prune run', Duration.seconds(30));
    this.adoptFunction = fn(
      'AdoptFunction',
      'prune/adopt.ts',
      'tags pre-existing AMIs and snapshots as managed',
      Duration.minutes(15),
    );
    this.grant(props);

    this.stateMachine = this.buildStateMachine(props);
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Starts the weekly prune run (a dry run until safety.dryRun is false)',
      schedule: events.Schedule.expression(config.schedules.prune),
      targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}) })],
    });
    this.failedExecutionsAlarm = new cloudwatch.Alarm(this, 'FailedExecutions', {
      alarmDescription: 'A prune run failed or left failures (see the Summary step output)',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.notifications.notifyOnAlarm(this.failedExecutionsAlarm);
  }

  private buildStateMachine(props: PruneWorkflowProps): sfn.StateMachine {
    const { config } = props;
    const regions = lambdaTask(this, 'Regions', {
      lambdaFunction: props.regionsFunction,
      payload: sfn.TaskInput.fromObject({ 'regions.$': '$.input.regions' }),
      resultSelector: { 'regions.$': '$.Payload.regions' },
      resultPath: '$.selection',
    });
    const withDefaults = new sfn.Pass(this, 'Defaults', {
      comment: 'A scheduled start passes {}; a manual start may pass regions, execute and overrideBreaker',
      parameters: { regions: [] },
      resultPath: '$.defaults',
    });
    const merged = new sfn.Pass(this, 'Input', {
      parameters: { 'input.$': 'States.JsonMerge($.defaults, $$.Execution.Input, false)' },
    });
    const plan = lambdaTask(this, 'Plan', {
      lambdaFunction: this.planFunction,
      // The whole start input goes along: `execute` and `overrideBreaker` are optional there.
      payload: sfn.TaskInput.fromObject({ 'regions.$': '$.selection.regions', 'options.$': '$.input' }),
      resultSelector: {
        'execute.$': '$.Payload.execute',
        'items.$': '$.Payload.items',
        'failedRegions.$': '$.Payload.failedRegions',
        'report.$': '$.Payload.report',
      },
      resultPath: '$.plan',
    });

    const batch = lambdaTask(this, 'ExecuteBatch', {
      lambdaFunction: this.executeFunction,
      outputPath: '$.Payload',
      comment: 'Plans the region again and deletes until the time budget ends; a retry resumes from the same cursor',
    });
    batch.addRetry({
      // A batch killed by its timeout loses nothing: the retry plans the region again from the same cursor.
      errors: ['States.Timeout', 'Sandbox.Timedout', 'Lambda.Unknown'],
      maxAttempts: 3,
      interval: Duration.seconds(10),
      backoffRate: 2,
    });
    const regionFailed = new sfn.Pass(this, 'RegionFailed', {
      comment: 'A region that fails is reported; the others go on',
      parameters: { 'region.$': '$.region', 'error.$': '$.error.Cause' },
    });
    batch.addCatch(regionFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    const more = new sfn.Choice(this, 'RegionComplete')
      .when(sfn.Condition.booleanEquals('$.complete', true), new sfn.Succeed(this, 'RegionDone'))
      .otherwise(batch);
    const perRegion = new sfn.Map(this, 'PruneRegions', {
      comment: 'One iteration per region, in resumable batches',
      itemsPath: '$.plan.items',
      maxConcurrency: config.safety.regionConcurrency,
      resultPath: '$.results',
    });
    perRegion.itemProcessor(batch.next(more));

    const summary = (id: string, results: string) =>
      lambdaTask(this, id, {
        lambdaFunction: this.summaryFunction,
        payload: sfn.TaskInput.fromObject({
          'execute.$': '$.plan.execute',
          'results.$': results,
          'failedRegions.$': '$.plan.failedRegions',
          'retiredLines.$': '$.plan.report.retiredLines',
        }),
        resultSelector: { 'failedCount.$': '$.Payload.failedCount', 'summary.$': '$.Payload' },
        resultPath: '$.summary',
      });
    const failed = new sfn.Fail(this, 'PruneIncomplete', {
      error: 'PruneIncomplete',
      cause: 'Some regions or items failed; the Summary step output lists them',
    });
    const outcome = (id: string) =>
      new sfn.Choice(this, id)
        .when(sfn.Condition.numberGreaterThan('$.summary.failedCount', 0), failed)
        .otherwise(new sfn.Succeed(this, `${id}Succeeded`));
    const executeOrReport = new sfn.Choice(this, 'ExecuteOrDryRun')
      .when(
        sfn.Condition.booleanEquals('$.plan.execute', true),
        perRegion.next(summary('Summary', '$.results')).next(outcome('Outcome')),
      )
      .otherwise(summary('DryRunSummary', '$.plan.items').next(outcome('DryRunOutcome')));

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Retires aged AMIs and their snapshots in every enabled region',
      definitionBody: sfn.DefinitionBody.fromChainable(
        withDefaults.next(merged).next(regions).next(plan).next(executeOrReport),
      ),
      timeout: Duration.hours(12),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    nameWorkflow(stateMachine, 'prune');
    Validations.of(stateMachine.role).acknowledge({
      reason: 'X-Ray and CloudWatch Logs delivery actions of Step Functions accept only Resource "*".',
      id: 'AwsSolutions-IAM5[Resource::*]',
    });
    for (const target of [props.regionsFunction, this.planFunction, this.executeFunction, this.summaryFunction]) {
      Validations.of(stateMachine.role).acknowledge({
        reason: 'The LambdaInvoke task may call any version or alias of its own function, and no other function.',
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(target.node.defaultChild as never)}.Arn>:*]`,
      });
    }
    return stateMachine;
  }

  private grant(props: PruneWorkflowProps): void {
    const { config } = props;
    const stack = Stack.of(this);
    const images = `arn:${stack.partition}:ec2:*::image/*`;
    const snapshots = `arn:${stack.partition}:ec2:*::snapshot/*`;
    const accountLabel = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const parameters = `arn:${stack.partition}:ssm:*:${stack.account}:parameter${config.publish.ssmPrefix}`;
    const managed = { StringEquals: { [`aws:ResourceTag/${config.managedTag.key}`]: config.managedTag.value } };
    const inventory = [
      new iam.PolicyStatement({
        sid: 'ReadInventory',
        actions: ['ec2:DescribeImages', 'ec2:DescribeSnapshots'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadSsmReferences',
        actions: ['ssm:GetParametersByPath'],
        resources: [parameters, `${parameters}/*`],
      }),
    ];
    for (const fn of [this.planFunction, this.executeFunction, this.adoptFunction]) {
      for (const statement of inventory) fn.addToRolePolicy(statement);
    }
    this.executeFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DeregisterManagedImagesOnly',
        actions: ['ec2:DeregisterImage'],
        resources: [images],
        conditions: managed,
      }),
    );
    this.executeFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DeleteManagedSnapshotsOnly',
        actions: ['ec2:DeleteSnapshot'],
        resources: [snapshots],
        conditions: managed,
      }),
    );
    if (config.retention.softDeleteGraceDays > 0) {
      // Soft delete: make a managed image private and write its deletion date, and nothing else.
      this.executeFunction.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'SoftDeleteManagedImagesOnly',
          actions: ['ec2:ModifyImageAttribute'],
          resources: [images],
          conditions: managed,
        }),
      );
      this.executeFunction.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TagDeletionDateOnly',
          actions: ['ec2:CreateTags'],
          resources: [images],
          conditions: { ...managed, 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG.deleteAfter] } },
        }),
      );
    }
    // The one function that may put the managed tag on something the pipeline did not create: only on images and
    // snapshots of this account, only with the configured value.
    this.adoptFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AdoptOwnWithManagedTagOnly',
        actions: ['ec2:CreateTags'],
        resources: [images, snapshots],
        conditions: {
          StringEquals: {
            'ec2:Owner': stack.account,
            [`aws:RequestTag/${config.managedTag.key}`]: config.managedTag.value,
          },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [config.managedTag.key, TAG.adoptedAt] },
        },
      }),
    );
    for (const statement of regionGuard(config, 'NoAdoption', ['ec2:CreateTags']))
      this.adoptFunction.addToRolePolicy(statement);
    for (const statement of regionGuard(config, 'NoDeletions', [
      'ec2:DeregisterImage',
      'ec2:DeleteSnapshot',
      'ec2:ModifyImageAttribute',
      'ec2:CreateTags',
    ]))
      this.executeFunction.addToRolePolicy(statement);
    this.adoptFunction.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ListRegions', actions: ['ec2:DescribeRegions'], resources: ['*'] }),
    );

    Validations.of(this).acknowledge({
      reason: 'AMI ids are not known in advance in any region; deletions are limited by the managed-tag condition.',
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]',
    });
    Validations.of(this).acknowledge({
      reason: 'Snapshot ids are made by EC2 in every region; deletions are limited by the managed-tag condition.',
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::snapshot/*]',
    });
    for (const path of [config.publish.ssmPrefix, `${config.publish.ssmPrefix}/*`]) {
      Validations.of(this).acknowledge({
        reason: 'SSM references are read in every enabled region, and only under the configured prefix.',
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:${accountLabel}:parameter${path}]`,
      });
    }
  }
}
