import type {
  AttributeValue,
  BatchGetItemInput,
  BatchGetItemOutput,
  BatchWriteItemInput,
  BatchWriteItemOutput,
  CreateTableInput,
  CreateTableOutput,
  DescribeTableInput,
  DescribeTableOutput,
  GetItemInput,
  GetItemOutput,
  PutItemInput,
  QueryInput,
  QueryOutput,
  ScanInput,
  ScanOutput,
  TableDescription,
  UpdateItemInput,
  UpdateItemOutput,
} from '@aws-sdk/client-dynamodb';
import { fault, SimulationGapError } from './errors';
import { dateAt, type OperationHandler, operationMethod, type RegionState, type World } from './world';

type Item = Record<string, AttributeValue>;

interface Table {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly createdAt: number;
  readonly items: Map<string, Item>;
  /** Items by partition key value: a Query reads one partition, as DynamoDB does, not the whole table. */
  readonly partitions: Map<string, Map<string, Item>>;
  readonly input: CreateTableInput;
}

// "A single Query or Scan reads at most 1 MB of data" (DynamoDB Query docs), then returns LastEvaluatedKey.
const PAGE_BYTES = 1024 * 1024;

function scalar(value: AttributeValue | undefined): string | number | undefined {
  if (!value) return undefined;
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.B !== undefined) return Buffer.from(value.B).toString('latin1');
  return undefined;
}

