import { emulatorEndpoint } from '../support/emulator';
import { runCli } from '../support/cli';

describe('operator CLI', () => {
  test('lists the selected regions as JSON, honouring --regions', async () => {
    const output = await runCli(
      'regions',
      '--output',
      'json',
      '--endpoint-url',
      emulatorEndpoint(),
      '--regions',
      'us-east-1,eu-west-1,ap-east-1',
    );

    const rows = JSON.parse(output) as { region: string; selected: boolean }[];
    expect(rows.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1']);
  });

  test('shows left-out regions with their reason in a table', async () => {
    const output = await runCli('regions', '--all', '--endpoint-url', emulatorEndpoint());

    expect(output.split('\n')[0]).toMatch(/^REGION\s+SELECTED\s+REASON$/);
    expect(output).toMatch(/us-gov-west-1\s+no\s+partition aws-us-gov is not the commercial partition/);
    expect(output).toMatch(/us-east-1\s+yes\s+enabled in the account/);
  });

  test('applies --set overrides and rejects bad values with the field name', async () => {
    const printed = await runCli('config', '--set', 'retention.keepNewest=7');

    expect(JSON.parse(printed).retention.keepNewest).toBe(7);
    await expect(runCli('config', '--set', 'retention.keepNewest=-1')).rejects.toThrow(
      'retention.keepNewest: keep at least the newest build of each series (got -1)',
    );
  });
});
