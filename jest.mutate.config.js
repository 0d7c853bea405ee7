// The tests `npm run mutate` runs against each mutant of the safety rules: the fast unit tests of the prune and
// publish planners, the regression detector and the executors that delete or terminate (on aws-sdk-client-mock or
// the simulated AWS), so no emulator is started. `coverageAnalysis: perTest` then runs only the tests that reach a
// mutant. Property tests search fewer random fleets per mutant than in `npm test`, where they run in full.
process.env.PROPERTY_RUNS ??= '50';

const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] };

/** @type {import('jest').Config} */
module.exports = {
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 120_000,
  testMatch: [
    '<rootDir>/test/unit/boot-regression.test.ts',
    '<rootDir>/test/unit/prune-execute.test.ts',
    '<rootDir>/test/unit/prune-plan.test.ts',
    '<rootDir>/test/unit/publish-copies.test.ts',
    '<rootDir>/test/unit/publish-injected.test.ts',
    '<rootDir>/test/unit/publish-ledger.test.ts',
    '<rootDir>/test/unit/publish-plan.test.ts',
    '<rootDir>/test/unit/publish-steps.test.ts',
    '<rootDir>/test/unit/boot-cleanup.test.ts',
    '<rootDir>/test/unit/boot-cleanup-layers.test.ts',
    '<rootDir>/test/unit/prune-run.test.ts',
    '<rootDir>/test/unit/prune-rules.test.ts',
    '<rootDir>/test/unit/errors.test.ts',
  ],
};
