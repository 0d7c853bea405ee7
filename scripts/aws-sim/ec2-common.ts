import type { Filter, Tag } from '@aws-sdk/client-ec2';
import { fault } from './errors';

/** Field values of a resource, by EC2 filter name; `undefined` means the filter does not apply to the resource. */
export type FilterFields = (name: string) => readonly string[] | undefined;

// "You can use wildcards with the filter values: * matches zero or more characters, ? matches exactly one"
// (EC2 API reference, Filter).
function wildcard(pattern: string): RegExp | string {
  if (!/[*?]/.test(pattern)) return pattern;
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 's');
}

/** A compiled filter list: filters are ANDed, the values of one filter ORed, as EC2 applies them. */
export interface CompiledFilters {
  matches(fields: FilterFields): boolean;
  readonly count: number;
}

/**
 * Compiles `filters` for a describe call whose resources know `known` filter names (plus `tag:<key>`, `tag-key`,
 * `tag-value`). An unknown name fails the call with InvalidParameterValue, as EC2 does; more than 200 values in all
 * fail with FilterLimitExceeded ("The maximum number of filter values specified on a single call is 200").
 */
export function compileFilters(filters: readonly Filter[] | undefined, known: ReadonlySet<string>): CompiledFilters {
  const list = (filters ?? []).map((filter) => {
    const name = filter.Name ?? '';
    if (!known.has(name) && !name.startsWith('tag:') && name !== 'tag-key' && name !== 'tag-value')
      fault('InvalidParameterValue', `The filter '${name}' is invalid`);
    return { name, values: (filter.Values ?? []).map(wildcard) };
  });
  const values = list.reduce((sum, f) => sum + f.values.length, 0);
  if (values > 200)
    fault('FilterLimitExceeded', 'The maximum number of filter values specified on a single call is 200');
  return {
    count: list.length,
    matches(fields) {
      return list.every(({ name, values }) => {
        const actual = fields(name) ?? [];
        return values.some((want) =>
          actual.some((value) => (typeof want === 'string' ? value === want : want.test(value))),
        );
      });
    },
  };
}

/** Filter fields shared by every taggable resource. */
export function tagFields(tags: ReadonlyMap<string, string>, name: string): readonly string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tags.get(name.slice(4));
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return [...tags.keys()];
  if (name === 'tag-value') return [...tags.values()];
  return undefined;
}

/** Tags as the SDK returns them, or undefined when there are none (EC2 omits the element). */
export function toTagList(tags: ReadonlyMap<string, string>): Tag[] | undefined {
  if (tags.size === 0) return undefined;
  return [...tags].map(([Key, Value]) => ({ Key, Value }));
}

/** Validates and applies `tags` to a tag set: at most 50 per resource, no `aws:` prefix, bounded lengths. */
export function applyTags(target: Map<string, string>, tags: readonly Tag[] | undefined, resourceId: string): void {
  for (const tag of tags ?? []) {
    const key = tag.Key ?? '';
    if (key.length === 0 || key.length > 128) fault('InvalidParameterValue', `Tag key '${key}' is not valid`);
    if (key.toLowerCase().startsWith('aws:'))
      fault('InvalidParameterValue', "Tag keys starting with 'aws:' are reserved for internal use");
    if ((tag.Value ?? '').length > 256) fault('InvalidParameterValue', `Tag value of '${key}' is too long`);
  }
  const next = new Map(target);
  for (const tag of tags ?? []) next.set(tag.Key!, tag.Value ?? '');
  if (next.size > 50)
    fault('TagLimitExceeded', `The maximum number of tags per resource is 50 (resource ${resourceId})`);
  for (const [key, value] of next) target.set(key, value);
}

/** A page of results, with the token of the next page when more remain. */
export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

interface PageToken {
  readonly after: number;
  readonly query: string;
}

/**
 * EC2-style pagination over items in a stable order (`seq` increasing): `MaxResults` within `[min, max]`, an opaque
 * token naming the last item returned (so deletions between pages neither skip nor repeat items), and everything in
 * one answer when `MaxResults` is absent. A token from another query is refused as InvalidPaginationToken.
 */
export function paginate<T>(
  items: Iterable<T>,
  seqOf: (item: T) => number,
  request: { readonly MaxResults?: number; readonly NextToken?: string },
  query: string,
  range: { readonly min: number; readonly max: number } = { min: 5, max: 1000 },
): Page<T> {
  let after = -1;
  if (request.NextToken) {
    let token: PageToken | undefined;
    try {
      token = JSON.parse(Buffer.from(request.NextToken, 'base64url').toString('utf8')) as PageToken;
    } catch {
      token = undefined;
    }
    if (!token || typeof token.after !== 'number' || token.query !== query)
      fault('InvalidPaginationToken', `Invalid pagination token: ${request.NextToken}`);
    after = token.after;
  }
  const limit = request.MaxResults;
  if (limit !== undefined && (limit < range.min || limit > range.max))
    fault(
      'InvalidParameterValue',
      `Value ( ${limit} ) for parameter maxResults is invalid. Expecting a value between ${range.min} and ${range.max}.`,
    );
  const out: T[] = [];
  let more = false;
  for (const item of items) {
    if (seqOf(item) <= after) continue;
    if (limit !== undefined && out.length === limit) {
      more = true;
      break;
    }
    out.push(item);
  }
  if (!more) return { items: out };
  const last = seqOf(out[out.length - 1]!);
  return { items: out, nextToken: Buffer.from(JSON.stringify({ after: last, query }), 'utf8').toString('base64url') };
}

/** A stable key of a request without its paging fields, to tie tokens to the query they came from. */
export function queryKey(operation: string, request: object): string {
  const { NextToken: _token, MaxResults: _max, ...rest } = request as Record<string, unknown>;
  return `${operation}:${stableJson(rest)}`;
}

/** JSON with object keys sorted, so equal inputs give equal text whatever their key order. */
export function stableJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
