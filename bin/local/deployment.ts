import { createHash } from 'node:crypto';
import {
  CloudFormationClient,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Tag,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { errorCode, PipelineError } from '../../lambdas/core/errors';
import type { StackTemplate } from './template';

/** A template value refers to a resource or attribute the deployment cannot give. */
export class UnresolvedReferenceError extends PipelineError {
  override readonly name: string = 'UnresolvedReferenceError';
}

/**
 * Where a stack's resources are: the physical id (`Ref`) and attributes (`Fn::GetAtt`) of each logical id. For the
 * deployed stack they come from CloudFormation; for a local run from the resources `deployLocally` made.
 */
export interface StackDeployment {
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  /** `Ref` of a logical id, or undefined when the deployment has no such resource. */
  ref(logicalId: string): string | undefined;
  /** `Fn::GetAtt` of a logical id, or undefined. */
  attribute(logicalId: string, name: string): string | undefined;
}

/** A deployment whose resources are listed in maps (local runs, tests). */
export class MappedDeployment implements StackDeployment {
  readonly partition: string;
  private readonly refs = new Map<string, string>();
  private readonly attributes = new Map<string, string>();

  constructor(
    readonly region: string,
    readonly account: string,
    partition = 'aws',
  ) {
    this.partition = partition;
  }

  setRef(logicalId: string, value: string): this {
    this.refs.set(logicalId, value);
    return this;
  }

  setAttribute(logicalId: string, name: string, value: string): this {
    this.attributes.set(`${logicalId}.${name}`, value);
    return this;
  }

  ref(logicalId: string): string | undefined {
    return this.refs.get(logicalId);
  }

  attribute(logicalId: string, name: string): string | undefined {
    return this.attributes.get(`${logicalId}.${name}`);
  }
}

const AZ_LETTERS = 'abcdefghijklmnop';

/**
 * Resolves a CloudFormation value (a string or `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::GetAZs` and the
 * pseudo parameters) against a deployment. `missing` decides what an unknown reference becomes; by default it throws.
 */
export function resolveValue(
  value: unknown,
  deployment: StackDeployment,
  missing: (what: string) => string = (what) => {
    throw new UnresolvedReferenceError(`the deployment has no ${what}`);
  },
): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, deployment, missing));
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length !== 1) {
    return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, deployment, missing)]));
  }
  const [[fn, arg]] = entries as [[string, unknown]];
  switch (fn) {
    case 'Ref': {
      const name = String(arg);
      if (name === 'AWS::Partition') return deployment.partition;
      if (name === 'AWS::Region') return deployment.region;
      if (name === 'AWS::AccountId') return deployment.account;
      if (name === 'AWS::URLSuffix') return 'amazonaws.com';
      return deployment.ref(name) ?? missing(`resource ${name}`);
    }
    case 'Fn::GetAtt': {
      const [id, attribute] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
      return deployment.attribute(id, attribute) ?? missing(`attribute ${attribute} of ${id}`);
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return (resolveValue(parts, deployment, missing) as unknown[]).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      return (resolveValue(list, deployment, missing) as unknown[])[Number(resolveValue(index, deployment, missing))];
    }
    case 'Fn::GetAZs':
      return [...AZ_LETTERS.slice(0, 3)].map((letter) => `${deployment.region}${letter}`);
    default:
      return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, deployment, missing)]));
  }
}

/** Logical ids a value refers to through `Ref` or `Fn::GetAtt`. */
export function referencedIds(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value !== 'object' || value === null) return into;
  if (Array.isArray(value)) {
    for (const v of value) referencedIds(v, into);
    return into;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'Ref' && typeof v === 'string' && !v.startsWith('AWS::')) into.add(v);
    else if (key === 'Fn::GetAtt') into.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]!);
    else referencedIds(v, into);
  }
  return into;
}

