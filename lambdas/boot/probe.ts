import * as z from 'zod';
import { type PortProbe, TcpProbe } from '../aws/boot/tcp-probe';
import { parseEvent } from '../shared/event';
import { invocationService } from '../shared/invocation';
import { Logger } from '../shared/logger';

// This function runs inside the test VPC, which has no route to any AWS API: it must never import an SDK client.
const eventSchema = z.object({
  host: z.union([z.ipv4(), z.ipv6()]),
  port: z.number().int().min(1).max(65535).default(22),
  mode: z.enum(['watch', 'check']).default('watch'),
  timeoutSeconds: z.number().min(1).max(870),
  intervalMs: z.number().int().min(10).max(50).default(50),
});

const logger = new Logger({ service: 'boot-probe' });

/** Watches a test instance's port 22 from inside the VPC: first refused, first accepted, SSH banner. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'boot-probe');
  // Real TCP from inside the VPC; a local run without a route to the instances supplies its own probe.
  const probe = invocationService<PortProbe>('probe', () => new TcpProbe());
  const target = { host: input.host, port: input.port };
  if (input.mode === 'check') {
    const check = await probe.check(target, input.timeoutSeconds * 1000);
    logger.info('port checked', { host: input.host, open: check.open, reason: check.reason });
    return check;
  }
  const observation = await probe.watch(target, {
    intervalMs: input.intervalMs,
    timeoutMs: input.timeoutSeconds * 1000,
  });
  logger.info('port watched', { host: input.host, outcome: observation.outcome, reason: observation.reason });
  return observation;
}
