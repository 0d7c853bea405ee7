/** One line of the benchmark table: what was measured, against which bound or baseline, and how it compares. */
export interface BenchRow {
  readonly group: string;
  readonly measure: string;
  /** The bound AWS's limits imply, or the baseline measured side by side. */
  readonly reference: number;
  readonly referenceLabel: string;
  readonly result: number;
  readonly unit: string;
  /** result / reference. */
  readonly ratio: number;
  /** The target, as text (`<= 1.05`); undefined when the row only informs. */
  readonly target?: string;
  readonly met?: boolean;
  readonly note?: string;
}

/** A row whose ratio is checked against `maxRatio` (or, with `minRatio`, from below). */
export function row(
  fields: Omit<BenchRow, 'ratio' | 'met' | 'target'> & { readonly maxRatio?: number; readonly minRatio?: number },
): BenchRow {
  const { maxRatio, minRatio, ...rest } = fields;
  const ratio =
    fields.reference === 0 ? (fields.result === 0 ? 1 : Number.POSITIVE_INFINITY) : fields.result / fields.reference;
  const target = maxRatio !== undefined ? `<= ${maxRatio}` : minRatio !== undefined ? `>= ${minRatio}` : undefined;
  const met = maxRatio !== undefined ? ratio <= maxRatio : minRatio !== undefined ? ratio >= minRatio : undefined;
  return { ...rest, ratio, target, met };
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const size = Math.abs(value);
  // Three significant digits below 1 (a cost of a few cents), whole numbers from 100.
  const text =
    value === 0
      ? '0'
      : size >= 100
        ? value.toFixed(0)
        : size >= 1
          ? value.toFixed(size >= 10 ? 1 : 2)
          : value.toPrecision(3);
  return `${text} ${unit}`.trim();
}

const HEADER = ['part', 'measure', 'bound or baseline', 'result', 'ratio', 'target'] as const;

function cellsOf(r: BenchRow, missed: string): string[] {
  return [
    r.group,
    r.measure,
    `${format(r.reference, r.unit)} (${r.referenceLabel})`,
    format(r.result, r.unit),
    Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : String(r.ratio),
    r.target ? `${r.target} ${r.met ? 'met' : missed}` : '',
  ];
}

/** The table as text, one line per row, columns aligned. */
export function renderBenchTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => cellsOf(r, 'MISSED'));
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const notes = rows.filter((r) => r.note).map((r) => `${r.group}, ${r.measure}: ${r.note}`);
  return [
    line(HEADER),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    ...(notes.length ? ['', 'notes:', ...notes.map((n) => `  ${n}`)] : []),
  ].join('\n');
}

/** The table as Markdown, for the README's performance section. */
export function renderBenchMarkdown(rows: readonly BenchRow[]): string {
  const line = (values: readonly string[]) => `| ${values.map((v) => v.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...rows.map((r) => line(cellsOf(r, '**missed**')))].join('\n');
}
