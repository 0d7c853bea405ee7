import type { ReportBoot, ReportPanel } from './model';

/** Vega-Lite mark names, so that the page (and a browser test) can find each kind of mark in the SVG. */
export const CHART_MARKS = { boots: 'boots', regressions: 'regressions' } as const;

const seconds = (value: number | undefined) => (value === undefined ? 'not seen' : `${value.toFixed(2)} s`);

/** The hover text of one boot: its build, revision, boot time and ec2-boot-bench's four intervals. */
export function bootDescription(boot: ReportBoot): string {
  return [
    `${boot.buildDate} ${boot.line}${boot.revision ? ` ${boot.revision}` : ''}: boot ${seconds(boot.bootSeconds)}`,
    `RunInstances ${seconds(boot.runInstancesSeconds)}`,
    `pending→running ${seconds(boot.pendingToRunningSeconds)}`,
    `running→port closed ${seconds(boot.runningToClosedSeconds)}`,
    `port closed→open ${seconds(boot.closedToOpenSeconds)}`,
    ...(boot.regression ? [`REGRESSION ${boot.regression}`] : []),
  ].join('; ');
}

/**
 * One point per line (instance type and flavour/file system) and week: the newest build of the week that booted,
 * so a rebuild in the same week does not draw a vertical zigzag.
 */
function weeklyPoints(panel: ReportPanel): ReportBoot[] {
  const newest = new Map<string, ReportBoot>();
  for (const boot of panel.boots) {
    if (boot.bootSeconds === undefined) continue;
    const key = `${boot.line} ${boot.week}`;
    const known = newest.get(key);
    if (!known || known.buildDate <= boot.buildDate) newest.set(key, boot);
  }
  return [...newest.values()];
}

/** The Vega-Lite specification of a panel's plot: boot time per week, a line per type and variant, regressions ringed. */
export function panelChartSpec(panel: ReportPanel, size = { width: 760, height: 280 }): Record<string, unknown> {
  const values = weeklyPoints(panel).map((boot) => ({
    week: boot.week,
    line: boot.line,
    seconds: Math.round(boot.bootSeconds! * 100) / 100,
    description: bootDescription(boot),
    regression: boot.regression !== undefined,
  }));
  const x = { field: 'week', type: 'temporal', timeUnit: 'utcyearmonthdate', title: 'week of the build' };
  const y = { field: 'seconds', type: 'quantitative', title: 'boot time (s)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${panel.branch} ${panel.arch}`,
    width: size.width,
    height: size.height,
    background: 'white',
    data: { values },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          color: { field: 'line', type: 'nominal', title: 'type and flavour/fs', scale: { scheme: 'tableau10' } },
        },
      },
      {
        name: CHART_MARKS.boots,
        mark: { type: 'point', filled: true, size: 36 },
        encoding: { x, y, color: { field: 'line', type: 'nominal' }, description: { field: 'description' } },
      },
      {
        name: CHART_MARKS.regressions,
        transform: [{ filter: 'datum.regression' }],
        mark: { type: 'point', size: 260, strokeWidth: 2.5, color: '#d62728', filled: false },
        encoding: { x, y, description: { field: 'description' } },
      },
    ],
    config: {
      font: 'system-ui, sans-serif',
      legend: { orient: 'bottom', columns: 4, labelLimit: 220 },
      axisX: { labelAngle: 0 },
    },
  };
}

/** A point's accessible label becomes a `<title>` child as well, which browsers show on hover without any script. */
function withHoverTitles(svg: string): string {
  return svg.replace(
    /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="point"([^>]*?)\/>/g,
    (_all, label: string, rest: string) =>
      `<path aria-label="${label}" role="graphics-symbol" aria-roledescription="point"${rest}><title>${label}</title></path>`,
  );
}

const loadLibraries = () => Promise.all([import('vega'), import('vega-lite')]);
let libraries: ReturnType<typeof loadLibraries> | undefined;

/**
 * Vega and Vega-Lite, loaded once on first use so that code that never draws does not pay for them. A run in virtual
 * time loads them beforehand: loading modules is real work its clock would not wait for.
 */
export function chartLibraries(): ReturnType<typeof loadLibraries> {
  libraries ??= loadLibraries();
  return libraries;
}

/**
 * Renders a Vega-Lite specification to an SVG string with Vega's headless view (no canvas, no DOM, no network).
 */
export async function renderChartSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vegaLite] = await chartLibraries();
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  // A loader that refuses everything: the data are inline, and the page must never reach the network.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`the boot report loads nothing (asked for ${uri})`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return withHoverTitles(await view.toSVG());
  } finally {
    view.finalize();
  }
}
