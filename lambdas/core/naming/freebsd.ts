import { PipelineError } from '../errors';
import type {
  Architecture,
  FileSystem,
  ImageKind,
  ImageNameParse,
  ImageProvenance,
  NamingProfile,
  ParsedImageName,
} from './types';

// Name grammar, from freebsd-src release/Makefile.ec2 and the names it has produced over the years:
//
//   current  FreeBSD <version>-<branch>-<arch>[-YYYYMMDD] [<boot>] <flavour> <FS>     (flavoured AMIs, 14.0 on)
//   legacy   FreeBSD <version>-<branch>-<arch>[-YYYY-MM-DD]                          (until 2020)
//            FreeBSD <version>-<branch>-<arch>[-YYYYMMDD] [<boot>]                    (2021 to the 13.x line)
//
// The Makefile writes the boot method only when it is not the default. Builds from 2022-2023 always wrote it, so
// `UEFI-PREFERRED` (the default today) appears in real names such as `FreeBSD 14.0-RELEASE-amd64 UEFI-PREFERRED base
// ZFS` and `FreeBSD 13.4-RELEASE-amd64 UEFI-PREFERRED`. Keys treat it as the default, so those images share a series
// with today's names that omit it. A dashed date never came with a boot method: boot methods arrived after the
// switch to compact dates, so that pairing is rejected.

/** Profile id of FreeBSD names, as stored in `ParsedImageName.profile`. */
export const FREEBSD_PROFILE_ID = 'freebsd';
/** Architectures FreeBSD publishes AMIs for, as written in names (`TARGET`, so `arm64`, never `aarch64`). */
export const FREEBSD_ARCHITECTURES: readonly Architecture[] = ['amd64', 'arm64'];
/** Flavours of the flavoured layout (`EC2_FLAVOURS`, lower-cased in names). */
export const FREEBSD_FLAVOURS = ['base', 'cloud-init', 'small', 'builder'] as const;
export type FreebsdFlavour = (typeof FREEBSD_FLAVOURS)[number];
/** File systems, lower case as in `ParsedImageName.fs`; names write them upper case. */
export const FREEBSD_FILE_SYSTEMS: readonly FileSystem[] = ['ufs', 'zfs'];
/** Boot method tokens a name can carry (`AMIBOOTMETHOD`), kept as written. */
export const FREEBSD_BOOT_METHODS = ['UEFI', 'BIOS', 'UEFI-PREFERRED'] as const;
/** The default boot method: left out of series keys, line keys and SSM names even when a name spells it out. */
export const FREEBSD_DEFAULT_BOOT_METHOD = 'UEFI-PREFERRED';

/** The fields `format` reads: everything a parse yields except the name itself and the keys derived from it. */
export type FreebsdNameFields = Parameters<NamingProfile['format']>[0];

/** A name could not be written because the fields do not describe a name FreeBSD would produce. */
export class ImageNameFormatError extends PipelineError {
  override readonly name: string = 'ImageNameFormatError';
}

const PREFIX = 'FreeBSD';
const SNAPSHOT_BRANCHES: readonly string[] = ['CURRENT', 'STABLE'];
const PLAIN_BRANCHES: readonly string[] = ['CURRENT', 'STABLE', 'PRERELEASE', 'RELEASE'];
const NUMBERED_BRANCH = /^(ALPHA|BETA|RC)([1-9]\d*)$/;
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;
const DASHED_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const NAME_FS: Readonly<Record<string, FileSystem>> = { UFS: 'ufs', ZFS: 'zfs' };

// Thrown inside the parser only and turned into an unmanaged result, so the grammar reads top to bottom.
class Rejection {
  constructor(readonly reason: string) {}
}

function reject(reason: string): never {
  throw new Rejection(reason);
}

function isArchitecture(token: string): token is Architecture {
  return (FREEBSD_ARCHITECTURES as readonly string[]).includes(token);
}

function isFlavour(token: string): token is FreebsdFlavour {
  return (FREEBSD_FLAVOURS as readonly string[]).includes(token);
}

