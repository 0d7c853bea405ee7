import { CreateTableCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { PipelineError } from '../../lambdas/core/errors';
import type { StackTemplate } from './template';

/** A template value refers to a resource or attribute the deployment cannot give. */
export class UnresolvedReferenceError extends PipelineError {}

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
      deployment.setRef(id, known);
      continue;
    }
    switch (resource.Type) {
      case 'AWS::SNS::Topic': {
        const topic = await clients.sns(region).send(new CreateTopicCommand({ Name: id }));
        deployment.setRef(id, topic.TopicArn!).setAttribute(id, 'TopicArn', topic.TopicArn!);
        break;
      }
      case 'AWS::DynamoDB::Table': {
        await clients.dynamodb(region).send(
          new CreateTableCommand({
            TableName: id,
            KeySchema: properties.KeySchema as CreateTableCommandInput['KeySchema'],
            AttributeDefinitions: properties.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        deployment.setRef(id, id).setAttribute(id, 'Arn', `arn:aws:dynamodb:${region}:${account}:table/${id}`);
        break;
      }
      case 'AWS::EC2::VPC': {
        const vpc = await clients.ec2(region).send(new CreateVpcCommand({ CidrBlock: String(properties.CidrBlock) }));
        deployment.setRef(id, vpc.Vpc!.VpcId!);
        break;
      }
      case 'AWS::EC2::Subnet': {
        const zone = resolveValue(properties.AvailabilityZone, deployment) as string | undefined;
        const subnet = await clients.ec2(region).send(
          new CreateSubnetCommand({
            VpcId: resolveValue(properties.VpcId, deployment) as string,
            CidrBlock: String(properties.CidrBlock),
            AvailabilityZone: zone ?? `${region}${AZ_LETTERS[subnetIndex % 3]}`,
          }),
        );
        subnetIndex++;
        deployment.setRef(id, subnet.Subnet!.SubnetId!);
        break;
      }
      case 'AWS::EC2::SecurityGroup': {
        const group = await clients.ec2(region).send(
          new CreateSecurityGroupCommand({
            GroupName: id,
            Description: String(properties.GroupDescription ?? id),
            VpcId: resolveValue(properties.VpcId, deployment) as string,
          }),
        );
        deployment.setRef(id, group.GroupId!).setAttribute(id, 'GroupId', group.GroupId!);
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
      default:
        break;
    }
  }
  return deployment;
}

/** Creation order: VPCs before subnets and security groups, everything else after. */
function rank(template: StackTemplate, id: string): number {
  const type = template.Resources[id]?.Type;
  if (type === 'AWS::EC2::VPC') return 0;
  if (type === 'AWS::EC2::Subnet' || type === 'AWS::EC2::SecurityGroup') return 1;
  return 2;
}
