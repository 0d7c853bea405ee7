import { panelChartSpec, renderChartSvg } from './chart';
import type { BootReportModel, ReportBoot, ReportPanel } from './model';

function escapeHtml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const seconds = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(2));

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 62rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
nav a { margin-right: .8rem; }
figure { margin: 0; overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #eee; padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.regressions li { color: #a31515; }
.failed { color: #a31515; }
.note { color: #555; font-size: .9rem; }
summary { cursor: pointer; }
`;

function bootsTable(boots: readonly ReportBoot[]): string {
  const header = [
    'build',
    'type',
    'flavour/fs',
    'revision',
    'status',
    'RunInstances',
    'pending→running',
    'running→closed',
    'closed→open',
    'boot',
  ]
    .map((h) => `<th>${escapeHtml(h)}</th>`)
    .join('');
  const rows = [...boots]
    .reverse()
    .map(
      (b) =>
        `<tr${b.regression ? ' class="failed"' : ''}><td>${b.buildDate}</td><td>${escapeHtml(b.instanceType)}</td><td>${escapeHtml(b.variant)}</td><td>${escapeHtml(b.revision ?? '')}</td><td title="${escapeHtml(b.reason)}">${escapeHtml(b.status)}</td><td class="num">${seconds(b.runInstancesSeconds)}</td><td class="num">${seconds(b.pendingToRunningSeconds)}</td><td class="num">${seconds(b.runningToClosedSeconds)}</td><td class="num">${seconds(b.closedToOpenSeconds)}</td><td class="num">${seconds(b.bootSeconds)}</td></tr>`,
    )
    .join('\n');
  return `<table class="boots"><thead><tr>${header}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

async function panelSection(panel: ReportPanel): Promise<string> {
  const regressions = panel.boots.filter((b) => b.regression !== undefined);
  const drawn = panel.boots.some((b) => b.bootSeconds !== undefined);
  const figure = drawn
    ? `<figure class="chart" data-panel="${panel.id}">${await renderChartSvg(panelChartSpec(panel))}</figure>`
    : '<p class="note">No boot of this branch and architecture has a boot time yet.</p>';
  return [
    `<section class="panel" id="${panel.id}">`,
    `<h2>${escapeHtml(`${panel.branch} ${panel.arch}`)}</h2>`,
    figure,
    regressions.length
      ? `<ul class="regressions">${regressions.map((b) => `<li>${b.buildDate}: ${escapeHtml(b.regression!)}</li>`).join('')}</ul>`
      : '<p class="note">No regression.</p>',
    `<details><summary>Every boot with ec2-boot-bench's four intervals (${panel.boots.length})</summary>`,
    bootsTable(panel.boots),
    '</details>',
    '</section>',
  ].join('\n');
}

function failuresSection(model: BootReportModel): string {
  const title = `Failures in the week of ${model.latestWeek ?? '–'}`;
  if (model.latestFailures.length === 0)
    return `<section id="failures"><h2>${escapeHtml(title)}</h2><p class="note">No boot failed.</p></section>`;
  const rows = model.latestFailures
    .map(
      (b) =>
        `<tr><td>${escapeHtml(b.seriesKey)}</td><td>${escapeHtml(b.instanceType)}</td><td>${b.buildDate}</td><td>${escapeHtml(b.imageId)}</td><td class="failed">${escapeHtml(b.status)}</td><td>${escapeHtml(b.reason)}</td></tr>`,
    )
    .join('\n');
  return [
    '<section id="failures">',
    `<h2>${escapeHtml(title)}</h2>`,
    '<table class="failures"><thead><tr><th>series</th><th>type</th><th>build</th><th>image</th><th>status</th><th>verdict</th></tr></thead><tbody>',
    rows,
    '</tbody></table>',
    '</section>',
  ].join('\n');
}

/**
 * The boot-performance page as one self-contained HTML document: inline SVG plots (drawn with Vega-Lite at build
 * time), inline CSS, no script and a content security policy that forbids loading anything, so it works from a
 * file, a bucket or a mail attachment alike.
 */
export async function renderBootReportPage(model: BootReportModel): Promise<string> {
  const sections: string[] = [];
  for (const panel of model.panels) sections.push(await panelSection(panel));
  const nav = model.panels.map((p) => `<a href="#${p.id}">${escapeHtml(`${p.branch} ${p.arch}`)}</a>`).join('');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(model.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeHtml(model.title)}</h1>`,
    `<p class="note">Generated ${escapeHtml(model.generatedAt)} from ${model.bootCount} recorded boots; ${model.regressionCount} regression(s). Boot time is RunInstances returning to sshd accepting on port 22, measured as ec2-boot-bench does; hover a point for its four intervals, or open a table below its plot. Ringed points are regressions.</p>`,
    `<nav>${nav}<a href="#failures">failures</a></nav>`,
    '</header>',
    '<main>',
    model.panels.length ? '' : '<p class="note">No boot has been recorded yet.</p>',
    failuresSection(model),
    ...sections,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
