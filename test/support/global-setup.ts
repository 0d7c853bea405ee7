import { type MotoServer, startMoto } from '../../scripts/emulator';

declare global {
  var __MOTO_SERVERS__: MotoServer[] | undefined;
}

/** Starts one emulator per jest worker so that test files running in parallel never reset each other's state. */
export default async function globalSetup(globalConfig: { maxWorkers: number; selectedProjects?: string[] }) {
  // Development machines run Node.js 20 while the Lambdas run 22; the SDK's notice about that is noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const needsEmulator =
    !globalConfig.selectedProjects?.length ||
    globalConfig.selectedProjects.some((p) => p === 'emulator' || p === 'e2e');
  if (!needsEmulator) return;
  const workers = Math.max(1, globalConfig.maxWorkers);
  const servers = await Promise.all(Array.from({ length: workers }, () => startMoto()));
  globalThis.__MOTO_SERVERS__ = servers;
  process.env.AMI_PIPELINE_TEST_EMULATORS = servers.map((s) => s.endpoint).join(',');
}
