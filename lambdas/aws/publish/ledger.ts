import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PipelineError } from '../../core/errors';
import type { PairRecord, PairStatus } from '../../core/publish/ledger';
import { chunks, mapLimit } from '../../shared/concurrency';

/** Partition and sort key names of the publish ledger table. */
export const LEDGER_KEYS = { partition: 'source', sort: 'region' } as const;

/** What a step records about one pair. */
export interface PairUpdate {
  readonly source: string;
  readonly region: string;
  readonly status: Exclude<PairStatus, 'queued'>;
  readonly sourceName: string;
  readonly imageId?: string;
  readonly error?: string;
  readonly runId: string;
  readonly at: Date;
}

/** Rows by source image id, then region. */
export type LedgerRows = Map<string, Map<string, PairRecord>>;

/**
 * Completion of each (source image, region) pair, kept apart from the images themselves: no tag on the source is
 * needed, whichever regions a run covers, and what each step knows travels through the ledger rather than through
 * the workflow's state.
 */
export interface PublishLedger {
  /** Every row of these sources. */
  rowsOf(sources: readonly string[]): Promise<LedgerRows>;
  /** The rows of these sources in one region. */
  inRegion(region: string, sources: readonly string[]): Promise<Map<string, PairRecord>>;
  /** Writes rows as they are (discovery's `queued` and `gave-up` rows). */
  put(records: readonly PairRecord[]): Promise<void>;
  /** Records what a step achieved for a pair; `publishedRun` is kept while the pair stays published. */
  record(updates: readonly PairUpdate[]): Promise<void>;
}

/** A ledger request that DynamoDB left unprocessed after every retry. */
export class LedgerWriteError extends PipelineError {
  override readonly name: string = 'LedgerWriteError';
}

const UNPROCESSED_RETRIES = 8;

/** Waits before asking again for what DynamoDB left unprocessed (it does so when the table is throttled). */
function backoff(round: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 50 * 2 ** round)));
}

function toItem(record: PairRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    [LEDGER_KEYS.partition]: { S: record.source },
    [LEDGER_KEYS.sort]: { S: record.region },
    status: { S: record.status },
    sourceName: { S: record.sourceName },
    admittedAt: { S: record.admittedAt },
    updatedAt: { S: record.updatedAt },
  };
  for (const field of ['imageId', 'error', 'runId', 'publishedRun'] as const) {
    const value = record[field];
    if (value) item[field] = { S: value };
  }
  return item;
}

function fromItem(item: Record<string, AttributeValue>): PairRecord {
  const text = (name: string) => item[name]?.S;
  return {
    source: text(LEDGER_KEYS.partition) ?? '',
    region: text(LEDGER_KEYS.sort) ?? '',
    status: (text('status') ?? 'queued') as PairStatus,
    sourceName: text('sourceName') ?? '',
    imageId: text('imageId'),
    error: text('error'),
    runId: text('runId'),
    publishedRun: text('publishedRun'),
    admittedAt: text('admittedAt') ?? '',
    updatedAt: text('updatedAt') ?? '',
  };
}

function addRow(rows: LedgerRows, record: PairRecord): void {
  const regions = rows.get(record.source) ?? new Map<string, PairRecord>();
  regions.set(record.region, record);
  rows.set(record.source, regions);
}

