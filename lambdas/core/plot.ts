/** One line of a boot-time chart: a series on one instance type. */
export interface PlotLine {
  readonly label: string;
  /** Build date (ISO) and boot time in seconds; regressions are drawn as red rings. */
  readonly points: readonly { readonly date: string; readonly seconds: number; readonly regression?: boolean }[];
}

export interface PlotOptions {
  readonly title: string;
  readonly width?: number;
  readonly height?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceStep(range: number): number {
  const raw = range / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw) ?? magnitude * 10;
}

/**
 * Boot time over build dates as a self-contained SVG, one line per series and instance type, so a regression shows
 * as a step that a person sees at a glance (in a browser, a mail attachment or the repository).
 */
export function renderBootTimePlot(lines: readonly PlotLine[], options: PlotOptions): string {
  const longestLabel = Math.max(0, ...lines.map((l) => l.label.length));
  const width = options.width ?? 720 + longestLabel * 7;
  const height = options.height ?? 480;
  const margin = { top: 40, right: 60 + longestLabel * 7, bottom: 50, left: 60 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const all = lines.flatMap((l) => l.points);
  const times = all.map((p) => Date.parse(`${p.date}T00:00:00Z`));
  const minTime = all.length ? Math.min(...times) : 0;
  const maxTime = all.length ? Math.max(...times) : 1;
  const maxSeconds = Math.max(1, ...all.map((p) => p.seconds));
  const step = niceStep(maxSeconds);
  const top = Math.ceil((maxSeconds * 1.05) / step) * step;
  const x = (date: string) =>
    margin.left +
    (maxTime === minTime
      ? plotWidth / 2
      : ((Date.parse(`${date}T00:00:00Z`) - minTime) / (maxTime - minTime)) * plotWidth);
  const y = (seconds: number) => margin.top + plotHeight - (seconds / top) * plotHeight;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="24" font-size="16">${escapeXml(options.title)}</text>`,
  ];
  for (let tick = 0; tick <= top + 1e-9; tick += step) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${margin.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${Number(tick.toFixed(2))} s</text>`,
    );
  }
  const dates = [...new Set(all.map((p) => p.date))].sort();
  const every = Math.max(1, Math.ceil(dates.length / 8));
  dates.forEach((date, index) => {
    if (index % every === 0)
      parts.push(
        `<text x="${x(date).toFixed(1)}" y="${height - margin.bottom + 18}" text-anchor="middle">${date}</text>`,
      );
  });
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
  );
  lines.forEach((line, index) => {
    const color = PALETTE[index % PALETTE.length];
    const points = [...line.points].sort((a, b) => a.date.localeCompare(b.date));
    if (points.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${x(p.date).toFixed(1)},${y(p.seconds).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of points) {
      parts.push(
        `<circle cx="${x(p.date).toFixed(1)}" cy="${y(p.seconds).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(line.label)} ${p.date}: ${p.seconds.toFixed(1)} s</title></circle>`,
      );
      if (p.regression)
        parts.push(
          `<circle cx="${x(p.date).toFixed(1)}" cy="${y(p.seconds).toFixed(1)}" r="7" fill="none" stroke="#d62728" stroke-width="2"/>`,
        );
    }
    const legendY = margin.top + 10 + index * 18;
    parts.push(
      `<line x1="${width - margin.right + 16}" x2="${width - margin.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${width - margin.right + 42}" y="${legendY + 4}">${escapeXml(line.label)}</text>`,
    );
  });
  if (all.length === 0)
    parts.push(
      `<text x="${margin.left + plotWidth / 2}" y="${margin.top + plotHeight / 2}" text-anchor="middle">no boot results yet</text>`,
    );
  parts.push('</svg>');
  return parts.join('\n');
}
