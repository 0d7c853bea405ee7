import type {
  DeleteParameterRequest,
  GetParameterHistoryRequest,
  GetParameterHistoryResult,
  GetParameterRequest,
  GetParameterResult,
  GetParametersByPathRequest,
  GetParametersByPathResult,
  GetParametersRequest,
  GetParametersResult,
  Parameter,
  PutParameterRequest,
  PutParameterResult,
} from '@aws-sdk/client-ssm';
import { imageStateAt } from './ec2-images';
import { fault } from './errors';
import { dateAt, getOrCreate, type OperationHandler, operationMethod, type RegionState, type World } from './world';

function emptyParameter(name: string): StoredParameter {
  return { name, versions: [], pending: [], lastVersion: 0 };
}

interface Version {
  readonly version: number;
  readonly value: string;
  readonly type: string;
  readonly dataType: string;
  readonly description?: string;
  readonly modifiedAt: number;
}

/** A write of an `aws:ec2:image` value waiting for its asynchronous validation. */
interface PendingWrite extends Omit<Version, 'modifiedAt'> {
  readonly validatesAt: number;
}

interface StoredParameter {
  readonly name: string;
  readonly versions: Version[];
  readonly pending: PendingWrite[];
  lastVersion: number;
}

/** An `aws:ec2:image` write that failed validation: the parameter kept its previous value (or was never created). */
export interface FailedValidation {
  readonly region: string;
  readonly name: string;
  readonly version: number;
  readonly value: string;
  readonly at: number;
  readonly reason: string;
}

const IMAGE_VALUE = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;
const NAME = /^[a-zA-Z0-9_.\-/]{1,1011}$/;

/** Parameter Store, with the asynchronous validation of `aws:ec2:image` values. */
export class SsmService {
  private readonly regions = new Map<string, Map<string, StoredParameter>>();
  readonly failedValidations: FailedValidation[] = [];

  constructor(
    private readonly world: World,
    private readonly regionOf: (name: string) => RegionState,
  ) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  private store(region: string): Map<string, StoredParameter> {
    return getOrCreate(this.regions, region, () => new Map<string, StoredParameter>());
  }

  /**
   * Applies the validations that are due: "If you submit an invalid AMI value, the PutParameter operation will
   * return success, but the asynchronous validation will fail and the parameter will not be created or updated"
   * (PutParameter docs). A value is valid when it names an image that is available in the region at that moment.
   */
  private settle(region: string, parameter: StoredParameter): void {
    const now = this.world.now();
    while (parameter.pending.length && parameter.pending[0]!.validatesAt <= now) {
      const write = parameter.pending.shift()!;
      const reason = this.invalidImage(region, write.value, write.validatesAt);
      if (reason) {
        this.failedValidations.push({
          region,
          name: parameter.name,
          version: write.version,
          value: write.value,
          at: write.validatesAt,
          reason,
        });
        continue;
      }
      parameter.versions.push({ ...write, modifiedAt: write.validatesAt });
    }
    if (parameter.versions.length === 0 && parameter.pending.length === 0) this.store(region).delete(parameter.name);
  }

  private invalidImage(region: string, value: string, at: number): string | undefined {
    if (!IMAGE_VALUE.test(value)) return `${value} is not an AMI id`;
    const image = this.regionOf(region).images.get(value);
    if (!image) return `${value} does not exist in ${region}`;
    const state = imageStateAt(image, at);
    if (state !== 'available') return `${value} is ${state}`;
    if (image.ownerId !== this.world.accountId && !image.public) return `${value} is not available to this account`;
    return undefined;
  }

  /** Reads a parameter with its due validations applied; undefined when it has no version yet. */
  parameter(region: string, name: string): StoredParameter | undefined {
    const parameter = this.store(region).get(name);
    if (!parameter) return undefined;
    this.settle(region, parameter);
    return parameter.versions.length ? parameter : undefined;
  }

  /** Every parameter name of the region with a version. */
  names(region: string): string[] {
    return [...this.store(region).keys()].filter((name) => this.parameter(region, name) !== undefined).sort();
  }

