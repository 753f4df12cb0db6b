/**
 * The Raft paper's election experiment (§9.3, Figure 16; the thesis,
 * §9.4, gives the details), as one trial on the simulated world.
 *
 * Five servers. The leader is crashed at a uniformly random moment
 * within its heartbeat interval, which is half the minimum election
 * timeout; messages take 5 to 10 ms each way, so a broadcast (a request
 * to every server and the replies) takes about 15 ms; two of the four
 * survivors hold a shorter log and cannot win. Downtime runs from the
 * crash until every survivor has heard the new leader's first heartbeat.
 *
 * The paper's ranges need randomness finer than a millisecond (150-151
 * ms), and nodes draw whole numbers with env.randomInt. So the world's
 * clock counts tenths of a millisecond in this experiment: every time
 * the nodes see (timeouts, heartbeat interval, latency) is ten times the
 * paper's number, and every downtime is divided by ten when reported.
 * A node that reads its timing from env.timing, as every chapter's node
 * does, behaves exactly as it would in milliseconds.
 */
import type { CreateNode, LogEntry, NodeId, PersistentState } from "../world/contract.ts";
import { World } from "../world/world.ts";

/** World time units per millisecond in this experiment. */
export const TICKS_PER_MS = 10;

/** The paper's two graphs: the ranges of election timeouts, in ms. */
export const FIGURE16_TOP: readonly (readonly [number, number])[] = [
  [150, 150],
  [150, 151],
  [150, 155],
  [150, 175],
  [150, 200],
  [150, 300],
];
export const FIGURE16_BOTTOM: readonly (readonly [number, number])[] = [
  [12, 24],
  [25, 50],
  [50, 100],
  [100, 200],
  [150, 300],
];

/** How long a trial waits for a new leader before giving up, in ms (the paper's 150-150 line runs past 10 s). */
export const GIVE_UP_MS = 10_000;

/** One-way message latency in ms: 5 to 10, so a request and its reply take about 15 ms. */
export const LATENCY_MS: readonly [number, number] = [5, 10];

export interface Figure16Trial {
  /** ms from the crash until every survivor has heard the new leader, or null after GIVE_UP_MS. */
  readonly downtime: number | null;
  /** Why the trial could not start (no first leader), if it could not. */
  readonly stuck?: string;
}

/**
 * One trial: the nodes boot from disks that give A, B and E a longer log
 * than C and D (so C and D cannot win); A is made to stand first and
 * lead; once every node follows it, it is crashed at a uniformly random
 * moment within a heartbeat interval.
 */
