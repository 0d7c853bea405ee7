import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
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
      bundling: {
        minify: true,
        // Error class names reach Step Functions as error names; keep them readable.
        keepNames: true,
        sourceMap: true,
        target: 'node22',
        format: OutputFormat.CJS,
        // The SDK is bundled rather than taken from the runtime so that what runs is what the tests ran.
        externalModules: [],
        forceDockerBundling: false,
      },
    });
    this.logGroupRef = logGroup;
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
}
