import { type BenchRow, row } from './table';
import { benchWeek } from './week';

/** Step Functions' events a publish execution may use, a fifth of the 25,000 cap: room for retries and reruns. */
const HISTORY_EVENT_TARGET = 5_000;

/**
 * The publish fan-out of a week: every image into every region, copies of 5 to 60 minutes. Every copy is public
 * within one poll interval of the slowest copy, and an execution stays far under Step Functions' history cap.
 */
export async function benchPublish(size: 'small' | 'full'): Promise<BenchRow[]> {
  const week = await benchWeek(size);
  const images = week.size.series.length;
  const regions = week.regions.length;
  const group = `publish ${images} images x ${regions} regions`;
  const copies = week.published.filter((p) => p.copy);
  const slowestCopyMs = Math.max(...copies.map((p) => p.availableAfterMs));
  const lastPublicMs = Math.max(...week.published.map((p) => p.publicAfterMs ?? Number.POSITIVE_INFINITY));
  const publicCount = week.published.filter((p) => p.publicAfterMs !== undefined).length;
  const minutes = (ms: number) => ms / 60_000;
  return [
    row({
      group,
      measure: 'every copy public (virtual)',
      reference: minutes(slowestCopyMs),
      referenceLabel: 'the slowest copy',
      result: minutes(lastPublicMs),
      unit: 'min',
      maxRatio: Math.floor((1000 * (slowestCopyMs + week.pollIntervalMs)) / slowestCopyMs) / 1000,
      note: `within one poll interval (${minutes(week.pollIntervalMs)} min) of the slowest copy; ${minutes(lastPublicMs - slowestCopyMs).toFixed(1)} min after it`,
    }),
    row({
      group,
      measure: 'images public',
      reference: images * regions,
      referenceLabel: 'every image in every region',
      result: publicCount,
      unit: '',
      minRatio: 1,
    }),
    row({
      group,
      measure: 'history events per execution',
      reference: HISTORY_EVENT_TARGET,
      referenceLabel: 'a fifth of the 25,000 cap',
      result: week.publish.historyEventCount,
      unit: 'events',
      maxRatio: 1,
    }),
    row({
      group,
      measure: 'API calls',
      reference: images * regions,
      referenceLabel: 'image-region pairs',
      result: week.publishCalls,
      unit: 'calls',
      note: `${week.publishThrottled} throttled and retried`,
    }),
  ];
}