export interface LocalDeploymentOptions {
  readonly region: string;
  readonly account: string;
  /** Physical values already known (e.g. from the command line), by logical id; they are not created. */
  readonly known?: Readonly<Record<string, string>>;
  /**
   * Make the topics, tables and network through `clients` (true, for the emulator or a simulation); with false only
   * the functions and state machines, which the engine runs itself, and the known values are resolved.
   */
  readonly makeResources?: boolean;
}

/**
 * Makes, through `clients` (the emulator or a simulated AWS), the resources that the stack's functions and state
 * machines refer to: topics, tables, the test VPC with its subnets and security groups. State machines and functions
 * get the ARNs they would have; the local engine answers for them. Other resource types are left unresolved.
 */
export async function deployLocally(
  template: StackTemplate,
  clients: ClientFactory,
  options: LocalDeploymentOptions,
): Promise<MappedDeployment> {
  const { region, account } = options;
  const deployment = new MappedDeployment(region, account);
  const needed = new Set<string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type === 'AWS::Lambda::Function') referencedIds(resource.Properties?.Environment, needed);
    if (resource.Type === 'AWS::StepFunctions::StateMachine')
      referencedIds(resource.Properties?.DefinitionString, needed);
  }
  // Subnets and security groups need their VPC first.
  for (const id of [...needed]) {
    referencedIds(template.Resources[id]?.Properties?.VpcId, needed);
  }
  const ordered = [...needed].sort((a, b) => rank(template, a) - rank(template, b));
  let subnetIndex = 0;
  for (const id of ordered) {
    const known = options.known?.[id];
    const resource = template.Resources[id];
    if (!resource) continue;
    const properties = resource.Properties ?? {};
    if (known) {
      deployment.setRef(id, known).setAttribute(id, 'GroupId', known).setAttribute(id, 'TopicArn', known);
      continue;
    }
    const local = resource.Type === 'AWS::StepFunctions::StateMachine' || resource.Type === 'AWS::Lambda::Function';
    if (options.makeResources === false && !local) continue;
    switch (resource.Type) {
      case 'AWS::SNS::Topic': {
        const topic = await clients.client(SNSClient, region).send(new CreateTopicCommand({ Name: id }));
        deployment.setRef(id, topic.TopicArn!).setAttribute(id, 'TopicArn', topic.TopicArn!);
        break;
      }
      case 'AWS::DynamoDB::Table': {
        try {
          await clients.client(DynamoDBClient, region).send(
            new CreateTableCommand({
              TableName: id,
              KeySchema: properties.KeySchema as CreateTableCommandInput['KeySchema'],
              AttributeDefinitions: properties.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
        } catch (error) {
          // A table made by an earlier local run is used again.
          if (errorCode(error) !== 'ResourceInUseException') throw error;
        }
        deployment.setRef(id, id).setAttribute(id, 'Arn', `arn:aws:dynamodb:${region}:${account}:table/${id}`);
        break;
      }
      case 'AWS::EC2::VPC': {
        const ec2 = clients.client(EC2Client, region);
        const existing = await ec2.send(new DescribeVpcsCommand({ Filters: byLogicalId(id) }));
        const vpcId =
          existing.Vpcs?.[0]?.VpcId ??
          (
            await ec2.send(
              new CreateVpcCommand({
                CidrBlock: String(properties.CidrBlock),
                TagSpecifications: [{ ResourceType: 'vpc', Tags: logicalIdTag(id) }],
              }),
            )
          ).Vpc!.VpcId!;
        deployment.setRef(id, vpcId);
        break;
      }
      case 'AWS::EC2::Subnet': {
        const ec2 = clients.client(EC2Client, region);
        const zone = resolveValue(properties.AvailabilityZone, deployment) as string | undefined;
        const existing = await ec2.send(new DescribeSubnetsCommand({ Filters: byLogicalId(id) }));
        const subnetId =
          existing.Subnets?.[0]?.SubnetId ??
          (
            await ec2.send(
              new CreateSubnetCommand({
                VpcId: resolveValue(properties.VpcId, deployment) as string,
                CidrBlock: String(properties.CidrBlock),
                AvailabilityZone: zone ?? `${region}${AZ_LETTERS[subnetIndex % 3]}`,
                TagSpecifications: [{ ResourceType: 'subnet', Tags: logicalIdTag(id) }],
              }),
            )
          ).Subnet!.SubnetId!;
        subnetIndex++;
        deployment.setRef(id, subnetId);
        break;
      }
      case 'AWS::EC2::SecurityGroup': {
        const ec2 = clients.client(EC2Client, region);
        const vpcId = resolveValue(properties.VpcId, deployment) as string;
        const existing = await ec2.send(
          new DescribeSecurityGroupsCommand({
            Filters: [
              { Name: 'group-name', Values: [id] },
              { Name: 'vpc-id', Values: [vpcId] },
            ],
          }),
        );
        const groupId =
          existing.SecurityGroups?.[0]?.GroupId ??
          (
            await ec2.send(
              new CreateSecurityGroupCommand({
                GroupName: id,
                Description: String(properties.GroupDescription ?? id),
                VpcId: vpcId,
              }),
            )
          ).GroupId!;
        deployment.setRef(id, groupId).setAttribute(id, 'GroupId', groupId);
        break;
      }
      case 'AWS::S3::Bucket': {
        // Bucket names are global: the account and region keep two local deployments apart.
        const name = `${id.toLowerCase().slice(0, 30)}-${account}-${region}`;
        try {
          await clients.client(S3Client, region).send(
            new CreateBucketCommand({
              Bucket: name,
              ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
            }),
          );
        } catch (error) {
          // A bucket made by an earlier local run is used again.
          if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorCode(error) ?? '')) throw error;
        }
        deployment.setRef(id, name).setAttribute(id, 'Arn', `arn:aws:s3:::${name}`);
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        const arn = `arn:aws:states:${region}:${account}:stateMachine:${id}`;
        deployment.setRef(id, arn).setAttribute(id, 'Name', id).setAttribute(id, 'Arn', arn);
        break;
      }
      case 'AWS::Lambda::Function':
        deployment.setRef(id, id).setAttribute(id, 'Arn', `arn:aws:lambda:${region}:${account}:function:${id}`);
        break;
      case 'AWS::IAM::Role':
        // Nothing runs as the stack's roles locally (functions run in-process with the caller's credentials); a role's
        // unique id still names things, such as the folders its instances write to.
        deployment.setAttribute(id, 'RoleId', localRoleId(account, region, id));
        break;
      case 'AWS::IAM::InstanceProfile': {
        // EC2 refuses a launch naming a profile that does not exist; nothing runs inside local instances, so the
        // profile needs no role here.
        try {
          await clients
            .client(IAMClient, 'us-east-1')
            .send(new CreateInstanceProfileCommand({ InstanceProfileName: id }));
        } catch (error) {
          if (!['EntityAlreadyExists', 'EntityAlreadyExistsException'].includes(errorCode(error) ?? '')) throw error;
        }
        deployment.setRef(id, id).setAttribute(id, 'Arn', `arn:aws:iam::${account}:instance-profile/${id}`);
        break;
      }
      default:
        break;
    }
  }
  return deployment;
}

