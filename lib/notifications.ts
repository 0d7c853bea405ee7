import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  /** Mailing-list addresses: announcements and the weekly digest. */
  readonly emails: readonly string[];
  /** Operators: alarms. */
  readonly alarmEmails: readonly string[];
}

/**
 * The two SNS topics of the pipeline, encrypted with a customer-managed key. The AWS-managed SNS key cannot be used
 * by CloudWatch alarms, so the key policy grants CloudWatch what publishing needs, and the alarms topic's policy lets
 * CloudWatch publish; both only for alarms of this account.
 */
export class Notifications extends Construct {
  readonly key: kms.Key;
  readonly announcements: sns.Topic;
  readonly alarms: sns.Topic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the pipeline announcement and alarm topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
    };
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOwnAlarms,
      }),
    );
    this.announcements = this.topic('Announcements', 'AMI announcements and weekly digest', props.emails);
    this.alarms = this.topic('Alarms', 'AMI pipeline alarms', props.alarmEmails);
    // enforceSSL gives the topic a policy that only denies; alarm actions need an allow of their own.
    this.alarms.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarms.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
  }

  private topic(id: string, displayName: string, emails: readonly string[]): sns.Topic {
    const topic = new sns.Topic(this, id, { displayName, masterKey: this.key, enforceSSL: true });
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  /** Sends `alarm` to the operators' topic. */
  notifyOnAlarm(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(new actions.SnsAction(this.alarms));
  }
}
