import * as cloudwatch from '@aws-sdk/client-cloudwatch';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as ec2 from '@aws-sdk/client-ec2';
import * as iam from '@aws-sdk/client-iam';
import * as s3 from '@aws-sdk/client-s3';
import * as sns from '@aws-sdk/client-sns';
import * as ssm from '@aws-sdk/client-ssm';
import * as sts from '@aws-sdk/client-sts';

/** Services the simulation answers; every other client's calls pass through to the next handler. */
export const SIMULATED_SERVICES = ['ec2', 'ssm', 'sns', 'dynamodb', 'sts', 'cloudwatch', 'iam', 's3'] as const;
export type SimulatedService = (typeof SIMULATED_SERVICES)[number];

/** An error as a service answers it: its code, message, HTTP status and who is at fault. */
export interface AwsErrorSpec {
  readonly code: string;
  readonly message?: string;
  /** Defaults to 400 for client faults and 500 for server faults. */
  readonly status?: number;
  readonly fault?: 'client' | 'server';
}

type ServiceExceptionClass = new (options: {
  name?: string;
  $fault?: 'client' | 'server';
  $metadata: Record<string, unknown>;
  message?: string;
}) => Error;

const MODULES: Record<SimulatedService, { base: ServiceExceptionClass; exports: Record<string, unknown> }> = {
  ec2: { base: ec2.EC2ServiceException as never, exports: ec2 },
  ssm: { base: ssm.SSMServiceException as never, exports: ssm },
  sns: { base: sns.SNSServiceException as never, exports: sns },
  dynamodb: { base: dynamodb.DynamoDBServiceException as never, exports: dynamodb },
  sts: { base: sts.STSServiceException as never, exports: sts },
  cloudwatch: { base: cloudwatch.CloudWatchServiceException as never, exports: cloudwatch },
  iam: { base: iam.IAMServiceException as never, exports: iam },
  s3: { base: s3.S3ServiceException as never, exports: s3 },
};

/**
 * The error the SDK would throw for `spec`: the service's modelled exception class when it has one (SNS's `Throttled`
 * is a `ThrottledException`, SSM's `ParameterNotFound` a `ParameterNotFound`), else the service's base exception named
 * after the code, as the SDK does for EC2, whose errors are not modelled. `name` is what the retry strategy reads, and
 * `Code` is kept as the SDK keeps it.
 */
export function awsError(service: SimulatedService, spec: AwsErrorSpec, requestId: string): Error {
  const fault = spec.fault ?? ((spec.status ?? 400) >= 500 ? 'server' : 'client');
  const $metadata = { httpStatusCode: spec.status ?? (fault === 'server' ? 500 : 400), requestId, attempts: 1 };
  const message = spec.message ?? spec.code;
  const { base, exports } = MODULES[service];
  const modelled = [spec.code, `${spec.code}Exception`]
    .map((name) => exports[name])
    .find((candidate): candidate is ServiceExceptionClass => isSubclass(candidate, base));
  const error = modelled
    ? new modelled({ $metadata, message })
    : new base({ name: spec.code, $fault: fault, $metadata, message });
  Object.assign(error, { Code: spec.code, $fault: fault });
  return error;
}

function isSubclass(candidate: unknown, base: ServiceExceptionClass): boolean {
  return typeof candidate === 'function' && candidate.prototype instanceof base;
}

/** Thrown by a model handler: the service answers with this error. */
export class ServiceFault extends Error {
  constructor(readonly spec: AwsErrorSpec) {
    super(spec.message ?? spec.code);
    this.name = 'ServiceFault';
  }
}

/** Fails the call being answered with `code` (a client fault, HTTP 400, unless `status` says otherwise). */
export function fault(code: string, message: string, status = 400): never {
  throw new ServiceFault({ code, message, status });
}

/** A call the simulation does not model: a gap in the simulation, never an AWS answer. */
export class SimulationGapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationGapError';
  }
}
