import { TAG } from '../../lambdas/core/tags';
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

interface Attempt {
  /** The function that tries, or a service principal (`events.amazonaws.com`) acting through a resource policy. */
  readonly entry: string;
  readonly action: string;
  readonly type: string;
  readonly arn: string;
  readonly region?: string;
  readonly context?: Record<string, string | string[]>;
  readonly resourcePolicy?: { readonly kind: 'topic' | 'key'; readonly arn: string };
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

describe('what no function or service may do is denied, as AWS would evaluate it', () => {
  const evaluator = new PolicyEvaluator();

  const all = { ...ATTEMPTS, ...REPORT_ATTEMPTS, ...SERVICE_ATTEMPTS };
  test.each(Object.keys(all))('%s', async (name) => {
    const attempts = all[name]!;

    const decisions = await Promise.all(
      attempts.map(async (attempt) => {
        const service = attempt.entry.endsWith('.amazonaws.com');
        const fn = service ? undefined : stack.functionOf(attempt.entry);
        const request = await requestFor(
          {
            principal: fn?.roleArn ?? attempt.entry,
            subject: fn?.logicalId ?? attempt.entry,
            action: attempt.action,
            type: attempt.type,
            arn: attempt.arn,
            region: attempt.region ?? REGION,
            context: attempt.context,
            resourcePolicy: attempt.resourcePolicy,
            origin: name,
          },
          stack.facts,
        );
        const policies = fn
          ? policiesOf(stack, fn.logicalId)
          : { identityPolicies: [], resourcePolicy: stack.resourcePolicy.bind(stack) };
        return evaluator.evaluate(request, policies);
      }),
    );

    expect(decisions.filter((d) => d.result === 'Allowed').map(describeDecision)).toEqual([]);
    expect(decisions.filter((d) => d.result === 'Error').map(describeDecision)).toEqual([]);
  });
});
