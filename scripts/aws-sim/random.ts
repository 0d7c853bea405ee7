/**
 * Seeded randomness for the simulated AWS. Every random draw of the model comes from a stream derived from the
 * simulation's seed and a label, so that adding draws in one part of the model (say, boot times) never changes the
 * draws of another (copy durations): a scenario stays reproducible when the model grows.
 */

/** 32-bit FNV-1a hash of a string, the seed material of derived streams. */
export function hashString(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A deterministic pseudo-random stream (sfc32), with the distributions the model draws from. */
export class Random {
  // Int32 lanes in a typed array: plain fields would box values past 2^30 on every write.
  private readonly state = new Int32Array(4);

  constructor(seed: number | string) {
    const base = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    this.state.set([0x9e3779b9, 0x243f6a88, 0xb7e15162, base]);
    // Warm-up rounds spread a small seed over the whole state.
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A uniform number in [0, 1). */
  next(): number {
    const s = this.state;
    const a = s[0]!;
    const b = s[1]!;
    const c = s[2]!;
    const d = s[3]!;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An independent stream for `label`, derived from this one's current state. */
  fork(label: string): Random {
    return new Random(hashString(`${label}#${Math.floor(this.next() * 4294967296)}`));
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A standard normal draw (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A log-normal draw with the given median and shape: a long right tail, as service times have. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `length` lower-case hexadecimal digits, the shape of EC2 resource ids. */
  hex(length: number): string {
    let out = '';
    let word = 0;
    let bytes = 0;
    while (out.length < length) {
      if (bytes === 0) {
        word = Math.floor(this.next() * 4294967296);
        bytes = 4;
      }
      out += BYTE_HEX[word & 255];
      word >>>= 8;
      bytes--;
    }
    return out.length === length ? out : out.slice(0, length);
  }

  /** A version-4-shaped UUID. */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/**
 * How a simulated duration or amount is drawn: a fixed number, a uniform or log-normal distribution (clipped to
 * `[min, max]` when given), or any function of a random stream.
 */
export type Distribution =
  | number
  | { readonly uniform: readonly [number, number] }
  | {
      readonly lognormal: { readonly median: number; readonly sigma: number };
      readonly min?: number;
      readonly max?: number;
    }
  | ((random: Random) => number);

/** One draw from `distribution`. */
export function draw(distribution: Distribution, random: Random): number {
  if (typeof distribution === 'number') return distribution;
  if (typeof distribution === 'function') return distribution(random);
  if ('uniform' in distribution) return random.uniform(distribution.uniform[0], distribution.uniform[1]);
  const value = random.lognormal(distribution.lognormal.median, distribution.lognormal.sigma);
  return Math.min(distribution.max ?? Number.POSITIVE_INFINITY, Math.max(distribution.min ?? 0, value));
}
