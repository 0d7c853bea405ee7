import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { TAG } from '../lambdas/core/tags';

/**
 * The statements of whoever copies and publishes images (the publish and audit workflows), so both are held to the
 * same conditions: copies only of the account's own images, created with the managed tag; every later change only on
 * resources already carrying it, with the pipeline's tag keys; SSM only under the prefix.
 */
export class ImageGrants {
  readonly images: string;
  readonly snapshots: string;
  /** SSM parameters under the prefix. */
  readonly parameters: string;
  /** The prefix itself, which GetParametersByPath authorizes. */
  readonly parameterPath: string;
  private readonly accountLabel: string;

  constructor(
    private readonly scope: Construct,
    private readonly config: PipelineConfig,
  ) {
    const stack = Stack.of(scope);
    this.images = `arn:${stack.partition}:ec2:*::image/*`;
    this.snapshots = `arn:${stack.partition}:ec2:*::snapshot/*`;
    this.parameterPath = `arn:${stack.partition}:ssm:*:${stack.account}:parameter${config.publish.ssmPrefix}`;
    this.parameters = `${this.parameterPath}/*`;
    this.accountLabel = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  }

  private get managedTagKeys(): string[] {
    const { key } = this.config.managedTag;
    return [key, TAG.series, TAG.buildDate, TAG.sourceImage, TAG.sourceRegion, TAG.gitBranch, TAG.gitRevision];
  }

  private get onlyPipelineKeys() {
    return { 'ForAllValues:StringEquals': { 'aws:TagKeys': this.managedTagKeys } };
  }

  private get managed() {
    const { key, value } = this.config.managedTag;
    return { StringEquals: { [`ec2:ResourceTag/${key}`]: value } };
  }

  /** Read-only actions that take no resource. */
  describe(...actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({ actions, resources: ['*'] });
  }

  /**
   * CopyImage authorizes the source image and its snapshots: only images of this account are copied, and the copy
   * and its snapshots are created carrying the managed tag (the one moment a function may put it on); failed copies
   * are removed only when managed.
   */
  copying(): iam.PolicyStatement[] {
    const stack = Stack.of(this.scope);
    const { key, value } = this.config.managedTag;
    return [
      new iam.PolicyStatement({
        sid: 'CopyOwnImagesAsManaged',
        actions: ['ec2:CopyImage'],
        resources: [this.images],
        conditions: {
          StringEquals: { 'ec2:Owner': stack.account, [`aws:RequestTag/${key}`]: value },
          ...this.onlyPipelineKeys,
        },
      }),
      new iam.PolicyStatement({
        sid: 'CopySnapshotsAsManaged',
        actions: ['ec2:CopyImage'],
        resources: [this.snapshots],
        conditions: { StringEquals: { [`aws:RequestTag/${key}`]: value }, ...this.onlyPipelineKeys },
      }),
      new iam.PolicyStatement({
        sid: 'TagCopiesWhenCreated',
        actions: ['ec2:CreateTags'],
        resources: [this.images, this.snapshots],
        conditions: { StringEquals: { 'ec2:CreateAction': 'CopyImage' } },
      }),
      new iam.PolicyStatement({
        sid: 'RemoveFailedManagedCopies',
        actions: ['ec2:DeregisterImage', 'ec2:DeleteSnapshot'],
        resources: [this.images, this.snapshots],
        conditions: this.managed,
      }),
    ];
  }

  /** Actions the copy statements allow, for the region guard. */
  static readonly COPY_ACTIONS = ['ec2:CopyImage', 'ec2:CreateTags', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot'];

  /** Tags, permissions and deprecation of managed images and snapshots, and SSM writes under the prefix. */
  publishing(): iam.PolicyStatement[] {
    const { key, value } = this.config.managedTag;
    return [
      new iam.PolicyStatement({
        // Only resources already managed (tagged when copied, or adopted) get tags, never a new managed-by value.
        sid: 'TagManagedWithPipelineKeysOnly',
        actions: ['ec2:CreateTags'],
        resources: [this.images, this.snapshots],
        conditions: {
          StringEquals: { [`aws:ResourceTag/${key}`]: value },
          StringEqualsIfExists: { [`aws:RequestTag/${key}`]: value },
          ...this.onlyPipelineKeys,
        },
      }),
      new iam.PolicyStatement({
        sid: 'PublishManagedImages',
        actions: ['ec2:ModifyImageAttribute', 'ec2:ModifySnapshotAttribute', 'ec2:EnableImageDeprecation'],
        resources: [this.images, this.snapshots],
        conditions: this.managed,
      }),
    ];
  }

  /** Actions the publishing statements allow (with `ssm:PutParameter`), for the region guard. */
  static readonly PUBLISH_ACTIONS = [
    'ec2:CreateTags',
    'ec2:ModifyImageAttribute',
    'ec2:ModifySnapshotAttribute',
    'ec2:EnableImageDeprecation',
    'ssm:PutParameter',
  ];

  /** The cdk-nag acknowledgements of the wildcards these statements need, on `scope`. */
  acknowledge(scope: Construct, what: { readonly parameterPath?: boolean } = {}): void {
    Validations.of(scope).acknowledge({
      reason:
        'AMI ids are not known in advance in any region; CopyImage needs an own source and the managed request tag, every other action the managed resource tag or the CopyImage create action.',
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::image/*]',
    });
    Validations.of(scope).acknowledge({
      reason:
        'Snapshot ids are made by EC2 in every region; CopyImage needs the managed request tag, every other action the managed resource tag or the CopyImage create action.',
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*::snapshot/*]',
    });
    const paths = [
      `${this.config.publish.ssmPrefix}/*`,
      ...(what.parameterPath ? [this.config.publish.ssmPrefix] : []),
    ];
    for (const path of paths) {
      Validations.of(scope).acknowledge({
        reason: 'SSM parameters are read and written in every enabled region, and only under the configured prefix.',
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:*:${this.accountLabel}:parameter${path}]`,
      });
    }
  }
}
