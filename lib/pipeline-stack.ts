import { CfnOutput, Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { AuditWorkflow } from './audit-workflow';
import { BootTestWorkflow } from './boot-test-workflow';
import { Dashboard } from './dashboard';
import { Notifications } from './notifications';
import { PipelineFunction } from './pipeline-function';
import { PruneWorkflow } from './prune-workflow';
import { PublishWorkflow } from './publish-workflow';
import { REPORT_PREFIXES, ReportBucket } from './report-bucket';
import { ReportSite } from './report-site';
import { ReproWorkflow } from './repro-workflow';
import { WeeklyDigest } from './weekly-digest';

export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
}

/** Outputs of the stack: what the operator CLI needs to reach the deployed pipeline. */
export const STACK_OUTPUTS = {
  announcementsTopic: 'AnnouncementsTopicArn',
  alarmsTopic: 'AlarmsTopicArn',
  publishStateMachine: 'PublishStateMachineArn',
  bootTestStateMachine: 'BootTestStateMachineArn',
  pruneStateMachine: 'PruneStateMachineArn',
  auditStateMachine: 'AuditStateMachineArn',
  bootHistoryTable: 'BootHistoryTableName',
  publishLedgerTable: 'PublishLedgerTableName',
  bootRunTable: 'BootRunTableName',
  digestFunction: 'DigestFunctionName',
  sweepFunction: 'SweepFunctionName',
  reportBucket: 'ReportBucketName',
  bootPageUrl: 'BootPageUrl',
  reproStateMachine: 'ReproStateMachineArn',
  reproHistoryTable: 'ReproHistoryTableName',
  reproSweepFunction: 'ReproSweepFunctionName',
} as const;

/** The whole pipeline in the build region; regional work fans out from here through the SDK. */
export class PipelineStack extends Stack {
  readonly config: PipelineConfig;
  readonly notifications: Notifications;
  /** Lists the enabled, allowed regions; the first step of every workflow. */
  readonly regionsFunction: PipelineFunction;
  readonly publish: PublishWorkflow;
  readonly bootTest: BootTestWorkflow;
  readonly prune: PruneWorkflow;
  readonly audit: AuditWorkflow;
  /** What people read: the boot-performance page and the reproducibility checks. */
  readonly reports: ReportBucket;
  /** The public boot-performance page, with `report.public`. */
  readonly reportSite?: ReportSite;
  /** Weekly reproducibility checks of the builder images; absent when `repro.enabled` is false. */
  readonly repro?: ReproWorkflow;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    this.config = props.config;
    Tags.of(this).add(props.config.managedTag.key, props.config.managedTag.value);

    this.notifications = new Notifications(this, 'Notifications', {
      emails: props.config.notifications.emails,
      alarmEmails: props.config.notifications.alarmEmails,
    });

    this.reports = new ReportBucket(this, 'Reports');

    this.regionsFunction = new PipelineFunction(this, 'RegionsFunction', {
      entry: 'regions/handler.ts',
      description: 'lists the regions a run works in',
      config: props.config,
      timeout: Duration.seconds(30),
    });
    this.regionsFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ec2:DescribeRegions'], resources: ['*'] }),
    );
    this.bootTest = new BootTestWorkflow(this, 'BootTest', { config: this.config, notifications: this.notifications });
    this.publish = new PublishWorkflow(this, 'Publish', {
      config: this.config,
      notifications: this.notifications,
      regionsFunction: this.regionsFunction,
      bootTestStateMachine: this.config.bootTest.enabled ? this.bootTest.stateMachine : undefined,
    });
    this.prune = new PruneWorkflow(this, 'Prune', {
      config: this.config,
      notifications: this.notifications,
      regionsFunction: this.regionsFunction,
    });
    this.audit = new AuditWorkflow(this, 'Audit', {
      config: this.config,
      notifications: this.notifications,
      regionsFunction: this.regionsFunction,
      ledger: this.publish.ledger,
    });
    // Turned off, the checks cost nothing: no VPC, instance profile, table or functions are made.
    if (this.config.repro.enabled)
      this.repro = new ReproWorkflow(this, 'Repro', {
        config: this.config,
        notifications: this.notifications,
        reports: this.reports,
      });
    this.reportSite = this.config.report.public
      ? new ReportSite(this, 'ReportSite', { reports: this.reports })
      : undefined;
    const bootPageUrl =
      this.reportSite?.url ??
      `https://s3.console.aws.amazon.com/s3/object/${this.reports.bucket.bucketName}?region=${this.region}&prefix=${REPORT_PREFIXES.bootPage}index.html`;
    const digest = new WeeklyDigest(this, 'Digest', {
      config: this.config,
      notifications: this.notifications,
      publishStateMachine: this.publish.stateMachine,
      pruneStateMachine: this.prune.stateMachine,
      auditStateMachine: this.audit.stateMachine,
      bootHistory: this.bootTest.history,
      reports: this.reports,
      bootPageUrl,
      repro: this.repro && { history: this.repro.history },
    });
    this.addOutputs({
      [STACK_OUTPUTS.announcementsTopic]: this.notifications.announcements.topicArn,
      [STACK_OUTPUTS.alarmsTopic]: this.notifications.alarms.topicArn,
      [STACK_OUTPUTS.publishStateMachine]: this.publish.stateMachine.stateMachineArn,
      [STACK_OUTPUTS.bootTestStateMachine]: this.bootTest.stateMachine.stateMachineArn,
      [STACK_OUTPUTS.pruneStateMachine]: this.prune.stateMachine.stateMachineArn,
      [STACK_OUTPUTS.auditStateMachine]: this.audit.stateMachine.stateMachineArn,
      [STACK_OUTPUTS.bootHistoryTable]: this.bootTest.history.tableName,
      [STACK_OUTPUTS.publishLedgerTable]: this.publish.ledger.tableName,
      [STACK_OUTPUTS.bootRunTable]: this.bootTest.runs.tableName,
      [STACK_OUTPUTS.digestFunction]: digest.digestFunction.functionName,
      [STACK_OUTPUTS.sweepFunction]: this.bootTest.sweepFunction.functionName,
      [STACK_OUTPUTS.reportBucket]: this.reports.bucket.bucketName,
      [STACK_OUTPUTS.bootPageUrl]: bootPageUrl,
      ...(this.repro && {
        [STACK_OUTPUTS.reproStateMachine]: this.repro.stateMachine.stateMachineArn,
        [STACK_OUTPUTS.reproHistoryTable]: this.repro.history.tableName,
        [STACK_OUTPUTS.reproSweepFunction]: this.repro.sweepFunction.functionName,
      }),
    });
    new Dashboard(this, 'Dashboard', {
      config: this.config,
      workflows: {
        Publish: this.publish.stateMachine,
        'Boot test': this.bootTest.stateMachine,
        Prune: this.prune.stateMachine,
        Audit: this.audit.stateMachine,
        ...(this.repro && { Reproducibility: this.repro.stateMachine }),
      },
    });
  }

  private addOutputs(outputs: Record<string, string>): void {
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
  }
}
