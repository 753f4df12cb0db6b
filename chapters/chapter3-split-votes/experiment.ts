/**
 * Chapter 3's experiment: how long does a cluster go without a leader,
 * and how often does its first election split, for each range of
 * election timeouts?
 *
 * `npm run experiment -- split-votes` runs your trial() a thousand times
 * per timeout range, on your node.ts, hands each range's results to your
 * summarize(), and prints the rows as a table and a chart. Everything
 * runs in simulated time: a thousand trials take a second or two.
 *
 * Your part: each `TODO Step N` below. A step that only acts does nothing
 * until you write it; one that must answer something stops the run. Do
 * them in order, with the chapter's README.md beside you.
 */
import type { Lab, TrialResult, TrialSummary } from "../../world/lab.ts";

/** Five nodes, as in the paper's experiment. */
export const CLUSTER_SIZE = 5;
/** A trial with no leader after this long gives up (the table says "no leader"). */
export const GIVE_UP_AFTER_MS = 10_000;

/**
 * One trial: boot a cluster of CLUSTER_SIZE nodes that all start at the
 * same instant, with election timeouts drawn from `electionTimeout`, and
 * run it until it has a leader, or until GIVE_UP_AFTER_MS have passed.
 */
export function trial(lab: Lab, seed: number, electionTimeout: readonly [number, number]): TrialResult {
  // TODO Step 3: One trial: boot five nodes and time the first leader.
  throw new Error("Chapter 3, step 3 is not written yet: one trial: boot five nodes and time the first leader. Read step 3 in chapters/chapter3-split-votes/README.md (a hint: npm run hint -- chapter3 3).");
}

/**
 * One row of the table: many trials of one timeout range, summed up.
 * Downtimes are ranked shortest first, a trial with no leader counting
 * as longer than any other.
 */
export function summarize(trials: readonly TrialResult[]): TrialSummary {
  // TODO Step 4: Sum up the trials of one range: a row of the table.
  throw new Error("Chapter 3, step 4 is not written yet: sum up the trials of one range: a row of the table. Read step 4 in chapters/chapter3-split-votes/README.md (a hint: npm run hint -- chapter3 4).");
}
