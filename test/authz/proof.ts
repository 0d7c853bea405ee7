import type { RecordedCall } from '../support/call-recorder';
import { type Decision, PolicyEvaluator, type PolicySource } from './evaluate';
import { type AuthorizationRequest, authorizationRequests, UnmappedCallError } from './requests';
import type { ProvenStack } from './stack';

/** The proof of a set of calls: every decision, and what could not be turned into requests. */
export interface CallsProof {
  readonly decisions: readonly Decision[];
  /** Calls the mapping could not account for, each with why. */
  readonly unmapped: readonly string[];
}

/**
 * The identity policies of a function's role (or of an instance role) and the stack's resource policies, as the
 * evaluator reads them.
 */
export function policiesOf(stack: ProvenStack, principalName: string): PolicySource {
  const principal = stack.principal(principalName);
  if (!principal) throw new UnmappedCallError(`${principalName} is no function or instance role of the stack`);
  if (principal.managedPolicyArns.length > 0)
    throw new UnmappedCallError(
      `${principalName}: managed policies ${principal.managedPolicyArns.join(', ')} are not modelled`,
    );
  return {
    identityPolicies: principal.policies,
    resourcePolicy: (kind, arn) => stack.resourcePolicy(kind, arn),
  };
}

/** Evaluates hand-made or edge requests under explicit policies. */
export async function decide(
  evaluator: PolicyEvaluator,
  requests: readonly AuthorizationRequest[],
  policies: (request: AuthorizationRequest) => PolicySource,
): Promise<Decision[]> {
  return Promise.all(requests.map((request) => evaluator.evaluate(request, policies(request))));
}

/**
 * Turns every recorded call into the requests AWS evaluates and decides each one against exactly the statements
 * synthesized for the function (or the instance role) that made the call, and the resource policy where AWS has one.
 */
export async function proveCalls(
  stack: ProvenStack,
  calls: readonly RecordedCall[],
  evaluator = new PolicyEvaluator(),
): Promise<CallsProof> {
  const decisions: Decision[] = [];
  const unmapped: string[] = [];
  for (const call of calls) {
    try {
      const principal = stack.principal(call.functionName);
      if (!principal) throw new UnmappedCallError(`${call.functionName} is no function or instance role of the stack`);
      const requests = await authorizationRequests(call, stack.facts, principal.roleArn);
      decisions.push(...(await decide(evaluator, requests, () => policiesOf(stack, call.functionName))));
    } catch (error) {
      if (!(error instanceof UnmappedCallError)) throw error;
      unmapped.push(error.message);
    }
  }
  return { decisions, unmapped };
}

/** Proven calls per function and action: `{ function: { 'ec2:CopyImage': 4, ... } }`. */
export function countsByFunction(
  stack: ProvenStack,
  calls: readonly RecordedCall[],
): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const call of calls) {
    const principal = stack.principal(call.functionName);
    const name = principal ? `${call.functionName} (${principal.entry})` : call.functionName;
    const action = `${call.service}:${call.operation}`;
    counts[name] ??= {};
    counts[name][action] = (counts[name][action] ?? 0) + 1;
  }
  return counts;
}
