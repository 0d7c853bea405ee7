import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { synthesizeTemplate } from '../../bin/local/pipeline';
import type { PipelineConfig } from '../../lambdas/core/config';

export interface TemplateService {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `synthesizeTemplate` on a loopback port, for the test workers: this process loads the CDK once, where
 * every worker's test file would load it anew (each has its own module registry) to synthesize a template once.
 */
export async function startTemplateService(): Promise<TemplateService> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const { config, account } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          config: PipelineConfig;
          account: string;
        };
        const body = JSON.stringify(synthesizeTemplate(config, account));
        response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String((error as Error).stack ?? error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
