import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { TAG } from '../../lambdas/core/tags';
import { REPRO_ENV } from '../../lambdas/repro/schemas';
import { BootTestWorkflow } from '../../lib/boot-test-workflow';
import { Notifications } from '../../lib/notifications';
import { ReportBucket } from '../../lib/report-bucket';
import { ReproWorkflow } from '../../lib/repro-workflow';
import { WORKFLOW_METADATA } from '../../lib/workflow-metadata';

/** The reproducibility workflow beside the boot test (cdk-nag checks the whole stack in foundation.test.ts). */
function synth(input: PipelineConfigInput = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'ReproOnly', { env: { account: '123456789012', region: 'us-east-1' } });
  const config = parseConfig(input);
  const notifications = new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] });
  const reports = new ReportBucket(stack, 'Reports');
  new BootTestWorkflow(stack, 'BootTest', { config, notifications });
  const repro = new ReproWorkflow(stack, 'Repro', { config, notifications, reports });
  const template = Template.fromJSON(app.synth().getStackByName('ReproOnly').template);
  return { stack, repro, template };
}

type Statement = {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

function statementsOf(template: Template, rolePart: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(rolePart))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** A statement's conditions with the run tag's key named alike, so two workflows' conditions can be compared. */
const conditionShape = (s: Statement) =>
  JSON.parse(
    JSON.stringify(s.Condition ?? {})
      .replaceAll(TAG.repro, 'RUN_TAG')
      .replaceAll(TAG.bootTest, 'RUN_TAG'),
  );

const { template } = synth();

describe('the reproducibility workflow', () => {
  test('launches under the boot test’s conditions: tags, IMDSv2, own images; only its own types and subnets', () => {
    // Prepare
    const boot = statementsOf(template, 'BootTestLaunchFunction');
    const repro = statementsOf(template, 'ReproLaunchFunction');
    const bySid = (list: Statement[], sid: string) => list.find((s) => s.Sid === sid)!;

    // Assess
    for (const sid of ['LaunchTaggedVolumesAndInterfaces', 'LaunchOnlyOwnManagedImages'])
      expect(conditionShape(bySid(repro, sid))).toEqual(conditionShape(bySid(boot, sid)));
    const instance = bySid(repro, 'LaunchConfiguredTypesTaggedWithImdsv2');
    const bootInstance = bySid(boot, 'LaunchConfiguredTypesTaggedWithImdsv2');
    const { 'ec2:InstanceType': types, ...rest } = conditionShape(instance).StringEquals;
    const { 'ec2:InstanceType': _bootTypes, ...bootRest } = conditionShape(bootInstance).StringEquals;
    expect(rest).toEqual(bootRest);
    expect(rest['ec2:MetadataHttpTokens']).toBe('required');
    expect(types).toEqual(['c7g.4xlarge', 'c7i.4xlarge']);
    expect(conditionShape(instance).StringLike).toEqual(conditionShape(bootInstance).StringLike);
    const subnets = JSON.stringify(bySid(repro, 'LaunchOnlyIntoCheckSubnets').Resource);
    expect(subnets).toContain('ReproVpcReproCheckSubnet');
    expect(subnets).not.toContain('BootTest');
    expect(bySid(repro, 'PassOnlyTheCheckRole').Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    });
    // Every EC2 statement that names instances or volumes is conditioned on tags or the create action.
    for (const fn of ['ReproLaunch', 'ReproPoll', 'ReproFinish', 'ReproCleanup', 'ReproSweep'])
      for (const statement of statementsOf(template, fn).filter((s) =>
        /instance\/\*|volume\/\*/.test(JSON.stringify(s.Resource)),
      ))
        expect(statement.Condition).toBeDefined();
  });

  test('its instances may only put objects into a folder of their own IAM user id under repro/, nothing else', () => {
    const statements = statementsOf(template, 'ReproInstanceRole');

    expect(statements).toHaveLength(1);
    const [put] = statements;
    const actions = [put!.Action].flat();
    expect(actions).toEqual(['s3:PutObject']);
    expect(JSON.stringify(put!.Resource)).toMatch(
      /ReportsBucket[0-9A-F]+","Arn"\]\},"\/repro\/\*\/\$\{aws:userid\}\/\*"\]/,
    );
    // The functions that read an instance's folder know the role's unique id, the first half of the folder's name.
    for (const fn of ['ReproLaunch', 'ReproPoll', 'ReproFinish']) {
      const [, fnResource] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) =>
        id.startsWith(`${fn}Function`),
      )!;
      expect(fnResource.Properties.Environment.Variables[REPRO_ENV.instanceRoleId]).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^ReproInstanceRole/), 'RoleId'],
      });
    }
  });

  test('its instances accept no connection: the security group has no inbound rule; outbound through a gateway', () => {
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')).filter((g) =>
      String(g.Properties.GroupDescription).startsWith('Reproducibility'),
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.Properties.SecurityGroupIngress).toBeUndefined();
    expect(
      Object.keys(template.findResources('AWS::EC2::SecurityGroupIngress')).some((id) => id.startsWith('Repro')),
    ).toBe(false);
    const gateways = (t: Template) =>
      Object.keys(t.findResources('AWS::EC2::InternetGateway')).filter((id) => id.startsWith('Repro'));
    expect(gateways(template)).toHaveLength(1);
  });

  test('waits in a Wait state, ends every check in Finish and cleans the run up on any failure', () => {
    const [id, machine] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).find(([key]) =>
      key.startsWith('Repro'),
    )!;
    const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
    const perCheck = definition.States.CheckEach.ItemProcessor.States;

    expect(template.toJSON().Resources[id].Metadata[WORKFLOW_METADATA]).toBe('repro');
    expect(perCheck.WaitForCheck).toMatchObject({ Type: 'Wait', SecondsPath: '$.poll.value.waitSeconds' });
    expect(perCheck.Launch.Catch[0].Next).toBe('FinishAfterLaunchError');
    expect(perCheck.Poll.Catch[0].Next).toBe('FinishAfterPollError');
    // Finish reads the launched instance's folder whenever there is an instance.
    for (const task of ['Finish', 'FinishAfterPollError'])
      expect(perCheck[task].Parameters.Payload['launch.$']).toBe('$.launch.value');
    expect(perCheck.FinishAfterLaunchError.Parameters.Payload['launch.$']).toBeUndefined();
    for (const step of ['Plan', 'CheckEach', 'Cleanup'])
      expect(definition.States[step].Catch[0].Next).toBe('CleanupOnError');
    expect(definition.States.CleanupOnError.Next).toBe('ReproFailed');
  });
});