/** The ledger in the workflow's DynamoDB table (point-in-time recovery on in the stack). */
export class DynamoLedger implements PublishLedger {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly concurrency = 10,
  ) {}

  async rowsOf(sources: readonly string[]): Promise<LedgerRows> {
    const rows: LedgerRows = new Map();
    await mapLimit([...new Set(sources)], this.concurrency, async (source) => {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#p = :p',
            ExpressionAttributeNames: { '#p': LEDGER_KEYS.partition },
            ExpressionAttributeValues: { ':p': { S: source } },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) addRow(rows, fromItem(item));
        start = page.LastEvaluatedKey;
      } while (start);
    });
    return rows;
  }

  async inRegion(region: string, sources: readonly string[]): Promise<Map<string, PairRecord>> {
    const found = new Map<string, PairRecord>();
    for (const batch of chunks([...new Set(sources)], 100)) {
      let keys: Record<string, AttributeValue>[] | undefined = batch.map((source) => ({
        [LEDGER_KEYS.partition]: { S: source },
        [LEDGER_KEYS.sort]: { S: region },
      }));
      for (let round = 0; keys?.length; round++) {
        if (round > UNPROCESSED_RETRIES) throw new LedgerWriteError(`ledger rows of ${region} could not be read`);
        if (round > 0) await backoff(round);
        const answer: BatchGetItemCommandOutput = await this.dynamodb.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          const record = fromItem(item);
          found.set(record.source, record);
        }
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  async put(records: readonly PairRecord[]): Promise<void> {
    await mapLimit(chunks(records, 25), this.concurrency, async (batch) => {
      let requests = batch.map((record) => ({ PutRequest: { Item: toItem(record) } }));
      for (let round = 0; requests.length > 0; round++) {
        if (round > UNPROCESSED_RETRIES) throw new LedgerWriteError(`${requests.length} ledger rows were not written`);
        if (round > 0) await backoff(round);
        const answer = await this.dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (answer.UnprocessedItems?.[this.tableName] ?? []).flatMap((r) =>
          r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
        );
      }
    });
  }

  async record(updates: readonly PairUpdate[]): Promise<void> {
    await mapLimit(updates, this.concurrency, (update) => this.dynamodb.send(updateCommand(this.tableName, update)));
  }
}

function updateCommand(tableName: string, update: PairUpdate): UpdateItemCommand {
  const at = update.at.toISOString();
  const values: Record<string, AttributeValue> = {
    ':status': { S: update.status },
    ':name': { S: update.sourceName },
    ':run': { S: update.runId },
    ':at': { S: at },
  };
  const set = [
    '#status = :status',
    'sourceName = :name',
    'runId = :run',
    'updatedAt = :at',
    'admittedAt = if_not_exists(admittedAt, :at)',
  ];
  const remove: string[] = [];
  if (update.imageId) {
    set.push('imageId = :image');
    values[':image'] = { S: update.imageId };
  }
  if (update.error) {
    set.push('#error = :error');
    values[':error'] = { S: update.error };
  } else remove.push('#error');
  if (update.status === 'published') set.push('publishedRun = if_not_exists(publishedRun, :run)');
  else if (update.status !== 'verifying') remove.push('publishedRun');
  return new UpdateItemCommand({
    TableName: tableName,
    Key: { [LEDGER_KEYS.partition]: { S: update.source }, [LEDGER_KEYS.sort]: { S: update.region } },
    UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
    ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
    ExpressionAttributeValues: values,
  });
}

/** A ledger kept in memory: a dry run without a deployed table, and tests of the steps around it. */
export class MemoryLedger implements PublishLedger {
  readonly rows: LedgerRows = new Map();

  async rowsOf(sources: readonly string[]): Promise<LedgerRows> {
    const found: LedgerRows = new Map();
    for (const source of sources) {
      const regions = this.rows.get(source);
      if (regions) found.set(source, new Map(regions));
    }
    return found;
  }

  async inRegion(region: string, sources: readonly string[]): Promise<Map<string, PairRecord>> {
    const found = new Map<string, PairRecord>();
    for (const source of sources) {
      const record = this.rows.get(source)?.get(region);
      if (record) found.set(source, record);
    }
    return found;
  }

  async put(records: readonly PairRecord[]): Promise<void> {
    for (const record of records) addRow(this.rows, record);
  }

  async record(updates: readonly PairUpdate[]): Promise<void> {
    for (const update of updates) {
      const before = this.rows.get(update.source)?.get(update.region);
      const at = update.at.toISOString();
      addRow(this.rows, {
        source: update.source,
        region: update.region,
        status: update.status,
        sourceName: update.sourceName,
        imageId: update.imageId ?? before?.imageId,
        error: update.error,
        runId: update.runId,
        publishedRun:
          update.status === 'published'
            ? (before?.publishedRun ?? update.runId)
            : update.status === 'verifying'
              ? before?.publishedRun
              : undefined,
        admittedAt: before?.admittedAt ?? at,
        updatedAt: at,
      });
    }
  }
}
