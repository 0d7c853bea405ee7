import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFields, withReference } from '../../scripts/config-doc';

describe('configuration reference', () => {
  test('documents every field of the schema', () => {
    const undocumented = configFields()
      .filter((f) => !f.description)
      .map((f) => f.path);

    expect(undocumented).toEqual([]);
  });

  test('in the README matches the schema (run `npm run config-doc` after changing it)', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

    expect(withReference(readme)).toBe(readme);
  });
});
