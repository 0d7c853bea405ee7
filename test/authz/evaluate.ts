import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AuthorizationRequest, ResourcePolicyKind } from './requests';
import type { PolicyDocument } from './template';

/** The outcome of one request: AWS's decision, or why the evaluator could not decide. */
export interface Decision {
  readonly request: AuthorizationRequest;
  readonly result: 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'Error';
  /** Context keys the evaluator dropped as not applicable to the action and resource type. */
  readonly ignoredContextKeys: readonly string[];
  readonly detail?: string;
}

/** Identity policies of the principal and a lookup for resource policies (topic and key policies). */
export interface PolicySource {
  readonly identityPolicies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  resourcePolicy(kind: ResourcePolicyKind, arn: string): PolicyDocument | undefined;
}

/**
 * Evaluates requests as AWS does (`@cloud-copilot/iam-simulate`, strict mode): identity policies of the principal,
 * the resource's policy where the request names one, same-account rules. Identical requests are evaluated once.
 */
export class PolicyEvaluator {
  private readonly cache = new Map<string, Promise<Decision>>();

  /** The decision for `request` under `policies`. */
  evaluate(request: AuthorizationRequest, policies: PolicySource): Promise<Decision> {
    const resourcePolicy = request.resourcePolicy
      ? policies.resourcePolicy(request.resourcePolicy.kind, request.resourcePolicy.arn)
      : undefined;
    const key = JSON.stringify([
      request.principal,
      request.action,
      request.resource,
      request.resourceAccount,
      request.context,
      policies.identityPolicies,
      resourcePolicy,
    ]);
    let decision = this.cache.get(key);
    if (!decision) {
      decision = this.run(request, policies, resourcePolicy);
      this.cache.set(key, decision);
    }
    return decision.then((d) => ({ ...d, request }));
  }

  private async run(
    request: AuthorizationRequest,
    policies: PolicySource,
    resourcePolicy: PolicyDocument | undefined,
  ): Promise<Decision> {
    if (request.resourcePolicy && !resourcePolicy)
      return {
        request,
        result: 'Error',
        ignoredContextKeys: [],
        detail: `no ${request.resourcePolicy.kind} policy for ${request.resourcePolicy.arn} in the template`,
      };
    const result = await runSimulation(
      {
        request: {
          principal: request.principal,
          action: request.action,
          resource: { resource: request.resource, accountId: request.resourceAccount },
          contextVariables: { ...request.context },
        },
        identityPolicies: policies.identityPolicies.map((p) => ({ name: p.name, policy: p.document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy,
      },
      { simulationMode: 'Strict' },
    );
    if (result.resultType === 'error')
      return { request, result: 'Error', ignoredContextKeys: [], detail: JSON.stringify(result.errors) };
    const ignored =
      result.resultType === 'single'
        ? (result.result.ignoredContextKeys ?? [])
        : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
    const outcome = result.overallResult;
    return {
      request,
      result:
        outcome === 'Allowed' ? 'Allowed' : outcome === 'ExplicitlyDenied' ? 'ExplicitlyDenied' : 'ImplicitlyDenied',
      ignoredContextKeys: ignored,
      detail: outcome,
    };
  }
}

/** One line naming a request and its decision, for failure messages and the printed proof. */
export function describeDecision(decision: Decision): string {
  const { request } = decision;
  const context = Object.entries(request.context)
    .filter(([key]) => !['aws:SecureTransport', 'aws:PrincipalArn', 'aws:PrincipalAccount'].includes(key))
    .map(([key, value]) => `${key}=${Array.isArray(value) ? `[${value.join(',')}]` : value}`)
    .join(' ');
  return `${decision.result}: ${request.subject} ${request.action} on ${request.resource} (${request.origin}) {${context}}${
    decision.detail && decision.result === 'Error' ? ` ${decision.detail}` : ''
  }`;
}
