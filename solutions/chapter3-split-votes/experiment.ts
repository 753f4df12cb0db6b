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
 * The lines between `@step N` and `@end` are this chapter's exercise; in
 * the skeleton in chapters/ each is a stub until written.
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
  // @step 3
  const cluster = lab.bootCluster({ nodes: CLUSTER_SIZE, seed, electionTimeout });
  const elected = cluster.runUntil(() => cluster.leaders().length > 0, GIVE_UP_AFTER_MS);
  if (!elected) return { downtime: null, firstElectionSplit: true };
  // Terms only grow, and each has at most one leader: if the first leader
  // is not of term 1, term 1's election chose nobody.
  const leader = cluster.leaders()[0]!;
  return { downtime: cluster.now, firstElectionSplit: cluster.view(leader).currentTerm !== 1 };
  // @end
}

/**
 * One row of the table: many trials of one timeout range, summed up.
 * Downtimes are ranked shortest first, a trial with no leader counting
 * as longer than any other.
 */
export function summarize(trials: readonly TrialResult[]): TrialSummary {
  // @step 4
  // null (no leader) sorts last: it is longer than any downtime.
  const ranked = trials.map((t) => t.downtime ?? Infinity).sort((a, b) => a - b);
  // Nearest rank: the smallest downtime that at least a fraction q of the
  // trials stayed at or under.
  const atRank = (q: number): number | null => {
    const value = ranked[Math.max(0, Math.ceil(q * ranked.length) - 1)];
    return value === undefined || value === Infinity ? null : value;
  };
  return {
    runs: trials.length,
    firstElectionSplits: trials.filter((t) => t.firstElectionSplit).length,
    noLeader: trials.filter((t) => t.downtime === null).length,
    medianDowntime: atRank(0.5),
    p99Downtime: atRank(0.99),
    worstDowntime: atRank(1),
  };
  // @end
}
