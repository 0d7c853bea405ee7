import { restoreEmulatorDefaults } from './emulator';
import { emulatorEnvironment } from './moto-server';

const endpoints = (process.env.AMI_PIPELINE_TEST_EMULATORS ?? '').split(',').filter(Boolean);
if (endpoints.length === 0) throw new Error('No emulator is running: the jest global setup starts it (npm test).');
const worker = Number(process.env.JEST_WORKER_ID ?? '1');
const endpoint = endpoints[(worker - 1) % endpoints.length]!;
Object.assign(process.env, emulatorEnvironment(endpoint));

// Each test file starts from an empty emulator with moto's defaults; files on other workers use their own server.
beforeAll(() => restoreEmulatorDefaults(endpoint));
