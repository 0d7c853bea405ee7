import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseConfig } from '../../lambdas/core/config';
import { INSTANCE_JOB_FILE } from '../../lambdas/repro/schemas';
import { FUNCTION_ENTRY_METADATA, PipelineFunction } from '../../lib/pipeline-function';
import { synthesizePipeline } from '../support/cdk';

const PROJECT_ROOT = join(__dirname, '..', '..');

describe('pipeline stack with default configuration', () => {
  const { template } = synthesizePipeline({
    notifications: { emails: ['freebsd-snapshots@example.org'], alarmEmails: ['ec2-maintainer@example.org'] },
  });

  /** The pipeline's own functions (CDK's custom resource providers aside). */
  const pipelineFunctions = () =>
    Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Metadata?.[FUNCTION_ENTRY_METADATA] !== undefined,
    );

  describe('Lambda functions', () => {
    test('run Node.js 22 on arm64 with JSON logs, tracing and the validated configuration', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: Match.objectLike({
            AMI_PIPELINE_CONFIG: Match.stringLikeRegexp('"buildRegion":"us-east-1"'),
            NODE_OPTIONS: '--enable-source-maps',
          }),
        },
      });
    });

    test('write to their own log groups with a retention period, and may write nowhere else', () => {
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
      const policies = Object.values(template.findResources('AWS::IAM::Policy'));
      for (const fn of pipelineFunctions()) {
        const logGroup = fn.Properties.LoggingConfig.LogGroup as { Ref: string };
        expect(logGroup).toEqual({ Ref: expect.stringMatching(/Logs/) });
        const role = fn.Properties.Role['Fn::GetAtt'][0];
        const writes = policies
          .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
          .flatMap((p) => p.Properties.PolicyDocument.Statement)
          .filter((s) => JSON.stringify(s.Action).includes('logs:'));
        expect(writes).toEqual([
          expect.objectContaining({
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logGroup.Ref, 'Arn'] },
          }),
        ]);
      }
    });

    test('keep their configuration well under the 4 KB environment limit', () => {
      for (const fn of pipelineFunctions()) {
        expect(JSON.stringify(fn.Properties.Environment.Variables).length).toBeLessThan(4096);
      }
    });
  });

  describe('notification topics', () => {
    test('are encrypted with a rotating customer-managed key that only alarms of this account may use', () => {
      const fromOwnAlarms = {
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: {
          'aws:SourceArn': {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:us-east-1:123456789012:alarm:*']],
          },
        },
      };
      template.resourceCountIs('AWS::SNS::Topic', 2);
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      const key = Object.values(template.findResources('AWS::KMS::Key'))[0]!;
      const services = (key.Properties.KeyPolicy.Statement as { Principal: { Service?: unknown } }[]).filter(
        (s) => s.Principal.Service,
      );
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(services).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: fromOwnAlarms,
        }),
      ]);
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: Match.stringLikeRegexp('NotificationsAlarms') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Condition: fromOwnAlarms,
            }),
          ]),
        },
      });
    });

    test('refuse publishing without TLS', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    test('subscribe the mailing list and the operators by e-mail', () => {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'freebsd-snapshots@example.org',
      });
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ec2-maintainer@example.org',
      });
    });
  });

  describe('report bucket', () => {
    const reportBucket = () => {
      const logicalId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) =>
        id.startsWith('ReportsBucket'),
      )!;
      return { logicalId, bucket: template.findResources('AWS::S3::Bucket')[logicalId]! };
    };

    test('is private, encrypted, versioned and logged, and kept when the stack goes', () => {
      const { bucket } = reportBucket();
      expect(bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: { Ref: expect.stringMatching(/^ReportsAccessLogs/) } },
      });
      expect(bucket.DeletionPolicy).toBe('Retain');
    });

    test('expires replaced versions and old reproducibility outputs', () => {
      const rules = reportBucket().bucket.Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
      expect(rules).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
          expect.objectContaining({ Prefix: 'repro/', ExpirationInDays: 365, Status: 'Enabled' }),
        ]),
      );
    });

    test('refuses requests without TLS and is named in the stack outputs', () => {
      const { logicalId } = reportBucket();
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      template.hasOutput('ReportBucketName', { Value: { Ref: logicalId } });
    });

    test('keeps the boot-performance page private by default: the digest links its S3 console view, no distribution', () => {
      const { logicalId } = reportBucket();
      const consoleLink = {
        'Fn::Join': ['', Match.arrayWith(['https://s3.console.aws.amazon.com/s3/object/', { Ref: logicalId }])],
      };
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('weekly digest'),
        Environment: {
          Variables: Match.objectLike({ REPORT_BUCKET: { Ref: logicalId }, REPORT_PAGE_URL: consoleLink }),
        },
      });
      template.hasOutput('BootPageUrl', { Value: consoleLink });
      template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    });
  });

  describe('static analysis', () => {
    test('cdk-nag rejects an unacknowledged finding, so a clean synth means zero findings', () => {
      const app = new App({ builtinCloudFormationValidation: false });
      new sqs.Queue(new Stack(app, 'Insecure'), 'Queue');
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

      expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    });

    test('every cdk-nag acknowledgement in the code carries a reason', () => {
      const sources = ['lib'].flatMap((dir) =>
        readdirSync(join(PROJECT_ROOT, dir)).map((f) => readFileSync(join(PROJECT_ROOT, dir, f), 'utf8')),
      );
      const acknowledgements = [...sources.join('\n').matchAll(/acknowledge\(\{([\s\S]*?)\}\);/g)].map((m) => m[1]!);
      expect(acknowledgements.length).toBeGreaterThan(0);
      for (const ack of acknowledgements) expect(ack).toMatch(/reason:\s*['`"][^'`"]{20,}/);
    });
  });
});

describe('Lambda bundling', () => {
  interface BundledFunction {
    readonly assetDir: string;
    readonly environment: Record<string, string>;
  }

  /** Two functions in a stack of their own, bundled as `cdk deploy` bundles them: each one's asset and environment. */
  function bundledFunctions(): { regions: BundledFunction; launch: BundledFunction } {
    // The bundling options are the construct's, the same for every function.
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bundled');
    const config = parseConfig({});
    const regions = new PipelineFunction(stack, 'Regions', {
      entry: 'regions/handler.ts',
      description: 'lists the regions a run works in',
      config,
    });
    const launch = new PipelineFunction(stack, 'Launch', {
      entry: 'repro/launch.ts',
      description: 'launches a builder instance',
      config,
      bundledFiles: [`repro/${INSTANCE_JOB_FILE}`],
    });
    const assembly = app.synth();
    const resources = assembly.getStackByName(stack.stackName).template.Resources as Record<
      string,
      { Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, string> } } }
    >;
    const bundled = (fn: PipelineFunction): BundledFunction => {
      const { Code, Environment } = resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)]!.Properties;
      const assetHash = String(Code.S3Key).replace(/\.zip$/, '');
      return { assetDir: join(assembly.directory, `asset.${assetHash}`), environment: Environment.Variables };
    };
    return { regions: bundled(regions), launch: bundled(launch) };
  }
  const functions = bundledFunctions();
  const { assetDir, environment } = functions.regions;

  test('each function gets a bundle of its own handler, with the files it reads beside it', () => {
    const launchDir = functions.launch.assetDir;

    expect(launchDir).not.toBe(assetDir);
    expect(readdirSync(launchDir).sort()).toEqual(['index.js', 'index.js.map', INSTANCE_JOB_FILE].sort());
    expect(readdirSync(assetDir).sort()).toEqual(['index.js', 'index.js.map']);
    expect(readFileSync(join(launchDir, 'index.js'), 'utf8').includes('"RunInstancesRequest"')).toBe(true);
  });

  test('esbuild bundles a function locally into a minified file with a source map', () => {
    const files = readdirSync(assetDir);
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.js.map']));
    const code = readFileSync(join(assetDir, 'index.js'), 'utf8');
    const lines = code.split('\n').length;
    expect(statSync(join(assetDir, 'index.js')).size / lines).toBeGreaterThan(500);
    expect(code).toContain('exports');
  });

  test('the bundle holds only the SDK client the function names, tree-shaken from its ES modules', () => {
    const { sources } = JSON.parse(readFileSync(join(assetDir, 'index.js.map'), 'utf8')) as { sources: string[] };
    const clients = new Set(sources.map((s) => /@aws-sdk\/(client-[a-z0-9-]+)\//.exec(s)?.[1]).filter(Boolean));

    expect([...clients]).toEqual(['client-ec2']);
    expect(sources.some((s) => s.includes('client-ec2/dist-es/'))).toBe(true);
    // The function describes regions and never launches: a command it does not name is not in its bundle.
    expect(sources.some((s) => s.endsWith('client-ec2/dist-es/commands/DescribeRegionsCommand.js'))).toBe(true);
    expect(sources.some((s) => s.endsWith('/RunInstancesCommand.js'))).toBe(false);
    // Nor are the shapes of EC2's schema module that only other commands reach.
    const code = readFileSync(join(assetDir, 'index.js'), 'utf8');
    expect(code.includes('"DescribeRegionsRequest"')).toBe(true);
    expect(code.includes('"RunInstancesRequest"')).toBe(false);
    expect(statSync(join(assetDir, 'index.js')).size).toBeLessThan(600_000);
  });

  test('the bundle loads in a fresh Node.js process and exports its handler', () => {
    const script = `const m = require(${JSON.stringify(join(assetDir, 'index.js'))}); process.stdout.write(typeof m.handler);`;

    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

    expect(output).toBe('function');
  });

  test("the bundled handler's errors keep their names, which Step Functions reports as the error", () => {
    // Prepare
    const script = `
      require(${JSON.stringify(join(assetDir, 'index.js'))}).handler({ regions: 'eu-west-1' })
        .catch((error) => process.stdout.write('error ' + error.name + '\\n'));`;

    // Act
    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...environment, AWS_REGION: 'us-east-1' },
    });

    // Assess
    expect(output.split('\n')).toContain('error EventValidationError');
  });

  test('the bundled handler runs: it asks EC2 for the enabled regions and answers with its selection', () => {
    // A stand-in EC2 endpoint in the same fresh process, answering DescribeRegions as EC2 does.
    const regions = ['us-east-1', 'eu-west-1']
      .map((name) => `<item><regionName>${name}</regionName><optInStatus>opt-in-not-required</optInStatus></item>`)
      .join('');
    const xml = `<?xml version="1.0" encoding="UTF-8"?><DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><regionInfo>${regions}</regionInfo></DescribeRegionsResponse>`;
    const script = `
      const server = require('node:http').createServer((request, response) => {
        request.resume();
        request.on('end', () => response.writeHead(200, { 'content-type': 'text/xml' }).end(${JSON.stringify(xml)}));
      });
      server.listen(0, '127.0.0.1', async () => {
        process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:' + server.address().port;
        const { handler } = require(${JSON.stringify(join(assetDir, 'index.js'))});
        const result = await handler({});
        server.close();
        process.stdout.write('result ' + JSON.stringify(result) + '\\n');
      });`;

    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        ...environment,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });

    // The function's log lines share its standard output with the answer.
    const answer = output.split('\n').find((line) => line.startsWith('result '))!;
    expect(JSON.parse(answer.slice('result '.length))).toMatchObject({
      buildRegion: 'us-east-1',
      regions: ['eu-west-1', 'us-east-1'],
    });
    expect(output).toContain('"message":"regions selected"');
  });
});

describe('cdk synth from the command line', () => {
  test('fails on bad configuration with the field, the bad value and what is allowed', () => {
    let output = '';
    try {
      execFileSync(
        process.execPath,
        [
          join(PROJECT_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'),
          'synth',
          '--quiet',
          '-c',
          'ami-pipeline:buildRegion=mars-1',
          '-o',
          '/tmp/ami-pipeline-bad-synth',
        ],
        {
          cwd: PROJECT_ROOT,
          encoding: 'utf8',
          stdio: 'pipe',
          env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
        },
      );
    } catch (error) {
      output = `${(error as { stdout: string }).stdout}${(error as { stderr: string }).stderr}`;
    }
    expect(output).toContain(
      'buildRegion: "mars-1" is not a region name; a region name looks like us-east-1 or ap-southeast-2 (got "mars-1"; from -c ami-pipeline:buildRegion=mars-1)',
    );
  });
});
