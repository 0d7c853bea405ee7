import { discoverAudit } from '../aws/audit/service';
import { handlerContext } from './shared';

/** Selects the current builds every region must have: the newest of each line and the supported releases. */
export async function handler(_event: unknown) {
  const ctx = handlerContext('audit-discover');
  const discovery = await discoverAudit(ctx);
  ctx.logger.info('audit discovered', { builds: discovery.count, skipped: discovery.skipped });
  return discovery;
}
