/**
 * Stands in for `vega-canvas` where the page is drawn by a bundle or a CommonJS loader (the Lambda, jest): its Node
 * build awaits an optional `canvas` package at the top level, which CommonJS cannot load. SVG output needs no canvas;
 * without one Vega estimates text widths, exactly as it does when that optional package is absent.
 */
export const canvas = (): null => null;
export const domCanvas = (): null => null;
export const nodeCanvas = (): null => null;
export const image = (): null => null;
