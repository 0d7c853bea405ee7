import { snsSubject } from './sns';
import { PipelineError } from './errors';
import type { Ec2Architecture } from './publish/model';

/** One published image: where it is, under which id, and how subscribers find it. */
export interface AnnouncedImage {
  readonly name: string;
  /** `amd64` or `arm64`, as in names. */
  readonly arch: string;
  readonly architecture: Ec2Architecture;
  /** `<version>-<branch>`, e.g. `15.0-CURRENT` (the uploader's `ReleaseVersion`). */
  readonly releaseVersion: string;
  /** `<gitbranch>@<gitrev>`, e.g. `main@a1b2c3d` (the uploader's `ImageVersion`); empty when unknown. */
  readonly imageVersion: string;
  readonly snapshot: boolean;
  /** Build date `YYYY-MM-DD` of a snapshot build. */
  readonly buildDate?: string;
  readonly ssmParameter?: string;
  /** Image id per region. */
  readonly regions: Readonly<Record<string, string>>;
  /** Regions where publishing failed this time, with why. */
  readonly missing?: Readonly<Record<string, string>>;
}

/** The uploader-compatible JSON body (`bsdec2-image-upload`'s `v1` message). */
export interface V1Message {
  readonly v1: {
    readonly ReleaseVersion: string;
    readonly ImageVersion: string;
    readonly Regions: Record<string, { Name: string; Architecture: Ec2Architecture; ImageId: string }[]>;
  };
}

/** One SNS message: a subject, a plain-text mail and the JSON body for machine subscribers. */
export interface Announcement {
  readonly subject: string;
  readonly text: string;
  readonly json: V1Message;
  /** The `Message` of an SNS Publish with `MessageStructure: 'json'`. */
  readonly message: string;
  readonly bytes: number;
}

export interface AnnouncementOptions {
  /** Prepended to every subject, e.g. `[ami-pipeline]`; may be empty. */
  readonly subjectPrefix?: string;
  /** Upper bound of the `Message` in bytes (SNS accepts 256 KiB including attributes). */
  readonly maxBytes?: number;
  /** Operating system name used in the mail, `FreeBSD` by default. */
  readonly osName?: string;
}

/** A single image in a single region does not fit into one message of the configured size. */
export class AnnouncementTooLargeError extends PipelineError {
  override readonly name: string = 'AnnouncementTooLargeError';
}

