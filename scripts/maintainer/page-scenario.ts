/**
 * One run of the world that the check plays twice: in Node.js, and in a
 * browser page (scripts/maintainer/browser-checks.ts). Principle 9 says the world's
 * core runs in both alike, and principle 1 says the same seed gives the
 * same trace: together, the two runs must write the same trace, event
 * for event.
 *
 * This file imports nothing but the world's core, so that it builds for a
 * browser page as it is.
 */
import type { CreateNode } from "../../world/contract.ts";
import { proposeEvery } from "../../scenarios/fault-scenarios.ts";
import { formatTrace } from "../../world/trace.ts";
import { World } from "../../world/world.ts";

export interface PageScenarioResult {
  /** The whole trace, as the replay command prints it. */
  readonly trace: string;
  readonly events: number;
  /** Each node's commitIndex at the end. */
  readonly committed: readonly number[];
  /** Simulated ms per real ms, for the record (not compared). */
  readonly speed: number;
}

/** How long the scenario runs, in simulated ms. */
export const PAGE_SCENARIO_MS = 20_000;

/**
 * Five nodes on a network that loses, duplicates and reorders messages;
 * a command every 100 ms; a node crashed in the middle of a step and
 * restarted; a partition and its healing. Persistence is checked, so the
 * node must be Chapter 6's or later.
 */
export function pageScenario(createNode: CreateNode, seed: number): PageScenarioResult {
  const w = new World({
    nodes: 5,
    createNode,
    seed,
    checkPersistence: true,
    network: { dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.1, reorderDelay: [20, 100] },
  });
  proposeEvery(w, { from: 500, everyMs: 100, through: PAGE_SCENARIO_MS - 2100 });
  w.at(3000, "crash the leader after its 2nd send", () => {
    const leader = w.leaders()[0];
    if (leader !== undefined) w.crashAt(leader, { when: "after", what: "send", nth: 2 });
  });
  w.at(5000, "restart the crashed", () => {
    for (const id of w.nodes) if (w.isCrashed(id)) w.restart(id);
  });
  w.at(7000, "partition", () => w.partition(["A", "B"], ["C", "D", "E"]));
  w.at(10_000, "heal", () => w.heal());
  const started = performance.now();
  w.runFor(PAGE_SCENARIO_MS);
  const real = performance.now() - started;
  return {
    trace: formatTrace(w.trace),
    events: w.trace.length,
    committed: w.nodes.map((id) => (w.isRunning(id) ? w.view(id).commitIndex : -1)),
    speed: Math.round(PAGE_SCENARIO_MS / Math.max(real, 0.001)),
  };
}
