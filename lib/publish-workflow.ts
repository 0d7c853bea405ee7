import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { TAG } from '../lambdas/core/tags';
import type { Notifications } from './notifications';
import { lambdaTask } from './lambda-task';
import { PipelineFunction } from './pipeline-function';
import { regionGuard } from './region-guard';
import { nameWorkflow } from './workflow-metadata';

export interface PublishWorkflowProps {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
  /** The stack's region lister, the workflow's first step. */
  readonly regionsFunction: PipelineFunction;
  /** Started with the new source images once they are published, when boot tests are enabled. */
  readonly bootTestStateMachine?: sfn.IStateMachine;
}

/** Environment variable of the announce function naming its topic (read by `lambdas/publish/announce.ts`). */
const TOPIC_ENV = 'ANNOUNCEMENT_TOPIC_ARN';
/** Time the execution gets beyond the copy timeout for preflight, finalizing and announcing. */
const EXECUTION_MARGIN_MINUTES = 60;

/**
 * The weekly publish workflow: a Step Functions state machine that discovers new source images, fans out over the
 * regions (a Map with the configured concurrency), starts copies, polls each region with one DescribeImages per
 * poll and a growing Wait (no Lambda waits for a copy), finalizes and announces. Each Lambda gets exactly the
 * actions it calls, scoped by resource tags where EC2 supports them.
 */
