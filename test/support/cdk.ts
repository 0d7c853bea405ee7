import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { addPipeline } from '../../lib/app';
import type { PipelineStack } from '../../lib/pipeline-stack';

export interface SynthesizedPipeline {
  readonly stack: PipelineStack;
  readonly template: Template;
  readonly templatePath: string;
  readonly assemblyDirectory: string;
}

/**
 * Synthesizes the pipeline as `cdk synth` does, with cdk-nag active (synth throws on any unacknowledged finding)
 * but without bundling Lambda code, which has a test of its own. CDK's built-in CloudFormation validation runs only
 * when asked (test/cdk/static-analysis.test.ts does, with cfn-lint), since it costs seconds of every synth.
 */
export function synthesizePipeline(
  config: PipelineConfigInput = {},
  bundle = false,
  builtinCloudFormationValidation = false,
): SynthesizedPipeline {
  const app = new App({ context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation });
  const stack = addPipeline(app, parseConfig(config), '123456789012');
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const templatePath = join(assembly.directory, artifact.templateFile);
  return {
    stack,
    template: Template.fromJSON(JSON.parse(readFileSync(templatePath, 'utf8'))),
    templatePath,
    assemblyDirectory: assembly.directory,
  };
}

export interface CfnLintFinding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Location: { readonly Path: readonly (string | number)[] };
  readonly Filename?: string;
}

/** Runs cfn-lint (on PATH) once over templates and returns the findings of all of them. */
export function cfnLintAll(templatePaths: readonly string[]): CfnLintFinding[] {
  try {
    execFileSync('cfn-lint', ['--format', 'json', '--', ...templatePaths], { encoding: 'utf8', stdio: 'pipe' });
    return [];
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    if (!stdout) throw error;
    return JSON.parse(stdout) as CfnLintFinding[];
  }
}

/** Warnings the project leaves in place on purpose, each with its reason (test/cdk/cfn-lint-accepted.json). */
export function acceptedCfnLintWarnings(): Record<string, string> {
  return JSON.parse(readFileSync(join(__dirname, '..', 'cdk', 'cfn-lint-accepted.json'), 'utf8')) as Record<
    string,
    string
  >;
}
