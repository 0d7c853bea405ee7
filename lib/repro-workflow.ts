import { Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REPRO_HISTORY_KEYS } from '../lambdas/aws/repro/history';
import type { PipelineConfig } from '../lambdas/core/config';
import { TAG } from '../lambdas/core/tags';
import { INSTANCE_JOB_FILE, REPRO_ENV } from '../lambdas/repro/schemas';
import { lambdaTask } from './lambda-task';
import type { Notifications } from './notifications';
import { PipelineFunction } from './pipeline-function';
import { REPORT_PREFIXES, type ReportBucket } from './report-bucket';
import { nameWorkflow } from './workflow-metadata';
import { ec2Arn, grantGuardedLaunch, runResourceConditions } from './launch-grants';

export interface ReproWorkflowProps {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
  readonly reports: ReportBucket;
}

/** The functions of the workflow; none of them runs in the check VPC. */
export interface ReproFunctions {
  readonly plan: PipelineFunction;
  readonly launch: PipelineFunction;
  readonly poll: PipelineFunction;
  readonly finish: PipelineFunction;
  readonly cleanup: PipelineFunction;
}

const CHECK_SUBNETS = 'ReproCheck';
/** Step Functions' own margin over the checks' budget and grace: plan, launches, cleanups and retries. */
const EXECUTION_MARGIN = Duration.hours(2);

/**
 * Weekly reproducibility checks: builder instances rebuild their own image and compare it with the AMI's snapshot.
 * A VPC of its own (outbound-only internet by default, for the source tree and packages; an S3 gateway endpoint for
 * the uploads; no inbound rule anywhere), an instance profile that may only put objects into each instance's own
 * folder under `repro/` (named by its IAM user id), a state machine that waits in Wait states and always terminates
 * and deletes what it made, a sweeper, and a history table.
 *
 * The boot test's VPC is isolated by default and its IAM names its own subnets; the checks need the opposite network
 * by default, so they get their own rather than loosening the boot test's. The history is a table of its own: its
 * rows are per line and week, not per series and instance type, and the digest reads it with a grant of its own.
 */
export class ReproWorkflow extends Construct {
  readonly vpc: ec2.Vpc;
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly instanceRole: iam.Role;
  readonly instanceProfile: iam.CfnInstanceProfile;
  readonly history: dynamodb.Table;
  readonly stateMachine: sfn.StateMachine;
  readonly functions: ReproFunctions;
  readonly sweepFunction: PipelineFunction;

