import { createHash } from 'node:crypto';
import { FUNCTION_ENTRY_METADATA } from '../../lib/pipeline-function';
import { PipelineError } from '../../lambdas/core/errors';
import { localRoleId } from '../../bin/local/deployment';

/** A CloudFormation resource as synthesized. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, TemplateResource>;
}

/** An IAM policy document with every intrinsic resolved. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** Where the stack is deployed, as the proof assumes it. */
export interface Deployment {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  /** Physical ids of resources made outside the proof's naming (the emulator's VPC, subnets, security groups). */
  readonly physicalIds?: Readonly<Record<string, string>>;
}

/** A template value the resolver does not understand; the proof refuses to guess. */
export class UnresolvableTemplateError extends PipelineError {
  override readonly name: string = 'UnresolvableTemplateError';
}

const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * The synthesized template read as CloudFormation would deploy it: intrinsics resolved with partition `aws`, the
 * given account and region, deterministic physical names for the stack's own resources (ids of resources the
 * emulator made when given), so that policies, environments and resource policies can be evaluated as in an account.
 */
export class DeployedTemplate {
  constructor(
    readonly template: CfnTemplate,
    readonly deployment: Deployment,
  ) {}

  resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new UnresolvableTemplateError(`no resource ${logicalId} in the template`);
    return resource;
  }

  /** Logical ids of every resource of `type`. */
  idsOf(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  }

  /** The deployed name of a resource without an explicit one, as CloudFormation would make it. */
  physicalName(logicalId: string): string {
    const explicit = this.deployment.physicalIds?.[logicalId];
    if (explicit) return explicit;
    return `${this.deployment.stackName}${logicalId.slice(0, 40)}${shortHash(logicalId, 8).toUpperCase()}`;
  }

  private arn(service: string, resource: string, region = this.deployment.region, account = this.deployment.account) {
    return `arn:${this.deployment.partition}:${service}:${region}:${account}:${resource}`;
  }

  /**
   * The name CloudFormation gives a bucket without an explicit one: stack name, logical id and a random suffix, in
   * the lower case S3 requires, at most 63 characters.
   */
  bucketName(logicalId: string): string {
    const explicit = this.deployment.physicalIds?.[logicalId];
    if (explicit) return explicit;
    const suffix = shortHash(logicalId, 12);
    return `${this.deployment.stackName}-${logicalId}`.toLowerCase().slice(0, 63 - suffix.length - 1) + `-${suffix}`;
  }

  /** `Ref` of a resource. */
  ref(logicalId: string): string {
    const { Type } = this.resource(logicalId);
    const name = this.physicalName(logicalId);
    switch (Type) {
      case 'AWS::S3::Bucket':
        return this.bucketName(logicalId);
      case 'AWS::SNS::Topic':
        return this.arn('sns', name);
      case 'AWS::StepFunctions::StateMachine':
        return this.arn('states', `stateMachine:${name}`);
      case 'AWS::KMS::Key':
        return this.deployment.physicalIds?.[logicalId] ?? keyIdOf(logicalId);
      case 'AWS::EC2::VPC':
      case 'AWS::EC2::Subnet':
      case 'AWS::EC2::SecurityGroup':
        return this.ec2Id(logicalId);
      default:
        return name;
    }
  }

  private ec2Id(logicalId: string): string {
    const known = this.deployment.physicalIds?.[logicalId];
    if (known) return known;
    const prefix = { 'AWS::EC2::VPC': 'vpc', 'AWS::EC2::Subnet': 'subnet', 'AWS::EC2::SecurityGroup': 'sg' }[
      this.resource(logicalId).Type
    ];
    return `${prefix}-${shortHash(logicalId, 17)}`;
  }

  /** `Fn::GetAtt` of a resource. */
  getAtt(logicalId: string, attribute: string): string {
    const { Type } = this.resource(logicalId);
    const name = this.physicalName(logicalId);
    const key = `${Type}.${attribute}`;
    switch (key) {
      case 'AWS::Logs::LogGroup.Arn':
        return `${this.arn('logs', `log-group:${name}`)}:*`;
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${name}`);
      case 'AWS::IAM::InstanceProfile.Arn':
        return `arn:${this.deployment.partition}:iam::${this.deployment.account}:instance-profile/${name}`;
      case 'AWS::IAM::Role.Arn':
        return `arn:${this.deployment.partition}:iam::${this.deployment.account}:role/${name}`;
      case 'AWS::IAM::Role.RoleId':
        return localRoleId(this.deployment.account, this.deployment.region, logicalId);
      case 'AWS::S3::Bucket.Arn':
        return `arn:${this.deployment.partition}:s3:::${this.bucketName(logicalId)}`;
      case 'AWS::SNS::Topic.TopicArn':
        return this.ref(logicalId);
      case 'AWS::SNS::Topic.TopicName':
        return name;
      case 'AWS::KMS::Key.Arn':
        return this.arn('kms', `key/${this.ref(logicalId)}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return this.ref(logicalId);
      case 'AWS::StepFunctions::StateMachine.Name':
        return name;
      case 'AWS::DynamoDB::Table.Arn':
        return this.arn('dynamodb', `table/${name}`);
      case 'AWS::EC2::SecurityGroup.GroupId':
        return this.ec2Id(logicalId);
      case 'AWS::EC2::VPC.VpcId':
        return this.ec2Id(logicalId);
      case 'AWS::Events::Rule.Arn':
        return this.arn('events', `rule/${name}`);
      case 'AWS::CloudWatch::Alarm.Arn':
        return this.arn('cloudwatch', `alarm:${name}`);
      default:
        throw new UnresolvableTemplateError(`Fn::GetAtt ${attribute} of ${Type} (${logicalId}) is not modelled`);
    }
  }

  /** A template value with every intrinsic function resolved. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return this.pseudo(arg as string) ?? this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(id as string, attribute as string);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).map(String).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number | string, unknown];
          return (this.resolve(list) as unknown[])[Number(index)];
        }
        case 'Fn::GetAZs':
          return ['a', 'b', 'c'].map((zone) => `${this.deployment.region}${zone}`);
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return String(this.resolve(text)).split(separator);
        }
      }
      if (fn.startsWith('Fn::') || fn === 'Condition')
        throw new UnresolvableTemplateError(`intrinsic ${fn} is not modelled: ${JSON.stringify(value)}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::Partition':
        return this.deployment.partition;
      case 'AWS::Region':
        return this.deployment.region;
      case 'AWS::AccountId':
        return this.deployment.account;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.deployment.stackName;
      default:
        return undefined;
    }
  }
}

function keyIdOf(logicalId: string): string {
  const hex = shortHash(logicalId, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What the proof needs to know about one Lambda function of the stack. */