export class PublishWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly discoverFunction: PipelineFunction;
  readonly prepareFunction: PipelineFunction;
  readonly pollFunction: PipelineFunction;
  readonly finalizeFunction: PipelineFunction;
  readonly announceFunction: PipelineFunction;
  readonly schedule: events.Rule;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  readonly timedOutExecutionsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PublishWorkflowProps) {
    super(scope, id);
    const { config } = props;
    const fn = (name: string, entry: string, description: string, timeout: Duration, env?: Record<string, string>) =>
      new PipelineFunction(this, name, { entry, description, config, timeout, memorySize: 512, environment: env });
    this.discoverFunction = fn(
      'DiscoverFunction',
      'publish/discover.ts',
      'finds new source images to publish',
      Duration.minutes(2),
    );
    this.prepareFunction = fn(
      'PrepareFunction',
      'publish/prepare.ts',
      'checks a region and starts copies',
      Duration.minutes(5),
    );
    this.pollFunction = fn('PollFunction', 'publish/poll.ts', 'polls the copies of a region', Duration.minutes(5));
    this.finalizeFunction = fn(
      'FinalizeFunction',
      'publish/finalize.ts',
      'makes the images of a region public and moves SSM forward',
      Duration.minutes(10),
    );
    this.announceFunction = fn(
      'AnnounceFunction',
      'publish/announce.ts',
      'announces published images',
      Duration.minutes(2),
      {
        [TOPIC_ENV]: props.notifications.announcements.topicArn,
      },
    );
    this.grant(props);

    this.stateMachine = this.buildStateMachine(props);
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Starts the weekly publish run',
      schedule: events.Schedule.expression(config.schedules.publish),
      targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}) })],
    });
    this.failedExecutionsAlarm = new cloudwatch.Alarm(this, 'FailedExecutions', {
      alarmDescription: 'A publish run failed: a region or image could not be published (see the execution output)',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.timedOutExecutionsAlarm = new cloudwatch.Alarm(this, 'TimedOutExecutions', {
      alarmDescription: 'A publish run exceeded its execution timeout',
      metric: this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.notifications.notifyOnAlarm(this.failedExecutionsAlarm);
    props.notifications.notifyOnAlarm(this.timedOutExecutionsAlarm);
  }

  private buildStateMachine(props: PublishWorkflowProps): sfn.StateMachine {
    const { config } = props;
    const invoke = (id: string, lambdaFunction: PipelineFunction, extra: Partial<tasks.LambdaInvokeProps> = {}) =>
      lambdaTask(this, id, { lambdaFunction, outputPath: '$.Payload', ...extra });

    const regions = lambdaTask(this, 'Regions', {
      lambdaFunction: props.regionsFunction,
      resultSelector: { 'regions.$': '$.Payload.regions' },
      resultPath: '$.selection',
    });
    const discover = invoke('Discover', this.discoverFunction);

    const regionFailed = new sfn.Pass(this, 'RegionFailed', {
      comment: 'A region that failed is reported; the other regions go on',
      parameters: { 'region.$': '$.region', status: 'failed', 'error.$': '$.error.Cause' },
    });
    const catchInto = <T extends tasks.LambdaInvoke>(task: T): T =>
      task.addCatch(regionFailed, { errors: ['States.ALL'], resultPath: '$.error' }) as T;
    const prepare = catchInto(invoke('Prepare', this.prepareFunction));
    const poll = catchInto(invoke('Poll', this.pollFunction));
    const finalize = catchInto(invoke('Finalize', this.finalizeFunction));
    const wait = new sfn.Wait(this, 'WaitForCopies', {
      comment: 'Seconds come from the previous step, so the interval can grow and tests can pass 0',
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });
    const copiesPending = new sfn.Choice(this, 'CopiesPending')
      .when(sfn.Condition.booleanEquals('$.pending', true), wait.next(poll))
      .otherwise(finalize);
    poll.next(copiesPending);

    const perRegion = new sfn.Map(this, 'PublishRegions', {
      comment: 'One iteration per region; a region that fails does not stop the others',
      itemsPath: '$.regions',
      itemSelector: {
        'region.$': '$$.Map.Item.Value',
        'images.$': '$.images',
        'pollSeconds.$': '$.pollSeconds',
        'startedAt.$': '$$.Execution.StartTime',
      },
      maxConcurrency: config.publish.regionConcurrency,
      resultPath: '$.outcomes',
    });
    perRegion.itemProcessor(prepare.next(copiesPending));

    const announce = lambdaTask(this, 'Announce', {
      lambdaFunction: this.announceFunction,
      payload: sfn.TaskInput.fromObject({ 'images.$': '$.images', 'outcomes.$': '$.outcomes' }),
      resultSelector: { 'failedCount.$': '$.Payload.failedCount', 'failedRegions.$': '$.Payload.failedRegions' },
      resultPath: '$.summary',
    });
    const incomplete = new sfn.Fail(this, 'PublishIncomplete', {
      error: 'PublishIncomplete',
      cause: 'Some regions or images were not published; the Announce step output lists them',
    });
    const complete = new sfn.Choice(this, 'AllPublished')
      .when(sfn.Condition.numberGreaterThan('$.summary.failedCount', 0), incomplete)
      .otherwise(new sfn.Succeed(this, 'Published'));
    const published: sfn.IChainable = props.bootTestStateMachine
      ? announce.next(this.startBootTest(props.bootTestStateMachine, complete)).next(complete)
      : announce.next(complete);
    const anything = new sfn.Choice(this, 'AnythingToPublish')
      .when(sfn.Condition.numberGreaterThan('$.count', 0), perRegion.next(published))
      .otherwise(new sfn.Succeed(this, 'NothingToPublish'));

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Publishes new source images to every enabled region',
      definitionBody: sfn.DefinitionBody.fromChainable(regions.next(discover).next(anything)),
      timeout: Duration.minutes(config.publish.copyTimeoutMinutes + EXECUTION_MARGIN_MINUTES),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    nameWorkflow(stateMachine, 'publish');
    Validations.of(stateMachine.role).acknowledge({
      reason: 'X-Ray and CloudWatch Logs delivery actions of Step Functions accept only Resource "*".',
      id: 'AwsSolutions-IAM5[Resource::*]',
    });
    for (const target of [
      props.regionsFunction,
      this.discoverFunction,
      this.prepareFunction,
      this.pollFunction,
      this.finalizeFunction,
      this.announceFunction,
    ]) {
      Validations.of(stateMachine.role).acknowledge({
        reason: 'The LambdaInvoke task may call any version or alias of its own function, and no other function.',
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(target.node.defaultChild as never)}.Arn>:*]`,
      });
    }
    return stateMachine;
  }

  /**
   * Hands the new source images to the boot-test workflow without waiting for it: the build region holds every
   * source, published or not elsewhere, and a boot test that cannot start must not fail the publication.
   */
  private startBootTest(bootTest: sfn.IStateMachine, next: sfn.IChainable): tasks.StepFunctionsStartExecution {
    const start = new tasks.StepFunctionsStartExecution(this, 'StartBootTest', {
      stateMachine: bootTest,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      input: sfn.TaskInput.fromObject({ 'imageIds.$': '$.images' }),
      resultSelector: { 'executionArn.$': '$.ExecutionArn' },
      resultPath: '$.bootTest',
    });
    start.addCatch(next, { errors: ['States.ALL'], resultPath: '$.bootTestError' });
    return start;
  }

  private grant(props: PublishWorkflowProps): void {
    const { config } = props;
    const stack = Stack.of(this);
    const images = `arn:${stack.partition}:ec2:*::image/*`;
    const snapshots = `arn:${stack.partition}:ec2:*::snapshot/*`;
    const parameters = `arn:${stack.partition}:ssm:*:${stack.account}:parameter${config.publish.ssmPrefix}/*`;
    const accountLabel = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const { key, value } = config.managedTag;
    const managed = { StringEquals: { [`ec2:ResourceTag/${key}`]: value } };
    const pipelineTagKeys = [
      key,
      TAG.series,
      TAG.buildDate,
      TAG.sourceImage,
      TAG.sourceRegion,
      TAG.gitBranch,
      TAG.gitRevision,
    ];
    const onlyPipelineKeys = { 'ForAllValues:StringEquals': { 'aws:TagKeys': pipelineTagKeys } };
    const describe = (...actions: string[]) => new iam.PolicyStatement({ actions, resources: ['*'] });
    // CopyImage authorizes the source image and its snapshots: only images of this account are copied, and the copy
    // and its snapshots are created carrying the managed tag (the one moment a publish function may put it on).
    const copyImages = new iam.PolicyStatement({
      sid: 'CopyOwnImagesAsManaged',
      actions: ['ec2:CopyImage'],
      resources: [images],
      conditions: {
        StringEquals: { 'ec2:Owner': stack.account, [`aws:RequestTag/${key}`]: value },
        ...onlyPipelineKeys,
      },
    });
    const copySnapshots = new iam.PolicyStatement({
      sid: 'CopySnapshotsAsManaged',
      actions: ['ec2:CopyImage'],
      resources: [snapshots],
      conditions: { StringEquals: { [`aws:RequestTag/${key}`]: value }, ...onlyPipelineKeys },
    });
    const tagOnCopy = new iam.PolicyStatement({
      sid: 'TagCopiesWhenCreated',
      actions: ['ec2:CreateTags'],
      resources: [images, snapshots],
      conditions: { StringEquals: { 'ec2:CreateAction': 'CopyImage' } },
    });
    const removeFailedCopies = new iam.PolicyStatement({
      sid: 'RemoveFailedManagedCopies',
      actions: ['ec2:DeregisterImage', 'ec2:DeleteSnapshot'],
      resources: [images, snapshots],
      conditions: managed,
    });
    const preflight = [
      describe('ec2:DescribeImages', 'ec2:GetImageBlockPublicAccessState', 'ec2:GetEbsEncryptionByDefault'),
      ...(config.publish.disableBlockPublicAccess ? [describe('ec2:DisableImageBlockPublicAccess')] : []),
    ];
    const copying = ['ec2:CopyImage', 'ec2:CreateTags', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot'];

    this.discoverFunction.addToRolePolicy(describe('ec2:DescribeImages'));
    for (const statement of [
      ...preflight,
      copyImages,
      copySnapshots,
      tagOnCopy,
      removeFailedCopies,
      ...regionGuard(config, 'NoCopies', [...copying, 'ec2:DisableImageBlockPublicAccess']),
    ]) {
      this.prepareFunction.addToRolePolicy(statement);
    }
    for (const statement of [
      describe('ec2:DescribeImages'),
      copyImages,
      copySnapshots,
      tagOnCopy,
      removeFailedCopies,
      ...regionGuard(config, 'NoCopies', copying),
    ]) {
      this.pollFunction.addToRolePolicy(statement);
    }

    const publishing = [
      'ec2:CreateTags',
      'ec2:ModifyImageAttribute',
      'ec2:ModifySnapshotAttribute',
      'ec2:EnableImageDeprecation',
      'ssm:PutParameter',
    ];
    for (const statement of [
      describe('ec2:DescribeImages', 'ec2:DescribeSnapshots', 'ec2:DescribeSnapshotAttribute'),
      new iam.PolicyStatement({
        // Only resources already managed (tagged when copied, or adopted) get tags, never a new managed-by value.
        sid: 'TagManagedWithPipelineKeysOnly',
        actions: ['ec2:CreateTags'],
        resources: [images, snapshots],
        conditions: {
          StringEquals: { [`aws:ResourceTag/${key}`]: value },
          StringEqualsIfExists: { [`aws:RequestTag/${key}`]: value },
          ...onlyPipelineKeys,
        },
      }),
      new iam.PolicyStatement({
        sid: 'PublishManagedImages',
        actions: ['ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute', 'ec2:EnableImageDeprecation'],
        resources: [images, snapshots],
        conditions: managed,
      }),
      new iam.PolicyStatement({
        sid: 'SsmUnderPrefixOnly',
        actions: ['ssm:GetParameters', 'ssm:PutParameter'],
        resources: [parameters],
      }),
      ...regionGuard(config, 'NoPublishing', publishing),
    ]) {
      this.finalizeFunction.addToRolePolicy(statement);
    }

    this.announceFunction.addToRolePolicy(describe('ec2:DescribeImages'));
    this.announceFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'MarkManagedSourcesPublished',
        actions: ['ec2:CreateTags'],
        resources: [images],
        conditions: {
          ...managed,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG.publishedAt] },
        },
      }),
    );
    props.notifications.announcements.grantPublish(this.announceFunction);

    Validations.of(this).acknowledge({
      reason:
        'AMI ids are not known in advance in any region; CopyImage needs an own source and the managed request tag, every other action the managed resource tag or the CopyImage create action.',
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]',
    });
    Validations.of(this).acknowledge({
      reason:
        'Snapshot ids are made by EC2 in every region; CopyImage needs the managed request tag, every other action the managed resource tag or the CopyImage create action.',
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::snapshot/*]',
    });
    Validations.of(this).acknowledge({
      reason: 'SSM parameters are written in every enabled region, and only under the configured prefix.',
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:${accountLabel}:parameter${config.publish.ssmPrefix}/*]`,
    });
    Validations.of(this.announceFunction.role!).acknowledge({
      reason: 'Publishing to the KMS-encrypted topic needs data keys of that one key (the grant names only its ARN).',
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    });
  }
}
