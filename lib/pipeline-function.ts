import { join } from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { CONFIG_ENV } from '../lambdas/shared/env';

const PROJECT_ROOT = join(__dirname, '..');

/** Template metadata key on each function resource naming its handler file under `lambdas/`. */
export const FUNCTION_ENTRY_METADATA = 'ami-pipeline:entry';

/** How every function is bundled (local esbuild, no Docker); the benchmarks build bundles with the same options. */
export const FUNCTION_BUNDLING = {
  minify: true,
  // Error class names reach Step Functions as error names; keep them readable.
  keepNames: true,
  sourceMap: true,
  target: 'node22',
  format: OutputFormat.CJS,
  // The SDK's ES modules first: esbuild drops what a function never names (other clients, unused commands), which
  // its CommonJS builds do not allow.
  mainFields: ['module', 'main'] as string[],
  // The SDK is bundled rather than taken from the runtime so that what runs is what the tests ran.
  externalModules: [] as string[],
  // vega-canvas's Node build awaits an optional package at the top level, which a CommonJS bundle cannot hold;
  // SVG output needs no canvas (lambdas/core/report/no-canvas.ts says why).
  esbuildArgs: { '--alias:vega-canvas': './lambdas/core/report/no-canvas.ts' },
  forceDockerBundling: false,
} as const;

export interface PipelineFunctionProps {
  /** Handler file relative to `lambdas/`, e.g. `regions/handler.ts`; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly config: PipelineConfig;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
  readonly vpc?: lambda.FunctionProps['vpc'];
  readonly vpcSubnets?: lambda.FunctionProps['vpcSubnets'];
  readonly securityGroups?: lambda.FunctionProps['securityGroups'];
  readonly logRetention?: logs.RetentionDays;
  /** Files under `lambdas/` the handler reads at run time, copied beside the bundle (e.g. a user-data script). */
  readonly bundledFiles?: readonly string[];
}

/** Bundling hooks that copy `files` (relative to `lambdas/`) next to the bundle's `index.js`. */
function copyBeside(files: readonly string[]) {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) =>
      files.map((file) => `cp "${join(inputDir, 'lambdas', file)}" "${join(outputDir, file.split('/').pop()!)}"`),
  };
}

/**
 * Fleet defaults for every Lambda of the pipeline: Node.js 22 on arm64, a minified esbuild bundle with source maps
 * built locally (no Docker), JSON logs into a log group with retention, X-Ray tracing, and a role of its own that
 * starts with nothing but writing its logs. Each workflow construct adds exactly the actions its functions call.
 */
export class PipelineFunction extends NodejsFunction {
  readonly logGroupRef: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const holder = new Construct(scope, `${id}Resources`);
    const logGroup = new logs.LogGroup(holder, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(holder, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.description}`,
    });
    super(scope, id, {
      entry: join(PROJECT_ROOT, 'lambdas', props.entry),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(1),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        [CONFIG_ENV]: JSON.stringify(props.config),
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: props.bundledFiles?.length
        ? { ...FUNCTION_BUNDLING, commandHooks: copyBeside(props.bundledFiles) }
        : FUNCTION_BUNDLING,
    });
    this.logGroupRef = logGroup;
    // The role is made here, so CDK adds no basic execution policy: writing its own log streams is granted here,
    // and nothing else. The log group's ARN ends in `:*`, which covers its streams and no other group.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogStreams',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    if (props.vpc) this.grantNetworkInterfaces(role, props);
    // The local Step Functions engine finds each function's handler through this entry in the template.
    (this.node.defaultChild as lambda.CfnFunction).addMetadata(FUNCTION_ENTRY_METADATA, props.entry);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords and EC2 Describe* calls accept only Resource "*".',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22 is the runtime the pipeline is built and tested for; runtime upgrades are deliberate.',
    });
  }

  /**
   * What Lambda does with the function's role to attach it to its VPC: create network interfaces only in the
   * function's subnets with its security groups, and manage only interfaces of that VPC.
   */
  private grantNetworkInterfaces(role: iam.Role, props: PipelineFunctionProps): void {
    const stack = Stack.of(this);
    const ec2Arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'ec2', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const subnets = props.vpc!.selectSubnets(props.vpcSubnets).subnetIds;
    const groups = (props.securityGroups ?? []).map((g) => g.securityGroupId);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateInterfacesInOwnSubnets',
        actions: ['ec2:CreateNetworkInterface'],
        resources: [
          ec2Arn('network-interface', '*'),
          ...subnets.map((id) => ec2Arn('subnet', id)),
          ...groups.map((id) => ec2Arn('security-group', id)),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ManageInterfacesOfOwnVpc',
        actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: [ec2Arn('network-interface', '*')],
        // EC2 names the VPC of every existing interface; IfExists only spares Lambda's check of the role when the
        // function is created, which asks about interfaces in general.
        conditions: { ArnEqualsIfExists: { 'ec2:Vpc': ec2Arn('vpc', props.vpc!.vpcId) } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadNetwork',
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        resources: ['*'],
      }),
    );
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:${account}:network-interface/*]`,
      reason:
        'Lambda names the interfaces it creates; creation is limited to the subnets and security groups named beside it, every other change to interfaces of this VPC (ec2:Vpc).',
    });
  }
}
