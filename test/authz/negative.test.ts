import { TAG } from '../../lambdas/core/tags';
import { REPRO_ENV } from '../../lambdas/repro/schemas';
import { describeDecision, PolicyEvaluator } from './evaluate';
import { policiesOf } from './proof';
import { requestFor } from './requests';
import { ACCOUNT, OTHER_REGION, PROOF_CONFIG, ProvenStack, REGION, synthesizedTemplate } from './stack';

const FOREIGN_ACCOUNT = '210987654321';
const MANAGED = PROOF_CONFIG.managedTag;
const managedTags = {
  [`aws:ResourceTag/${MANAGED.key}`]: MANAGED.value,
  [`ec2:ResourceTag/${MANAGED.key}`]: MANAGED.value,
};
const requestTags = (tags: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
  'aws:TagKeys': Object.keys(tags),
});
const copyTags = requestTags({ [MANAGED.key]: MANAGED.value, [TAG.series]: '15.0-CURRENT/amd64/base/ufs' });
const image = (id: string) => `arn:aws:ec2:${REGION}::image/${id}`;
const snapshot = (id: string) => `arn:aws:ec2:${REGION}::snapshot/${id}`;
const ec2 = (type: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${type}/${id}`;

/** The principal of an attempt made with the credentials of the reproducibility check instances. */
const CHECK_INSTANCES = 'check instances';

interface Attempt {
  /**
   * The function that tries, `CHECK_INSTANCES` for the check instances' role, or a service principal
   * (`events.amazonaws.com`) acting through a resource policy.
   */
  readonly entry: string;
  readonly action: string;
  readonly type: string;
  readonly arn: string;
  readonly region?: string;
  readonly context?: Record<string, string | string[]>;
  readonly resourcePolicy?: { readonly kind: 'topic' | 'key' | 'bucket'; readonly arn: string };
}

/** What each function must never be able to do, however its code goes wrong, with the resource state that matters. */
const ATTEMPTS: Readonly<Record<string, readonly Attempt[]>> = {
  'prune deregisters an image without the managed tag': [
    {
      entry: 'prune/execute.ts',
      action: 'ec2:DeregisterImage',
      type: 'image',
      arn: image('ami-0a'),
      context: { 'ec2:Owner': ACCOUNT },
    },
  ],
  'prune deletes a snapshot without the managed tag': [
    {
      entry: 'prune/execute.ts',
      action: 'ec2:DeleteSnapshot',
      type: 'snapshot',
      arn: snapshot('snap-0a'),
      context: { 'ec2:Owner': ACCOUNT },
    },
  ],
  'publish deletes a snapshot of an image it did not create': [
    {
      entry: 'publish/poll.ts',
      action: 'ec2:DeleteSnapshot',
      type: 'snapshot',
      arn: snapshot('snap-0b'),
      context: { 'ec2:Owner': ACCOUNT },
    },
  ],
  'publish tags an image it did not create as managed': [
    {
      entry: 'publish/finalize.ts',
      action: 'ec2:CreateTags',
      type: 'image',
      arn: image('ami-0b'),
      context: { 'ec2:Owner': ACCOUNT, ...requestTags({ [MANAGED.key]: MANAGED.value }) },
    },
    {
      entry: 'publish/finalize.ts',
      action: 'ec2:CreateTags',
      type: 'snapshot',
      arn: snapshot('snap-0c'),
      context: { 'ec2:Owner': ACCOUNT, ...requestTags({ [MANAGED.key]: MANAGED.value }) },
    },
  ],
  'publish makes an image or snapshot it did not create public': [
    {
      entry: 'publish/finalize.ts',
      action: 'ec2:ModifyImageAttribute',
      type: 'image',
      arn: image('ami-0c'),
      context: { 'ec2:Owner': ACCOUNT, 'ec2:Attribute': 'launchPermission' },
    },
    {
      entry: 'publish/finalize.ts',
      action: 'ec2:ModifySnapshotAttribute',
      type: 'snapshot',
      arn: snapshot('snap-0d'),
      context: { 'ec2:Owner': ACCOUNT, 'ec2:Attribute': 'createVolumePermission', 'ec2:Add/group': ['all'] },
    },
  ],
  'publish copies an image of another account': [
    {
      entry: 'publish/prepare.ts',
      action: 'ec2:CopyImage',
      type: 'image',
      arn: image('ami-0d'),
      region: OTHER_REGION,
      context: { 'ec2:Owner': FOREIGN_ACCOUNT, ...copyTags },
    },
  ],
  'publish copies without putting the managed tag on the copy': [
    {
      entry: 'publish/prepare.ts',
      action: 'ec2:CopyImage',
      type: 'image',
      arn: image('ami-0e'),
      region: OTHER_REGION,
      context: { 'ec2:Owner': ACCOUNT },
    },
    {
      entry: 'publish/prepare.ts',
      action: 'ec2:CopyImage',
      type: 'snapshot',
      arn: snapshot('snap-0e'),
      region: OTHER_REGION,
      context: {},
    },
  ],
  'publish copies with tags outside the pipeline keys': [
    {
      entry: 'publish/poll.ts',
      action: 'ec2:CopyImage',
      type: 'image',
      arn: image('ami-0f'),
      region: OTHER_REGION,
      context: { 'ec2:Owner': ACCOUNT, ...requestTags({ [MANAGED.key]: MANAGED.value, Name: 'anything' }) },
    },
  ],
  'publish copies into a region outside the allowed ones': [
    {
      entry: 'publish/prepare.ts',
      action: 'ec2:CopyImage',
      type: 'image',
      arn: image('ami-10'),
      region: 'ap-southeast-2',
      context: { 'ec2:Owner': ACCOUNT, ...copyTags },
    },
  ],
  'publish writes SSM outside its prefix': [
    {
      entry: 'publish/finalize.ts',
      action: 'ssm:PutParameter',
      type: 'parameter',
      arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`,
    },
    {
      entry: 'publish/finalize.ts',
      action: 'ssm:PutParameter',
      type: 'parameter',
      arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PROOF_CONFIG.publish.ssmPrefix}-other/amd64`,
    },
  ],
  'the audit tags an image or snapshot the pipeline did not create as managed': [
    {
      entry: 'audit/inspect.ts',
      action: 'ec2:CreateTags',
      type: 'image',
      arn: image('ami-11'),
      context: { 'ec2:Owner': ACCOUNT, ...requestTags({ [MANAGED.key]: MANAGED.value }) },
    },
    {
      entry: 'audit/settle.ts',
      action: 'ec2:CreateTags',
      type: 'snapshot',
      arn: snapshot('snap-11'),
      context: { 'ec2:Owner': ACCOUNT, ...requestTags({ [MANAGED.key]: MANAGED.value, [TAG.series]: 'x' }) },
    },
  ],
  'the audit makes public an image or snapshot the pipeline did not create': [
    {
      entry: 'audit/settle.ts',
      action: 'ec2:ModifyImageAttribute',
      type: 'image',
      arn: image('ami-12'),
      context: { 'ec2:Owner': ACCOUNT, 'ec2:Attribute': 'launchPermission' },
    },
    {
      entry: 'audit/inspect.ts',
      action: 'ec2:ModifySnapshotAttribute',
      type: 'snapshot',
      arn: snapshot('snap-12'),
      context: { 'ec2:Owner': ACCOUNT, 'ec2:Attribute': 'createVolumePermission', 'ec2:Add/group': ['all'] },
    },
  ],
  'the audit deregisters or deletes what the pipeline did not create, or deletes at all after copying': [
    {
      entry: 'audit/inspect.ts',
      action: 'ec2:DeregisterImage',
      type: 'image',
      arn: image('ami-13'),
      context: { 'ec2:Owner': ACCOUNT },
    },
    {
      entry: 'audit/poll.ts',
      action: 'ec2:DeleteSnapshot',
      type: 'snapshot',
      arn: snapshot('snap-13'),
      context: { 'ec2:Owner': ACCOUNT },
    },
    {
      entry: 'audit/settle.ts',
      action: 'ec2:DeregisterImage',
      type: 'image',
      arn: image('ami-14'),
      context: { 'ec2:Owner': ACCOUNT, ...managedTags },
    },
  ],
  'the audit copies an image of another account, or into a region outside the allowed ones': [
    {
      entry: 'audit/inspect.ts',
      action: 'ec2:CopyImage',
      type: 'image',
      arn: image('ami-15'),
      region: OTHER_REGION,
      context: { 'ec2:Owner': FOREIGN_ACCOUNT, ...copyTags },
    },
    {
      entry: 'audit/poll.ts',
      action: 'ec2:CopyImage',
      type: 'image',
      arn: image('ami-16'),
      region: 'ap-southeast-2',
      context: { 'ec2:Owner': ACCOUNT, ...copyTags },
    },
  ],
  'the audit writes SSM outside its prefix': [
    {
      entry: 'audit/settle.ts',
      action: 'ssm:PutParameter',
      type: 'parameter',
      arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PROOF_CONFIG.publish.ssmPrefix}-other/amd64`,
    },
  ],
  'adopt tags an image of another account': [
    {
      entry: 'prune/adopt.ts',
      action: 'ec2:CreateTags',
      type: 'image',
      arn: image('ami-11'),
      context: { 'ec2:Owner': FOREIGN_ACCOUNT, ...requestTags({ [MANAGED.key]: MANAGED.value }) },
    },
  ],
  'adopt tags with another value of the managed tag': [
    {
      entry: 'prune/adopt.ts',
      action: 'ec2:CreateTags',
      type: 'image',
      arn: image('ami-12'),
      context: { 'ec2:Owner': ACCOUNT, ...requestTags({ [MANAGED.key]: 'someone-else' }) },
    },
  ],
  'the boot test launches an instance type that is not configured': [
    {
      entry: 'boot/launch.ts',
      action: 'ec2:RunInstances',
      type: 'instance',
      arn: ec2('instance', 'i-0a'),
      context: {
        'ec2:InstanceType': 'p5.48xlarge',
        'ec2:MetadataHttpTokens': 'required',
        ...requestTags({ [MANAGED.key]: MANAGED.value, [TAG.bootTest]: 'run' }),
      },
    },
  ],
  'the boot test launches an image of another account': [
    {
      entry: 'boot/launch.ts',
      action: 'ec2:RunInstances',
      type: 'image',
      arn: image('ami-13'),
      context: { 'ec2:Owner': FOREIGN_ACCOUNT, 'ec2:Public': 'true' },
    },
    {
      entry: 'boot/launch.ts',
      action: 'ec2:RunInstances',
      type: 'image',
      arn: image('ami-14'),
      context: { 'ec2:Owner': 'amazon', 'ec2:Public': 'true' },
    },
  ],
  'the boot test creates a volume above its size cap': [
    {
      entry: 'boot/hotplug.ts',
      action: 'ec2:CreateVolume',
      type: 'volume',
      arn: ec2('volume', 'vol-0a'),
      context: { 'ec2:VolumeSize': '16384', ...requestTags({ [MANAGED.key]: MANAGED.value, [TAG.bootTest]: 'run' }) },
    },
  ],
  'Lambda deletes a network interface of another VPC with the probe’s role': [
    {
      entry: 'boot/probe.ts',
      action: 'ec2:DeleteNetworkInterface',
      type: 'network-interface',
      arn: ec2('network-interface', 'eni-0a'),
      context: { 'ec2:Vpc': ec2('vpc', 'vpc-0123456789abcdef0'), 'ec2:NetworkInterfaceID': 'eni-0a' },
    },
  ],
  'cleanup and the sweeper attach volumes': [
    {
      entry: 'boot/cleanup.ts',
      action: 'ec2:AttachVolume',
      type: 'volume',
      arn: ec2('volume', 'vol-0b'),
      context: {
        ...managedTags,
        [`aws:ResourceTag/${TAG.bootTest}`]: 'run',
        [`ec2:ResourceTag/${TAG.bootTest}`]: 'run',
      },
    },
    {
      entry: 'boot/sweep.ts',
      action: 'ec2:AttachVolume',
      type: 'volume',
      arn: ec2('volume', 'vol-0c'),
      context: {
        ...managedTags,
        [`aws:ResourceTag/${TAG.bootTest}`]: 'run',
        [`ec2:ResourceTag/${TAG.bootTest}`]: 'run',
      },
    },
  ],
};

