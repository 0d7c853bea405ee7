import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ManagedTag } from '../lambdas/core/tags';

/** IAM conditions that a request or a resource carries the pipeline's managed tag and a run tag. */
export interface TagConditions {
  readonly StringEquals: Record<string, string>;
  readonly StringLike: Record<string, string>;
}

/** The tag conditions of what a workflow's instances create (request tags) and act on (resource tags). */
export interface RunResourceConditions {
  readonly requestTags: TagConditions;
  readonly resourceTags: TagConditions;
}

/** Conditions on the managed tag with its value and on `runTag` with any value, for requests and for resources. */
export function runResourceConditions(managed: ManagedTag, runTag: string): RunResourceConditions {
  return {
    requestTags: {
      StringEquals: { [`aws:RequestTag/${managed.key}`]: managed.value },
      StringLike: { [`aws:RequestTag/${runTag}`]: '?*' },
    },
    resourceTags: {
      StringEquals: { [`aws:ResourceTag/${managed.key}`]: managed.value },
      StringLike: { [`aws:ResourceTag/${runTag}`]: '?*' },
    },
  };
}

/** What a launching function may launch: the network, the types and the tags its instances need. */
export interface GuardedLaunch {
  readonly managed: ManagedTag;
  readonly requestTags: TagConditions;
  readonly instanceTypes: readonly string[];
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  /** The statement id of the network statement, naming whose subnets they are. */
  readonly networkSid: string;
}

/** The ARN of an EC2 resource of `scope`'s stack, region and account. */
export function ec2Arn(scope: Construct, resource: string): string {
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:${resource}`;
}

/**
 * The RunInstances statements of a function that launches test instances (the boot test, the reproducibility
 * checks), so both are held to the same conditions. RunInstances authorises each resource it touches: the new
 * instance must be of a configured type, carry the tags and require IMDSv2; volumes and interfaces it creates must
 * carry the tags; only the given subnets and security group may be used; only images this account owns and manages
 * may boot.
 */
export function grantGuardedLaunch(fn: iam.IGrantable & Construct, launch: GuardedLaunch): void {
  const stack = Stack.of(fn);
  const arn = (resource: string) => ec2Arn(fn, resource);
  const { requestTags, managed } = launch;
  const add = (statement: iam.PolicyStatement) => fn.grantPrincipal.addToPrincipalPolicy(statement);
  add(
    new iam.PolicyStatement({
      sid: 'LaunchConfiguredTypesTaggedWithImdsv2',
      actions: ['ec2:RunInstances'],
      resources: [arn('instance/*')],
      conditions: {
        ...requestTags,
        StringEquals: {
          ...requestTags.StringEquals,
          'ec2:MetadataHttpTokens': 'required',
          'ec2:InstanceType': [...new Set(launch.instanceTypes)],
        },
      },
    }),
  );
  add(
    new iam.PolicyStatement({
      sid: 'LaunchTaggedVolumesAndInterfaces',
      actions: ['ec2:RunInstances'],
      resources: [arn('volume/*'), arn('network-interface/*')],
      conditions: requestTags,
    }),
  );
  add(
    new iam.PolicyStatement({
      sid: launch.networkSid,
      actions: ['ec2:RunInstances'],
      resources: [
        ...launch.subnetIds.map((id) => arn(`subnet/${id}`)),
        arn(`security-group/${launch.securityGroupId}`),
      ],
    }),
  );
  add(
    new iam.PolicyStatement({
      sid: 'LaunchOnlyOwnManagedImages',
      actions: ['ec2:RunInstances'],
      resources: [`arn:${stack.partition}:ec2:${stack.region}::image/*`],
      conditions: {
        StringEquals: { 'ec2:Owner': stack.account, [`ec2:ResourceTag/${managed.key}`]: managed.value },
      },
    }),
  );
}
