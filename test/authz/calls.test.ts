import { describeDecision } from './evaluate';
import { proveCalls } from './proof';
import { conditionKeysIn, isSuppliedKey } from './requests';
import { synthesizedTemplate } from './stack';
import { type RecordedWeek, recordedWeek } from './week';

describe('every call of a recorded week is allowed by the synthesized stack, as AWS would evaluate it', () => {
  let week: RecordedWeek;
  beforeAll(async () => {
    week = await recordedWeek(synthesizedTemplate());
  });

  test('the week ran every function that calls AWS', () => {
    const ran = new Set(week.invocations.keys());
    const apiFunctions = [...week.stack.functions.values()].filter((f) => f.entry !== 'boot/probe.ts');
    expect(apiFunctions.filter((f) => !ran.has(f.logicalId)).map((f) => f.entry)).toEqual([]);
    expect(week.calls.length).toBeGreaterThan(100);
  });

  test('the instances of every instance profile made their calls: the check builder uploaded its outputs', () => {
    const callers = new Set(week.calls.map((c) => c.functionName));

    expect(week.stack.instanceRoles.size).toBeGreaterThan(0);
    expect([...week.stack.instanceRoles.keys()].filter((role) => !callers.has(role))).toEqual([]);
  });

  test('each call maps to AWS authorization requests and each request is allowed', async () => {
    const proof = await proveCalls(week.stack, week.calls);

    expect(proof.unmapped).toEqual([]);
    // Launching with an instance profile passes its role: the proof evaluates that too.
    expect(proof.decisions.filter((d) => d.request.action === 'iam:PassRole').length).toBeGreaterThan(0);
    expect(proof.decisions.filter((d) => d.result !== 'Allowed').map(describeDecision)).toEqual([]);
    expect(proof.decisions.filter((d) => d.ignoredContextKeys.length > 0).map(describeDecision)).toEqual([]);
    // The puts are the digest's boot-performance page (boot/index.html, by the digest function only) and the check
    // builder's outputs under repro/, by the check instances' role only.
    const digest = [...week.stack.functions.values()].find((f) => f.entry === 'digest/handler.ts')!;
    const [checkRole] = [...week.stack.instanceRoles.keys()];
    const puts = proof.decisions
      .filter((d) => d.request.action === 's3:PutObject')
      .map((d) => [d.request.subject, d.request.resource.replace(/^arn:aws:s3:::[^/]+\//, '')] as const);
    expect(puts.filter(([subject]) => subject === digest.logicalId)).toEqual([[digest.logicalId, 'boot/index.html']]);
    expect(puts.filter(([subject]) => subject !== digest.logicalId).length).toBeGreaterThan(0);
    expect(
      puts.filter(
        ([subject, key]) => subject !== digest.logicalId && !(subject === checkRole && key.startsWith('repro/')),
      ),
    ).toEqual([]);
  });

  test('every condition key the policies use is one the mapping supplies, so no condition passes for want of a key', () => {
    const keys = [...conditionKeysIn(week.stack.deployed.template.Resources)];

    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !isSuppliedKey(key))).toEqual([]);
  });
});
