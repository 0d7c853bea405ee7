import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { PipelineConfig } from '../lambdas/core/config';
import { PipelineStack } from './pipeline-stack';

export const STACK_NAME = 'AmiPipeline';

export interface AddPipelineOptions {
  /**
   * Check the stacks with cdk-nag on synth (default). Only runs of the already-checked stack on this machine (the
   * local engine's template) leave it out: the checks change nothing in the template and cost most of a synth.
   */
  readonly checks?: boolean;
}

/** Adds the pipeline's stacks to `app` and checks them with cdk-nag's AWS Solutions pack on every synth. */
export function addPipeline(
  app: App,
  config: PipelineConfig,
  account?: string,
  options: AddPipelineOptions = {},
): PipelineStack {
  const stack = new PipelineStack(app, STACK_NAME, {
    config,
    env: { account, region: config.buildRegion },
    description: 'Weekly public-AMI pipeline: publish, boot-test, prune, report',
  });
  if (options.checks !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
