import { edgeRequests } from './edges';
import { describeDecision, PolicyEvaluator } from './evaluate';
import { countsByFunction, proveCalls } from './proof';
import { synthesizedTemplate } from './stack';
import { recordedWeek } from './week';

/**
 * `npm run proof`: records a week of the pipeline against the emulator, proves every call and every service edge
 * against the synthesized stack, and prints what was proven per function and action. Exits 1 on any denial.
 */
async function main(): Promise<number> {
  const template = synthesizedTemplate();
  const week = await recordedWeek(template);
  const evaluator = new PolicyEvaluator();
  const calls = await proveCalls(week.stack, week.calls, evaluator);
  const edges = await edgeRequests(week.stack);
  const edgeDecisions = await Promise.all(edges.map((e) => evaluator.evaluate(e.request, e.policies)));
  const requestsPerFunction = new Map<string, number>();
  for (const d of calls.decisions)
    requestsPerFunction.set(d.request.subject, (requestsPerFunction.get(d.request.subject) ?? 0) + 1);

  const lines: string[] = [];
  lines.push(
    `Recorded calls, proven per function and action (${week.calls.length} calls, ${calls.decisions.length} requests):`,
  );
  for (const [fn, actions] of Object.entries(countsByFunction(week.stack, week.calls)).sort()) {
    const id = fn.split(' ')[0]!;
    lines.push(`  ${fn}: ${requestsPerFunction.get(id) ?? 0} requests`);
    for (const [action, count] of Object.entries(actions).sort()) lines.push(`    ${action.padEnd(40)} ${count}`);
  }
  lines.push('', `Service edges (${edgeDecisions.length} requests):`);
  const byEdge = new Map<string, number>();
  for (const e of edges) byEdge.set(e.edge, (byEdge.get(e.edge) ?? 0) + 1);
  for (const [edge, count] of byEdge) lines.push(`  ${edge.padEnd(16)} ${count}`);
  const failures = [
    ...calls.unmapped.map((m) => `Unmapped: ${m}`),
    ...[...calls.decisions, ...edgeDecisions].filter((d) => d.result !== 'Allowed').map(describeDecision),
  ];
  lines.push('', failures.length === 0 ? 'Every request is allowed.' : `${failures.length} request(s) not allowed:`);
  lines.push(...failures.map((f) => `  ${f}`));
  process.stdout.write(`${lines.join('\n')}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
