import { readStack } from '../../bin/local/template';
import { synthesizeTemplate } from '../../bin/local/pipeline';
import { parseConfig } from '../../lambdas/core/config';
import { LAMBDA_SERVICE_ERRORS } from '../../lib/lambda-task';

type State = {
  Type: string;
  Resource?: string;
  Retry?: { ErrorEquals: string[] }[];
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
};

/** Every Task state of a definition, nested Map and Parallel states included. */
function tasksOf(states: Record<string, State>, into: [string, State][] = []): [string, State][] {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') into.push([name, state]);
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) tasksOf(processor.States, into);
    for (const branch of state.Branches ?? []) tasksOf(branch.States, into);
  }
  return into;
}

function definitionText(definition: unknown): string {
  const join = definition as { 'Fn::Join'?: [string, unknown[]] };
  if (!join['Fn::Join']) return String(definition);
  return join['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'x')).join('');
}

describe('every Lambda task of every workflow', () => {
  const { workflows } = readStack(synthesizeTemplate(parseConfig({})));

  test.each([...workflows.keys()])('of %s retries Lambda’s own failures, throttled invocations included', (name) => {
    const definition = JSON.parse(definitionText(workflows.get(name)!.definition)) as { States: Record<string, State> };
    const lambdaTasks = tasksOf(definition.States).filter(([, state]) => /lambda:invoke/.test(state.Resource ?? ''));

    expect(lambdaTasks.length).toBeGreaterThan(0);
    for (const [task, state] of lambdaTasks) {
      const retried = new Set((state.Retry ?? []).flatMap((r) => r.ErrorEquals));
      expect([task, LAMBDA_SERVICE_ERRORS.filter((e) => !retried.has(e))]).toEqual([task, []]);
    }
  });
});
