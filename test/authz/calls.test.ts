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

  test('each call maps to AWS authorization requests and each request is allowed', async () => {
    const proof = await proveCalls(week.stack, week.calls);

    expect(proof.unmapped).toEqual([]);
    expect(proof.decisions.filter((d) => d.result !== 'Allowed').map(describeDecision)).toEqual([]);
    expect(proof.decisions.filter((d) => d.ignoredContextKeys.length > 0).map(describeDecision)).toEqual([]);
    // The digest's boot-performance page is among them: one put of boot/index.html, by the digest function only.
    const digest = [...week.stack.functions.values()].find((f) => f.entry === 'digest/handler.ts')!;
    const puts = proof.decisions.filter((d) => d.request.action === 's3:PutObject');
    expect(puts.map((d) => [d.request.subject, d.request.resource.replace(/^arn:aws:s3:::[^/]+\//, '')])).toEqual([
      [digest.logicalId, 'boot/index.html'],
    ]);
  });

  test('every condition key the policies use is one the mapping supplies, so no condition passes for want of a key', () => {
    const keys = [...conditionKeysIn(week.stack.deployed.template.Resources)];

    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((key) => !isSuppliedKey(key))).toEqual([]);
  });
});
