import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { Notifications } from '../../lib/notifications';
import { PipelineFunction } from '../../lib/pipeline-function';
import { PublishWorkflow } from '../../lib/publish-workflow';

export interface SynthesizedPublish {
  readonly workflow: PublishWorkflow;
  readonly stack: Stack;
  readonly template: Template;
  readonly templateJson: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  readonly templatePath: string;
}

/**
 * The publish workflow with the pieces of the pipeline stack it uses (topics, region lister), synthesized with
 * cdk-nag active, so its tests do not depend on the other workflows of the stack.
 */
export function synthesizePublishWorkflow(input: PipelineConfigInput = {}): SynthesizedPublish {
  const config = parseConfig(input);
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'PublishWorkflowOnly', { env: { account: '123456789012', region: config.buildRegion } });
  const notifications = new Notifications(stack, 'Notifications', {
    emails: config.notifications.emails,
    alarmEmails: config.notifications.alarmEmails,
  });
  const regionsFunction = new PipelineFunction(stack, 'RegionsFunction', {
    entry: 'regions/handler.ts',
    description: 'lists the regions a run works in',
    config,
  });
  regionsFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeRegions'], resources: ['*'] }));
  const workflow = new PublishWorkflow(stack, 'Publish', { config, notifications, regionsFunction });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const assembly = app.synth();
  const templatePath = join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile);
  const templateJson = JSON.parse(readFileSync(templatePath, 'utf8'));
  return { workflow, stack, template: Template.fromJSON(templateJson), templateJson, templatePath };
}