/** SNS's limit minus room for the subject and message attributes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 - 2048;
// The release tooling spells arm64 as aarch64 (TARGET_ARCH) in mail headings.
const MAIL_ARCH: Readonly<Record<string, string>> = { arm64: 'aarch64' };

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name.localeCompare(b.name);
}

function subjectFor(images: readonly AnnouncedImage[], options: AnnouncementOptions, part?: string): string {
  const first = images[0]!;
  const os = options.osName ?? 'FreeBSD';
  let subject: string;
  if (first.snapshot) {
    const [branch = first.releaseVersion, revision = ''] = first.imageVersion.split('@');
    const date = (first.buildDate ?? '').replaceAll('-', '');
    subject = `New ${os} snapshots available: ${branch} (${[date, revision].filter(Boolean).join(' ')})`;
  } else {
    subject = `New ${first.releaseVersion} AMIs`;
  }
  const full = [options.subjectPrefix, subject, part].filter(Boolean).join(' ');
  return snsSubject(full);
}

function imageSection(image: AnnouncedImage, os: string): string[] {
  const regions = Object.keys(image.regions).sort();
  const lines = [
    `${os}/${MAIL_ARCH[image.arch] ?? image.arch} EC2 AMIs of "${image.name}" are available in the following regions:`,
    '',
    ...regions.map((region) => `  ${region} region: ${image.regions[region]}`),
    '',
  ];
  if (image.ssmParameter) {
    lines.push(
      'These AMI IDs can be retrieved from the Systems Manager Parameter Store',
      'in each region using the key:',
      '',
      `\t${image.ssmParameter}`,
      '',
    );
  }
  const missing = Object.entries(image.missing ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (missing.length > 0) {
    lines.push('Not yet available in these regions (the next run retries them):', '');
    for (const [region, why] of missing) lines.push(`  ${region} region: ${why}`);
    lines.push('');
  }
  return lines;
}

function render(images: readonly AnnouncedImage[], options: AnnouncementOptions, part?: string): Announcement {
  const os = options.osName ?? 'FreeBSD';
  const first = images[0]!;
  const sorted = [...images].sort(byName);
  const version = first.imageVersion ? ` (${first.imageVersion})` : '';
  const text = [
    `New ${os} ${first.releaseVersion} images${version} are available on Amazon EC2.`,
    '',
    '=== Amazon EC2 AMI Images ===',
    '',
    ...sorted.flatMap((image) => imageSection(image, os)),
  ].join('\n');
  const regions: V1Message['v1']['Regions'] = {};
  for (const region of [...new Set(sorted.flatMap((i) => Object.keys(i.regions)))].sort()) {
    regions[region] = sorted
      .filter((image) => image.regions[region])
      .map((image) => ({ Name: image.name, Architecture: image.architecture, ImageId: image.regions[region]! }));
  }
  const json: V1Message = {
    v1: { ReleaseVersion: first.releaseVersion, ImageVersion: first.imageVersion, Regions: regions },
  };
  const body = JSON.stringify(json, null, 2);
  // Every protocol without its own key (SQS, Lambda, HTTP(S), email-json) receives `default`, the JSON body.
  const message = JSON.stringify({ default: body, email: text });
  return { subject: subjectFor(images, options, part), text, json, message, bytes: Buffer.byteLength(message, 'utf8') };
}

function regionsOnly(image: AnnouncedImage, regions: readonly string[]): AnnouncedImage {
  return { ...image, regions: Object.fromEntries(regions.map((r) => [r, image.regions[r]!])) };
}

// Splits a group until each part fits: first between images, then between the regions of one image.
function splitToFit(
  images: readonly AnnouncedImage[],
  options: AnnouncementOptions,
  maxBytes: number,
): AnnouncedImage[][] {
  if (render(images, options).bytes <= maxBytes) return [[...images]];
  if (images.length > 1) {
    const half = Math.ceil(images.length / 2);
    return [
      ...splitToFit(images.slice(0, half), options, maxBytes),
      ...splitToFit(images.slice(half), options, maxBytes),
    ];
  }
  const image = images[0]!;
  const regions = Object.keys(image.regions).sort();
  if (regions.length <= 1) {
    throw new AnnouncementTooLargeError(`the announcement of ${image.name} does not fit into ${maxBytes} bytes`);
  }
  const half = Math.ceil(regions.length / 2);
  return [
    ...splitToFit([regionsOnly(image, regions.slice(0, half))], options, maxBytes),
    ...splitToFit([{ ...regionsOnly(image, regions.slice(half)), missing: {} }], options, maxBytes),
  ];
}

/**
 * Announcements of published images, one per release version and git revision (as the uploader sends one per
 * build), split into parts when a message would exceed SNS's size limit. Images published nowhere are left out.
 */
export function renderAnnouncements(
  images: readonly AnnouncedImage[],
  options: AnnouncementOptions = {},
): Announcement[] {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const groups = new Map<string, AnnouncedImage[]>();
  for (const image of images) {
    if (Object.keys(image.regions).length === 0) continue;
    const key = `${image.releaseVersion}\u0000${image.imageVersion}`;
    groups.set(key, [...(groups.get(key) ?? []), image]);
  }
  const announcements: Announcement[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!.sort(byName);
    const parts = splitToFit(group, options, maxBytes);
    parts.forEach((part, index) => {
      const label = parts.length > 1 ? `(part ${index + 1}/${parts.length})` : undefined;
      announcements.push(render(part, options, label));
    });
  }
  return announcements;
}
