// Tests are transformed by @swc/jest (no type check, fast); `npm test` type-checks with tsc 5.x first.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  // Vega, Vega-Lite and their d3 modules ship as ES modules only: turned into CommonJS for jest's loader.
  '^.+\\.m?js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
};
const ESM_PACKAGES = [
  'vega',
  'vega-[a-z-]+',
  'd3-[a-z-]+',
  'internmap',
  'delaunator',
  'robust-predicates',
  'json-stringify-pretty-compact',
];
// A mutation run's sandbox (.stryker-tmp) is a copy of the project: kept out of jest's module map.
const common = {
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  // vega-canvas's Node build awaits an optional package at the top level, which CommonJS cannot load.
  moduleNameMapper: { '^vega-canvas$': '<rootDir>/lambdas/core/report/no-canvas.ts' },
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
};

/** @type {import('jest').Config} */
module.exports = {
  // Emulator and engine tests wait on moto (a process of its own) as much as they compute: a third worker fills the gaps.
  maxWorkers: 3,
  // Full-size scenarios take tens of seconds, and several times that on a shared machine; hangs are still cut off.
  testTimeout: 300_000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'emulator',
      testMatch: ['<rootDir>/test/emulator/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/emulator-env.ts'],
    },
    { ...common, displayName: 'cdk', testMatch: ['<rootDir>/test/cdk/**/*.test.ts'] },
    { ...common, displayName: 'authz', testMatch: ['<rootDir>/test/authz/**/*.test.ts'] },
    // A week at FreeBSD's size on the simulated AWS, in virtual time: the synthesized state machines on the local engine.
    { ...common, displayName: 'scenarios', testMatch: ['<rootDir>/test/scenarios/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/emulator-env.ts'],
    },
  ],
};
