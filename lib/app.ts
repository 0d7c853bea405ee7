import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { PipelineConfig } from '../lambdas/core/config';
import { PipelineStack } from './pipeline-stack';

export const STACK_NAME = 'AmiPipeline';

/** Adds the pipeline's stacks to `app` and checks them with cdk-nag's AWS Solutions pack on every synth. */
export function addPipeline(app: App, config: PipelineConfig, account?: string): PipelineStack {
  const stack = new PipelineStack(app, STACK_NAME, {
    config,
    env: { account, region: config.buildRegion },
    description: 'Weekly public-AMI pipeline: publish, boot-test, prune, report',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
