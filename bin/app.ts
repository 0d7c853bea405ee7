#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addPipeline } from '../lib/app';
import { CONFIG_CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY, overridesFromContext, resolveConfig } from '../lib/config-source';

const app = new App();
try {
  const config = resolveConfig({
    context: app.node.tryGetContext(CONFIG_CONTEXT_KEY),
    configFile: app.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY),
    overrides: overridesFromContext(app.node.getAllContext()),
  });
  addPipeline(app, config, process.env.CDK_DEFAULT_ACCOUNT);
} catch (error) {
  // A configuration error is the operator's to fix: show the message, not a stack trace.
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
