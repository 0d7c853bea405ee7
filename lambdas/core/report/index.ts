export * from './model';
export { bootDescription, CHART_MARKS, panelChartSpec, renderChartSvg } from './chart';
export { renderBootReportPage } from './page';
