/** Base URL of the emulator serving this test file. */
export function emulatorEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run emulator tests through jest (npm test)');
  return endpoint;
}

/** Sends a request to one of moto's own endpoints (`/moto-api/...`). */
export async function postToEmulator(endpoint: string, path: string, body?: string): Promise<void> {
  const response = await fetch(`${endpoint}${path}`, { method: 'POST', body });
  if (!response.ok) throw new Error(`emulator ${path} answered HTTP ${response.status}`);
}

/**
 * Clears the emulator's state and undoes what a test may have switched on: IAM enforcement (moto's default lets every
 * request through unauthenticated) and Step Functions executing definitions.
 */
export async function restoreEmulatorDefaults(endpoint: string): Promise<void> {
  await postToEmulator(endpoint, '/moto-api/reset-auth', 'inf');
  await postToEmulator(
    endpoint,
    '/moto-api/config',
    JSON.stringify({ stepfunctions: { execute_state_machine: false } }),
  );
  await postToEmulator(endpoint, '/moto-api/reset');
}

/** Clears the emulator's state. */
export async function resetEmulator(): Promise<void> {
  const response = await fetch(`${emulatorEndpoint()}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`emulator reset failed with HTTP ${response.status}`);
}

/** The emulator's stored state, read back independently of the SDK clients under test. */
export async function emulatorState(): Promise<Record<string, Record<string, unknown>>> {
  return (await (await fetch(`${emulatorEndpoint()}/moto-api/data.json`)).json()) as never;
}

/** Sends moto's `/moto-api/config` (e.g. Step Functions execution, Lambda without Docker). */
export async function configureEmulator(settings: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${emulatorEndpoint()}/moto-api/config`, {
    method: 'POST',
    body: JSON.stringify(settings),
  });
  if (!response.ok) throw new Error(`emulator config failed with HTTP ${response.status}`);
}
