import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, MiddlewareStack } from '@smithy/types';

/** Retry settings shared by every client: adaptive client-side rate limiting, bounded attempts. */
export const RETRY_DEFAULTS = { retryMode: 'adaptive', maxAttempts: 8 } as const;

/** What a client plug-in learns about the client it is added to. */
export interface ClientInfo {
  /** The service's SDK name in lower case, e.g. `ec2`, `ssm`, `sfn`. */
  readonly service: string;
  readonly region: string;
  /**
   * The client's resolved configuration. A plug-in that answers every call itself (a simulated AWS) replaces its
   * `credentials`, so that no credential provider is ever consulted, and may set `cacheMiddleware`, so that each
   * command's middleware is resolved once per client rather than on every call.
   */
  readonly config?: { credentials?: unknown; cacheMiddleware?: boolean };
}

/**
 * Adds middleware to every client the factory makes: a recorder of calls, a simulated AWS that answers them, a
 * fault injector. Applied in order, after the factory's own settings.
 */
export type ClientPlugin = (
  // biome-ignore lint/suspicious/noExplicitAny: a middleware stack of any client, whatever its input and output types
  stack: MiddlewareStack<any, any>,
  info: ClientInfo,
) => void;

export interface ClientFactoryOptions {
  readonly maxAttempts?: number;
  readonly retryMode?: 'adaptive' | 'standard';
  /** Overrides AWS_ENDPOINT_URL (which the SDK reads by itself). */
  readonly endpoint?: string;
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** A custom HTTP handler, e.g. a simulated EC2 for benchmarks. */
  readonly requestHandler?: unknown;
  /** Named profile from the shared AWS config files (CLI `--profile`). */
  readonly profile?: string;
  readonly plugins?: readonly ClientPlugin[];
}

type ClientConfig = {
  region: string;
  maxAttempts: number;
  retryMode: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  requestHandler?: never;
  profile?: string;
};

/** An SDK v3 client class, e.g. `EC2Client`. */
export type ClientClass<T> = { new (config: ClientConfig): T; readonly name: string };

/** What the factory reads from a client it made. */
interface MadeClient {
  readonly middlewareStack: MiddlewareStack<object, object>;
  readonly config: { readonly serviceId?: string; credentials?: unknown };
}

/**
 * One place that makes SDK v3 clients, one per service and region, all with the same retry policy.
 * Handlers, the CLI and tests receive a factory, so any client can be swapped for a stub or a simulation.
 * Callers name the client class (`clients.client(EC2Client, region)`), so this module imports no client and a
 * function's bundle holds only the clients its code names.
 */
export class ClientFactory {
  private readonly cache = new Map<ClientClass<unknown>, Map<string, unknown>>();

  constructor(private readonly options: ClientFactoryOptions = {}) {}

  /** The same settings with `plugins` added after the ones already there. */
  withPlugins(...plugins: ClientPlugin[]): ClientFactory {
    return new ClientFactory({ ...this.options, plugins: [...(this.options.plugins ?? []), ...plugins] });
  }

  /** The client of `ctor`'s service for `region`, made on first use with the factory's settings and plug-ins. */
  client<T>(ctor: ClientClass<T>, region: string): T {
    let byRegion = this.cache.get(ctor);
    if (!byRegion) {
      byRegion = new Map();
      this.cache.set(ctor, byRegion);
    }
    let client = byRegion.get(region) as T | undefined;
    if (!client) {
      const config: ClientConfig = {
        region,
        maxAttempts: this.options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts,
        retryMode: this.options.retryMode ?? RETRY_DEFAULTS.retryMode,
      };
      if (this.options.endpoint) config.endpoint = this.options.endpoint;
      if (this.options.credentials) config.credentials = this.options.credentials;
      if (this.options.requestHandler) config.requestHandler = this.options.requestHandler as never;
      if (this.options.profile) config.profile = this.options.profile;
      client = new ctor(config);
      const made = client as MadeClient;
      // The SDK's own service id (`EC2`, `DynamoDB`) survives minifying, unlike a class name.
      const service = (made.config.serviceId ?? ctor.name.replace(/Client$/, '')).toLowerCase();
      for (const plugin of this.options.plugins ?? []) {
        plugin(made.middlewareStack, { service, region, config: made.config });
      }
      byRegion.set(region, client);
    }
    return client;
  }
}
