/**
 * Graded seeds: what an instructor's base seed turns each published seed
 * into.
 *
 * Every many-seed test names its seeds by number (1 to 100, say): the
 * published seeds, the ones learners practise on. Graded on a base seed, the
 * number n becomes a hash of the base and n: no base reuses a published seed
 * (graded seeds start at 1 000 000, far above any published one), two bases
 * share nothing, and a seed printed in a failure says nothing about the base
 * or about any other graded seed. A short base could be found by trying
 * them all from one printed seed; `npm run gradescope` picks a long random
 * one unless told otherwise.
 */
import { createHash } from "node:crypto";

/** Graded seeds lie in [FIRST, FIRST + SPAN): above every published seed, below 2^31. */
const FIRST = 1_000_000;
const SPAN = 2_000_000_000;

/** The seed a test runs for its published seed `n`, under the base seed `base` (none: `n` itself). */
export function gradedSeed(base: string | undefined, n: number): number {
  if (base === undefined) return n;
  const digest = createHash("sha256").update(`raft-workbook graded seed\0${base}\0${n}`).digest();
  return FIRST + (digest.readUInt32BE(0) % SPAN);
}