/** A role's unique id as IAM forms them (`AROA` and 17 characters), stable for a local deployment. */
export function localRoleId(account: string, region: string, logicalId: string): string {
  const digest = createHash('sha256').update(`${account}/${region}/${logicalId}`).digest('hex').toUpperCase();
  return `AROA${digest.slice(0, 17)}`;
}

/** The roles whose unique id (`Fn::GetAtt` RoleId) the functions' environments name. */
export function rolesNamedById(template: StackTemplate): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    // Arrays are walked by their indices.
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Fn::GetAtt' && Array.isArray(v) && v[1] === 'RoleId') found.add(String(v[0]));
      else visit(v);
    }
  };
  for (const resource of Object.values(template.Resources))
    if (resource.Type === 'AWS::Lambda::Function') visit(resource.Properties?.Environment);
  return [...found];
}

const LOGICAL_ID_TAG = 'aws:cloudformation:logical-id';

function logicalIdTag(id: string): Tag[] {
  return [{ Key: `local:${LOGICAL_ID_TAG}`, Value: id }];
}

function byLogicalId(id: string) {
  return [{ Name: `tag:local:${LOGICAL_ID_TAG}`, Values: [id] }];
}

/**
 * The deployed stack's resources, from CloudFormation: what the CLI resolves the functions' environments and the
 * definitions against when it runs the pipeline locally for an account. Undefined when the stack is not deployed.
 */
