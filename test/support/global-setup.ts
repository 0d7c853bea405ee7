import { TEMPLATE_SERVICE_ENV } from '../../bin/local/pipeline';
import { type MotoServer, startMoto } from './moto-server';
import { startTemplateService, type TemplateService } from './template-service';

declare global {
  var __MOTO_SERVERS__: MotoServer[] | undefined;
  var __TEMPLATE_SERVICE__: TemplateService | undefined;
}

/** Starts one emulator per jest worker so that test files running in parallel never reset each other's state. */
export default async function globalSetup(globalConfig: { maxWorkers: number; selectedProjects?: string[] }) {
  // Development machines run Node.js 20 while the Lambdas run 22; the SDK's notice about that is noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  globalThis.__TEMPLATE_SERVICE__ = await startTemplateService();
  process.env[TEMPLATE_SERVICE_ENV] = globalThis.__TEMPLATE_SERVICE__.url;
  const needsEmulator =
    !globalConfig.selectedProjects?.length ||
    globalConfig.selectedProjects.some((p) => p === 'emulator' || p === 'e2e');
  if (!needsEmulator) return;
  const workers = Math.max(1, globalConfig.maxWorkers);
  const servers = await Promise.all(Array.from({ length: workers }, () => startMoto()));
  globalThis.__MOTO_SERVERS__ = servers;
  process.env.AMI_PIPELINE_TEST_EMULATORS = servers.map((s) => s.endpoint).join(',');
}
