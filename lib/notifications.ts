import { RemovalPolicy } from 'aws-cdk-lib';
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
 * by CloudWatch alarms or EventBridge, so the key policy grants those two services what publishing needs.
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
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsAndEventBridgeToPublish',
        principals: [
          new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
          new iam.ServicePrincipal('events.amazonaws.com'),
        ],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.announcements = this.topic('Announcements', 'AMI announcements and weekly digest', props.emails);
    this.alarms = this.topic('Alarms', 'AMI pipeline alarms', props.alarmEmails);
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
