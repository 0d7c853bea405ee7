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
import { RUN_KEYS } from '../lambdas/aws/boot/runs';
import { HOTPLUG_VOLUME_GIB, MAX_BATCH_SIZE } from '../lambdas/core/boot/plan';
import { BOOT_METRIC_NAMESPACE } from '../lambdas/core/boot/result';
import type { PipelineConfig } from '../lambdas/core/config';
import { TAG } from '../lambdas/core/tags';
import { BOOT_ENV } from '../lambdas/boot/schemas';
import type { Notifications } from './notifications';
import { lambdaTask } from './lambda-task';
import { PipelineFunction } from './pipeline-function';
import { nameWorkflow } from './workflow-metadata';
import {
  ec2Arn,
  grantGuardedLaunch,
  type RunResourceConditions,
  runResourceConditions,
  type TagConditions,
} from './launch-grants';

export interface BootTestWorkflowProps {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
}

/** The functions of the workflow that call AWS APIs, all outside the test VPC. */
export interface BootTestFunctions {
  readonly plan: PipelineFunction;
  readonly launch: PipelineFunction;
  readonly waitRunning: PipelineFunction;
  readonly hotplug: PipelineFunction;
  readonly inspect: PipelineFunction;
  readonly cleanup: PipelineFunction;
  readonly record: PipelineFunction;
}

const TEST_SUBNETS = 'BootTest';
const OUTBOUND_SUBNETS = 'BootTestOutbound';
const PROBE_MARGIN_SECONDS = 60;
/** A task payload naming the run: the execution's name. */
const RUN_ID = { 'runId.$': '$$.Execution.Name' };
/** A task payload naming one launch: its run, batch and slot, as each Map iteration carries them. */
const LAUNCH_ADDRESS = { 'runId.$': '$.runId', 'batch.$': '$.batch', 'slot.$': '$.slot' };
/** What the judge, cleanup and the sweeper read about test instances and volumes (EC2 allows no narrower resource). */
const TEST_RESOURCE_READS = ['ec2:DescribeInstances', 'ec2:DescribeVolumes'];

/**
 * Boot smoke tests: a VPC of isolated subnets (no NAT, no internet route) where test instances boot, a probe function
 * inside that VPC that needs no AWS API, every API call in functions outside it, a state machine whose Catch paths
 * always terminate and delete, a scheduled sweeper, and the boot history table.
 */
export class BootTestWorkflow extends Construct {
  readonly vpc: ec2.Vpc;
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly probeSecurityGroup: ec2.SecurityGroup;
  readonly history: dynamodb.Table;
  /** Each run's plans and results while it runs, and for a month after: states carry only their keys. */
  readonly runs: dynamodb.Table;
  readonly stateMachine: sfn.StateMachine;
  readonly probeFunction: PipelineFunction;
  readonly sweepFunction: PipelineFunction;
  /** Every function that calls AWS APIs; none of them is in the VPC. */
  readonly apiFunctions: BootTestFunctions;

  constructor(scope: Construct, id: string, props: BootTestWorkflowProps) {
    super(scope, id);
    const { config } = props;
    const internet = config.bootTest.internetAccess;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
      // Resolved at deploy time: the account's own first three AZs, never names baked into the template.
      availabilityZones: [0, 1, 2].map((index) => Fn.select(index, Fn.getAzs())),
      natGateways: 0,
      createInternetGateway: internet,
      // Nothing uses the default security group; with its rules removed, nothing attached to it by mistake talks.
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: TEST_SUBNETS, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        ...(internet
          ? [{ name: OUTBOUND_SUBNETS, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: true }]
          : []),
      ],
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
    const instanceSubnets = this.vpc.selectSubnets({ subnetGroupName: internet ? OUTBOUND_SUBNETS : TEST_SUBNETS });
    const probeSubnets = this.vpc.selectSubnets({ subnetGroupName: TEST_SUBNETS });