export function figure16Trial(createNode: CreateNode, seed: number, range: readonly [number, number], latencyMs: readonly [number, number] = LATENCY_MS): Figure16Trial {
  const [min, max] = range;
  // randomInt's max is exclusive: 150-150 is exactly 150 ms, 150-151 anywhere in [150, 151) ms.
  const timing = { electionTimeoutMin: min * TICKS_PER_MS, electionTimeoutMax: Math.max(min, max) * TICKS_PER_MS, heartbeatInterval: (min * TICKS_PER_MS) / 2 };
  const longer: LogEntry[] = [
    { term: 1, command: "x" },
    { term: 1, command: "y" },
  ];
  const shorter: LogEntry[] = [{ term: 1, command: "x" }];
  const disk = (log: LogEntry[]): PersistentState => ({ currentTerm: 1, votedFor: null, log });
  const w = new World({
    nodes: ["A", "B", "C", "D", "E"],
    createNode,
    seed,
    timing,
    network: { latency: [latencyMs[0] * TICKS_PER_MS, latencyMs[1] * TICKS_PER_MS] },
    saved: { A: disk(longer), B: disk(longer), C: disk(shorter), D: disk(shorter), E: disk(longer) },
    // A stands first: its first timeout is the shortest possible; the others' are the longest.
    randomDraws: { A: [Math.max(1, Math.floor(timing.electionTimeoutMin / 2))], B: [timing.electionTimeoutMax], C: [timing.electionTimeoutMax], D: [timing.electionTimeoutMax], E: [timing.electionTimeoutMax] },
    traceLimit: 1,
  });
  const everyoneFollows = (leader: NodeId) => () =>
    w.nodes.every((id) => {
      const v = w.view(id);
      return id === leader ? v.role === "leader" : v.leaderId === leader && v.currentTerm === w.view(leader).currentTerm;
    });
  if (!w.runUntil(everyoneFollows("A"), 2000 * TICKS_PER_MS)) return { downtime: null, stuck: "A did not become the leader everyone follows within 2 s" };
  // A few heartbeats of steady leadership, then the crash, uniformly within one heartbeat interval.
  w.runFor(timing.heartbeatInterval * 4);
  w.runFor(randomOffset(seed, timing.heartbeatInterval));
  const crashTerm = w.view("A").currentTerm;
  const crashedAt = w.now;
  w.crash("A");
  const survivors = ["B", "C", "D", "E"];
  // The new leader, and which survivors have heard its AppendEntries in its term.
  let leader: { id: NodeId; term: number; heard: Set<NodeId> } | undefined;
  let allHeardAt: number | undefined;
  w.afterEveryStep((step) => {
    if (allHeardAt !== undefined) return;
    const view = step.after;
    if (view.role === "leader" && view.currentTerm > crashTerm && (leader === undefined || view.currentTerm > leader.term)) {
      leader = { id: step.node, term: view.currentTerm, heard: new Set([step.node]) };
    }
    if (leader !== undefined && step.input.kind === "deliver" && step.input.from === leader.id && step.input.message.type === "AppendEntries" && step.input.message.term === leader.term) {
      leader.heard.add(step.node);
      if (survivors.every((id) => leader!.heard.has(id))) allHeardAt = w.now;
    }
  });
  w.runUntil(() => allHeardAt !== undefined, GIVE_UP_MS * TICKS_PER_MS);
  return { downtime: allHeardAt === undefined ? null : (allHeardAt - crashedAt) / TICKS_PER_MS };
}

/** A whole number of ticks in [0, interval), from the trial's seed (not from any node's stream). */
function randomOffset(seed: number, interval: number): number {
  // A small, fixed hash of the seed: the trial's own randomness, independent of the nodes'.
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % Math.max(1, Math.floor(interval));
}

export interface Figure16Row {
  readonly range: readonly [number, number];
  readonly trials: number;
  /** Downtimes in ms, sorted; trials that gave up are left out and counted in gaveUp. */
  readonly downtimes: readonly number[];
  readonly gaveUp: number;
  readonly median: number | null;
  readonly mean: number | null;
  readonly p99: number | null;
  readonly worst: number | null;
}

/** Nearest-rank percentile of all trials, a trial that gave up counting as longer than any. */
function percentile(sorted: readonly number[], total: number, p: number): number | null {
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  return rank <= sorted.length ? sorted[rank - 1]! : null;
}

export function figure16Row(createNode: CreateNode, range: readonly [number, number], trials: number, latencyMs: readonly [number, number] = LATENCY_MS, firstSeed = 1): Figure16Row {
  const downtimes: number[] = [];
  let gaveUp = 0;
  for (let i = 0; i < trials; i++) {
    const trial = figure16Trial(createNode, firstSeed + i, range, latencyMs);
    if (trial.downtime === null) gaveUp++;
    else downtimes.push(trial.downtime);
  }
  downtimes.sort((a, b) => a - b);
  const mean = gaveUp > 0 || downtimes.length === 0 ? null : downtimes.reduce((a, b) => a + b, 0) / downtimes.length;
  return {
    range,
    trials,
    downtimes,
    gaveUp,
    median: percentile(downtimes, trials, 50),
    mean,
    p99: percentile(downtimes, trials, 99),
    worst: gaveUp > 0 ? null : (downtimes.at(-1) ?? null),
  };
}
