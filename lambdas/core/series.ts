import type { PipelineConfig } from './config';
import type { ImageNameParse, ParsedImageName } from './naming';

export type SeriesDecision =
  | { readonly managed: true; readonly parsed: ParsedImageName }
  | { readonly managed: false; readonly reason: string };

/** Whether a parsed name belongs to a series the configuration manages, and why not when it does not. */
export function classifySeries(parse: ImageNameParse, series: PipelineConfig['series']): SeriesDecision {
  if (!parse.managed) return { managed: false, reason: `unmanaged name: ${parse.reason}` };
  const major = parse.version.split('.')[0];
  if (!series.arches.includes(parse.arch))
    return { managed: false, reason: `architecture ${parse.arch} not in series.arches` };
  if (!series.filesystems.includes(parse.fs))
    return { managed: false, reason: `file system ${parse.fs} not in series.filesystems` };
  if (!(series.flavours as readonly string[]).includes(parse.flavour))
    return { managed: false, reason: `flavour ${parse.flavour} not in series.flavours` };
  const majors = new Set(series.lines.map((line) => line.split('-')[0]));
  if (parse.kind === 'snapshot') {
    const line = parse.lineKey.split('/')[0]!;
    if (!series.lines.includes(line)) return { managed: false, reason: `line ${line} not in series.lines` };
  } else {
    if (!series.includeReleases)
      return { managed: false, reason: `${parse.kind} images are excluded (series.includeReleases)` };
    if (!majors.has(major)) return { managed: false, reason: `major version ${major} has no line in series.lines` };
  }
  return { managed: true, parsed: parse };
}
