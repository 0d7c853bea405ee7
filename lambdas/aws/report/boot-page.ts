import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { PipelineConfig } from '../../core/config';
import { bootReportModel, renderBootReportPage } from '../../core/report';
import type { BootHistoryStore } from '../boot/history';
import type { ClientFactory } from '../clients';
import { S3Client } from '@aws-sdk/client-s3';

/** Key of the boot-performance page in the report bucket (under `REPORT_PREFIXES.bootPage`). */
export const BOOT_PAGE_KEY = 'boot/index.html';

/** The boot-performance page of everything in the history, as one HTML document. */
export async function bootReportHtml(history: BootHistoryStore, config: PipelineConfig, now: Date): Promise<string> {
  const rows = await history.list();
  return renderBootReportPage(bootReportModel(rows, config.bootTest.regression, { generatedAt: now }));
}

/** Writes the page to the report bucket; a short cache lifetime so a CDN shows the new week soon after it is written. */
export async function putBootReport(
  clients: ClientFactory,
  options: { readonly bucket: string; readonly region: string; readonly html: string },
): Promise<void> {
  await clients.client(S3Client, options.region).send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: BOOT_PAGE_KEY,
      Body: options.html,
      ContentType: 'text/html; charset=utf-8',
      CacheControl: 'max-age=300',
    }),
  );
}