  constructor(scope: Construct, id: string, props: ReproWorkflowProps) {
    super(scope, id);
    const { config } = props;
    const internet = config.repro.internetAccess;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.30.0.0/16'),
      availabilityZones: [0, 1, 2].map((index) => Fn.select(index, Fn.getAzs())),
      natGateways: 0,
      createInternetGateway: internet,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        internet
          ? { name: CHECK_SUBNETS, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: true }
          : { name: CHECK_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      // Uploads reach the report bucket without the internet, and without a NAT gateway's cost.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: this.vpc,
      description: 'Reproducibility check instances: outbound only, no inbound rule',
      allowAllOutbound: true,
    });

    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description:
        'Reproducibility check instances: put objects into their own folder under repro/ of the report bucket, nothing else',
    });
    props.reports.grantPutIntoOwnFolderUnder(this.instanceRole, REPORT_PREFIXES.repro);
    this.instanceProfile = new iam.CfnInstanceProfile(this, 'InstanceProfile', {
      roles: [this.instanceRole.roleName],
    });

    this.history = new dynamodb.Table(this, 'History', {
      partitionKey: { name: REPRO_HISTORY_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: REPRO_HISTORY_KEYS.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment = {
      [REPRO_ENV.subnets]: this.vpc.selectSubnets({ subnetGroupName: CHECK_SUBNETS }).subnetIds.join(','),
      [REPRO_ENV.securityGroups]: this.instanceSecurityGroup.securityGroupId,
      [REPRO_ENV.instanceProfile]: this.instanceProfile.attrArn,
      [REPRO_ENV.instanceRoleId]: this.instanceRole.roleId,
      [REPRO_ENV.historyTable]: this.history.tableName,
      [REPRO_ENV.reportBucket]: props.reports.bucket.bucketName,
      [REPRO_ENV.alarmTopic]: props.notifications.alarms.topicArn,
    };
    const fn = (name: string, entry: string, description: string, timeout: Duration, bundledFiles?: string[]) =>
      new PipelineFunction(this, `${name}Function`, {
        entry: `repro/${entry}.ts`,
        description,
        config,
        timeout,
        environment,
        bundledFiles,
      });
    this.functions = {
      plan: fn('Plan', 'plan', 'reproducibility: plan the checks of the week', Duration.minutes(1)),
      launch: fn('Launch', 'launch', 'reproducibility: launch a builder instance', Duration.minutes(2), [
        `repro/${INSTANCE_JOB_FILE}`,
      ]),
      poll: fn('Poll', 'poll', 'reproducibility: one look at a running check', Duration.minutes(1)),
      finish: fn('Finish', 'finish', 'reproducibility: end, judge and record a check', Duration.minutes(10)),
      cleanup: fn('Cleanup', 'cleanup', 'reproducibility: terminate and delete a run', Duration.minutes(10)),
    };
    this.sweepFunction = fn('Sweep', 'sweep', 'reproducibility: sweep leftover check resources', Duration.minutes(10));
    this.grant(props);

    new events.Rule(this, 'SweepSchedule', {
      description: 'Removes reproducibility check instances and volumes that outlived their run',
      schedule: events.Schedule.expression(config.schedules.sweep),
      targets: [new targets.LambdaFunction(this.sweepFunction)],
    });
    this.stateMachine = this.buildStateMachine(config);
    new events.Rule(this, 'Schedule', {
      description: 'Starts the weekly reproducibility checks',
      schedule: events.Schedule.expression(config.schedules.repro),
      targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({}) })],
    });
    props.notifications.notifyOnAlarm(
      new cloudwatch.Alarm(this, 'ExecutionFailedAlarm', {
        alarmDescription: 'A reproducibility run failed (its instances and volumes were removed by the Catch path)',
        metric: this.stateMachine.metricFailed({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /**
   * Plan, then each check at once in a Map: launch, then poll and wait (hours, in Wait states) until the summary is
   * in the bucket, the instance ended or the budget ran out, then Finish ends the check whatever happened. A failed
   * launch or poll goes to Finish too, which records the failure. The run's cleanup follows the Map, and any failure
   * of the run itself removes everything before it fails.
   */
  private buildStateMachine(config: PipelineConfig): sfn.StateMachine {
    const f = this.functions;
    const invoke = (id: string, lambdaFunction: PipelineFunction, payload: Record<string, unknown>, path?: string) =>
      lambdaTask(this, id, {
        lambdaFunction,
        payload: sfn.TaskInput.fromObject(payload),
        resultSelector: { 'value.$': '$.Payload' },
        resultPath: path ?? sfn.JsonPath.DISCARD,
      });
    const runId = { 'runId.$': '$$.Execution.Name' };
    const check = { 'runId.$': '$.runId', 'check.$': '$.check' };

    // Execution input: { imageIds?, instanceType? }; the execution name is the run id in tags.
    const plan = invoke('Plan', f.plan, { ...runId, 'request.$': '$' }, '$.plan');
    const failure = { 'failure.$': "States.Format('{}: {}', $.error.Error, $.error.Cause)" };
    const launched = { 'launch.$': '$.launch.value' };
    // A failed launch has no instance to read from; a failed poll has one, whose folder may hold its outputs.
    const checkFailed = new sfn.Pass(this, 'CheckFailed', { outputPath: '$.result.value' });
    const finishAfterLaunchError = invoke(
      'FinishAfterLaunchError',
      f.finish,
      { ...check, ...failure },
      '$.result',
    ).next(checkFailed);
    const finishAfterPollError = invoke(
      'FinishAfterPollError',
      f.finish,
      { ...check, ...launched, ...failure },
      '$.result',
    ).next(checkFailed);
    const launch = invoke('Launch', f.launch, check, '$.launch');
    launch.addCatch(finishAfterLaunchError, { resultPath: '$.error' });
    const poll = invoke('Poll', f.poll, { 'check.$': '$.check', ...launched }, '$.poll');
    poll.addCatch(finishAfterPollError, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, 'WaitForCheck', {
      comment: 'Hours of building: the poll says how long to wait (minutes at first, to attach the volume)',
      time: sfn.WaitTime.secondsPath('$.poll.value.waitSeconds'),
    });
    const finish = invoke('Finish', f.finish, { ...check, ...launched, 'ended.$': '$.poll.value.ended' }, '$.result');
    const checked = new sfn.Pass(this, 'Checked', { outputPath: '$.result.value' });
    const perCheck = launch
      .next(poll)
      .next(
        new sfn.Choice(this, 'CheckEnded')
          .when(sfn.Condition.isPresent('$.poll.value.ended'), finish.next(checked))
          .otherwise(wait.next(poll)),
      );
    const checks = new sfn.Map(this, 'CheckEach', {
      comment: 'Every check of the week at once; the plan holds at most repro.maxChecksPerWeek',
      maxConcurrency: Math.max(1, Math.min(config.repro.maxChecksPerWeek, 40)),
      itemsPath: '$.plan.value.checks',
      itemSelector: { 'runId.$': '$.plan.value.runId', 'check.$': '$$.Map.Item.Value' },
      resultPath: '$.results',
    }).itemProcessor(perCheck);

    const cleanup = invoke('Cleanup', f.cleanup, runId);
    const done = new sfn.Pass(this, 'Done', {
      parameters: {
        'week.$': '$.plan.value.week',
        'cost.$': '$.plan.value.cost',
        'usedInstanceHours.$': '$.plan.value.usedInstanceHours',
        'results.$': '$.results',
        'skipped.$': '$.plan.value.skipped',
      },
    });
    const cleanupOnError = invoke('CleanupOnError', f.cleanup, runId, '$.cleanup');
    cleanupOnError.next(
      new sfn.Fail(this, 'ReproFailed', {
        cause: 'the reproducibility run failed; every check instance and volume was removed',
      }),
    );
    for (const step of [plan, checks, cleanup]) step.addCatch(cleanupOnError, { resultPath: '$.error' });

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const budget = Duration.minutes(config.repro.timeBudgetMinutes + config.repro.graceMinutes);
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Builder images rebuild their own image; diffoscope compares; always cleans up; records history',
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(checks).next(cleanup).next(done)),
      timeout: Duration.minutes(budget.toMinutes() + EXECUTION_MARGIN.toMinutes()),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    nameWorkflow(stateMachine, 'repro');
    Validations.of(stateMachine.role).acknowledge({
      reason: 'X-Ray and CloudWatch Logs delivery actions of Step Functions accept only Resource "*".',
      id: 'AwsSolutions-IAM5[Resource::*]',
    });
    for (const target of Object.values(f))
      Validations.of(stateMachine.role).acknowledge({
        reason: 'The LambdaInvoke task may call any version or alias of its own function, and no other function.',
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(target.node.defaultChild as never)}.Arn>:*]`,
      });
    return stateMachine;
  }

  private grant(props: ReproWorkflowProps): void {
    const { config } = props;
    const stack = Stack.of(this);
    const arn = (resource: string) => ec2Arn(this, resource);
    const managed = config.managedTag;
    const { requestTags, resourceTags } = runResourceConditions(managed, TAG.repro);
    const f = this.functions;
    const describe = ['ec2:DescribeInstances', 'ec2:DescribeVolumes'];

    f.plan.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeImages'], resources: ['*'] }));
    this.history.grant(f.plan, 'dynamodb:Scan');
    // The boot test's launch conditions; then the reference volume, and only the check role passed.
    grantGuardedLaunch(f.launch, {
      managed,
      requestTags,
      instanceTypes: Object.values(config.repro.instanceTypes).flat(),
      subnetIds: this.vpc.selectSubnets({ subnetGroupName: CHECK_SUBNETS }).subnetIds,
      securityGroupId: this.instanceSecurityGroup.securityGroupId,
      networkSid: 'LaunchOnlyIntoCheckSubnets',
    });
    f.launch.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreateTaggedVolumesFromOwnSnapshots',
        actions: ['ec2:CreateVolume'],
        resources: [arn('volume/*')],
        conditions: requestTags,
      }),
    );
    f.launch.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadOwnSnapshots',
        actions: ['ec2:CreateVolume'],
        resources: [`arn:${stack.partition}:ec2:${stack.region}::snapshot/*`],
        conditions: { StringEquals: { 'ec2:Owner': stack.account } },
      }),
    );
    f.launch.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['ec2:CreateTags'],
        resources: [arn('instance/*'), arn('volume/*'), arn('network-interface/*')],
        conditions: { StringEquals: { 'ec2:CreateAction': ['RunInstances', 'CreateVolume'] } },
      }),
    );
    f.launch.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PassOnlyTheCheckRole',
        actions: ['iam:PassRole'],
        resources: [this.instanceRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );

    f.poll.addToRolePolicy(new iam.PolicyStatement({ actions: describe, resources: ['*'] }));
    f.poll.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AttachOnlyCheckVolumes',
        actions: ['ec2:AttachVolume'],
        resources: [arn('instance/*'), arn('volume/*')],
        conditions: resourceTags,
      }),
    );
    props.reports.grantReadUnder(f.poll, REPORT_PREFIXES.repro);
    props.reports.grantReadUnder(f.finish, REPORT_PREFIXES.repro);
    this.history.grant(f.finish, 'dynamodb:PutItem');

    for (const fn of [f.finish, f.cleanup, this.sweepFunction]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TerminateOnlyCheckInstances',
          actions: ['ec2:TerminateInstances'],
          resources: [arn('instance/*')],
          conditions: resourceTags,
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'DeleteOnlyCheckVolumes',
          actions: ['ec2:DetachVolume', 'ec2:DeleteVolume'],
          resources: [arn('instance/*'), arn('volume/*')],
          conditions: resourceTags,
        }),
      );
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: describe, resources: ['*'] }));
    }
    props.notifications.alarms.grantPublish(this.sweepFunction);
    Validations.of(this.sweepFunction.role!).acknowledge({
      reason: 'Publishing to the KMS-encrypted alarms topic needs the GenerateDataKey family on that one key only.',
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    });

    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const named: [PipelineFunction, string[]][] = [
      [f.launch, ['instance/*', 'volume/*', 'network-interface/*']],
      [f.poll, ['instance/*', 'volume/*']],
      [f.finish, ['instance/*', 'volume/*']],
      [f.cleanup, ['instance/*', 'volume/*']],
      [this.sweepFunction, ['instance/*', 'volume/*']],
    ];
    for (const [fn, resources] of named)
      for (const resource of resources)
        Validations.of(fn.role!).acknowledge({
          reason:
            'Check instance, volume and interface ids are made by EC2 at launch; request or resource tag conditions (or the create action) limit each statement.',
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:${account}:${resource}]`,
        });
    Validations.of(f.launch.role!).acknowledge({
      reason: 'Image ids of new builds are not known in advance; only images this account owns and manages may boot.',
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}::image/*]`,
    });
    Validations.of(f.launch.role!).acknowledge({
      reason: 'Root snapshots of new builds are not known in advance; only snapshots this account owns may be read.',
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}::snapshot/*]`,
    });
    const bucketLogicalId = stack.getLogicalId(props.reports.bucket.node.defaultChild as never);
    // The instance role's put is acknowledged by the grant itself (ReportBucket.grantPutIntoOwnFolderUnder).
    for (const grantee of [f.poll.role!, f.finish.role!])
      Validations.of(grantee).acknowledge({
        reason: 'Objects under repro/ only: the key prefix of the reproducibility outputs in the report bucket.',
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/repro/*]`,
      });
    for (const grantee of [f.poll.role!, f.finish.role!])
      for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*'])
        Validations.of(grantee).acknowledge({
          reason: 'The read grant of the report bucket: objects under repro/ and the bucket itself, nothing else.',
          id: `AwsSolutions-IAM5[Action::${action}]`,
        });
  }
}
