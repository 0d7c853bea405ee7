#!/usr/bin/env node
// Runs the TypeScript CLI directly; tsx compiles it on the fly with esbuild.
require('tsx/cjs');
require('./ami-pipeline.ts').main(process.argv);
