import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ArnFormat, AssetHashType, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../lambdas/core/config';
import { CONFIG_ENV } from '../lambdas/shared/env';

const PROJECT_ROOT = join(__dirname, '..');

/** Template metadata key on each function resource naming its handler file under `lambdas/`. */
export const FUNCTION_ENTRY_METADATA = 'ami-pipeline:entry';

/** The script that bundles one function (lib/function-bundle.ts), run by the construct's local bundling. */
const BUNDLER = join(__dirname, 'function-bundle.ts');

/**
 * A function's code: its handler bundled by local esbuild (lib/function-bundle.ts, no Docker) into `index.js` with a
 * source map, and `files` (relative to `lambdas/`) copied beside it.
 */
function bundledCode(entry: string, files: readonly string[]): lambda.Code {
  return lambda.Code.fromAsset(join(PROJECT_ROOT, 'lambdas'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // CDK reuses one bundle for assets of the same source and bundling options, where the hook below does not
      // count: the options must name what tells the functions apart.
      environment: { ENTRY: entry, FILES: files.join(' ') },
      // Only asked for when local bundling fails, which throws instead.
      image: lambda.Runtime.NODEJS_22_X.bundlingImage,
      local: {
        tryBundle(outputDir: string) {
          execFileSync(process.execPath, ['--import', 'tsx', BUNDLER, entry, outputDir, ...files], {
            cwd: PROJECT_ROOT,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          return true;
        },
      },
    },
  });
}

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
      code: bundledCode(props.entry, props.bundledFiles ?? []),
      handler: 'index.handler',
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
      environment: {
        [CONFIG_ENV]: JSON.stringify(props.config),
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
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
