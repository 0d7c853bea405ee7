import type { MetricDatum, PutMetricDataInput } from '@aws-sdk/client-cloudwatch';
import type { CreateInstanceProfileRequest, CreateInstanceProfileResponse } from '@aws-sdk/client-iam';
import type { GetCallerIdentityResponse } from '@aws-sdk/client-sts';
import { fault } from './errors';
import { type OperationHandler, operationMethod, type RegionState, type World } from './world';

/** STS: who the caller is. */
export class StsService {
  constructor(private readonly world: World) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  GetCallerIdentity(): GetCallerIdentityResponse {
    return {
      UserId: 'AIDASIMULATEDAMIPIPELINE',
      Account: this.world.accountId,
      Arn: `arn:aws:iam::${this.world.accountId}:user/ami-pipeline`,
    };
  }
}

/** IAM, as far as a local deployment needs it: instance profiles exist by name (IAM is global). */
export class IamService {
  readonly instanceProfiles = new Set<string>();

  constructor(private readonly world: World) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  CreateInstanceProfile(_region: RegionState, input: CreateInstanceProfileRequest): CreateInstanceProfileResponse {
    const name = input.InstanceProfileName!;
    if (this.instanceProfiles.has(name)) fault('EntityAlreadyExists', `Instance Profile ${name} already exists.`, 409);
    this.instanceProfiles.add(name);
    return {
      InstanceProfile: {
        InstanceProfileName: name,
        InstanceProfileId: `AIPA${name
          .toUpperCase()
          .replace(/[^A-Z0-9]/g, '')
          .slice(0, 17)}`,
        Arn: `arn:aws:iam::${this.world.accountId}:instance-profile${input.Path ?? '/'}${name}`,
        Path: input.Path ?? '/',
        CreateDate: new Date(),
        Roles: [],
      },
    };
  }
}

/** A metric data point as CloudWatch received it. */
export interface ReceivedMetric {
  readonly region: string;
  readonly namespace: string;
  readonly datum: MetricDatum;
  readonly at: number;
}

/** CloudWatch PutMetricData, kept for inspection. */
export class CloudWatchService {
  readonly metrics: ReceivedMetric[] = [];

  constructor(private readonly world: World) {}

  handler(operation: string): OperationHandler | undefined {
    return operationMethod(this, operation);
  }

  PutMetricData(region: RegionState, input: PutMetricDataInput): Record<string, never> {
    // "Each PutMetricData request ... can contain up to 1000 different metrics" (PutMetricData docs).
    if ((input.MetricData?.length ?? 0) > 1000)
      fault('InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.');
    if (!input.Namespace || input.Namespace.startsWith('AWS/'))
      fault('InvalidParameterValue', 'The value AWS/ for parameter Namespace is invalid.');
    for (const datum of input.MetricData ?? [])
      this.metrics.push({ region: region.name, namespace: input.Namespace, datum, at: this.world.now() });
    return {};
  }
}