export interface DeployedFunction {
  readonly logicalId: string;
  /** Handler file under `lambdas/`. */
  readonly entry: string;
  readonly arn: string;
  readonly roleLogicalId: string;
  readonly roleArn: string;
  /** Every identity policy of its role: inline policies and `AWS::IAM::Policy` resources attached to it. */
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  readonly managedPolicyArns: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly logGroupArn?: string;
  readonly vpc?: { readonly subnetIds: readonly string[]; readonly securityGroupIds: readonly string[] };
}

/** The identity policies attached to a role, resolved. */
export function rolePolicies(
  deployed: DeployedTemplate,
  roleLogicalId: string,
): { name: string; document: PolicyDocument }[] {
  const role = deployed.resource(roleLogicalId);
  const inline = ((role.Properties?.Policies as { PolicyName: string; PolicyDocument: unknown }[]) ?? []).map((p) => ({
    name: p.PolicyName,
    document: deployed.resolve(p.PolicyDocument) as PolicyDocument,
  }));
  const attached = deployed
    .idsOf('AWS::IAM::Policy')
    .filter((id) =>
      ((deployed.resource(id).Properties?.Roles as unknown[]) ?? []).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .map((id) => ({ name: id, document: deployed.resolve(deployed.resource(id).Properties!.PolicyDocument) as never }));
  return [...inline, ...attached];
}

/** The logical id of the role an execution role property (`Fn::GetAtt [Role, Arn]`) names. */
export function roleLogicalIdOf(roleProperty: unknown): string {
  const getAtt = (roleProperty as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt?.[1] !== 'Arn') throw new UnresolvableTemplateError(`role ${JSON.stringify(roleProperty)}`);
  return getAtt[0];
}

/** The handler of the functions behind CDK's custom resources (e.g. the one that empties the default security group). */
export const CDK_PROVIDER_HANDLER = '__entrypoint__.handler';

/** Every pipeline function of the stack with its role, policies and environment as deployed. */
export function deployedFunctions(deployed: DeployedTemplate): Map<string, DeployedFunction> {
  const functions = new Map<string, DeployedFunction>();
  for (const logicalId of deployed.idsOf('AWS::Lambda::Function')) {
    const resource = deployed.resource(logicalId);
    const properties = resource.Properties ?? {};
    const roleLogicalId = roleLogicalIdOf(properties.Role);
    const entry = resource.Metadata?.[FUNCTION_ENTRY_METADATA];
    if (typeof entry !== 'string') {
      // CDK's own custom resource providers run at deployment only (their role is CDK's, not the pipeline's).
      if (properties.Handler === CDK_PROVIDER_HANDLER) continue;
      throw new UnresolvableTemplateError(`${logicalId} has no ${FUNCTION_ENTRY_METADATA}`);
    }
    const role = deployed.resource(roleLogicalId);
    const logging = properties.LoggingConfig as { LogGroup?: unknown } | undefined;
    const logGroupId = (logging?.LogGroup as { Ref?: string } | undefined)?.Ref;
    const vpcConfig = properties.VpcConfig
      ? (deployed.resolve(properties.VpcConfig) as { SubnetIds: string[]; SecurityGroupIds: string[] })
      : undefined;
    functions.set(logicalId, {
      logicalId,
      entry,
      arn: deployed.getAtt(logicalId, 'Arn'),
      roleLogicalId,
      roleArn: deployed.getAtt(roleLogicalId, 'Arn'),
      policies: rolePolicies(deployed, roleLogicalId),
      managedPolicyArns: (deployed.resolve(role.Properties?.ManagedPolicyArns ?? []) as string[]) ?? [],
      environment: deployed.resolve(
        (properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
      ) as Record<string, string>,
      logGroupArn: logGroupId ? deployed.getAtt(logGroupId, 'Arn') : undefined,
      vpc: vpcConfig ? { subnetIds: vpcConfig.SubnetIds, securityGroupIds: vpcConfig.SecurityGroupIds } : undefined,
    });
  }
  return functions;
}

/** A role that EC2 instances run with, through an instance profile of the stack. */
export interface DeployedInstanceRole {
  readonly logicalId: string;
  readonly roleArn: string;
  /** The instance profiles that hold the role, by ARN. */
  readonly instanceProfileArns: readonly string[];
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  readonly managedPolicyArns: readonly string[];
}

/** Every role of the stack that an instance profile holds, with its policies as deployed, by logical id. */
export function deployedInstanceRoles(deployed: DeployedTemplate): Map<string, DeployedInstanceRole> {
  const roles = new Map<string, DeployedInstanceRole>();
  for (const profileId of deployed.idsOf('AWS::IAM::InstanceProfile')) {
    const profileArn = deployed.getAtt(profileId, 'Arn');
    const named = (deployed.resource(profileId).Properties?.Roles as unknown[] | undefined) ?? [];
    for (const reference of named) {
      const roleId = (reference as { Ref?: string }).Ref;
      if (!roleId || deployed.resource(roleId).Type !== 'AWS::IAM::Role')
        throw new UnresolvableTemplateError(`instance profile ${profileId} names ${JSON.stringify(reference)}`);
      const known = roles.get(roleId);
      if (known) {
        roles.set(roleId, { ...known, instanceProfileArns: [...known.instanceProfileArns, profileArn] });
        continue;
      }
      roles.set(roleId, {
        logicalId: roleId,
        roleArn: deployed.getAtt(roleId, 'Arn'),
        instanceProfileArns: [profileArn],
        policies: rolePolicies(deployed, roleId),
        managedPolicyArns:
          (deployed.resolve(deployed.resource(roleId).Properties?.ManagedPolicyArns ?? []) as string[]) ?? [],
      });
    }
  }
  return roles;
}