function isBootMethod(token: string): boolean {
  return (FREEBSD_BOOT_METHODS as readonly string[]).includes(token);
}

function isBranch(token: string): boolean {
  return PLAIN_BRANCHES.includes(token) || NUMBERED_BRANCH.test(token);
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

function checkBranch(branch: string): void {
  if (isBranch(branch)) return;
  if (/^(ALPHA|BETA|RC)\d+$/.test(branch))
    reject(`pre-release ${branch} must be numbered from 1 without leading zeros`);
  if (/^(ALPHA|BETA|RC)$/.test(branch)) reject(`pre-release ${branch} needs a number, e.g. ${branch}1`);
  if (isBranch(branch.toUpperCase())) reject(`branch must be upper case, found '${branch}'`);
  reject(`unknown branch '${branch}'`);
}

/** Release engineering stage of a branch; a PRERELEASE is a snapshot only when it carries a build date. */
export function freebsdKind(branch: string, dated: boolean): ImageKind {
  if (branch === 'RELEASE') return 'release';
  if (SNAPSHOT_BRANCHES.includes(branch)) return 'snapshot';
  if (branch === 'PRERELEASE') return dated ? 'snapshot' : 'prerelease';
  return 'prerelease';
}

interface BuildToken {
  version: string;
  branch: string;
  arch: Architecture;
  buildDate?: string;
  dateStyle?: 'dashed' | 'compact';
}

// `<version>-<branch>-<arch>[-date]`, the second word of every FreeBSD name.
function parseBuildToken(token: string): BuildToken {
  const [version = '', branch, arch, ...dateParts] = token.split('-');
  if (!/^\d+\.\d+$/.test(version)) reject(`version must look like 14.3, found '${version}'`);
  if (!VERSION.test(version)) reject(`version ${version} has a leading zero`);
  if (branch === undefined || branch === '') reject(`missing branch after version ${version}`);
  checkBranch(branch);
  if (arch !== undefined && /^p\d+$/.test(arch)) {
    reject(`patch level ${version}-${branch}-${arch} is not a build name (patched images are not managed)`);
  }
  if (arch === undefined || arch === '') reject(`missing architecture after ${version}-${branch}`);
  if (!isArchitecture(arch)) reject(`unsupported architecture ${arch}`);
  const build: BuildToken = { version, branch, arch };

  if (dateParts.length > 0) {
    const text = dateParts.join('-');
    const compact = COMPACT_DATE.exec(text);
    const dashed = DASHED_DATE.exec(text);
    const match = compact ?? dashed;
    if (!match) {
      if (/^[\d-]+$/.test(text)) reject(`build date must be YYYYMMDD, found '${text}'`);
      reject(`unexpected text '-${text}' after architecture ${arch}`);
    }
    const [, year = '', month = '', day = ''] = match;
    if (!isCalendarDate(Number(year), Number(month), Number(day))) {
      reject(`build date ${text} is not a calendar date`);
    }
    build.buildDate = `${year}-${month}-${day}`;
    build.dateStyle = compact ? 'compact' : 'dashed';
  }

  const dated = build.buildDate !== undefined;
  if (SNAPSHOT_BRANCHES.includes(branch) && !dated) reject(`snapshot branch ${branch} needs a build date`);
  if (dated && branch === 'RELEASE') reject(`release branch RELEASE must not carry a build date`);
  if (dated && NUMBERED_BRANCH.test(branch)) reject(`pre-release branch ${branch} must not carry a build date`);
  return build;
}

interface Tail {
  layout: 'current' | 'legacy';
  bootMethod?: string;
  flavour: FreebsdFlavour;
  fs: FileSystem;
}

// Words after the build token: nothing or a boot method (legacy), or `[boot] <flavour> <FS>` (current).
function parseTail(words: readonly string[]): Tail {
  let next = 0;
  let bootMethod: string | undefined;
  if (words[0] !== undefined && isBootMethod(words[0])) {
    bootMethod = words[0];
    next = 1;
  }
  if (next === words.length) return { layout: 'legacy', flavour: 'base', fs: 'ufs', bootMethod };

  const flavour = words[next]!;
  if (!isFlavour(flavour)) {
    if (isBootMethod(flavour)) reject(`more than one boot method ('${bootMethod}', '${flavour}')`);
    if (isBootMethod(flavour.toUpperCase())) reject(`boot method must be upper case, found '${flavour}'`);
    if (NAME_FS[flavour.toUpperCase()]) reject(`missing flavour before file system ${flavour}`);
    reject(`unknown flavour '${flavour}'`);
  }
  const fsWord = words[next + 1];
  if (fsWord === undefined) reject(`missing file system after flavour '${flavour}'`);
  const fs = NAME_FS[fsWord];
  if (!fs) {
    if (NAME_FS[fsWord.toUpperCase()]) reject(`file system must be upper case, found '${fsWord}'`);
    reject(`unknown file system '${fsWord}'`);
  }
  if (words.length > next + 2) reject(`trailing text '${words.slice(next + 2).join(' ')}'`);
  if (flavour === 'builder' && fs !== 'ufs') reject('builder flavour is always UFS');
  return { layout: 'current', flavour, fs, bootMethod };
}

function bootKeySuffix(bootMethod: string | undefined): string {
  return bootMethod === undefined || bootMethod === FREEBSD_DEFAULT_BOOT_METHOD ? '' : `/${bootMethod.toLowerCase()}`;
}

/**
 * Series and line keys of a FreeBSD build.
 *
 * seriesKey `<version>-<branch>/<arch>/<flavour>/<fs>[/<boot>]`: builds that replace each other.
 * lineKey: snapshots `<major>-CURRENT|STABLE/...` (a dated PRERELEASE is a build of the STABLE branch, so it joins
 * that line); releases and pre-releases `<major>-RELEASE/...`, so 14.3-BETA1, 14.3-RC2 and 14.3-RELEASE of one
 * major version form one line that `compareBuilds` orders. The boot method suffix is lower case and absent for the
 * default (`UEFI-PREFERRED`), which legacy names sometimes spell out.
 */
export function freebsdKeys(
  fields: Pick<FreebsdNameFields, 'version' | 'branch' | 'arch' | 'flavour' | 'fs' | 'bootMethod' | 'kind'>,
): { seriesKey: string; lineKey: string } {
  const rest = `${fields.arch}/${fields.flavour}/${fields.fs}${bootKeySuffix(fields.bootMethod)}`;
  const major = fields.version.split('.')[0];
  const lineBranch = fields.kind !== 'snapshot' ? 'RELEASE' : fields.branch === 'CURRENT' ? 'CURRENT' : 'STABLE';
  return { seriesKey: `${fields.version}-${fields.branch}/${rest}`, lineKey: `${major}-${lineBranch}/${rest}` };
}

/** Reads a FreeBSD AMI name; anything not exactly in one of the known layouts is unmanaged, with the reason. */
export function parseFreebsdName(name: string): ImageNameParse {
  try {
    return parseOrReject(name);
  } catch (error) {
    if (error instanceof Rejection) return { managed: false, name, reason: error.reason };
    throw error;
  }
}

function parseOrReject(name: string): ParsedImageName {
  if (name === '') reject('empty name');
  if (!/^\s*freebsd/i.test(name)) reject('not a FreeBSD image name');
  if (name.trim() !== name) reject('leading or trailing whitespace');
  if (/[^\S ]/.test(name)) reject('whitespace other than single spaces');
  if (name.includes('  ')) reject('double space');

  const [prefix, buildWord, ...tailWords] = name.split(' ');
  if (prefix !== PREFIX) {
    if (prefix?.toLowerCase() === PREFIX.toLowerCase()) reject(`prefix must be spelled 'FreeBSD', found '${prefix}'`);
    reject(`not a FreeBSD image name (prefix '${prefix}')`);
  }
  if (buildWord === undefined) reject('missing version after FreeBSD');

  const build = parseBuildToken(buildWord);
  const tail = parseTail(tailWords);
  if (tail.layout === 'current' && build.dateStyle === 'dashed') {
    reject(`build date must be YYYYMMDD in flavoured names, found '${build.buildDate}'`);
  }
  if (tail.layout === 'legacy' && build.dateStyle === 'dashed' && tail.bootMethod !== undefined) {
    reject(`boot method ${tail.bootMethod} after a dashed build date (such names were never built)`);
  }

  const kind = freebsdKind(build.branch, build.buildDate !== undefined);
  const fields = { ...build, ...tail, kind };
  return {
    managed: true,
    profile: FREEBSD_PROFILE_ID,
    name,
    ...freebsdKeys(fields),
    kind,
    version: build.version,
    branch: build.branch,
    arch: build.arch,
    flavour: tail.flavour,
    fs: tail.fs,
    ...(build.buildDate !== undefined && { buildDate: build.buildDate }),
    ...(tail.bootMethod !== undefined && { bootMethod: tail.bootMethod }),
    layout: tail.layout,
    ...(tail.layout === 'legacy' && build.dateStyle !== undefined && { legacyDateStyle: build.dateStyle }),
  };
}

const COMPARED_FIELDS = [
  'kind',
  'version',
  'branch',
  'arch',
  'flavour',
  'fs',
  'buildDate',
  'bootMethod',
  'layout',
  'legacyDateStyle',
] as const;

/**
 * Writes the name of a build. A dated legacy build without `legacyDateStyle` is written in the dashed style; fields
 * FreeBSD would never produce (or that would read back differently) throw ImageNameFormatError.
 */
export function formatFreebsdName(fields: FreebsdNameFields): string {
  if (fields.buildDate !== undefined && !DASHED_DATE.test(fields.buildDate)) {
    throw new ImageNameFormatError(
      `cannot write FreeBSD image name: buildDate must be YYYY-MM-DD, found '${fields.buildDate}'`,
    );
  }
  const legacyStyle =
    fields.layout === 'legacy' && fields.buildDate !== undefined ? (fields.legacyDateStyle ?? 'dashed') : undefined;
  const date =
    fields.buildDate === undefined
      ? ''
      : `-${legacyStyle === 'dashed' ? fields.buildDate : fields.buildDate.replaceAll('-', '')}`;
  const words = [PREFIX, `${fields.version}-${fields.branch}-${fields.arch}${date}`];
  if (fields.bootMethod !== undefined) words.push(fields.bootMethod);
  if (fields.layout === 'current') words.push(fields.flavour, fields.fs.toUpperCase());
  const name = words.join(' ');

  // Reading the result back is the one check that cannot drift from the grammar above.
  const parsed = parseFreebsdName(name);
  if (!parsed.managed) throw new ImageNameFormatError(`cannot write FreeBSD image name '${name}': ${parsed.reason}`);
  const expected: Partial<Record<(typeof COMPARED_FIELDS)[number], unknown>> = {
    ...fields,
    legacyDateStyle: fields.legacyDateStyle ?? legacyStyle,
  };
  for (const field of COMPARED_FIELDS) {
    if (parsed[field] !== expected[field]) {
      throw new ImageNameFormatError(
        `cannot write FreeBSD image name '${name}': ${field} ${JSON.stringify(expected[field])} would read back as ${JSON.stringify(parsed[field])}`,
      );
    }
  }
  return name;
}

// `FreeBSD/<arch> <branch>@<revision>`: git branches main, stable/N, releng/N.M with a hex hash; the svn era wrote
// head, stable/N, releng/N.M with a decimal revision.
const DESCRIPTION =
  /^FreeBSD\/(amd64|arm64) (main|head|stable\/[1-9]\d*|releng\/[1-9]\d*\.(?:0|[1-9]\d*))@([0-9a-f]{7,40}|[1-9]\d*)$/;

/** Provenance from an AMI description `FreeBSD/<arch> <gitbranch>@<gitrev>`; undefined for anything else. */
export function parseFreebsdDescription(description: string | undefined): ImageProvenance | undefined {
  if (description === undefined) return undefined;
  const match = DESCRIPTION.exec(description);
  if (!match) return undefined;
  return { arch: match[1]!, gitBranch: match[2]!, gitRevision: match[3]! };
}

/** Writes the description FreeBSD's release tooling gives an AMI; throws ImageNameFormatError if it would not parse. */
export function formatFreebsdDescription(provenance: ImageProvenance): string {
  const description = `${PREFIX}/${provenance.arch} ${provenance.gitBranch}@${provenance.gitRevision}`;
  if (!parseFreebsdDescription(description)) {
    throw new ImageNameFormatError(`cannot write FreeBSD image description '${description}'`);
  }
  return description;
}

/**
 * SSM parameter name `<prefix>/<arch>/<flavour>/<fs>/<version>/<branch>` (FreeBSD's layout). A build with a
 * non-default boot method gets `/<boot method lower case>` appended (e.g. `.../13.5/STABLE/uefi`), so UEFI and default
 * builds never overwrite each other while the default build keeps exactly FreeBSD's name. Legacy names map to
 * `base/ufs`, the only image they had.
 */
export function freebsdSsmParameterName(prefix: string, parsed: ParsedImageName): string {
  const base = prefix.replace(/\/+$/, '');
  return `${base}/${parsed.arch}/${parsed.flavour}/${parsed.fs}/${parsed.version}/${parsed.branch}${bootKeySuffix(parsed.bootMethod)}`;
}

// Stage of a version's life: main is CURRENT until the release branches; the stable branch is PRERELEASE before
// the betas and STABLE once the release branch has split off.
const STAGE_RANK: Readonly<Record<string, number>> = {
  CURRENT: 0,
  PRERELEASE: 1,
  ALPHA: 2,
  BETA: 3,
  RC: 4,
  RELEASE: 5,
  STABLE: 6,
};

function stageOf(branch: string): { rank: number; number: number } {
  const numbered = NUMBERED_BRANCH.exec(branch);
  if (numbered) return { rank: STAGE_RANK[numbered[1]!]!, number: Number(numbered[2]) };
  return { rank: STAGE_RANK[branch] ?? -1, number: 0 };
}

function versionParts(version: string): [number, number] {
  const [major = '0', minor = '0'] = version.split('.');
  return [Number(major), Number(minor)];
}

function compareText(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

/**
 * Orders builds oldest first (sort ascending, the newest is last): by version, then stage
 * (CURRENT < PRERELEASE < ALPHA < BETA < RC < RELEASE < STABLE, numbered stages numerically), then build date
 * (undated first), then name, so the order is total. Within one series this is build-date order.
 */
export function compareBuilds(
  a: Pick<ParsedImageName, 'version' | 'branch' | 'buildDate'> & { readonly name?: string },
  b: Pick<ParsedImageName, 'version' | 'branch' | 'buildDate'> & { readonly name?: string },
): number {
  const [aMajor, aMinor] = versionParts(a.version);
  const [bMajor, bMinor] = versionParts(b.version);
  const aStage = stageOf(a.branch);
  const bStage = stageOf(b.branch);
  return (
    aMajor - bMajor ||
    aMinor - bMinor ||
    aStage.rank - bStage.rank ||
    aStage.number - bStage.number ||
    compareText(a.branch, b.branch) ||
    compareText(a.buildDate, b.buildDate) ||
    compareText(a.name, b.name)
  );
}

/** FreeBSD's naming scheme (release/Makefile.ec2), including the legacy layouts still found in real accounts. */
export const freebsdProfile: NamingProfile = {
  id: FREEBSD_PROFILE_ID,
  parse: parseFreebsdName,
  format: formatFreebsdName,
  parseDescription: parseFreebsdDescription,
  formatDescription: formatFreebsdDescription,
  ssmParameterName: freebsdSsmParameterName,
};
