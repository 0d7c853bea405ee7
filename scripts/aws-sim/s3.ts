import type {
  CreateBucketRequest,
  GetObjectRequest,
  HeadObjectRequest,
  ListObjectsV2Request,
  PutObjectRequest,
} from '@aws-sdk/client-s3';
import { fault } from './errors';
import { type OperationHandler, operationMethod, type RegionState, type World } from './world';

/** One stored object version: what was put, with the headers S3 keeps. */
export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly etag: string;
  readonly versionId: string;
  readonly lastModified: number;
}

interface Bucket {
  readonly name: string;
  readonly region: string;
  /** Every version of every key, oldest first: the stack's report bucket is versioned. */
  readonly objects: Map<string, StoredObject[]>;
}

// Bucket naming rules (general purpose buckets): 3-63 characters, lower case letters, digits, dots and hyphens.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// "The name for a key is a sequence of Unicode characters whose UTF-8 encoding is at most 1,024 bytes long."
const MAX_KEY_BYTES = 1024;

function bodyOf(body: PutObjectRequest['Body']): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  fault('NotImplemented', 'the simulated S3 takes string and byte bodies only', 501);
}

/** S3 buckets and versioned objects: enough for the pipeline's report pages (put, get, head, list). */
export class S3Service {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly world: World) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  CreateBucket(region: RegionState, input: CreateBucketRequest): Record<string, string> {
    const name = input.Bucket ?? '';
    if (!BUCKET_NAME.test(name) || name.includes('..'))
      fault('InvalidBucketName', 'The specified bucket is not valid.');
    const known = this.buckets.get(name);
    if (known)
      fault(
        known.region === region.name ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists',
        'The requested bucket name is not available.',
        409,
      );
    this.buckets.set(name, { name, region: region.name, objects: new Map() });
    return { Location: `/${name}` };
  }

  PutObject(_region: RegionState, input: PutObjectRequest): Record<string, string> {
    const bucket = this.requireBucket(input.Bucket);
    const key = this.requireKey(input.Key);
    const body = bodyOf(input.Body);
    const versions = bucket.objects.get(key) ?? [];
    const version = `v${String(versions.length + 1).padStart(6, '0')}`;
    const etag = `"${this.world.random(`etag:${bucket.name}:${key}:${version}`).uuid().replaceAll('-', '')}"`;
    versions.push({
      key,
      body,
      ...(input.ContentType !== undefined && { contentType: input.ContentType }),
      ...(input.CacheControl !== undefined && { cacheControl: input.CacheControl }),
      etag,
      versionId: version,
      lastModified: this.world.now(),
    });
    bucket.objects.set(key, versions);
    return { ETag: etag, VersionId: version };
  }

  GetObject(_region: RegionState, input: GetObjectRequest): Record<string, unknown> {
    const object = this.current(input.Bucket, input.Key);
    const body = object.body;
    return {
      ...this.headers(object),
      // What the SDK's streaming body offers its callers.
      Body: {
        transformToString: async (encoding: BufferEncoding = 'utf8') => body.toString(encoding),
        transformToByteArray: async () => new Uint8Array(body),
      },
    };
  }

  HeadObject(_region: RegionState, input: HeadObjectRequest): Record<string, unknown> {
    return this.headers(this.current(input.Bucket, input.Key));
  }

  ListObjectsV2(_region: RegionState, input: ListObjectsV2Request): Record<string, unknown> {
    const bucket = this.requireBucket(input.Bucket);
    const prefix = input.Prefix ?? '';
    const max = Math.min(input.MaxKeys ?? 1000, 1000);
    const after = input.ContinuationToken ?? input.StartAfter ?? '';
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    return {
      Name: bucket.name,
      Prefix: prefix,
      KeyCount: page.length,
      MaxKeys: max,
      IsTruncated: truncated,
      ...(truncated && { NextContinuationToken: page.at(-1) }),
      Contents: page.map((key) => {
        const object = bucket.objects.get(key)!.at(-1)!;
        return {
          Key: key,
          Size: object.body.length,
          ETag: object.etag,
          LastModified: new Date(object.lastModified),
        };
      }),
    };
  }

  /** Every version of an object, oldest first (for tests and inspection). */
  versions(bucketName: string, key: string): readonly StoredObject[] {
    return this.buckets.get(bucketName)?.objects.get(key) ?? [];
  }

  private headers(object: StoredObject): Record<string, unknown> {
    return {
      ContentLength: object.body.length,
      ETag: object.etag,
      VersionId: object.versionId,
      LastModified: new Date(object.lastModified),
      ...(object.contentType !== undefined && { ContentType: object.contentType }),
      ...(object.cacheControl !== undefined && { CacheControl: object.cacheControl }),
    };
  }

  private current(bucketName: string | undefined, key: string | undefined): StoredObject {
    const bucket = this.requireBucket(bucketName);
    const object = bucket.objects.get(this.requireKey(key))?.at(-1);
    if (!object) fault('NoSuchKey', 'The specified key does not exist.', 404);
    return object;
  }

  private requireBucket(name: string | undefined): Bucket {
    const bucket = name ? this.buckets.get(name) : undefined;
    if (!bucket) fault('NoSuchBucket', 'The specified bucket does not exist.', 404);
    return bucket;
  }

  private requireKey(key: string | undefined): string {
    if (!key || Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) fault('KeyTooLongError', 'Your key is too long.');
    return key;
  }
}
