import { emulatorEnvironment } from './moto-server';

const endpoints = (process.env.AMI_PIPELINE_TEST_EMULATORS ?? '').split(',').filter(Boolean);
if (endpoints.length === 0) throw new Error('No emulator is running: the jest global setup starts it (npm test).');
const worker = Number(process.env.JEST_WORKER_ID ?? '1');
const endpoint = endpoints[(worker - 1) % endpoints.length]!;
Object.assign(process.env, emulatorEnvironment(endpoint));

// Each test file starts from an empty emulator; files on other workers use their own server.
beforeAll(async () => {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`emulator reset failed with HTTP ${response.status}`);
});
