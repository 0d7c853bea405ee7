import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DIGEST_ENV } from '../lambdas/aws/digest/env';
import type { PipelineConfig } from '../lambdas/core/config';
import type { Notifications } from './notifications';
import { PipelineFunction } from './pipeline-function';
import { REPORT_PREFIXES, type ReportBucket } from './report-bucket';

export interface WeeklyDigestProps {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
  readonly publishStateMachine: sfn.StateMachine;
  readonly pruneStateMachine: sfn.StateMachine;
  /** The audit workflow, whose findings and repairs the digest reports when given. */
  readonly auditStateMachine?: sfn.StateMachine;
  /** The boot-test history table (lambdas/aws/boot/history.ts). */
  readonly bootHistory: dynamodb.ITable;
  /** Where the boot-performance page is written (`boot/index.html`). */
  readonly reports: ReportBucket;
  /** The page's address for the mail: its CloudFront URL when public, else the S3 console's view of the object. */
  readonly bootPageUrl: string;
  /** The reproducibility history, for the digest's section and its links into the report bucket. */
  readonly repro?: { readonly history: dynamodb.ITable };
}

/**
 * The weekly report: a function started on `schedules.digest` that reads the week's publish, audit and prune executions
 * and the boot history, writes the boot-performance page to the report bucket and mails one digest, linking the page,
 * to the announcements topic. It may only list, describe and read the history of executions of those three state
 * machines, read the history tables, put objects under the bucket's `boot/` prefix and publish to that one topic.
 */
export class WeeklyDigest extends Construct {
  readonly digestFunction: PipelineFunction;
  readonly schedule: events.Rule;
  readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WeeklyDigestProps) {
    super(scope, id);
    const { config, notifications } = props;
    this.digestFunction = new PipelineFunction(this, 'Function', {
      entry: 'digest/handler.ts',
      description: 'mails the weekly digest of publish, boot-test, audit and prune runs',
      config,
      timeout: Duration.minutes(2),
      environment: {
        [DIGEST_ENV.publishStateMachine]: props.publishStateMachine.stateMachineArn,
        [DIGEST_ENV.pruneStateMachine]: props.pruneStateMachine.stateMachineArn,
        ...(props.auditStateMachine && { [DIGEST_ENV.auditStateMachine]: props.auditStateMachine.stateMachineArn }),
        [DIGEST_ENV.historyTable]: props.bootHistory.tableName,
        [DIGEST_ENV.topic]: notifications.announcements.topicArn,
        [DIGEST_ENV.reportBucket]: props.reports.bucket.bucketName,
        [DIGEST_ENV.reportPageUrl]: props.bootPageUrl,
        ...(props.repro && { [DIGEST_ENV.reproHistoryTable]: props.repro.history.tableName }),
      },
      // Drawing the page's plots takes a few hundred megabytes for a year of history.
      memorySize: 1024,
    });
    // Reads are retried by the SDK and an unreadable part is reported in the mail; the function fails only after
    // mailing (so the alarm fires), where an asynchronous retry would mail the list a second and third time.
    this.digestFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });
    this.grant(props);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Mails the weekly digest',
      schedule: events.Schedule.expression(config.schedules.digest),
      targets: [new targets.LambdaFunction(this.digestFunction, { retryAttempts: 2 })],
    });
    this.errorsAlarm = new cloudwatch.Alarm(this, 'Errors', {
      alarmDescription: 'The weekly digest was not sent, or was sent without a part it could not read (see its logs)',
      metric: this.digestFunction.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    notifications.notifyOnAlarm(this.errorsAlarm);
  }

  private grant(props: WeeklyDigestProps): void {
    const stack = Stack.of(this);
    const machines = [
      props.publishStateMachine,
      props.pruneStateMachine,
      ...(props.auditStateMachine ? [props.auditStateMachine] : []),
    ];
    this.digestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListExecutionsOfReportedWorkflows',
        actions: ['states:ListExecutions'],
        resources: machines.map((m) => m.stateMachineArn),
      }),
    );
    const executionArns = machines.map((m) =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${m.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    this.digestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeExecutionsOfReportedWorkflows',
        // The history gives a failed run's final state, which DescribeExecution leaves out.
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: executionArns,
      }),
    );
    this.digestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadBootHistory',
        actions: ['dynamodb:Query', 'dynamodb:Scan'],
        resources: [props.bootHistory.tableArn],
      }),
    );
    if (props.repro)
      this.digestFunction.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ReadReproHistory',
          actions: ['dynamodb:Scan'],
          resources: [props.repro.history.tableArn],
        }),
      );
    props.notifications.announcements.grantPublish(this.digestFunction);
    props.reports.grantPutUnder(this.digestFunction, REPORT_PREFIXES.bootPage);

    const role = this.digestFunction.role!;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    for (const machine of machines) {
      const logicalId = stack.getLogicalId(machine.node.defaultChild as never);
      const executions = `arn:<AWS::Partition>:states:${region}:${account}:execution:<${logicalId}.Name>:*`;
      Validations.of(role).acknowledge({
        reason: 'Execution names are chosen per run; the wildcard covers executions of this one state machine only.',
        id: `AwsSolutions-IAM5[Resource::${executions}]`,
      });
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason: 'Publishing to the KMS-encrypted topic needs data keys of that one key (the grant names only its ARN).',
    });
  }
}