export async function deploymentFromStack(
  clients: ClientFactory,
  stackName: string,
  region: string,
  rolesById: readonly string[] = [],
): Promise<MappedDeployment | undefined> {
  const cloudformation = clients.client(CloudFormationClient, region);
  const resources: StackResourceSummary[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await cloudformation.send(
        new ListStackResourcesCommand({ StackName: stackName, NextToken: nextToken }),
      );
      resources.push(...(page.StackResourceSummaries ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    if (errorCode(error) === 'ValidationError' && /does not exist/.test((error as Error).message)) return undefined;
    throw error;
  }
  const arnOf = (service: string, resource: string) =>
    resources.length ? `arn:aws:${service}:${region}:${accountOf(resources)}:${resource}` : resource;
  const deployment = new MappedDeployment(region, accountOf(resources));
  for (const resource of resources) {
    const id = resource.LogicalResourceId!;
    const physical = resource.PhysicalResourceId!;
    deployment.setRef(id, physical);
    switch (resource.ResourceType) {
      case 'AWS::Lambda::Function':
        deployment.setAttribute(id, 'Arn', arnOf('lambda', `function:${physical}`));
        break;
      case 'AWS::StepFunctions::StateMachine':
        deployment.setAttribute(id, 'Arn', physical).setAttribute(id, 'Name', physical.split(':').pop()!);
        break;
      case 'AWS::EC2::SecurityGroup':
        deployment.setAttribute(id, 'GroupId', physical);
        break;
      case 'AWS::SNS::Topic':
        deployment.setAttribute(id, 'TopicArn', physical);
        break;
      case 'AWS::DynamoDB::Table':
        deployment.setAttribute(id, 'Arn', arnOf('dynamodb', `table/${physical}`));
        break;
      case 'AWS::S3::Bucket':
        deployment.setAttribute(id, 'Arn', `arn:aws:s3:::${physical}`);
        break;
      case 'AWS::IAM::Role':
        // A role's unique id is not in the stack's resource list; IAM gives it for the roles the functions need.
        if (rolesById.includes(id)) {
          const role = await clients.client(IAMClient, 'us-east-1').send(new GetRoleCommand({ RoleName: physical }));
          if (role.Role?.RoleId) deployment.setAttribute(id, 'RoleId', role.Role.RoleId);
        }
        break;
      default:
        break;
    }
  }
  return deployment;
}

/** The account of a deployed stack, read from the ARN of one of its state machines or topics. */
function accountOf(resources: readonly StackResourceSummary[]): string {
  const arn = resources.find((r) => r.PhysicalResourceId?.startsWith('arn:'))?.PhysicalResourceId;
  return arn?.split(':')[4] ?? '';
}

/** Creation order: VPCs before subnets and security groups, everything else after. */
function rank(template: StackTemplate, id: string): number {
  const type = template.Resources[id]?.Type;
  if (type === 'AWS::EC2::VPC') return 0;
  if (type === 'AWS::EC2::Subnet' || type === 'AWS::EC2::SecurityGroup') return 1;
  return 2;
}
