import { edgeRequests } from './edges';
import { describeDecision, PolicyEvaluator } from './evaluate';
import { ProvenStack, synthesizedTemplate } from './stack';

describe('the services that act for the stack are allowed to, by identity and resource policies', () => {
  const stack = new ProvenStack(synthesizedTemplate());
  const evaluator = new PolicyEvaluator();

  test.each(['logs', 'tracing', 'vpc', 'alarm', 'schedule', 'state machine', 'digest'])('%s', async (kind) => {
    const edges = (await edgeRequests(stack)).filter((e) => e.edge === kind);

    const decisions = await Promise.all(edges.map((e) => evaluator.evaluate(e.request, e.policies)));

    expect(edges.length).toBeGreaterThan(0);
    expect(decisions.filter((d) => d.result !== 'Allowed').map(describeDecision)).toEqual([]);
  });
});
