import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { BootHistoryRow } from '../../core/boot/result';
import { BOOT_METRIC_DIMENSIONS, BOOT_METRIC_NAMESPACE, bootMetrics } from '../../core/boot/result';
import type { Logger } from '../../shared/logger';

/** Partition and sort key names of the boot history table. */
export const HISTORY_KEYS = { partition: 'seriesType', sort: 'buildImage' } as const;

/** Boot history: one item per (series, instance type, build date, image), readable by series and date range. */
export interface BootHistoryStore {
  put(row: BootHistoryRow): Promise<void>;
  /** Rows of one series on one instance type with a build date in [from, to). */
  query(seriesKey: string, instanceType: string, from: string, to: string): Promise<BootHistoryRow[]>;
  list(): Promise<BootHistoryRow[]>;
}

const partitionOf = (seriesKey: string, instanceType: string) => `${seriesKey}#${instanceType}`;

/** The history kept in a DynamoDB table (point-in-time recovery is on in the stack). */
export class DynamoBootHistory implements BootHistoryStore {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async put(row: BootHistoryRow): Promise<void> {
    const item: Record<string, AttributeValue> = {
      [HISTORY_KEYS.partition]: { S: partitionOf(row.seriesKey, row.instanceType) },
      [HISTORY_KEYS.sort]: { S: `${row.buildDate}#${row.imageId}` },
      status: { S: row.status },
      network: { S: row.network },
      testedAt: { S: row.testedAt },
      row: { S: JSON.stringify(row) },
    };
    if (row.median.bootSeconds !== undefined) item.bootSeconds = { N: String(row.median.bootSeconds) };
    // Re-running a test of the same build replaces its row: the newest measurement of a build is the one kept.
    await this.dynamodb.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
  }

  async query(seriesKey: string, instanceType: string, from: string, to: string): Promise<BootHistoryRow[]> {
    const rows: BootHistoryRow[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#p = :p AND #s BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#p': HISTORY_KEYS.partition, '#s': HISTORY_KEYS.sort },
          ExpressionAttributeValues: {
            ':p': { S: partitionOf(seriesKey, instanceType) },
            ':from': { S: from },
            // `#` sorts before any image id character, so this excludes build date `to` itself.
            ':to': { S: `${to}#` },
          },
          ExclusiveStartKey: start,
        }),
      );
      rows.push(...(page.Items ?? []).map(toRow).filter((r) => r.buildDate < to));
      start = page.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  async list(): Promise<BootHistoryRow[]> {
    const rows: BootHistoryRow[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start }));
      rows.push(...(page.Items ?? []).map(toRow));
      start = page.LastEvaluatedKey;
    } while (start);
    return rows.sort((a, b) =>
      a.seriesKey === b.seriesKey
        ? a.instanceType === b.instanceType
          ? a.buildDate.localeCompare(b.buildDate)
          : a.instanceType.localeCompare(b.instanceType)
        : a.seriesKey.localeCompare(b.seriesKey),
    );
  }
}

function toRow(item: Record<string, AttributeValue>): BootHistoryRow {
  return JSON.parse(item.row?.S ?? '{}') as BootHistoryRow;
}

/** History in memory, for the CLI's dry runs and for tests. */
export class MemoryBootHistory implements BootHistoryStore {
  readonly rows: BootHistoryRow[] = [];
  async put(row: BootHistoryRow): Promise<void> {
    const at = this.rows.findIndex(
      (r) =>
        r.seriesKey === row.seriesKey &&
        r.instanceType === row.instanceType &&
        r.buildDate === row.buildDate &&
        r.imageId === row.imageId,
    );
    if (at >= 0) this.rows[at] = row;
    else this.rows.push(row);
  }
  async query(seriesKey: string, instanceType: string, from: string, to: string): Promise<BootHistoryRow[]> {
    return this.rows.filter(
      (r) => r.seriesKey === seriesKey && r.instanceType === instanceType && r.buildDate >= from && r.buildDate < to,
    );
  }
  async list(): Promise<BootHistoryRow[]> {
    return [...this.rows];
  }
}

/**
 * Writes one CloudWatch embedded-metric-format line per row (Powertools Metrics); Lambda's log stream turns them into
 * metrics by series and instance type, and without dimensions. The image, build date, network and status ride along
 * as properties, for finding the run behind a point.
 */
export function emitBootMetrics(
  rows: readonly BootHistoryRow[],
  write: (line: string) => void,
  nowMs: number,
  logger?: Logger,
): void {
  const metrics = new Metrics({
    namespace: BOOT_METRIC_NAMESPACE,
    logger: {
      debug: () => undefined,
      info: () => undefined,
      // Only a simulated clock strays outside the window CloudWatch accepts; say so without alarming anyone.
      warn: (message: string) => logger?.debug('boot metrics', { detail: message }),
      error: (message: string) => logger?.error('boot metrics', { detail: message }),
    },
  });
  // Powertools adds a `service` dimension by default; the dashboard and alarms read the series and type only.
  metrics.clearDefaultDimensions();
  for (const row of rows) {
    const dimensions: Record<(typeof BOOT_METRIC_DIMENSIONS)[number], string> = {
      Series: row.seriesKey,
      InstanceType: row.instanceType,
    };
    for (const name of BOOT_METRIC_DIMENSIONS) metrics.addDimension(name, dimensions[name]);
    metrics.addDimensions({});
    metrics.addMetadata('ImageId', row.imageId);
    metrics.addMetadata('BuildDate', row.buildDate);
    metrics.addMetadata('Network', row.network);
    metrics.addMetadata('Status', row.status);
    for (const metric of bootMetrics(row)) metrics.addMetric(metric.name, metric.unit, metric.value);
    metrics.setTimestamp(nowMs);
    write(JSON.stringify(metrics.serializeMetrics()));
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  }
}
