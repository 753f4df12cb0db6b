/**
 * Seeded randomness with independent streams.
 *
 * The world owns one seed. Every consumer of randomness (each node's
 * election timeouts, the network) gets its own stream, derived from the
 * seed and the stream's name. Changing how often one node draws therefore
 * never shifts the numbers another node or the network sees, and adding a
 * node does not reshuffle the rest of the run.
 *
 * The generator is pure-rand's xoroshiro128+, the one fast-check uses.
 */
import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

/** FNV-1a over the stream name, mixed with the seed: a stable 32-bit stream seed. */
function streamSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  }
  // One extra avalanche round, so seeds 1 and 2 give unrelated streams.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash | 0;
}

export class RandomStream {
  private readonly generator: RandomGenerator;

  constructor(seed: number, name: string, state?: readonly number[]) {
    this.generator = state !== undefined ? xoroshiro128plusFromState(state) : xoroshiro128plus(streamSeed(seed, name));
  }

  /** A stream that goes on from where another's state is (for a node's own process, which draws as the world would). */
  static fromState(state: readonly number[]): RandomStream {
    return new RandomStream(0, "", state);
  }

  /** Where the stream is now. */
  state(): readonly number[] {
    return this.generator.getState();
  }

  /** A whole number in [min, max); min when the range is empty. */
  int(min: number, max: number): number {
    if (!(max > min + 1)) return Math.floor(min);
    return uniformInt(this.generator, Math.ceil(min), Math.ceil(max) - 1);
  }

  /** True with the given probability (0 never draws, so it costs nothing). */
  chance(probability: number): boolean {
    if (probability <= 0) return false;
    if (probability >= 1) return true;
    return uniformInt(this.generator, 0, 999_999) < probability * 1_000_000;
  }
}