    this.probeSecurityGroup = new ec2.SecurityGroup(this, 'ProbeSecurityGroup', {
      vpc: this.vpc,
      description: 'Boot test probe: may only open TCP 22 to test instances',
      allowAllOutbound: false,
    });
    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: this.vpc,
      description: 'Boot test instances: TCP 22 from the probe only',
      // Outbound-only internet when configured; otherwise nothing leaves the instance but DHCP, DNS and IMDS.
      allowAllOutbound: internet,
    });
    this.instanceSecurityGroup.addIngressRule(this.probeSecurityGroup, ec2.Port.tcp(22), 'SSH port probe');
    this.probeSecurityGroup.addEgressRule(this.instanceSecurityGroup, ec2.Port.tcp(22), 'SSH port probe');

    this.history = new dynamodb.Table(this, 'History', {
      partitionKey: { name: 'seriesType', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'buildImage', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.runs = new dynamodb.Table(this, 'Runs', {
      partitionKey: { name: RUN_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: RUN_KEYS.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: RUN_KEYS.expiresAt,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.runs).acknowledge({
      reason: 'Run records are working data that expire after a month; the history table keeps what lasts, with PITR.',
      id: 'AwsSolutions-DDB3',
    });

    const environment = {
      [BOOT_ENV.subnets]: instanceSubnets.subnetIds.join(','),
      [BOOT_ENV.securityGroups]: this.instanceSecurityGroup.securityGroupId,
      [BOOT_ENV.network]: internet ? 'outbound-internet' : 'isolated',
      [BOOT_ENV.historyTable]: this.history.tableName,
      [BOOT_ENV.runTable]: this.runs.tableName,
      [BOOT_ENV.alarmTopic]: props.notifications.alarms.topicArn,
    };
    const fn = (name: string, entry: string, description: string, timeout: Duration) =>
      new PipelineFunction(this, `${name}Function`, {
        entry: `boot/${entry}.ts`,
        description,
        config,
        timeout,
        environment,
      });
    const probeTimeout = Math.min(config.bootTest.timeoutSeconds + PROBE_MARGIN_SECONDS, 900);
    this.probeFunction = new PipelineFunction(this, 'ProbeFunction', {
      entry: 'boot/probe.ts',
      description: 'boot test TCP probe inside the test VPC (no AWS API access)',
      config,
      timeout: Duration.seconds(probeTimeout),
      vpc: this.vpc,
      vpcSubnets: { subnets: probeSubnets.subnets },
      securityGroups: [this.probeSecurityGroup],
    });
    this.apiFunctions = {
      plan: fn('Plan', 'plan', 'boot test: plan launches', Duration.minutes(1)),
      // Up to the vCPU wait (at most 13 minutes) and a batch's place in the RunInstances bucket.
      launch: fn('Launch', 'launch', 'boot test: launch a test instance', Duration.minutes(15)),
      waitRunning: fn('WaitRunning', 'wait-running', 'boot test: poll pending to running', Duration.minutes(15)),
      hotplug: fn('Hotplug', 'hotplug', 'boot test: EBS hot-plug cycles', Duration.minutes(15)),
      inspect: fn('Inspect', 'inspect', 'boot test: console and stop checks, judge, terminate', Duration.minutes(15)),
      cleanup: fn('Cleanup', 'cleanup', 'boot test: terminate and delete a run', Duration.minutes(10)),
      record: fn('Record', 'record', 'boot test: history, metrics, regressions', Duration.minutes(2)),
    };
    this.sweepFunction = fn('Sweep', 'sweep', 'boot test: sweep leftover test resources', Duration.minutes(10));
    this.grant(props);

    new events.Rule(this, 'SweepSchedule', {
      description: 'Removes boot test instances and volumes that outlived their run',
      schedule: events.Schedule.expression(config.schedules.sweep),
      targets: [new targets.LambdaFunction(this.sweepFunction)],
    });
    this.stateMachine = this.buildStateMachine();

    props.notifications.notifyOnAlarm(
      new cloudwatch.Alarm(this, 'ExecutionFailedAlarm', {
        alarmDescription: 'A boot test execution failed (its instances were cleaned up by the Catch path)',
        metric: this.stateMachine.metricFailed({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    props.notifications.notifyOnAlarm(
      new cloudwatch.Alarm(this, 'BootFailedAlarm', {
        alarmDescription: 'A boot test found an image that panicked, failed to mount root, timed out or failed a check',
        metric: new cloudwatch.Metric({
          namespace: BOOT_METRIC_NAMESPACE,
          metricName: 'BootFailed',
          period: Duration.hours(1),
          statistic: 'Sum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /**
   * The state machine passes ids, never plans or results: Plan stores the run in the run table and hands over the
   * size of each batch; each Map iteration carries one launch's address (run, batch, slot) and the little the next
   * state needs (the instance's address for the probe, the probe's observation for the judge); Record reads the
   * results back from the table. Within a batch (at most the 40 iterations an inline Map runs at once) each probe
   * starts the moment its own RunInstances returns, in the same iteration, while one poller beside the Map watches
   * pending -> running for the whole batch with one DescribeInstances call per poll.
   */
  private buildStateMachine(): sfn.StateMachine {
    const f = this.apiFunctions;
    // Execution input: { imageIds, instanceTypes?, runs? }; the execution name is the run id in tags and tokens.
    const plan = this.invoke('Plan', f.plan, { ...RUN_ID, 'request.$': '$' }, '$.plan');
    const batches = this.batches();
    const record = this.invoke('Record', f.record, RUN_ID, '$.record', '$.record.value');
    const finalCleanup = this.invoke('FinalCleanup', f.cleanup, RUN_ID, undefined);
    const cleanupOnError = this.invoke('CleanupOnError', f.cleanup, { ...RUN_ID, close: true }, '$.cleanup');
    cleanupOnError.next(
      new sfn.Fail(this, 'BootTestFailed', {
        cause: 'the boot test failed; every test instance and volume was removed',
      }),
    );
    for (const step of [plan, batches, finalCleanup, record]) step.addCatch(cleanupOnError, { resultPath: '$.error' });
    return this.stateMachineOf(plan.next(batches).next(finalCleanup).next(record));
  }

  /** A Lambda task whose result, the function's payload, lands at `resultPath` (discarded when undefined). */
  private invoke(
    id: string,
    lambdaFunction: PipelineFunction,
    payload: Record<string, unknown>,
    resultPath: string | undefined,
    outputPath?: string,
  ): sfn.TaskStateBase {
    return lambdaTask(this, id, {
      lambdaFunction,
      payload: sfn.TaskInput.fromObject(payload),
      resultSelector: { 'value.$': '$.Payload' },
      resultPath: resultPath ?? sfn.JsonPath.DISCARD,
      outputPath,
    });
  }

  /** The batches one after the other; a batch that fails has the run's instances removed and fails the run. */
  private batches(): sfn.Map {
    const f = this.apiFunctions;
    const watch = this.watchBatch();
    const cleanupBatch = this.invoke('CleanupBatch', f.cleanup, { 'runId.$': '$.runId' }, undefined, '$.batch');
    const cleanupAfterBatchError = this.invoke(
      'CleanupAfterBatchError',
      f.cleanup,
      { 'runId.$': '$.runId', close: true },
      '$.cleanup',
    );
    watch.addCatch(
      cleanupAfterBatchError.next(
        new sfn.Fail(this, 'BatchFailed', { cause: 'a boot test batch failed; its instances were terminated' }),
      ),
      { resultPath: '$.error' },
    );
    const slots = new sfn.Pass(this, 'Slots', {
      parameters: {
        'runId.$': '$.runId',
        'batch.$': '$.batch',
        'probe.$': '$.probe',
        'slots.$': 'States.ArrayRange(1, $.size, 1)',
      },
    });
    return new sfn.Map(this, 'Batches', {
      comment: 'Batches run one after the other, so repeats are later boots of an image already launched once',
      maxConcurrency: 1,
      itemsPath: '$.plan.value.batches',
      itemSelector: {
        'runId.$': '$.plan.value.runId',
        'batch.$': '$$.Map.Item.Index',
        'size.$': '$$.Map.Item.Value',
        'probe.$': '$.plan.value.probe',
      },
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(slots.next(watch).next(cleanupBatch));
  }

  /** One batch: every launch with its probe, beside the poller that watches the batch reach `running`. */
  private watchBatch(): sfn.Parallel {
    const launches = this.launchEach();
    const poller = this.runningPoller();
    return new sfn.Parallel(this, 'WatchBatch', {
      comment: 'The probes inside the VPC run beside one DescribeInstances poller outside it',
      resultPath: sfn.JsonPath.DISCARD,
    })
      .branch(launches)
      .branch(poller);
  }

  /**
   * One launch per iteration: launch, probe from inside the VPC at once, hot-plug cycles on reference types, judge.
   * Any step that fails for good records the failure instead, so one launch never stops the others.
   */
  private launchEach(): sfn.Map {
    const f = this.apiFunctions;
    const recordFailure = this.invoke(
      'RecordFailure',
      f.inspect,
      { ...LAUNCH_ADDRESS, 'failure.$': '$.error' },
      '$.result',
      '$.result.value',
    );
    const onFailure = (task: sfn.TaskStateBase) => task.addCatch(recordFailure, { resultPath: '$.error' });
    const launch = onFailure(this.invoke('Launch', f.launch, LAUNCH_ADDRESS, '$.launch'));
    const watchPort = onFailure(
      this.invoke(
        'WatchPort',
        this.probeFunction,
        {
          'host.$': '$.launch.value.instance.host',
          mode: 'watch',
          'timeoutSeconds.$': '$.probe.timeoutSeconds',
          'intervalMs.$': '$.probe.intervalMs',
        },
        '$.observation',
      ),
    );
    const judged = { ...LAUNCH_ADDRESS, 'observation.$': '$.observation.value' };
    // Each iteration ends with the launch's key and status alone, so a batch's Map result stays a few KB.
    const inspect = onFailure(this.invoke('Inspect', f.inspect, judged, '$.result', '$.result.value'));
    const hotplugLoop = this.hotplugThenInspect(onFailure, judged);
    const probed = watchPort.next(
      new sfn.Choice(this, 'HotplugPlanned')
        .when(
          sfn.Condition.and(
            sfn.Condition.numberGreaterThan('$.launch.value.instance.hotplugCycles', 0),
            sfn.Condition.stringEquals('$.observation.value.outcome', 'open'),
          ),
          hotplugLoop,
        )
        .otherwise(inspect),
    );
    return new sfn.Map(this, 'LaunchEach', {
      comment: 'Every launch of the batch at once: a batch is never larger than what a Map runs at the same time',
      maxConcurrency: MAX_BATCH_SIZE,
      itemsPath: '$.slots',
      itemSelector: {
        'runId.$': '$.runId',
        'batch.$': '$.batch',
        'slot.$': '$$.Map.Item.Value',
        'probe.$': '$.probe',
      },
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(
      launch.next(
        new sfn.Choice(this, 'Launched')
          .when(sfn.Condition.booleanEquals('$.launch.value.launched', true), probed)
          .otherwise(new sfn.Succeed(this, 'NotLaunched', { outputPath: '$.launch.value.status' })),
      ),
    );
  }

  /** Hot-plug cycles in batches that each fit one invocation, a second look at port 22, then the judge. */
  private hotplugThenInspect(
    onFailure: (task: sfn.TaskStateBase) => sfn.TaskStateBase,
    judged: Record<string, unknown>,
  ): sfn.IChainable {
    const f = this.apiFunctions;
    const hotplug = onFailure(
      this.invoke(
        'Hotplug',
        f.hotplug,
        { 'runId.$': '$.runId', 'instance.$': '$.launch.value.instance', 'resume.$': '$.resume' },
        '$.hotplug',
      ),
    );
    const nextBatch = new sfn.Pass(this, 'NextHotplugBatch', {
      parameters: { 'volumeId.$': '$.hotplug.value.volumeId', 'completed.$': '$.hotplug.value.cycles' },
      resultPath: '$.resume',
    });
    const recheck = onFailure(
      this.invoke(
        'RecheckPort',
        this.probeFunction,
        { 'host.$': '$.launch.value.instance.host', mode: 'check', timeoutSeconds: 10 },
        '$.recheck',
      ),
    );
    const inspectAfterHotplug = onFailure(
      this.invoke(
        'InspectAfterHotplug',
        f.inspect,
        { ...judged, 'hotplug.$': '$.hotplug.value', 'recheck.$': '$.recheck.value' },
        '$.result',
        '$.result.value',
      ),
    );
    const firstBatch = new sfn.Pass(this, 'FirstHotplugBatch', {
      result: sfn.Result.fromObject({ completed: 0 }),
      resultPath: '$.resume',
    });
    return firstBatch
      .next(hotplug)
      .next(
        new sfn.Choice(this, 'HotplugFinished')
          .when(sfn.Condition.booleanEquals('$.hotplug.value.finished', false), nextBatch.next(hotplug))
          .otherwise(recheck.next(inspectAfterHotplug)),
      );
  }

  /** Watches the batch's instances reach `running` until the batch settles; a poller that fails times nothing. */
  private runningPoller(): sfn.IChainable {
    const waitRunning = this.invoke(
      'WaitRunning',
      this.apiFunctions.waitRunning,
      { 'runId.$': '$.runId', 'batch.$': '$.batch' },
      '$.running',
    );
    waitRunning.addCatch(new sfn.Pass(this, 'RunningNotWatched', { comment: 'Boots are still timed, from the port' }), {
      resultPath: '$.error',
    });
    return waitRunning.next(
      new sfn.Choice(this, 'BatchSettled')
        .when(sfn.Condition.booleanEquals('$.running.value.finished', false), waitRunning)
        .otherwise(new sfn.Succeed(this, 'RunningWatched')),
    );
  }

  /** The state machine around `definition`, with its execution log, tracing and cdk-nag acknowledgements. */
  private stateMachineOf(definition: sfn.IChainable): sfn.StateMachine {
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Boots new images on Graviton and x86, measures, checks, always cleans up, records history',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    nameWorkflow(stateMachine, 'boot-test');
    Validations.of(stateMachine.role).acknowledge({
      reason: 'X-Ray and CloudWatch Logs delivery actions of Step Functions accept only Resource "*".',
      id: 'AwsSolutions-IAM5[Resource::*]',
    });
    for (const target of [...Object.values(this.apiFunctions), this.probeFunction])
      Validations.of(stateMachine.role).acknowledge({
        reason: 'The LambdaInvoke task may call any version or alias of its own function, and no other function.',
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(target.node.defaultChild as never)}.Arn>:*]`,
      });
    return stateMachine;
  }

  private grant(props: BootTestWorkflowProps): void {
    const conditions = runResourceConditions(props.config.managedTag, TAG.bootTest);
    this.grantPlanAndLaunch(props.config, conditions.requestTags);
    this.grantInspection(conditions.resourceTags);
    this.grantVolumesAndCleanup(conditions);
    this.grantTablesAndAlarms(props.notifications);
    this.acknowledgeTestResourceWildcards();
  }

  /** The ARN of an EC2 resource of this stack's region and account. */
  private ec2Arn(resource: string): string {
    return ec2Arn(this, resource);
  }

  /** The planner reads images; the launcher launches under the conditions every test launch shares. */
  private grantPlanAndLaunch(config: PipelineConfig, requestTags: TagConditions): void {
    const f = this.apiFunctions;
    f.plan.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeImages'], resources: ['*'] }));
    grantGuardedLaunch(f.launch, {
      managed: config.managedTag,
      requestTags,
      instanceTypes: Object.values(config.bootTest.instanceTypes).flat(),
      subnetIds: this.vpc.selectSubnets({
        subnetGroupName: config.bootTest.internetAccess ? OUTBOUND_SUBNETS : TEST_SUBNETS,
      }).subnetIds,
      securityGroupId: this.instanceSecurityGroup.securityGroupId,
      networkSid: 'LaunchOnlyIntoTestSubnets',
    });
    f.launch.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TagOnLaunch',
        actions: ['ec2:CreateTags'],
        resources: [this.ec2Arn('instance/*'), this.ec2Arn('volume/*'), this.ec2Arn('network-interface/*')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
  }

  /** The poller reads states; the judge reads the console, stops and ends its own test instance. */
  private grantInspection(resourceTags: TagConditions): void {
    const f = this.apiFunctions;
    const arn = (resource: string) => this.ec2Arn(resource);
    f.waitRunning.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));
    // Each launch ends its own instance once judged, so its vCPUs serve launches still waiting for the limit.
    f.inspect.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TerminateOnlyTestInstances',
        actions: ['ec2:TerminateInstances'],
        resources: [arn('instance/*')],
        conditions: resourceTags,
      }),
    );

    for (const name of ['hotplug', 'inspect'] as const)
      f[name].addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ec2:GetConsoleOutput'],
          resources: [arn('instance/*')],
          conditions: resourceTags,
        }),
      );
    f.inspect.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ec2:StopInstances'],
        resources: [arn('instance/*')],
        conditions: resourceTags,
      }),
    );
    f.inspect.addToRolePolicy(new iam.PolicyStatement({ actions: TEST_RESOURCE_READS, resources: ['*'] }));
  }

  /** The hot-plug check makes and cycles small tagged volumes; cleanup and the sweeper remove what runs left. */
  private grantVolumesAndCleanup({ requestTags, resourceTags }: RunResourceConditions): void {
    const f = this.apiFunctions;
    const arn = (resource: string) => this.ec2Arn(resource);
    f.hotplug.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreateSmallTaggedVolumes',
        actions: ['ec2:CreateVolume'],
        resources: [arn('volume/*')],
        conditions: { ...requestTags, NumericLessThanEquals: { 'ec2:VolumeSize': HOTPLUG_VOLUME_GIB } },
      }),
    );
    f.hotplug.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [arn('volume/*')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'CreateVolume' } },
      }),
    );
    // Only the hot-plug check attaches volumes; cleanup and the sweeper detach and delete what is left.
    for (const fn of [f.hotplug, f.cleanup, this.sweepFunction]) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions:
            fn === f.hotplug
              ? ['ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:DeleteVolume']
              : ['ec2:DetachVolume', 'ec2:DeleteVolume'],
          resources: [arn('instance/*'), arn('volume/*')],
          conditions: resourceTags,
        }),
      );
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: TEST_RESOURCE_READS, resources: ['*'] }));
    }
    for (const fn of [f.cleanup, this.sweepFunction])
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'TerminateOnlyTestInstances',
          actions: ['ec2:TerminateInstances'],
          resources: [arn('instance/*')],
          conditions: resourceTags,
        }),
      );
  }

  /** The history and run tables, and the alarms topic the recorder and the sweeper report to. */
  private grantTablesAndAlarms(notifications: Notifications): void {
    const f = this.apiFunctions;
    this.history.grant(f.record, 'dynamodb:PutItem', 'dynamodb:Query');
    // Each step writes whole items of its own (a plan, an outcome, a sighting, a result) and reads by key range.
    for (const fn of [f.plan, f.launch, f.waitRunning, f.inspect, f.record])
      this.runs.grant(fn, 'dynamodb:Query', 'dynamodb:PutItem');
    this.runs.grant(f.cleanup, 'dynamodb:PutItem');
    notifications.alarms.grantPublish(f.record);
    notifications.alarms.grantPublish(this.sweepFunction);
    for (const fn of [f.record, this.sweepFunction])
      Validations.of(fn.role!).acknowledge({
        reason: 'Publishing to the KMS-encrypted alarms topic needs the GenerateDataKey family on that one key only.',
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      });
  }

  /**
   * Each role acknowledges only the wildcard resources its own statements name (the probe's role names interfaces
   * for Lambda, under a reason of its own).
   */
  private acknowledgeTestResourceWildcards(): void {
    const f = this.apiFunctions;
    const stack = Stack.of(this);
    // cdk-nag names resources as synthesized: concrete region and account when the stack has them, tokens otherwise.
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const named: [PipelineFunction, string[]][] = [
      [f.launch, ['instance/*', 'volume/*', 'network-interface/*']],
      [f.inspect, ['instance/*']],
      [f.hotplug, ['instance/*', 'volume/*']],
      [f.cleanup, ['instance/*', 'volume/*']],
      [this.sweepFunction, ['instance/*', 'volume/*']],
    ];
    for (const [fn, resources] of named)
      for (const resource of resources)
        Validations.of(fn.role!).acknowledge({
          reason:
            'Test instance, volume and interface ids are made by EC2 at launch; request or resource tag conditions (or the create action) limit each statement.',
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:${account}:${resource}]`,
        });
    Validations.of(f.launch.role!).acknowledge({
      reason: 'Image ids of new builds are not known in advance; only images this account owns and manages may boot.',
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}::image/*]`,
    });
  }
}
