export * from './model';
export { bootDescription, CHART_MARKS, chartLibraries, panelChartSpec, renderChartSvg } from './chart';
export { renderBootReportPage } from './page';
