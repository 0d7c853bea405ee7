import { type MotoServer, postToMoto, serverAt } from './moto-server';

/** Base URL of the emulator serving this test file. */
export function emulatorEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run emulator tests through jest (npm test)');
  return endpoint;
}

/**
 * Clears the emulator's state and undoes what a test may have switched on: IAM enforcement (moto's default lets every
 * request through unauthenticated) and Step Functions executing definitions.
 */
export async function restoreEmulatorDefaults(endpoint: string): Promise<void> {
  await postToMoto(endpoint, '/moto-api/reset-auth', 'inf');
  await postToMoto(endpoint, '/moto-api/config', JSON.stringify({ stepfunctions: { execute_state_machine: false } }));
  await postToMoto(endpoint, '/moto-api/reset');
}

/** The test file's emulator as a server to reset and configure; stopping it restores its defaults. */
export function fileEmulator(): MotoServer {
  const endpoint = emulatorEndpoint();
  return serverAt(endpoint, -1, () => restoreEmulatorDefaults(endpoint));
}

/** Clears the emulator's state. */
export function resetEmulator(): Promise<void> {
  return postToMoto(emulatorEndpoint(), '/moto-api/reset');
}

/** The emulator's stored state, read back independently of the SDK clients under test. */
export async function emulatorState(): Promise<Record<string, Record<string, unknown>>> {
  return (await (await fetch(`${emulatorEndpoint()}/moto-api/data.json`)).json()) as never;
}

/** Sends moto's `/moto-api/config` (e.g. Step Functions execution, Lambda without Docker). */
export function configureEmulator(settings: Record<string, unknown>): Promise<void> {
  return postToMoto(emulatorEndpoint(), '/moto-api/config', JSON.stringify(settings));
}
