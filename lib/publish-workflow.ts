import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { LEDGER_KEYS } from '../lambdas/aws/publish/ledger';
import type { PipelineConfig } from '../lambdas/core/config';
import { publishExecutionTimeoutMinutes } from '../lambdas/core/publish/history';
import { LEDGER_ENV } from '../lambdas/publish/shared';
import type { Notifications } from './notifications';
import { lambdaTask } from './lambda-task';
import { PipelineFunction } from './pipeline-function';
import { regionGuard } from './region-guard';
import { ImageGrants } from './image-grants';
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

/**
 * The weekly publish workflow: a Step Functions state machine that discovers the source images with pairs not yet
 * published (from its ledger, a DynamoDB table with one row per source and region), fans out over the regions (a Map
 * with the configured concurrency), starts copies, polls each region with one DescribeImages per poll and a Wait that
 * starts short whenever copies start (no Lambda waits for a copy), finalizes, reads its SSM writes back and announces.
 * States carry ids and counts; what each pair became is in the ledger. Each Lambda gets exactly the actions it calls,
 * scoped by resource tags where EC2 supports them.
 */
export class PublishWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** Completion of each (source image, region) pair. */
  readonly ledger: dynamodb.Table;
  readonly discoverFunction: PipelineFunction;
  readonly prepareFunction: PipelineFunction;
  readonly pollFunction: PipelineFunction;
  readonly finalizeFunction: PipelineFunction;
  readonly verifyFunction: PipelineFunction;
  readonly announceFunction: PipelineFunction;
  readonly schedule: events.Rule;
  readonly failedExecutionsAlarm: cloudwatch.Alarm;
  readonly timedOutExecutionsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PublishWorkflowProps) {
    super(scope, id);
    const { config } = props;
    this.ledger = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: LEDGER_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_KEYS.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const fn = (name: string, entry: string, description: string, timeout: Duration, env?: Record<string, string>) =>
      new PipelineFunction(this, name, {
        entry,
        description,
        config,
        timeout,
        memorySize: 512,
        environment: { [LEDGER_ENV]: this.ledger.tableName, ...env },
      });
    this.discoverFunction = fn(
      'DiscoverFunction',
      'publish/discover.ts',
      'finds the source images whose regions are not all published',
      Duration.minutes(5),
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
    this.verifyFunction = fn(
      'VerifyFunction',
      'publish/verify.ts',
      'reads back the SSM parameters a region wrote',
      Duration.minutes(2),
    );
    this.announceFunction = fn(
      'AnnounceFunction',
      'publish/announce.ts',
      'announces published images',
      Duration.minutes(5),
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
    // The run's id (the execution's name) keys its ledger rows and its CopyImage tokens.
    const discover = invoke('Discover', this.discoverFunction, {
      payload: sfn.TaskInput.fromObject({ 'start.$': '$', 'runId.$': '$$.Execution.Name' }),
    });

    const regionFailed = new sfn.Pass(this, 'RegionFailed', {
      comment: 'A region that failed is reported; the other regions go on',
      parameters: { 'region.$': '$.region', status: 'failed', 'error.$': '$.error.Cause' },
    });
    const catchInto = <T extends tasks.LambdaInvoke>(task: T): T =>
      task.addCatch(regionFailed, { errors: ['States.ALL'], resultPath: '$.error' }) as T;
    const prepare = catchInto(invoke('Prepare', this.prepareFunction));
    const poll = catchInto(invoke('Poll', this.pollFunction));
    const finalize = catchInto(invoke('Finalize', this.finalizeFunction));
    const verify = catchInto(invoke('VerifyParameters', this.verifyFunction));
    const wait = new sfn.Wait(this, 'WaitForCopies', {
      comment: 'Seconds come from the previous step: short after copies start, then growing; tests pass 0',
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });
    const waitForParameters = new sfn.Wait(this, 'WaitForParameters', {
      comment: 'SSM validates aws:ec2:image values after PutParameter answers; read back only after that',
      time: sfn.WaitTime.secondsPath('$.verify.waitSeconds'),
    });
    const regionDone = new sfn.Pass(this, 'RegionDone', { comment: 'Nothing to read back', outputPath: '$.summary' });
    const parametersWritten = new sfn.Choice(this, 'ParametersWritten')
      .when(sfn.Condition.isPresent('$.verify'), waitForParameters.next(verify))
      .otherwise(regionDone);
    const copiesPending = new sfn.Choice(this, 'CopiesPending')
      .when(sfn.Condition.booleanEquals('$.pending', true), wait.next(poll))
      .otherwise(finalize);
    poll.next(copiesPending);
    finalize.next(parametersWritten);

    const perRegion = new sfn.Map(this, 'PublishRegions', {
      comment: 'One iteration per region, each returning a small summary; a region that fails does not stop the others',
      itemsPath: '$.regions',
      itemSelector: {
        'region.$': '$$.Map.Item.Value',
        'images.$': '$.images',
        'pollSeconds.$': '$.pollSeconds',
        'recheck.$': '$.recheck',
        'runId.$': '$$.Execution.Name',
      },
      maxConcurrency: config.publish.regionConcurrency,
      resultPath: '$.outcomes',
    });
    perRegion.itemProcessor(prepare.next(copiesPending));

    const announce = lambdaTask(this, 'Announce', {
      lambdaFunction: this.announceFunction,
      payload: sfn.TaskInput.fromObject({
        'runId.$': '$$.Execution.Name',
        'regions.$': '$.regions',
        'images.$': '$.images',
        'outcomes.$': '$.outcomes',
        'gaveUpCount.$': '$.gaveUpCount',
      }),
      resultSelector: {
        'messages.$': '$.Payload.messages',
        'published.$': '$.Payload.published',
        'pairsPublished.$': '$.Payload.pairsPublished',
        'failedPairs.$': '$.Payload.failedPairs',
        'failedRegions.$': '$.Payload.failedRegions',
        'failures.$': '$.Payload.failures',
        'failedCount.$': '$.Payload.failedCount',
      },
      resultPath: '$.summary',
    });
    const incomplete = new sfn.Fail(this, 'PublishIncomplete', {
      error: 'PublishIncomplete',
      cause: 'Some images were not published in some regions, or were given up; the run summary lists them',
    });
    const complete = new sfn.Choice(this, 'AllPublished')
      .when(sfn.Condition.numberGreaterThan('$.summary.failedCount', 0), incomplete)
      .otherwise(new sfn.Succeed(this, 'Published'));
    const published: sfn.IChainable = props.bootTestStateMachine
      ? announce.next(
          new sfn.Choice(this, 'NewBuilds')
            .when(
              sfn.Condition.isPresent('$.fresh[0]'),
              this.startBootTest(props.bootTestStateMachine, complete).next(complete),
            )
            .otherwise(complete),
        )
      : announce.next(complete);
    const givenUp = new sfn.Choice(this, 'AnyGivenUp')
      .when(sfn.Condition.numberGreaterThan('$.gaveUpCount', 0), incomplete)
      .otherwise(new sfn.Succeed(this, 'NothingToPublish'));
    const anything = new sfn.Choice(this, 'AnythingToPublish')
      .when(sfn.Condition.numberGreaterThan('$.count', 0), perRegion.next(published))
      .otherwise(givenUp);

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Publishes new source images to every enabled region',
      definitionBody: sfn.DefinitionBody.fromChainable(regions.next(discover).next(anything)),
      timeout: Duration.minutes(publishExecutionTimeoutMinutes(config.publish)),
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
      this.verifyFunction,
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
   * Hands the new builds (sources taken for the first time) to the boot-test workflow without waiting for it: the
   * build region holds every source, published or not elsewhere, and a boot test that cannot start must not fail the
   * publication. A source retried for a region that failed earlier was tested when it was new.
   */
  private startBootTest(bootTest: sfn.IStateMachine, next: sfn.IChainable): tasks.StepFunctionsStartExecution {
    const start = new tasks.StepFunctionsStartExecution(this, 'StartBootTest', {
      stateMachine: bootTest,
      integrationPattern: sfn.IntegrationPattern.REQUEST_RESPONSE,
      input: sfn.TaskInput.fromObject({ 'imageIds.$': '$.fresh' }),
      resultSelector: { 'executionArn.$': '$.ExecutionArn' },
      resultPath: '$.bootTest',
    });
    start.addCatch(next, { errors: ['States.ALL'], resultPath: '$.bootTestError' });
    return start;
  }

  private grant(props: PublishWorkflowProps): void {
    const { config } = props;
    const stack = Stack.of(this);
    const parameters = `arn:${stack.partition}:ssm:*:${stack.account}:parameter${config.publish.ssmPrefix}/*`;
    const accountLabel = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const grants = new ImageGrants(this, config);
    const describe = (...actions: string[]) => grants.describe(...actions);
    const [copyImages, copySnapshots, tagOnCopy, removeFailedCopies] = grants.copying();
    const preflight = [
      describe(
        'ec2:DescribeImages',
        'ec2:GetImageBlockPublicAccessState',
        'ec2:GetSnapshotBlockPublicAccessState',
        'ec2:GetEbsEncryptionByDefault',
      ),
      ...(config.publish.disableBlockPublicAccess ? [describe('ec2:DisableImageBlockPublicAccess')] : []),
    ];
    const copying = ImageGrants.COPY_ACTIONS;

    // The ledger: each function gets only the item actions it makes.
    this.ledger.grant(this.discoverFunction, 'dynamodb:Query', 'dynamodb:BatchWriteItem');
    this.ledger.grant(this.prepareFunction, 'dynamodb:BatchGetItem');
    this.ledger.grant(this.finalizeFunction, 'dynamodb:UpdateItem');
    this.ledger.grant(this.verifyFunction, 'dynamodb:UpdateItem');
    this.ledger.grant(this.announceFunction, 'dynamodb:Query', 'dynamodb:UpdateItem');

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

    for (const statement of [
      describe(
        'ec2:DescribeImages',
        'ec2:DescribeSnapshots',
        'ec2:DescribeSnapshotAttribute',
        'ec2:GetSnapshotBlockPublicAccessState',
      ),
      ...grants.publishing(),
      new iam.PolicyStatement({
        sid: 'SsmUnderPrefixOnly',
        actions: ['ssm:GetParameters', 'ssm:PutParameter'],
        resources: [parameters],
      }),
      ...regionGuard(config, 'NoPublishing', ImageGrants.PUBLISH_ACTIONS),
    ]) {
      this.finalizeFunction.addToRolePolicy(statement);
    }

    this.verifyFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadBackSsmUnderPrefix',
        actions: ['ssm:GetParameters'],
        resources: [parameters],
      }),
    );

    this.announceFunction.addToRolePolicy(describe('ec2:DescribeImages'));
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
