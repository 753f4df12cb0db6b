/**
 * npm run experiment -- split-votes [--runs N] [--solutions | --node FILE]
 * npm run experiment -- speed [--solutions | --node FILE]
 *
 * split-votes: Chapter 3's experiment, after §9.3 of the Raft paper. Five
 *   nodes boot at the same instant (as after a leader crash right after a
 *   heartbeat), with election timeouts drawn from 150-150, 150-155,
 *   150-175, 150-200 and 150-300 ms (whole milliseconds, so the paper's
 *   150-151 would be a fixed timeout here). For each range and many
 *   seeds it measures how often the first election splits (nobody wins
 *   term 1) and how long the cluster goes without a leader.
 *
 * speed: how many simulated milliseconds the world runs per real
 *   millisecond, for a five-node cluster over ten simulated minutes with
 *   a client proposing a command every 100 ms.
 *
 * split-votes runs your node (chapters/chapter3-split-votes/node.ts) by
 * default; speed runs the Chapter 5 reference unless given --node.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import type { CreateNode } from "../world/contract.ts";
import { World, type NetworkSettings } from "../world/world.ts";
import { PROJECT_ROOT } from "./chapters.mjs";
import { didYouMean, helpText, isMain, parseCommand, runMain, UsageError, wholeOption } from "./cli.mjs";
import { loadNodeProgram, runWithRealTimeLimit } from "../world/sandbox.ts";


/** Give up on a trial after this long without a leader. */
const GIVE_UP_MS = 10_000;
const CLUSTER_SIZE = 5;
/** Real time one trial may take (trials take milliseconds; a longer one is a node that loops). */
const TRIAL_LIMIT_MS = 5000;

export interface RangeResult {
  readonly label: string;
  readonly runs: number;
  readonly splitFirst: number;
  readonly downtimes: readonly number[];
  readonly neverElected: number;
}

/** One trial: boot five nodes together and time the first leader. */
function trial(createNode: CreateNode, seed: number, min: number, max: number, network?: Partial<NetworkSettings>): { downtime: number; splitFirst: boolean } {
  const w = new World({
    nodes: CLUSTER_SIZE,
    createNode,
    seed,
    timing: { electionTimeoutMin: min, electionTimeoutMax: max },
    ...(network ? { network } : {}),
    traceLimit: 200,
  });
  // A node that never returns stops the experiment with a message that says where.
  const elected = runWithRealTimeLimit(TRIAL_LIMIT_MS, () => w.runUntil(() => w.leaders().length > 0, GIVE_UP_MS));
  const firstLeaderTerm = elected ? w.view(w.leaders()[0]!).currentTerm : Infinity;
  return { downtime: elected ? w.now : Infinity, splitFirst: firstLeaderTerm !== 1 };
}

export const RANGES: readonly (readonly [number, number])[] = [
  [150, 150],
  [150, 155],
  [150, 175],
  [150, 200],
  [150, 300],
];

