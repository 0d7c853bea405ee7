import { BENCH_PARTS, runBench } from '../../bench/run';
import { type BenchRow, renderBenchMarkdown, renderBenchTable } from '../../bench/table';

// Every part of the bench at its small size, as `npm run bench -- --small` runs it: the table's shape and the targets
// that do not depend on time. Wall and virtual times are measured by the full run, never asserted here.

let rows: BenchRow[];

beforeAll(async () => {
  rows = await runBench('small');
}, 120_000);

const find = (group: string, measure: string) => {
  const found = rows.find((r) => r.group.startsWith(group) && r.measure === measure);
  if (!found)
    throw new Error(`no row ${group} / ${measure} in ${rows.map((r) => `${r.group} / ${r.measure}`).join('; ')}`);
  return found;
};

describe('the bench at its small size', () => {
  test('every part contributes rows, in the order of the parts', () => {
    const firstGroupWord = rows.map((r) => r.group.split(' ')[0]!);
    const partsSeen = [...new Set(firstGroupWord)];

    expect(Object.keys(BENCH_PARTS)).toEqual(['prune', 'publish', 'boot', 'cost', 'bundles']);
    expect(partsSeen).toEqual(['prune', 'publish', 'boot', 'cost', 'bundle']);
  });

  test('every row has a finite reference and result, a ratio, and a verdict when it has a target', () => {
    for (const r of rows) {
      const label = `${r.group} / ${r.measure}`;
      expect([label, Number.isFinite(r.reference), Number.isFinite(r.result)]).toEqual([label, true, true]);
      expect([label, Number.isNaN(r.ratio)]).toEqual([label, false]);
      expect([label, r.target === undefined ? undefined : typeof r.met]).toEqual([
        label,
        r.target === undefined ? undefined : 'boolean',
      ]);
    }
    // The notes on rows that have them follow the table after a blank line.
    const lines = renderBenchTable(rows).split('\n');
    const table = lines.includes('') ? lines.slice(0, lines.indexOf('')) : lines;
    expect(table).toHaveLength(rows.length + 2);
    for (const line of renderBenchMarkdown(rows).split('\n').slice(2))
      expect(line.replaceAll('\\|', '').split('|')).toHaveLength(8);
  });

  test('prune: survivors exactly the expected set, no error surfaced', () => {
    expect(find('prune', 'survivors not the expected set').result).toBe(0);
    expect(find('prune', 'errors surfaced').result).toBe(0);
  });

  test('publish: every image public in every region, the history far under its cap', () => {
    expect(find('publish', 'images public').met).toBe(true);
    expect(find('publish', 'history events per execution').met).toBe(true);
  });

  test('boot test: every launch passed', () => {
    expect(find('boot test', 'launches passed').met).toBe(true);
  });

  test('cost: the cycle within its budget, storage saved', () => {
    expect(find('cost', 'total per cycle').met).toBe(true);
    expect(find('cost', 'snapshot storage saved per month').result).toBeGreaterThan(0);
  });
});
