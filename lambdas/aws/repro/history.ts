import { type AttributeValue, type DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { ReproHistoryRow } from '../../core/repro/history';

/** Partition and sort key names of the reproducibility history table. */
export const REPRO_HISTORY_KEYS = { partition: 'lineKey', sort: 'weekImage' } as const;

/** Reproducibility results: one item per (line, week, image). */
export interface ReproHistoryStore {
  put(row: ReproHistoryRow): Promise<void>;
  list(): Promise<ReproHistoryRow[]>;
}

/** The history kept in the stack's DynamoDB table (point-in-time recovery is on). */
export class DynamoReproHistory implements ReproHistoryStore {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async put(row: ReproHistoryRow): Promise<void> {
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          [REPRO_HISTORY_KEYS.partition]: { S: row.lineKey },
          [REPRO_HISTORY_KEYS.sort]: { S: `${row.week}#${row.imageId}` },
          week: { S: row.week },
          status: { S: row.status },
          row: { S: JSON.stringify(row) },
        },
      }),
    );
  }

  /** Every row, oldest week first: a few checks a week keep the table small enough to read whole. */
  async list(): Promise<ReproHistoryRow[]> {
    const rows: ReproHistoryRow[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start }));
      rows.push(...(page.Items ?? []).map((item) => JSON.parse(item.row?.S ?? '{}') as ReproHistoryRow));
      start = page.LastEvaluatedKey;
    } while (start);
    return rows.sort((a, b) => a.week.localeCompare(b.week) || a.lineKey.localeCompare(b.lineKey));
  }
}
