import type { ClientPlugin } from '../../lambdas/aws/clients';
import { errorCode } from '../../lambdas/core/errors';
import { invocationInProgress } from '../../lambdas/shared/invocation';

/** A resource a call names, by its id in one region (`ami-...`, `snap-...`, `i-...`, `subnet-...`, ...). */
export interface ResourceRef {
  readonly service: string;
  readonly region: string;
  readonly id: string;
}

/** What AWS knows about a resource when a call authorizes it: the facts its condition keys are made of. */
export interface ResourceState extends ResourceRef {
  /** `image`, `snapshot`, `instance`, `volume`, `network-interface`, `subnet`, `security-group`. */
  readonly type: string;
  /** False when the resource does not exist (any more): nothing of it is known. */
  readonly exists: boolean;
  readonly tags: Readonly<Record<string, string>>;
  /** Owning account id (or `amazon`, `aws-marketplace` for images). */
  readonly owner?: string;
  /** Whether the account the calls run in owns it. */
  readonly ownedByAccount?: boolean;
  readonly public?: boolean;
  readonly availabilityZone?: string;
  readonly vpcId?: string;
  readonly subnetId?: string;
  readonly instanceType?: string;
  readonly metadataHttpTokens?: string;
  readonly rootDeviceType?: string;
  readonly imageType?: string;
  readonly volumeSize?: number;
  readonly volumeType?: string;
  readonly encrypted?: boolean;
  /** Snapshots an image is made of. */
  readonly snapshotIds?: readonly string[];
}

/** Tells the state of resources at this moment; for the emulator an admin client, a simulated AWS its own model. */
export type ResourceDescriber = (refs: readonly ResourceRef[]) => Promise<ResourceState[]>;

/** A call as the recorder sees it before it is sent. */
export interface CallInput {
  readonly service: string;
  readonly operation: string;
  readonly region: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** Which resources a call authorizes, so that their state is read before the call changes it. */
export type ReferenceFinder = (call: CallInput) => Promise<readonly ResourceRef[]> | readonly ResourceRef[];

/** One call a function made, with the state of what it touched at that moment and how it ended. */
export interface RecordedCall extends CallInput {
  readonly sequence: number;
  /** The logical id of the function's `AWS::Lambda::Function` resource. */
  readonly functionName: string;
  /**
   * The role session the call ran in, when it is not the function's: an instance role's session is named by the
   * instance id (`ROLE_SESSION_NAME_ENV` of the invocation).
   */
  readonly sessionName?: string;
  readonly resources: readonly ResourceState[];
  readonly succeeded: boolean;
  readonly output?: Readonly<Record<string, unknown>>;
  readonly errorCode?: string;
}

const EC2_ID = /^(ami|snap|i|vol|eni|subnet|sg|vpc)-[0-9a-f]{8,17}$/;

/**
 * Every EC2 id a call's input names, in the region the call goes to; `SourceImageId` lives in `SourceRegion`
 * (CopyImage is sent to the destination region).
 */
export function ec2IdsIn(call: CallInput): ResourceRef[] {
  const found = new Map<string, ResourceRef>();
  const sourceRegion = typeof call.input.SourceRegion === 'string' ? call.input.SourceRegion : call.region;
  const visit = (value: unknown, field: string): void => {
    if (typeof value === 'string') {
      if (EC2_ID.test(value)) {
        const region = field === 'SourceImageId' ? sourceRegion : call.region;
        found.set(`${region}/${value}`, { service: 'ec2', region, id: value });
      }
    } else if (Array.isArray(value)) for (const item of value) visit(item, field);
    else if (value && typeof value === 'object')
      for (const [key, inner] of Object.entries(value)) if (key !== 'Filters') visit(inner, key);
  };
  visit(call.input, '');
  return [...found.values()];
}

/** The variable of an invocation's environment that names its role session (an instance's id for an instance). */
export const ROLE_SESSION_NAME_ENV = 'AWS_ROLE_SESSION_NAME';

/**
 * Records every call a client makes inside an invocation (`runInvocation`): service, operation, region, input, the
 * state of each resource it authorizes just before it is sent (from the describer), and whether it succeeded. Calls
 * outside an invocation (seeding, reading back) are not recorded. Plug it into any `ClientFactory` with
 * `factory.withPlugins(recorder.plugin)`, whoever runs the handlers.
 */
export class CallRecorder {
  readonly calls: RecordedCall[] = [];
  private sent = 0;

  constructor(
    private readonly options: { readonly describe: ResourceDescriber; readonly references: ReferenceFinder },
  ) {}

  readonly plugin: ClientPlugin = (stack, info) => {
    stack.add(
      (next, context) => async (args) => {
        const invocation = invocationInProgress();
        if (!invocation) return next(args);
        const call: CallInput = {
          service: info.service,
          operation: String(context.commandName ?? '').replace(/Command$/, ''),
          region: info.region,
          input: (args.input ?? {}) as Record<string, unknown>,
        };
        const refs = await this.options.references(call);
        const resources = refs.length > 0 ? await this.options.describe(refs) : [];
        const sessionName = invocation.env[ROLE_SESSION_NAME_ENV];
        const base = {
          ...call,
          sequence: this.sent++,
          functionName: invocation.functionName,
          ...(sessionName && { sessionName }),
          resources,
        };
        try {
          const result = await next(args);
          this.calls.push({ ...base, succeeded: true, output: result.output as Record<string, unknown> });
          return result;
        } catch (error) {
          this.calls.push({ ...base, succeeded: false, errorCode: errorCode(error) });
          throw error;
        }
      },
      // First of all middleware, so that calls answered by stand-ins or failed by injected faults are seen too.
      { step: 'initialize', priority: 'high', name: 'callRecorder' },
    );
  };
}