const stack = new ProvenStack(synthesizedTemplate());
const alarmsTopic = stack.deployed.ref(stack.deployed.idsOf('AWS::SNS::Topic').find((id) => /Alarms/.test(id))!);
const topicKey = stack.facts.topicKey(alarmsTopic)!;
const foreignAlarm = {
  'aws:SourceAccount': FOREIGN_ACCOUNT,
  'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${FOREIGN_ACCOUNT}:alarm:theirs`,
};

const reportBucket = stack.deployed.ref(
  stack.deployed.idsOf('AWS::S3::Bucket').find((id) => /^ReportsBucket/.test(id))!,
);
const reportObject = (key: string) => `arn:aws:s3:::${reportBucket}/${key}`;

/** The digest owns the boot page's prefix of the report bucket and nothing else of it. */
const REPORT_ATTEMPTS: Readonly<Record<string, readonly Attempt[]>> = {
  'the digest puts an object outside boot/ in the report bucket': [
    { entry: 'digest/handler.ts', action: 's3:PutObject', type: 'object', arn: reportObject('index.html') },
    { entry: 'digest/handler.ts', action: 's3:PutObject', type: 'object', arn: reportObject('repro/2026-11-30/x') },
    { entry: 'digest/handler.ts', action: 's3:PutObject', type: 'object', arn: reportObject('boot-old/index.html') },
  ],
  'the digest reads or deletes the boot page': [
    { entry: 'digest/handler.ts', action: 's3:GetObject', type: 'object', arn: reportObject('boot/index.html') },
    { entry: 'digest/handler.ts', action: 's3:DeleteObject', type: 'object', arn: reportObject('boot/index.html') },
  ],
};