export function splitVoteExperiment(createNode: CreateNode, runs: number, network?: Partial<NetworkSettings>): RangeResult[] {
  return RANGES.map(([min, max]) => {
    // The paper ran 100 trials for the fixed timeout (each one takes long) and 1000 for the others.
    const n = min === max ? Math.max(1, Math.round(runs / 10)) : runs;
    const downtimes: number[] = [];
    let splitFirst = 0;
    for (let seed = 1; seed <= n; seed++) {
      const result = trial(createNode, seed, min, max, network);
      downtimes.push(result.downtime);
      if (result.splitFirst) splitFirst++;
    }
    downtimes.sort((a, b) => a - b);
    return { label: `${min}-${max} ms`, runs: n, splitFirst, downtimes, neverElected: downtimes.filter((d) => d === Infinity).length };
  });
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function ms(value: number): string {
  return value === Infinity ? `>${GIVE_UP_MS / 1000} s` : `${Math.round(value)} ms`;
}

export function splitVoteTable(results: readonly RangeResult[]): string {
  const header = ["timeouts", "runs", "1st election split", "median downtime", "99th pct", "worst", "no leader in 10 s"];
  const rows = results.map((r) => [
    r.label,
    String(r.runs),
    `${((100 * r.splitFirst) / r.runs).toFixed(1)} %`,
    ms(quantile(r.downtimes, 0.5)),
    ms(quantile(r.downtimes, 0.99)),
    ms(r.downtimes.at(-1)!),
    `${r.neverElected} of ${r.runs}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** Median downtime as bars on a log scale, from 100 ms to 10 s. */
export function splitVoteChart(results: readonly RangeResult[]): string {
  const width = 50;
  const position = (value: number) => Math.round((width * Math.log10(Math.min(Math.max(value, 100), GIVE_UP_MS) / 100)) / Math.log10(GIVE_UP_MS / 100));
  const lines = ["median downtime (log scale)", `${"".padEnd(12)} 100 ms${" ".repeat(width / 2 - 8)}1 s${" ".repeat(width / 2 - 5)}10 s`];
  for (const r of results) {
    const median = quantile(r.downtimes, 0.5);
    const p99 = quantile(r.downtimes, 0.99);
    const bar = "█".repeat(Math.max(1, position(median)));
    const tail = "░".repeat(Math.max(0, position(p99) - position(median)));
    lines.push(`${r.label.padEnd(12)} ${bar}${tail} ${ms(median)}`);
  }
  lines.push(`${"".padEnd(12)} █ median   ░ up to the 99th percentile`);
  return lines.join("\n");
}

/**
 * The node an experiment runs, loaded into the sandbox as the graded
 * suites load it (a node that loops or throws is stopped the same way).
 */
function loadNode(file: string): { createNode: CreateNode; label: string } {
  const program = loadNodeProgram(file, PROJECT_ROOT);
  return { createNode: program.instantiate(), label: program.label };
}

/** Simulated ms per real ms for five nodes over ten simulated minutes, with a client proposing every `everyMs` (or never). */
function measureSpeed(createNode: CreateNode, everyMs: number | undefined): { ratio: number; real: number; committed: number } {
  const simulated = 10 * 60 * 1000;
  const w = new World({ nodes: 5, createNode, seed: 1, traceLimit: 1000 });
  let next = 1;
  if (everyMs !== undefined) {
    for (let t = 500; t < simulated; t += everyMs) {
      w.at(t, "client", () => {
        const leader = w.leaders()[0];
        if (leader !== undefined) w.propose(leader, `c${next++}`);
      });
    }
  }
  const started = performance.now();
  runWithRealTimeLimit(120_000, () => w.runFor(simulated));
  const real = performance.now() - started;
  return { ratio: simulated / real, real, committed: Math.max(...w.nodes.map((id) => w.view(id).commitIndex)) };
}

function speed(createNode: CreateNode, label: string): string {
  const idle = measureSpeed(createNode, undefined);
  const busy = measureSpeed(createNode, 100);
  return [
    `${label}, 5 nodes, 10 simulated minutes, every guarantee checked after every event:`,
    `  idle (heartbeats only):            ${Math.round(idle.real)} ms of real time, ${Math.round(idle.ratio)} simulated ms per real ms`,
    `  a client command every 100 ms:     ${Math.round(busy.real)} ms of real time, ${Math.round(busy.ratio)} simulated ms per real ms (${busy.committed} entries committed)`,
  ].join("\n");
}

const COMMAND = {
  usage: "npm run experiment -- split-votes|speed [--runs N] [--solutions | --node FILE]",
  options: {
    runs: { type: "string" as const, value: "N", help: "trials per timeout range (split-votes; default 1000)" },
    ...(existsSync(path.join(PROJECT_ROOT, "solutions"))
      ? { solutions: { type: "boolean" as const, help: "run the reference solution (split-votes: Chapter 3's; speed always runs the Chapter 5 reference unless --node)" } }
      : {}),
    node: { type: "string" as const, value: "FILE", help: "run this node file" },
  },
  more: "Experiments:\n  split-votes  Chapter 3: how long five nodes go without a leader, per timeout range\n  speed        simulated ms per real ms, idle and busy",
};

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  const which = positionals[0];
  if (positionals.length !== 1 || (which !== "split-votes" && which !== "speed")) {
    const guess = which === undefined ? undefined : didYouMean(which, ["split-votes", "speed"]);
    throw new UsageError(`Which experiment?${guess ? ` Did you mean ${guess}?` : ""}\n\n${helpText(COMMAND)}`);
  }
  // Split votes measure your Chapter 3 node; speed measures the complete reference node unless told otherwise.
  // (A student edition has no solutions/: speed measures the learner's Chapter 5 node there.)
  const hasSolutions = existsSync(path.join(PROJECT_ROOT, "solutions"));
  let file =
    (which === "speed" && hasSolutions) || values.solutions
      ? path.join(PROJECT_ROOT, "solutions", which === "speed" ? "chapter5-log-replication" : "chapter3-split-votes", "node.ts")
      : path.join(PROJECT_ROOT, "chapters", which === "speed" ? "chapter5-log-replication" : "chapter3-split-votes", "node.ts");
  if (typeof values.node === "string") file = path.resolve(process.cwd(), values.node);
  const { createNode, label } = loadNode(file);
  try {
    if (which === "speed") {
      console.log(speed(createNode, label));
      return 0;
    }
    const runs = wholeOption(values.runs, "runs", { min: 10 }) ?? 1000;
    const started = performance.now();
    const results = splitVoteExperiment(createNode, runs);
    console.log(pc.bold(`Split votes: ${CLUSTER_SIZE} nodes boot together; time to the first leader (${label})\n`));
    console.log(splitVoteTable(results));
    console.log(`\n${splitVoteChart(results)}`);
    console.log(`\n${results.reduce((n, r) => n + r.runs, 0)} trials in ${((performance.now() - started) / 1000).toFixed(1)} s of real time.`);
  } catch (error) {
    if (error instanceof Error && /not written yet/.test(error.message)) {
      throw new UsageError(`Your node is not finished yet:\n  ${error.message.split("\n").at(-1)?.trim()}\nRun the experiment on the reference with --solutions, or finish the chapter first.`);
    }
    throw error;
  }
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
