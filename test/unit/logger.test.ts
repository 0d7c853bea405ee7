import { Logger } from '../../lambdas/shared/logger';
import { realClock, runInvocation } from '../../lambdas/shared/invocation';

/** A logger writing into `lines`, parsed. */
function capture(keys: Record<string, unknown>, level: 'debug' | 'info' = 'info') {
  const lines: string[] = [];
  return {
    logger: new Logger(keys, level, (line) => lines.push(line)),
    entries: () => lines.map((l) => JSON.parse(l)),
  };
}

describe('the JSON logger', () => {
  test('writes level, message, timestamp, service, its keys and the fields of the line, and nothing else', () => {
    const { logger, entries } = capture({ service: 'prune-plan', run: 'r-1' });

    logger.info('region planned', { region: 'eu-west-1', images: 3 });

    const [entry] = entries();
    expect(Object.keys(entry)).toEqual(['level', 'message', 'timestamp', 'service', 'run', 'region', 'images']);
    expect(entry).toMatchObject({ level: 'info', message: 'region planned', service: 'prune-plan', images: 3 });
    expect(new Date(entry.timestamp).toISOString()).toBe(entry.timestamp);
  });

  test('a child carries its keys besides its parent’s, and the parent stays as it was', () => {
    const { logger, entries } = capture({ service: 'prune-execute' });

    logger.with({ region: 'us-east-1', batch: 2 }).warn('throttled');
    logger.info('done');

    expect(entries()).toEqual([
      expect.objectContaining({ level: 'warn', service: 'prune-execute', region: 'us-east-1', batch: 2 }),
      expect.not.objectContaining({ region: expect.anything() }),
    ]);
  });

  test('drops lines below its level and logs an error by name and message', () => {
    const { logger, entries } = capture({});

    logger.debug('hidden');
    logger.error('call failed', { error: Object.assign(new Error('no such image'), { name: 'InvalidAMIID' }) });

    expect(entries()).toEqual([
      expect.objectContaining({ level: 'error', error: { name: 'InvalidAMIID', message: 'no such image' } }),
    ]);
    expect(entries()[0]).not.toHaveProperty('service');
  });

  test('writes to the log sink of the invocation in progress, so functions run in one process keep apart', async () => {
    const seen: string[] = [];
    const logger = new Logger({ service: 'regions' });

    await runInvocation(
      {
        functionName: 'RegionsFunction',
        env: {},
        clock: realClock,
        remainingMs: () => 60_000,
        services: { logSink: (line: string) => seen.push(line) },
      },
      async () => logger.info('regions listed'),
    );

    expect(seen.map((l) => JSON.parse(l).message)).toEqual(['regions listed']);
  });
});