/** Services that may use the topics and their key only for this account's alarms. */
const SERVICE_ATTEMPTS: Readonly<Record<string, readonly Attempt[]>> = {
  'EventBridge uses the topics’ key': [
    {
      entry: 'events.amazonaws.com',
      action: 'kms:GenerateDataKey',
      type: 'key',
      arn: topicKey,
      context: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:aws:events:${REGION}:${ACCOUNT}:rule/any` },
      resourcePolicy: { kind: 'key', arn: topicKey },
    },
  ],
  'alarms of another account publish to the alarms topic': [
    {
      entry: 'cloudwatch.amazonaws.com',
      action: 'sns:Publish',
      type: 'topic',
      arn: alarmsTopic,
      context: foreignAlarm,
      resourcePolicy: { kind: 'topic', arn: alarmsTopic },
    },
    {
      entry: 'cloudwatch.amazonaws.com',
      action: 'kms:GenerateDataKey',
      type: 'key',
      arn: topicKey,
      context: foreignAlarm,
      resourcePolicy: { kind: 'key', arn: topicKey },
    },
  ],
};

const reproEnv = stack.functionOf('repro/launch.ts').environment;
const [checkSubnet] = reproEnv[REPRO_ENV.subnets]!.split(',');
const [bootSubnet] = stack.functionOf('boot/launch.ts').environment.BOOT_SUBNET_IDS!.split(',');
const checkSecurityGroup = reproEnv[REPRO_ENV.securityGroups]!;
// The bucket the checks are told to write to is the stack's report bucket.
expect(reproEnv[REPRO_ENV.reportBucket]).toBe(reportBucket);
const otherBucket = stack.deployed
  .idsOf('AWS::S3::Bucket')
  .map((id) => stack.deployed.ref(id))
  .find((name) => name !== reportBucket)!;
const [checkRole] = [...stack.instanceRoles.values()];
const checkTags = { [MANAGED.key]: MANAGED.value, [TAG.repro]: 'run' };
const checkResourceTags = {
  ...managedTags,
  [`aws:ResourceTag/${TAG.repro}`]: 'run',
  [`ec2:ResourceTag/${TAG.repro}`]: 'run',
};
const bootResourceTags = {
  ...managedTags,
  [`aws:ResourceTag/${TAG.bootTest}`]: 'run',
  [`ec2:ResourceTag/${TAG.bootTest}`]: 'run',
};
const object = (bucket: string, key: string): Pick<Attempt, 'arn' | 'resourcePolicy'> => ({
  arn: `arn:aws:s3:::${bucket}/${key}`,
  resourcePolicy: { kind: 'bucket', arn: `arn:aws:s3:::${bucket}` },
});
// A check instance's session: its role's unique id and its instance id, as IAM names an instance role's session.
const checkRoleId = stack.deployed.getAtt(checkRole.logicalId, 'RoleId');
const checkSession = { 'aws:userid': `${checkRoleId}:i-0d` };
const checkPrefix = 'repro/2026-W10/ami-0123456789abcdef0/';
const checkOutput = object(reportBucket, `${checkPrefix}${checkRoleId}:i-0d/summary.json`);
/** A put by the check instance i-0d. */
const checkPut = (bucket: string, key: string): Attempt => ({
  entry: CHECK_INSTANCES,
  action: 's3:PutObject',
  type: 'object',
  ...object(bucket, key),
  context: checkSession,
});
const launchContext = (tags: Record<string, string>) => ({
  'ec2:InstanceType': 'c7g.4xlarge',
  'ec2:MetadataHttpTokens': 'required',
  ...requestTags(tags),
});
/** A check launch as the launch step makes it: a configured type, IMDSv2, the managed and run tags. */
const checkInstance: Attempt = {
  entry: 'repro/launch.ts',
  action: 'ec2:RunInstances',
  type: 'instance',
  arn: ec2('instance', 'i-0d'),
  context: launchContext(checkTags),
};
const ownImage: Attempt = {
  entry: 'repro/launch.ts',
  action: 'ec2:RunInstances',
  type: 'image',
  arn: image('ami-17'),
  context: { 'ec2:Owner': ACCOUNT, 'ec2:Public': 'true', ...managedTags },
};
const passCheckRole: Attempt = {
  entry: 'repro/launch.ts',
  action: 'iam:PassRole',
  type: 'role',
  arn: checkRole.roleArn,
  context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
};
const checkVolume: Attempt = {
  entry: 'repro/launch.ts',
  action: 'ec2:CreateVolume',
  type: 'volume',
  arn: ec2('volume', 'vol-0d'),
  context: requestTags(checkTags),
};
const ownSnapshot: Attempt = {
  entry: 'repro/launch.ts',
  action: 'ec2:CreateVolume',
  type: 'snapshot',
  arn: snapshot('snap-17'),
  context: { 'ec2:Owner': ACCOUNT },
};
const endCheck = (entry: string, action: string, type: 'instance' | 'volume', context: Attempt['context']) => ({
  entry,
  action,
  type,
  arn: ec2(type, type === 'instance' ? 'i-0e' : 'vol-0e'),
  context,
});
const terminateCheck = endCheck('repro/cleanup.ts', 'ec2:TerminateInstances', 'instance', checkResourceTags);
const deleteCheckVolume = endCheck('repro/sweep.ts', 'ec2:DeleteVolume', 'volume', checkResourceTags);
const attachCheckVolume = endCheck('repro/poll.ts', 'ec2:AttachVolume', 'volume', checkResourceTags);

/**
 * What the reproducibility checks may do. Each denial below changes one thing of one of these (a fact of the request
 * or resource, the action, or who asks), so these must be allowed for the denials to prove that boundary and not a
 * request malformed some other way.
 */
const REPRO_ALLOWED: Readonly<Record<string, Attempt>> = {
  'a check instance puts its outputs into its own folder under repro/': checkPut(
    reportBucket,
    `${checkPrefix}${checkRoleId}:i-0d/summary.json`,
  ),
  'the launch step launches a configured type with IMDSv2 and the check tags': checkInstance,
  'the launch step boots an image this account owns and manages': ownImage,
  'the launch step launches into a check subnet': {
    ...checkInstance,
    type: 'subnet',
    arn: ec2('subnet', checkSubnet!),
    context: {},
  },
  'the launch step launches with the check security group': {
    ...checkInstance,
    type: 'security-group',
    arn: ec2('security-group', checkSecurityGroup),
    context: {},
  },
  'the launch step passes the check role to EC2': passCheckRole,
  'the launch step creates a tagged volume from a snapshot this account owns': checkVolume,
  'the launch step reads a snapshot this account owns': ownSnapshot,
  'cleanup terminates a check instance': terminateCheck,
  'the sweeper deletes a check volume': deleteCheckVolume,
  'the poll attaches a check volume': attachCheckVolume,
};

/** What the reproducibility checks must never be able to do. */
const REPRO_ATTEMPTS: Readonly<Record<string, readonly Attempt[]>> = {
  'the check instances put outside repro/ or into another bucket': [
    checkPut(reportBucket, 'boot/index.html'),
    checkPut(reportBucket, 'reproduced/x.json'),
    checkPut(otherBucket, `${checkPrefix}${checkRoleId}:i-0d/summary.json`),
  ],
  'a check instance puts where another check is read: the check’s prefix, another instance’s folder': [
    checkPut(reportBucket, `${checkPrefix}summary.json`),
    checkPut(reportBucket, `${checkPrefix}${checkRoleId}:i-0e/summary.json`),
    checkPut(reportBucket, `repro/2026-W10/ami-0fedcba9876543210/${checkRoleId}:i-0e/summary.json`),
    // A folder named like its own id but of another role's session.
    checkPut(reportBucket, `${checkPrefix}AROAOTHERROLE0000000:i-0d/summary.json`),
  ],
  'the check instances read, list or delete objects': [
    { entry: CHECK_INSTANCES, action: 's3:GetObject', type: 'object', ...checkOutput, context: checkSession },
    { entry: CHECK_INSTANCES, action: 's3:DeleteObject', type: 'object', ...checkOutput, context: checkSession },
    { entry: CHECK_INSTANCES, action: 's3:DeleteObjectVersion', type: 'object', ...checkOutput, context: checkSession },
    {
      entry: CHECK_INSTANCES,
      action: 's3:ListBucket',
      type: 'bucket',
      arn: `arn:aws:s3:::${reportBucket}`,
      context: { 's3:prefix': 'repro/' },
      resourcePolicy: { kind: 'bucket', arn: `arn:aws:s3:::${reportBucket}` },
    },
  ],
  'the check instances call EC2': [
    { ...terminateCheck, entry: CHECK_INSTANCES },
    { ...checkInstance, entry: CHECK_INSTANCES },
    { entry: CHECK_INSTANCES, action: 'ec2:DescribeInstances', type: '*', arn: '*' },
  ],
  'the launch step launches an instance type that is not configured for the checks': [
    { ...checkInstance, context: { ...checkInstance.context, 'ec2:InstanceType': 'p5.48xlarge' } },
    // A boot-test type is not a check type.
    { ...checkInstance, context: { ...checkInstance.context, 'ec2:InstanceType': 'c7g.large' } },
  ],
  'the launch step launches without requiring IMDSv2': [
    { ...checkInstance, context: { ...checkInstance.context, 'ec2:MetadataHttpTokens': 'optional' } },
  ],
  'the launch step launches or creates volumes without the managed or the run tag': [
    { ...checkInstance, context: launchContext({ [TAG.repro]: 'run' }) },
    { ...checkInstance, context: launchContext({ [MANAGED.key]: MANAGED.value }) },
    { ...checkVolume, context: requestTags({ [TAG.repro]: 'run' }) },
    { ...checkInstance, type: 'volume', arn: ec2('volume', 'vol-0f'), context: {} },
  ],
  'the launch step boots an image of another account or one the pipeline does not manage': [
    { ...ownImage, context: { ...ownImage.context, 'ec2:Owner': FOREIGN_ACCOUNT } },
    { ...ownImage, context: { 'ec2:Owner': 'amazon', 'ec2:Public': 'true' } },
    { ...ownImage, context: { 'ec2:Owner': ACCOUNT, 'ec2:Public': 'false' } },
  ],
  'the launch step launches into the boot test’s subnet': [
    { ...checkInstance, type: 'subnet', arn: ec2('subnet', bootSubnet!), context: {} },
  ],
  'the launch step reads a snapshot of another account': [
    { ...ownSnapshot, context: { 'ec2:Owner': FOREIGN_ACCOUNT } },
  ],
  'the launch step passes another role, or the check role to another service': [
    { ...passCheckRole, arn: stack.functionOf('repro/launch.ts').roleArn },
    { ...passCheckRole, arn: `arn:aws:iam::${ACCOUNT}:role/Admin` },
    { ...passCheckRole, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
  ],
  'no other function passes the check role': [...stack.functions.values()]
    .filter((fn) => fn.entry !== 'repro/launch.ts')
    .map((fn) => ({ ...passCheckRole, entry: fn.entry })),
  'finish, cleanup and the sweeper terminate or delete what is not a check’s': [
    { ...terminateCheck, context: {} },
    { ...terminateCheck, entry: 'repro/finish.ts', context: bootResourceTags },
    { ...terminateCheck, entry: 'repro/sweep.ts', context: managedTags },
    { ...deleteCheckVolume, context: {} },
    { ...deleteCheckVolume, entry: 'repro/cleanup.ts', context: bootResourceTags },
    { ...deleteCheckVolume, entry: 'repro/finish.ts', action: 'ec2:DetachVolume', context: managedTags },
  ],
  'the poll attaches a volume that is not a check’s, and only the poll attaches': [
    { ...attachCheckVolume, context: bootResourceTags },
    { ...attachCheckVolume, entry: 'repro/finish.ts' },
    { ...attachCheckVolume, entry: 'repro/cleanup.ts' },
    { ...attachCheckVolume, entry: 'repro/sweep.ts' },
  ],
};

/** The role an attempt is made with: a function's, the check instances', or none for a service principal. */
function principalOf(entry: string): { logicalId: string; roleArn: string } | undefined {
  if (entry.endsWith('.amazonaws.com')) return undefined;
  if (entry === CHECK_INSTANCES) return checkRole;
  return stack.functionOf(entry);
}

const evaluator = new PolicyEvaluator();

/** The decision for one attempt, evaluated with the identity policies of its principal and the resource's policy. */
async function decideAttempt(attempt: Attempt, origin: string) {
  const principal = principalOf(attempt.entry);
  const request = await requestFor(
    {
      principal: principal?.roleArn ?? attempt.entry,
      subject: principal?.logicalId ?? attempt.entry,
      action: attempt.action,
      type: attempt.type,
      arn: attempt.type === '*' ? undefined : attempt.arn,
      region: attempt.region ?? REGION,
      context: attempt.context,
      resourcePolicy: attempt.resourcePolicy,
      origin,
    },
    stack.facts,
  );
  const policies = principal
    ? policiesOf(stack, principal.logicalId)
    : { identityPolicies: [], resourcePolicy: stack.resourcePolicy.bind(stack) };
  return evaluator.evaluate(request, policies);
}

describe('what no function or service may do is denied, as AWS would evaluate it', () => {
  const all = { ...ATTEMPTS, ...REPORT_ATTEMPTS, ...SERVICE_ATTEMPTS, ...REPRO_ATTEMPTS };
  test.each(Object.keys(all))('%s', async (name) => {
    const attempts = all[name]!;

    const decisions = await Promise.all(attempts.map((attempt) => decideAttempt(attempt, name)));

    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.filter((d) => d.result === 'Allowed').map(describeDecision)).toEqual([]);
    expect(decisions.filter((d) => d.result === 'Error').map(describeDecision)).toEqual([]);
  });
});

describe('the reproducibility checks’ denials differ by one fact from what they are allowed to do', () => {
  test.each(Object.keys(REPRO_ALLOWED))('%s', async (name) => {
    const decision = await decideAttempt(REPRO_ALLOWED[name]!, name);

    expect(describeDecision(decision)).toMatch(/^Allowed: /);
  });
});
