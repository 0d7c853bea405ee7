import { ConfigError } from '../errors';
import { freebsdProfile } from './freebsd';
import type { NamingProfile } from './types';

export * from './types';
export {
  compareBuilds,
  FREEBSD_ARCHITECTURES,
  FREEBSD_BOOT_METHODS,
  FREEBSD_DEFAULT_BOOT_METHOD,
  FREEBSD_FILE_SYSTEMS,
  FREEBSD_FLAVOURS,
  FREEBSD_PROFILE_ID,
  formatFreebsdDescription,
  formatFreebsdName,
  freebsdKeys,
  freebsdKind,
  freebsdProfile,
  freebsdSsmParameterName,
  ImageNameFormatError,
  parseFreebsdDescription,
  parseFreebsdName,
} from './freebsd';
export type { FreebsdFlavour, FreebsdNameFields } from './freebsd';

// Another OS brings its own profile by adding one entry here (and to the config schema's `naming.profile` enum).
const PROFILES = { freebsd: freebsdProfile } as const satisfies Record<string, NamingProfile>;

/** Identifier of a registered naming profile, as written in the configuration's `naming.profile`. */
export type NamingProfileId = keyof typeof PROFILES;

/** Every registered profile id. */
export const NAMING_PROFILE_IDS = Object.keys(PROFILES) as NamingProfileId[];

/** The naming profile registered under `id`; throws ConfigError for an id nobody registered. */
export function namingProfile(id: NamingProfileId): NamingProfile {
  if (!Object.hasOwn(PROFILES, id)) {
    throw new ConfigError(`unknown naming profile '${id}'; registered profiles: ${NAMING_PROFILE_IDS.join(', ')}`);
  }
  return PROFILES[id];
}
