import { FUNCTION_ENTRY_METADATA } from '../../lib/pipeline-function';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildSync } from 'esbuild';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { BootTestWorkflow } from '../../lib/boot-test-workflow';
import { Notifications } from '../../lib/notifications';

const PROJECT_ROOT = join(__dirname, '..', '..');

/** The workflow in a stack of its own, checked by cdk-nag (synth throws on any unacknowledged finding). */
function synth(input: PipelineConfigInput = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'BootTestOnly', { env: { account: '123456789012', region: 'us-east-1' } });
  const notifications = new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] });
  const workflow = new BootTestWorkflow(stack, 'BootTest', { config: parseConfig(input), notifications });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const artifact = app.synth().getStackByName('BootTestOnly');
  return { workflow, stack, template: Template.fromJSON(artifact.template) };
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

function statementsOf(template: Template, roleLogicalIdPart: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPart))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** The state machine definition with CloudFormation tokens replaced, parsed. */
function definition(template: Template): { States: Record<string, State> } {
  const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]!;
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}
interface State {
  Type: string;
  Next?: string;
  Catch?: { Next: string }[];
  Parameters?: { Payload?: Record<string, unknown> };
  ItemProcessor?: { States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
}
function allStates(states: Record<string, State>): Record<string, State> {
  const found: Record<string, State> = {};
  for (const [name, state] of Object.entries(states)) {
    found[name] = state;
    if (state.ItemProcessor) Object.assign(found, allStates(state.ItemProcessor.States));
    for (const branch of state.Branches ?? []) Object.assign(found, allStates(branch.States));
  }
  return found;
}

describe('boot test workflow with default configuration', () => {
  const { template, workflow, stack } = synth();

  describe('test network', () => {
    test('has isolated subnets in several AZs and no internet gateway, NAT or VPC endpoint', () => {
      const subnets = Object.values(template.findResources('AWS::EC2::Subnet'));
      expect(subnets).toHaveLength(3);
      expect(new Set(subnets.map((s) => JSON.stringify(s.Properties.AvailabilityZone))).size).toBe(subnets.length);
      for (const subnet of subnets) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
    });

    test('the test subnets have no route to the internet: their route tables hold no route at all beyond local', () => {
      const associations = Object.values(template.findResources('AWS::EC2::SubnetRouteTableAssociation'));
      const tables = new Set(associations.map((a) => JSON.stringify(a.Properties.RouteTableId)));
      expect(tables.size).toBeGreaterThanOrEqual(2);
      const routes = Object.values(template.findResources('AWS::EC2::Route'));
      for (const route of routes) expect(tables.has(JSON.stringify(route.Properties.RouteTableId))).toBe(false);
      expect(routes).toEqual([]);
    });

    test('admits TCP 22 to the instances only from the probe, and the probe may open nothing else', () => {
      const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
      expect(ingress).toHaveLength(1);
      expect(ingress[0]!.Properties).toMatchObject({
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/ProbeSecurityGroup/), 'GroupId'] },
      });
      const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress'));
      expect(egress.map((e) => e.Properties)).toEqual([
        expect.objectContaining({
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          DestinationSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/InstanceSecurityGroup/), 'GroupId'] },
        }),
      ]);
      for (const group of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
        expect(group.Properties.SecurityGroupIngress ?? []).toEqual([]);
        for (const rule of group.Properties.SecurityGroupEgress ?? []) expect(rule.CidrIp).toBe('255.255.255.255/32');
      }
    });

    test('strips every rule from the VPC default security group, which nothing uses', () => {
      template.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
        DefaultSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('Vpc'), 'DefaultSecurityGroup'] },
      });
    });

    test('records rejected traffic in VPC flow logs', () => {
      template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
    });
  });

  describe('functions', () => {
    test('only the probe runs inside the VPC, in the isolated subnets with the probe security group', () => {
      const inVpc = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
        ([, fn]) => fn.Properties.VpcConfig,
      );
      expect(inVpc.map(([id]) => id)).toEqual([expect.stringMatching(/^BootTestProbeFunction/)]);
      expect(inVpc[0]![1].Properties.VpcConfig.SecurityGroupIds).toEqual([
        { 'Fn::GetAtt': [expect.stringMatching(/ProbeSecurityGroup/), 'GroupId'] },
      ]);
      expect(workflow.probeFunction.isBoundToVpc).toBe(true);
      for (const fn of Object.values(workflow.apiFunctions)) expect(fn.isBoundToVpc).toBe(false);
      expect(workflow.sweepFunction.isBoundToVpc).toBe(false);
    });

    test('no function in the VPC needs an AWS API: no grant beyond tracing, and no SDK in its bundle', () => {
      const probeRole = stack.getLogicalId(workflow.probeFunction.role!.node.defaultChild as never);
      const granted = statementsOf(template, probeRole).flatMap(actions);
      // Its own logs and traces, and the interfaces Lambda manages with the role to attach it to the VPC.
      const lambdaItself = [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
      ];
      expect(granted.filter((a) => !a.startsWith('xray:') && !lambdaItself.includes(a))).toEqual([]);

      const bundle = (entry: string) =>
        Object.keys(
          buildSync({
            entryPoints: [join(PROJECT_ROOT, 'lambdas', entry)],
            bundle: true,
            platform: 'node',
            write: false,
            metafile: true,
            logLevel: 'silent',
          }).metafile.inputs,
        );
      const probeInputs = bundle('boot/probe.ts');
      expect(probeInputs.filter((path) => /@aws-sdk|@smithy|aws\/clients/.test(path))).toEqual([]);
      // The same check finds the SDK where it is used, so an empty list above means something.
      expect(bundle('boot/launch.ts').some((path) => path.includes('@aws-sdk/client-ec2'))).toBe(true);
    });

    test('are configured with the test subnets, security group, network kind, table and alarm topic', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: 'boot test: launch a test instance',
        Environment: {
          Variables: Match.objectLike({
            BOOT_SUBNET_IDS: Match.anyValue(),
            BOOT_SECURITY_GROUP_IDS: { 'Fn::GetAtt': [Match.stringLikeRegexp('InstanceSecurityGroup'), 'GroupId'] },
            BOOT_NETWORK: 'isolated',
            BOOT_HISTORY_TABLE: { Ref: Match.stringLikeRegexp('History') },
          }),
        },
      });
    });
  });

  describe('IAM', () => {
    const launchRole = stack.getLogicalId(workflow.apiFunctions.launch!.role!.node.defaultChild as never);
    const launch = statementsOf(template, launchRole).filter((s) => actions(s).includes('ec2:RunInstances'));

    test('RunInstances creates only instances that carry our tags and require IMDSv2', () => {
      const instance = launch.find((s) => JSON.stringify(s.Resource).includes(':instance/*'))!;
      expect(instance.Condition).toEqual({
        StringEquals: {
          'aws:RequestTag/ami-pipeline:managed-by': 'ami-pipeline',
          'ec2:MetadataHttpTokens': 'required',
          'ec2:InstanceType': ['c6g.large', 'c7g.large', 'c8g.large', 'c5.large', 'c7i.large', 'm7a.large'],
        },
        StringLike: { 'aws:RequestTag/ami-pipeline:boot-test': '?*' },
      });
      const created = launch.find((s) => JSON.stringify(s.Resource).includes(':volume/*'))!;
      expect(created.Condition).toMatchObject({ StringLike: { 'aws:RequestTag/ami-pipeline:boot-test': '?*' } });
    });

    test('RunInstances may use only our test subnets and security group', () => {
      const network = launch.find((s) => JSON.stringify(s.Resource).includes(':subnet/'))!;
      const resources = JSON.stringify(network.Resource);
      const subnets = Object.keys(template.findResources('AWS::EC2::Subnet'));
      for (const subnet of subnets) expect(resources).toContain(subnet);
      expect(resources.match(/:subnet\//g)).toHaveLength(subnets.length);
      expect(resources).toContain('InstanceSecurityGroup');
      expect(resources).not.toContain('ProbeSecurityGroup');
    });

    test('TerminateInstances, StopInstances and volume actions apply only to resources carrying our tags', () => {
      const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
        (p) => p.Properties.PolicyDocument.Statement as Statement[],
      );
      const guarded = [
        'ec2:TerminateInstances',
        'ec2:StopInstances',
        'ec2:DeleteVolume',
        'ec2:DetachVolume',
        'ec2:AttachVolume',
        'ec2:GetConsoleOutput',
      ];
      const relevant = all.filter((s) => actions(s).some((a) => guarded.includes(a)));
      // The cleanup, the sweeper, and the judge that ends each instance once its boot is recorded.
      expect(relevant.filter((s) => actions(s).includes('ec2:TerminateInstances'))).toHaveLength(3);
      for (const statement of relevant)
        expect(statement.Condition).toEqual({
          StringEquals: { 'aws:ResourceTag/ami-pipeline:managed-by': 'ami-pipeline' },
          StringLike: { 'aws:ResourceTag/ami-pipeline:boot-test': '?*' },
        });
      const tagging = all.filter((s) => actions(s).includes('ec2:CreateTags'));
      for (const statement of tagging)
        expect(Object.keys(statement.Condition!.StringEquals!)).toEqual(['ec2:CreateAction']);
    });
  });

  describe('state machine', () => {
    const top = definition(template).States;
    const states = allStates(top);
    const cleanups = Object.entries(states).filter(([name]) => name.startsWith('Cleanup') || name === 'FinalCleanup');
    const catches = Object.entries(states).flatMap(([name, state]) => (state.Catch ?? []).map((c) => [name, c.Next]));

    test('every Catch path of the run goes through a cleanup that closes the run, then terminates and deletes by tag', () => {
      expect(catches).toEqual(
        expect.arrayContaining([
          ['Plan', 'CleanupOnError'],
          ['Batches', 'CleanupOnError'],
          ['FinalCleanup', 'CleanupOnError'],
          ['Record', 'CleanupOnError'],
          ['WatchBatch', 'CleanupAfterBatchError'],
        ]),
      );
      expect(states.CleanupOnError!.Parameters!.Payload).toEqual({ 'runId.$': '$$.Execution.Name', close: true });
      expect(states.CleanupAfterBatchError!.Parameters!.Payload).toEqual({ 'runId.$': '$.runId', close: true });
      expect(states.CleanupOnError!.Next).toBe('BootTestFailed');
      expect(states.CleanupAfterBatchError!.Next).toBe('BatchFailed');
      expect(states.CleanupBatch!.Parameters!.Payload).toEqual({ 'runId.$': '$.runId' });
      expect(cleanups.map(([name]) => name).sort()).toEqual([
        'CleanupAfterBatchError',
        'CleanupBatch',
        'CleanupOnError',
        'FinalCleanup',
      ]);
    });

    test('a launch step that fails for good is recorded as that launch’s failure, and the others go on', () => {
      const launchSteps = ['Launch', 'WatchPort', 'Hotplug', 'RecheckPort', 'Inspect', 'InspectAfterHotplug'];
      for (const step of launchSteps) expect(catches).toContainEqual([step, 'RecordFailure']);
      expect(states.RecordFailure!.Parameters!.Payload).toEqual({
        'runId.$': '$.runId',
        'batch.$': '$.batch',
        'slot.$': '$.slot',
        'failure.$': '$.error',
      });
    });

    test('passes ids between states: a launch is named by run, batch and slot, and its plan stays in the run table', () => {
      const batches = top.Batches as unknown as { MaxConcurrency: number; ItemsPath: string; ItemSelector: unknown };
      expect(batches.MaxConcurrency).toBe(1);
      expect(batches.ItemsPath).toBe('$.plan.value.batches');
      const launches = states.LaunchEach as unknown as { MaxConcurrency: number; ItemSelector: unknown };
      expect(launches.MaxConcurrency).toBe(40);
      expect(launches.ItemSelector).toEqual({
        'runId.$': '$.runId',
        'batch.$': '$.batch',
        'slot.$': '$$.Map.Item.Value',
        'probe.$': '$.probe',
      });
      expect(states.Launch!.Parameters!.Payload).toEqual({
        'runId.$': '$.runId',
        'batch.$': '$.batch',
        'slot.$': '$.slot',
      });
      expect(states.Record!.Parameters!.Payload).toEqual({ 'runId.$': '$$.Execution.Name' });
    });

    test('probes each launch in the same Map iteration, as soon as its launch returns, beside one running poller', () => {
      const watch = states.WatchBatch!;
      expect(watch.Type).toBe('Parallel');
      expect(watch.Branches!.map((b) => Object.keys(b.States)[0])).toEqual(['LaunchEach', 'WaitRunning']);
      expect(states.Launch!.Next).toBe('Launched');
      const launched = states.Launched as unknown as { Choices: { Next: string }[] };
      expect(launched.Choices.map((c) => c.Next)).toEqual(['WatchPort']);
      expect(states.WaitRunning!.Next).toBe('BatchSettled');
    });

    test('logs every execution and traces it', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      });
    });
  });

  describe('run table', () => {
    test('keeps runs in a table whose items expire, deleted with the stack', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({
          KeySchema: [
            { AttributeName: 'runId', KeyType: 'HASH' },
            { AttributeName: 'item', KeyType: 'RANGE' },
          ],
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
          BillingMode: 'PAY_PER_REQUEST',
        }),
        DeletionPolicy: 'Delete',
      });
    });

    test('is named to every function outside the VPC; the probe inside it has no table and no API', () => {
      // The pipeline's own functions (CDK's custom resource providers aside).
      const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
        (fn) => fn.Metadata?.[FUNCTION_ENTRY_METADATA] !== undefined,
      );
      const named = functions.filter((fn) => fn.Properties.Environment?.Variables?.BOOT_RUN_TABLE);
      expect(named).toHaveLength(functions.length - 1);
      for (const fn of named)
        expect(fn.Properties.Environment.Variables.BOOT_RUN_TABLE).toEqual({ Ref: expect.stringMatching(/Runs/) });
      expect(
        functions.filter((fn) => fn.Properties.VpcConfig)[0]!.Properties.Environment?.Variables,
      ).not.toHaveProperty('BOOT_RUN_TABLE');
    });
  });

  describe('history, sweeper and static analysis', () => {
    test('keeps the history in a DynamoDB table with point-in-time recovery, retained and protected from deletion', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          BillingMode: 'PAY_PER_REQUEST',
        }),
        DeletionPolicy: 'Retain',
      });
    });

    test('alarms the operators on a failed execution and on any failed boot', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ExecutionsFailed',
        Namespace: 'AWS/States',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('NotificationsAlarms') }],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'BootFailed',
        Namespace: 'AmiPipeline/BootTest',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('NotificationsAlarms') }],
      });
    });

    test('runs the sweeper on the configured schedule', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'cron(30 * * * ? *)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SweepFunction'), 'Arn'] } })],
      });
    });
  });
});

describe('boot test workflow with outbound internet access', () => {
  const { template } = synth({ bootTest: { internetAccess: true } });

  test('launches into public subnets whose only way out is the internet gateway, still only reachable from the probe', () => {
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::Route', {
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: { Ref: Match.stringLikeRegexp('IGW') },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'boot test: launch a test instance',
      Environment: { Variables: Match.objectLike({ BOOT_NETWORK: 'outbound-internet' }) },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Boot test instances: TCP 22 from the probe only',
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0' })],
    });
    expect(Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))).toHaveLength(1);
  });

  test('keeps the probe in the isolated subnets', () => {
    const probe = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.VpcConfig,
    )!;
    const isolated = Object.keys(template.findResources('AWS::EC2::Subnet')).filter((id) => !/Outbound/.test(id));
    expect(probe[1].Properties.VpcConfig.SubnetIds.map((s: { Ref: string }) => s.Ref).sort()).toEqual(isolated.sort());
  });
});
