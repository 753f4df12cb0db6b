/**
 * The lab: what an experiment's code may do with the world.
 *
 * Chapter 3's experiment is code the learner writes (chapters/chapter3-
 * split-votes/experiment.ts): boot a cluster, run it until it has a
 * leader, report what happened, then sum many such trials up in a table.
 * It gets a `Lab` to do that with, as a node gets its `env`, and imports
 * nothing from here but these types. Everything is simulated: booting a
 * five-node cluster and running it for ten simulated seconds takes a few
 * real milliseconds.
 */
import type { CreateNode, NodeId, NodeView } from "./contract.ts";
import { World } from "./world.ts";

/** What a lab's cluster is booted with. */
export interface ClusterOptions {
  /** How many nodes: 5 gives nodes A to E. */
  readonly nodes: number;
  /** The seed of the run: the same seed gives the same run. */
  readonly seed: number;
  /** The range each election timeout is drawn from: [min, max) in ms, as env.randomInt draws. */
  readonly electionTimeout: readonly [number, number];
}

/**
 * A cluster booted by a lab: every node started at time 0 with an empty
 * log, on a healthy network (each message takes 1 to 3 ms).
 */
export interface LabCluster {
  /** Simulated ms since the nodes booted. */
  readonly now: number;
  /** The nodes' ids: "A", "B", ... */
  readonly nodes: readonly NodeId[];
  /**
   * Run the world one event at a time until `condition()` is true (checked
   * after every event), or until `withinMs` more simulated ms have passed.
   * Returns whether the condition came true; `now` is then the time of the
   * event that made it true.
   */
  runUntil(condition: () => boolean, withinMs: number): boolean;
  /** Run the world for `ms` simulated ms. */
  runFor(ms: number): void;
  /** The nodes that are leaders right now (normally none or one). */
  leaders(): NodeId[];
  /** What a node says about itself (its role, term, log...). */
  view(id: NodeId): NodeView;
}

/** What an experiment is handed. */
export interface Lab {
  /** Boot a fresh cluster of the learner's nodes. */
  bootCluster(options: ClusterOptions): LabCluster;
}

/** What one trial of Chapter 3's experiment reports. */
export interface TrialResult {
  /** Simulated ms from boot to the first moment a leader existed; null if none within the trial's time. */
  readonly downtime: number | null;
  /** Whether the first election, term 1's, elected nobody (so the first leader, if any, is of term 2 or later). */
  readonly firstElectionSplit: boolean;
}

/** One row of Chapter 3's table: the trials of one timeout range, summed up. */
export interface TrialSummary {
  /** How many trials. */
  readonly runs: number;
  /** How many of them had a split first election. */
  readonly firstElectionSplits: number;
  /** How many ended with no leader at all. */
  readonly noLeader: number;
  /** The downtime half of the trials stayed at or under (nearest rank); null if that trial had no leader. */
  readonly medianDowntime: number | null;
  /** The downtime 99 % of the trials stayed at or under (nearest rank); null if that trial had no leader. */
  readonly p99Downtime: number | null;
  /** The longest downtime; null if some trial had no leader. */
  readonly worstDowntime: number | null;
}

/**
 * The world's side of an experiment's lab (see below): the sandbox
 * wraps it, so experiment code only ever holds objects of its own.
 */
export interface HostLab {
  boot(nodes: number, seed: number, electionTimeoutMin: number, electionTimeoutMax: number): HostCluster;
}

export interface HostCluster {
  readonly nodes: readonly string[];
  now(): number;
  runUntil(condition: () => boolean, withinMs: number): boolean;
  runFor(ms: number): void;
  leaders(): readonly string[];
  view(id: string): NodeView;
}

/**
 * The world's side of a lab: clusters of nodes made by `createNode`, on a
 * healthy network. `trace: false` keeps no trace (trials are many and
 * short); the guarantees are still checked after every event.
 */
export function hostLab(createNode: CreateNode, options: { readonly onBoot?: (cluster: World, options: ClusterOptions) => void; readonly traceLimit?: number } = {}): HostLab {
  return {
    boot(nodes, seed, electionTimeoutMin, electionTimeoutMax): HostCluster {
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > 26) throw new Error(`bootCluster: nodes must be a whole number from 1 to 26, not ${nodes}`);
      if (!Number.isInteger(seed)) throw new Error(`bootCluster: seed must be a whole number, not ${seed}`);
      if (!Number.isInteger(electionTimeoutMin) || !Number.isInteger(electionTimeoutMax) || electionTimeoutMin < 1 || electionTimeoutMax < electionTimeoutMin) {
        throw new Error(`bootCluster: electionTimeout must be [min, max] in whole ms with 1 <= min <= max, not [${electionTimeoutMin}, ${electionTimeoutMax}]`);
      }
      const w = new World({
        nodes,
        createNode,
        seed,
        timing: { electionTimeoutMin, electionTimeoutMax },
        traceLimit: options.traceLimit ?? 200,
      });
      options.onBoot?.(w, { nodes, seed, electionTimeout: [electionTimeoutMin, electionTimeoutMax] });
      return {
        nodes: w.nodes,
        now: () => w.now,
        runUntil: (condition, withinMs) => {
          if (!(withinMs >= 0)) throw new Error(`runUntil: withinMs must be a number of ms, not ${withinMs}`);
          return w.runUntil(condition, withinMs);
        },
        runFor: (ms) => {
          if (!(ms >= 0)) throw new Error(`runFor: ms must be a number of ms, not ${ms}`);
          w.runFor(ms);
        },
        leaders: () => w.leaders(),
        view: (id) => w.view(id),
      };
    },
  };
}