function compare(a: AttributeValue | undefined, b: AttributeValue | undefined): number {
  const x = scalar(a);
  const y = scalar(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The partition an item belongs to, by its key's value as DynamoDB compares it (`1` and `1.0` are one number). */
function partitionOf(value: AttributeValue | undefined): string {
  const key = scalar(value);
  return `${typeof key}:${String(key)}`;
}

// Stored items are replaced on every write, never changed in place, so what is derived from one stays true.
const sizes = new WeakMap<Item, number>();

function size(item: Item): number {
  let bytes = sizes.get(item);
  if (bytes === undefined) {
    bytes = JSON.stringify(item).length;
    sizes.set(item, bytes);
  }
  return bytes;
}

/**
 * DynamoDB tables for the boot history and the publish ledger: PutItem, GetItem, UpdateItem (`SET` of values and
 * `if_not_exists`, `REMOVE`), BatchGetItem (100 keys) and BatchWriteItem (25 puts or deletes), Query with a key
 * condition (`=` on the partition key, `=`, `<`, `<=`, `>`, `>=`, `BETWEEN` or `begins_with` on the sort key) and
 * Scan, both paginated at 1 MB. Nothing is throttled, so batches never leave items unprocessed.
 */
export class DynamoDbService {
  private readonly tables = new Map<string, Table>();

  constructor(private readonly world: World) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  private key(region: string, name: string): string {
    return `${region}/${name}`;
  }

  private requireTable(region: string, name: string | undefined): Table {
    const table = this.tables.get(this.key(region, name ?? ''));
    if (!table) fault('ResourceNotFoundException', 'Requested resource not found');
    return table;
  }

  /** Items of a table, for inspection. */
  items(region: string, name: string): Item[] {
    return [...this.requireTable(region, name).items.values()];
  }

  private describe(table: Table): TableDescription {
    return {
      TableName: table.name,
      TableStatus: 'ACTIVE',
      KeySchema: table.input.KeySchema,
      AttributeDefinitions: table.input.AttributeDefinitions,
      CreationDateTime: dateAt(table.createdAt),
      ItemCount: table.items.size,
      BillingModeSummary: { BillingMode: table.input.BillingMode ?? 'PROVISIONED' },
    };
  }

  CreateTable(region: RegionState, input: CreateTableInput): CreateTableOutput {
    const name = input.TableName ?? '';
    if (this.tables.has(this.key(region.name, name))) fault('ResourceInUseException', `Table already exists: ${name}`);
    const partitionKey = input.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    if (!partitionKey)
      fault(
        'ValidationException',
        'No Hash Key specified in schema.  All Dynamo DB tables must have exactly one hash key',
      );
    const table: Table = {
      name,
      partitionKey,
      sortKey: input.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName,
      createdAt: this.world.now(),
      items: new Map(),
      partitions: new Map(),
      input,
    };
    this.tables.set(this.key(region.name, name), table);
    return { TableDescription: this.describe(table) };
  }

  DescribeTable(region: RegionState, input: DescribeTableInput): DescribeTableOutput {
    return { Table: this.describe(this.requireTable(region.name, input.TableName)) };
  }

  private store(table: Table, key: string, item: Item): void {
    table.items.set(key, item);
    const partitionValue = partitionOf(item[table.partitionKey]);
    let partition = table.partitions.get(partitionValue);
    if (!partition) {
      partition = new Map();
      table.partitions.set(partitionValue, partition);
    }
    partition.set(key, item);
  }

  private remove(table: Table, key: string): void {
    const item = table.items.get(key);
    if (!item) return;
    table.items.delete(key);
    table.partitions.get(partitionOf(item[table.partitionKey]))?.delete(key);
  }

  private itemKey(table: Table, item: Item): string {
    const keys = [table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])];
    for (const key of keys)
      if (!item[key])
        fault('ValidationException', `One or more parameter values were invalid: Missing the key ${key} in the item`);
    return JSON.stringify(keys.map((k) => item[k]));
  }

  PutItem(region: RegionState, input: PutItemInput): Record<string, never> {
    const table = this.requireTable(region.name, input.TableName);
    const item = structuredClone(input.Item ?? {});
    if (size(item) > 400 * 1024) fault('ValidationException', 'Item size has exceeded the maximum allowed size');
    this.store(table, this.itemKey(table, item), item);
    return {};
  }

  GetItem(region: RegionState, input: GetItemInput): GetItemOutput {
    const table = this.requireTable(region.name, input.TableName);
    const item = table.items.get(this.itemKey(table, input.Key ?? {}));
    return item ? { Item: structuredClone(item) } : {};
  }

  UpdateItem(region: RegionState, input: UpdateItemInput): UpdateItemOutput {
    const table = this.requireTable(region.name, input.TableName);
    const key = this.itemKey(table, input.Key ?? {});
    const item: Item = structuredClone(table.items.get(key) ?? input.Key ?? {});
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const name = (token: string) =>
      token.startsWith('#')
        ? (names[token] ??
          fault(
            'ValidationException',
            `An expression attribute name used in the document path is not defined; attribute name: ${token}`,
          ))
        : token;
    const value = (token: string) =>
      values[token] ??
      fault(
        'ValidationException',
        `An expression attribute value used in expression is not defined; attribute value: ${token}`,
      );
    const sections = /^\s*(?:SET\s+(.+?))?\s*(?:REMOVE\s+(.+?))?\s*$/is.exec(input.UpdateExpression ?? '');
    if (!sections || (!sections[1] && !sections[2]))
      throw new SimulationGapError(`UpdateExpression not modelled: ${input.UpdateExpression}`);
    const before = structuredClone(item);
    for (const assignment of splitTopLevel(sections[1] ?? '')) {
      const ifNotExists = /^(\S+)\s*=\s*if_not_exists\s*\(\s*(\S+)\s*,\s*(\S+)\s*\)$/i.exec(assignment);
      const plain = /^(\S+)\s*=\s*(:\S+)$/.exec(assignment);
      if (ifNotExists) item[name(ifNotExists[1]!)] = before[name(ifNotExists[2]!)] ?? value(ifNotExists[3]!);
      else if (plain) item[name(plain[1]!)] = value(plain[2]!);
      else throw new SimulationGapError(`SET clause not modelled: ${assignment}`);
    }
    for (const path of (sections[2] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean))
      delete item[name(path)];
    if (size(item) > 400 * 1024) fault('ValidationException', 'Item size has exceeded the maximum allowed size');
    this.store(table, key, item);
    return {};
  }

  BatchGetItem(region: RegionState, input: BatchGetItemInput): BatchGetItemOutput {
    const requests = Object.entries(input.RequestItems ?? {});
    const keys = requests.reduce((sum, [, request]) => sum + (request.Keys?.length ?? 0), 0);
    if (keys > 100) fault('ValidationException', 'Too many items requested for the BatchGetItem call');
    const responses: Record<string, Item[]> = {};
    for (const [tableName, request] of requests) {
      const table = this.requireTable(region.name, tableName);
      responses[tableName] = (request.Keys ?? []).flatMap((k) => {
        const item = table.items.get(this.itemKey(table, k));
        return item ? [structuredClone(item)] : [];
      });
    }
    return { Responses: responses, UnprocessedKeys: {} };
  }

  BatchWriteItem(region: RegionState, input: BatchWriteItemInput): BatchWriteItemOutput {
    const requests = Object.entries(input.RequestItems ?? {});
    const count = requests.reduce((sum, [, writes]) => sum + writes.length, 0);
    if (count > 25)
      fault(
        'ValidationException',
        'Too many items requested for the BatchWriteItem call: member must have length <= 25',
      );
    for (const [tableName, writes] of requests) {
      for (const write of writes) {
        if (write.PutRequest) this.PutItem(region, { TableName: tableName, Item: write.PutRequest.Item });
        else if (write.DeleteRequest) {
          const table = this.requireTable(region.name, tableName);
          this.remove(table, this.itemKey(table, write.DeleteRequest.Key ?? {}));
        }
      }
    }
    return { UnprocessedItems: {} };
  }

  Query(region: RegionState, input: QueryInput): QueryOutput {
    const table = this.requireTable(region.name, input.TableName);
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const name = (token: string) =>
      token.startsWith('#')
        ? (names[token] ??
          fault(
            'ValidationException',
            `An expression attribute name used in the document path is not defined; attribute name: ${token}`,
          ))
        : token;
    const value = (token: string) =>
      values[token] ??
      fault(
        'ValidationException',
        `An expression attribute value used in expression is not defined; attribute value: ${token}`,
      );
    const tests: ((item: Item) => boolean)[] = [];
    let candidates: Iterable<Item> = table.items.values();
    const clauses = splitKeyCondition(input.KeyConditionExpression ?? '');
    if (clauses.length === 0) fault('ValidationException', 'Query condition missed key schema element');
    for (const clause of clauses) {
      const prefixMatch = /^begins_with\s*\(\s*(\S+)\s*,\s*(\S+)\s*\)$/i.exec(clause);
      const betweenMatch = /^(\S+)\s+BETWEEN\s+(\S+)\s+AND\s+(\S+)$/i.exec(clause);
      const compareMatch = /^(\S+)\s*(=|<=|>=|<|>)\s*(\S+)$/.exec(clause);
      if (prefixMatch) {
        const [attr, prefix] = [name(prefixMatch[1]!), value(prefixMatch[2]!)];
        tests.push((item) => String(scalar(item[attr]) ?? '').startsWith(String(scalar(prefix))));
      } else if (betweenMatch) {
        const [attr, low, high] = [name(betweenMatch[1]!), value(betweenMatch[2]!), value(betweenMatch[3]!)];
        tests.push((item) => compare(item[attr], low) >= 0 && compare(item[attr], high) <= 0);
      } else if (compareMatch) {
        const [attr, op, operand] = [name(compareMatch[1]!), compareMatch[2]!, value(compareMatch[3]!)];
        if (attr === table.partitionKey && op === '=')
          candidates = table.partitions.get(partitionOf(operand))?.values() ?? [];
        tests.push((item) => {
          const c = compare(item[attr], operand);
          return op === '=' ? c === 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
        });
      } else fault('ValidationException', `Invalid KeyConditionExpression: ${clause}`);
    }
    const matching = [...candidates].filter((item) => tests.every((test) => test(item)));
    if (table.sortKey) matching.sort((a, b) => compare(a[table.sortKey!], b[table.sortKey!]));
    if (input.ScanIndexForward === false) matching.reverse();
    return this.page(table, matching, input.ExclusiveStartKey, input.Limit);
  }

  Scan(region: RegionState, input: ScanInput): ScanOutput {
    const table = this.requireTable(region.name, input.TableName);
    return this.page(table, [...table.items.values()], input.ExclusiveStartKey, input.Limit);
  }

  private page(table: Table, items: Item[], start: Item | undefined, limit: number | undefined) {
    let index = 0;
    if (start) {
      this.itemKey(table, start);
      const keyNames = [table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])];
      index = items.findIndex((item) => keyNames.every((k) => compare(item[k], start[k]) === 0)) + 1;
    }
    const out: Item[] = [];
    let bytes = 0;
    for (; index < items.length; index++) {
      if (limit !== undefined && out.length >= limit) break;
      if (bytes >= PAGE_BYTES) break;
      const item = items[index]!;
      bytes += size(item);
      out.push(structuredClone(item));
    }
    const last = out[out.length - 1];
    const more = index < items.length && last !== undefined;
    const keyOf = (item: Item) =>
      Object.fromEntries([table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])].map((k) => [k, item[k]!]));
    return {
      Items: out,
      Count: out.length,
      ScannedCount: out.length,
      LastEvaluatedKey: more ? keyOf(last) : undefined,
    };
  }
}

/** The comma-separated parts of an update expression section, keeping commas inside parentheses. */
function splitTopLevel(section: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of section) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** The clauses of a key condition, split on the `AND`s that are not part of a `BETWEEN`. */
function splitKeyCondition(expression: string): string[] {
  const tokens = expression.trim().split(/\s+AND\s+/i);
  const clauses: string[] = [];
  for (const token of tokens) {
    const previous = clauses[clauses.length - 1];
    if (previous && /\sBETWEEN\s+\S+$/i.test(previous)) clauses[clauses.length - 1] = `${previous} AND ${token}`;
    else clauses.push(token);
  }
  return clauses.map((c) => c.trim()).filter(Boolean);
}
