import type { DigestSection } from '../repro/digest';

/** The digest's link to the boot-performance page written this week; informative, never a reason to look closer. */
export function bootPageDigestSection(url: string): DigestSection {
  return { lines: ['Boot-performance page (every build, every week)', `  ${url}`, ''], needsAttention: false };
}
