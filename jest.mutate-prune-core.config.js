// adopt.ts and report.ts against the planner's own unit tests only: a lower bound on their score.
const base = require('./jest.mutate.config.js');
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/unit/prune-plan.test.ts', '<rootDir>/test/unit/prune-rules.test.ts'],
};
