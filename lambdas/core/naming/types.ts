/** Release engineering stage of a build, which decides how long it is kept. */
export type ImageKind = 'release' | 'prerelease' | 'snapshot';

export type Architecture = 'amd64' | 'arm64';
export type FileSystem = 'ufs' | 'zfs';

/** An AMI name that a naming profile understood completely. */
export interface ParsedImageName {
  readonly managed: true;
  /** Profile that understood the name, e.g. `freebsd`. */
  readonly profile: string;
  /** The name exactly as read; `format(parsed)` gives it back. */
  readonly name: string;
  /** Groups builds that replace each other, e.g. `15.0-CURRENT/amd64/base/ufs`. */
  readonly seriesKey: string;
  /**
   * Groups snapshot builds of one development line across version bumps, e.g. `15-CURRENT/amd64/base/ufs`
   * (15.0-CURRENT and 16.0-CURRENT are different series but one line once the branch moves on).
   */
  readonly lineKey: string;
  readonly kind: ImageKind;
  /** `15.0`, `14.3` */
  readonly version: string;
  /** `CURRENT`, `STABLE`, `RELEASE`, `PRERELEASE`, `BETA2`, `RC1`, `ALPHA3` */
  readonly branch: string;
  readonly arch: Architecture;
  /** `base`, `cloud-init`, `small`, `builder` */
  readonly flavour: string;
  readonly fs: FileSystem;
  /** ISO date `YYYY-MM-DD` of a snapshot build; undefined for releases and pre-releases. */
  readonly buildDate?: string;
  /** Boot method token when not the default, e.g. `UEFI`. */
  readonly bootMethod?: string;
  /** `current` for today's layout, `legacy` for the pre-flavour `FreeBSD 12.1-STABLE-arm64-2020-04-09` layout. */
  readonly layout: 'current' | 'legacy';
  /**
   * How a dated `legacy` name wrote its build date, so it can be written back exactly: `dashed` (`-2020-04-09`, until
   * 2020) or `compact` (`-20210520`, from 2021). Absent on undated names and on `current` names (always compact).
   */
  readonly legacyDateStyle?: 'dashed' | 'compact';
}

/** A name the profile does not understand: reported, never touched. */
export interface UnmanagedImageName {
  readonly managed: false;
  readonly name: string;
  readonly reason: string;
}

export type ImageNameParse = ParsedImageName | UnmanagedImageName;

/** Git provenance read from an image description such as `FreeBSD/amd64 main@a1b2c3d`. */
export interface ImageProvenance {
  readonly arch: string;
  readonly gitBranch: string;
  readonly gitRevision: string;
}

/** The naming scheme of one operating system, as data the pipeline is parameterised by. */
export interface NamingProfile {
  readonly id: string;
  parse(name: string): ImageNameParse;
  format(parsed: Omit<ParsedImageName, 'name' | 'seriesKey' | 'lineKey' | 'managed' | 'profile'>): string;
  parseDescription(description: string | undefined): ImageProvenance | undefined;
  formatDescription(provenance: ImageProvenance): string;
  /** SSM parameter name under `prefix` for this image: `<prefix>/<arch>/<flavour>/<fs>/<version>/<branch>`. */
  ssmParameterName(prefix: string, parsed: ParsedImageName): string;
}
