/** A column of a text table: header and how to read the cell from a row. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | boolean | undefined;
  readonly align?: 'left' | 'right';
}

/** Renders rows as an aligned plain-text table, as `aws --output table` users expect to scan. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => String(c.value(row) ?? '')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Prints `data` as JSON, or as the table `toTable` renders. */
export function formatOutput<T>(output: 'json' | 'table', data: T, toTable: (data: T) => string): string {
  return output === 'json' ? JSON.stringify(data, null, 2) : toTable(data);
}