  private arn(region: string, name: string): string {
    return `arn:aws:ssm:${region}:${this.world.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  private toParameter(region: string, parameter: StoredParameter): Parameter {
    const latest = parameter.versions[parameter.versions.length - 1]!;
    return {
      Name: parameter.name,
      Type: latest.type as Parameter['Type'],
      Value: latest.value,
      Version: latest.version,
      LastModifiedDate: dateAt(latest.modifiedAt),
      ARN: this.arn(region, parameter.name),
      DataType: latest.dataType,
    };
  }

  /** A write made outside the API (a scenario's seed); validated at once, never asynchronously. */
  seed(region: string, name: string, value: string, dataType = 'text'): void {
    const parameter = getOrCreate(this.store(region), name, () => emptyParameter(name));
    parameter.lastVersion++;
    parameter.versions.push({
      version: parameter.lastVersion,
      value,
      type: 'String',
      dataType,
      modifiedAt: this.world.now(),
    });
  }

  PutParameter(region: RegionState, input: PutParameterRequest): PutParameterResult {
    const name = input.Name ?? '';
    if (!NAME.test(name) || /^\/?(aws|ssm)/i.test(name))
      fault(
        'ValidationException',
        `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive), and must match [a-zA-Z0-9_.-/]`,
      );
    if (name.split('/').filter(Boolean).length > 15)
      fault('HierarchyLevelLimitExceededException', 'A hierarchy can have a maximum of 15 levels.');
    if (!input.Value)
      fault(
        'ValidationException',
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    if (input.Value.length > 4096)
      fault('ValidationException', 'Standard tier parameters support a maximum parameter value of 4096 characters.');
    const store = this.store(region.name);
    const existing = store.get(name);
    if (existing) this.settle(region.name, existing);
    const current = store.get(name);
    if (current?.versions.length && !input.Overwrite)
      fault(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    const latest = current?.versions[current.versions.length - 1];
    const type = input.Type ?? latest?.type;
    if (!type) fault('ValidationException', 'A parameter type is required when you create a parameter.');
    const dataType = input.DataType ?? latest?.dataType ?? 'text';
    const parameter = getOrCreate(store, name, () => emptyParameter(name));
    const version = ++parameter.lastVersion;
    const write = {
      version,
      value: input.Value,
      type,
      dataType,
      description: input.Description ?? latest?.description,
    };
    if (dataType === 'aws:ec2:image') {
      const now = this.world.now();
      const delay = this.world.draw(this.world.physics.ssm.imageValidationMs, `ssm:${region.name}:${name}:${version}`);
      parameter.pending.push({ ...write, validatesAt: now + delay });
      if (delay <= 0) this.settle(region.name, parameter);
    } else {
      parameter.versions.push({ ...write, modifiedAt: this.world.now() });
    }
    return { Version: version, Tier: 'Standard' };
  }

  GetParameter(region: RegionState, input: GetParameterRequest): GetParameterResult {
    const parameter = this.parameter(region.name, input.Name ?? '');
    if (!parameter) fault('ParameterNotFound', `Parameter ${input.Name} not found.`);
    return { Parameter: this.toParameter(region.name, parameter) };
  }

  GetParameters(region: RegionState, input: GetParametersRequest): GetParametersResult {
    const names = input.Names ?? [];
    if (names.length > 10)
      fault(
        'ValidationException',
        `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`,
      );
    const found: Parameter[] = [];
    const invalid: string[] = [];
    for (const name of names) {
      const parameter = this.parameter(region.name, name);
      if (parameter) found.push(this.toParameter(region.name, parameter));
      else invalid.push(name);
    }
    return { Parameters: found, InvalidParameters: invalid };
  }

  GetParametersByPath(region: RegionState, input: GetParametersByPathRequest): GetParametersByPathResult {
    const path = input.Path ?? '';
    if (!path.startsWith('/'))
      fault(
        'ValidationException',
        `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/".`,
      );
    const max = input.MaxResults ?? 10;
    if (max < 1 || max > 10)
      fault(
        'ValidationException',
        `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10`,
      );
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const after = input.NextToken ? Buffer.from(input.NextToken, 'base64url').toString('utf8') : '';
    const names = this.names(region.name).filter(
      (name) =>
        name.startsWith(prefix) && (input.Recursive || !name.slice(prefix.length).includes('/')) && name > after,
    );
    const page = names.slice(0, max);
    return {
      Parameters: page.map((name) => this.toParameter(region.name, this.parameter(region.name, name)!)),
      NextToken: names.length > max ? Buffer.from(page[page.length - 1]!, 'utf8').toString('base64url') : undefined,
    };
  }

  GetParameterHistory(region: RegionState, input: GetParameterHistoryRequest): GetParameterHistoryResult {
    const parameter = this.parameter(region.name, input.Name ?? '');
    if (!parameter) fault('ParameterNotFound', `Parameter ${input.Name} not found.`);
    const max = input.MaxResults ?? 50;
    const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64url').toString('utf8')) : 0;
    const versions = parameter.versions.slice(start, start + max);
    return {
      Parameters: versions.map((v) => ({
        Name: parameter.name,
        Type: v.type as Parameter['Type'],
        Value: v.value,
        Version: v.version,
        LastModifiedDate: dateAt(v.modifiedAt),
        Description: v.description,
        DataType: v.dataType,
        Labels: [],
        Tier: 'Standard',
        Policies: [],
      })),
      NextToken:
        start + max < parameter.versions.length
          ? Buffer.from(String(start + max), 'utf8').toString('base64url')
          : undefined,
    };
  }

  DeleteParameter(region: RegionState, input: DeleteParameterRequest): Record<string, never> {
    const parameter = this.parameter(region.name, input.Name ?? '');
    if (!parameter) fault('ParameterNotFound', `Parameter ${input.Name} not found.`);
    this.store(region.name).delete(parameter.name);
    return {};
  }
}
