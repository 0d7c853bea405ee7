import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../lib/config-source';

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration errors name the source that set the bad value', () => {
  const folder = mkdtempSync(join(tmpdir(), 'config-source-'));
  const file = join(folder, 'freebsd.json');
  writeFileSync(file, JSON.stringify({ retention: { minAgeDays: -3 }, publish: { copyConcurency: 4 } }));

  test('a bad value in cdk.json context', () => {
    const message = failure(() => resolveConfig({ context: { retention: { keepNewest: 0 } } }));

    expect(message).toContain(
      'retention.keepNewest: keep at least the newest build of each series (got 0; from cdk.json context "ami-pipeline")',
    );
  });

  test('a bad value and an unknown field in a config file, named as it was given', () => {
    const message = failure(() => resolveConfig({ configFile: file, configFileSource: `--config ${file}` }));

    expect(message).toContain(
      `retention.minAgeDays: retention.minAgeDays cannot be negative (got -3; from --config ${file})`,
    );
    expect(message).toMatch(
      new RegExp(`publish: unknown field\\(s\\) copyConcurency; allowed: .* \\(from --config ${file}\\)`),
    );
  });

  test('an override wins over the file and is named as the command line gave it', () => {
    const message = failure(() =>
      resolveConfig({
        context: { retention: { keepNewest: 2 } },
        configFile: file,
        configFileSource: `--config ${file}`,
        overrides: { 'retention.minAgeDays': '5', 'retention.keepNewest': '-1' },
        overrideSource: (path, value) => `--set ${path}=${String(value)}`,
      }),
    );

    expect(message).toContain(
      'retention.keepNewest: keep at least the newest build of each series (got -1; from --set retention.keepNewest=-1)',
    );
    expect(message).not.toContain('retention.minAgeDays');
  });

  test('cdk synth overrides are named as -c options by default', () => {
    const message = failure(() => resolveConfig({ overrides: { 'regions.deny': '["us-east-1"]' } }));

    expect(message).toContain(
      'regions.deny: the build region us-east-1 cannot be denied (got ["us-east-1"]; from -c ami-pipeline:regions.deny=["us-east-1"])',
    );
  });

  test('a file that cannot be read is named with how it was given', () => {
    const message = failure(() => resolveConfig({ configFile: join(folder, 'missing.json') }));

    expect(message).toContain(`Cannot read configuration file ${join(folder, 'missing.json')} (-c configFile=`);
  });
});
