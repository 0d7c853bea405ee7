/** Base URL of the emulator serving this test file. */
export function emulatorEndpoint(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run emulator tests through jest (npm test)');
  return endpoint;
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
