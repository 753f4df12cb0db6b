/**
 * npm run experiment -- split-votes [--runs N] [--solutions | --node FILE]
 * npm run experiment -- speed [--solutions | --node FILE]
 *
 * split-votes: Chapter 3's experiment, after §9.3 of the Raft paper. Five
 *   nodes boot at the same instant, with election timeouts drawn from
 *   150-150, 150-155, 150-175, 150-200 and 150-300 ms (whole
 *   milliseconds, so the paper's 150-151 would be a fixed timeout here).
 *   For each range and many seeds, the learner's trial() (in
 *   chapters/chapter3-split-votes/experiment.ts) measures how long the
 *   cluster goes without a leader and whether the first election split;
 *   the learner's summarize() turns each range's trials into a row.
 *
 * figure8-unreliable, fast-backup: Chapter 7's measurements (scenarios/fault-scenarios.ts),
 *   on the Chapter 7 reference with --solutions, or any node with --node.
 *
 * figure16: the paper's own election experiment (§9.3, Figure 16) on any
 *   node that keeps a log (scenarios/figure16.ts): the leader of five crashed
 *   within its heartbeat interval, two survivors unable to win; downtime
 *   per range of election timeouts, beside the paper's stated numbers,
 *   and the two graphs as SVG. Runs your last chapter's node by default.
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
import type { CreateNode } from "../../world/contract.ts";
import { hostLab, type HostLab, type TrialResult, type TrialSummary } from "../../world/lab.ts";
import { World, type WorldOptions } from "../../world/world.ts";
import { commitOnAll, currentLeader, divergedTwiceOver, figure8Unreliable, proposeEvery, UNRELIABLE } from "../../scenarios/fault-scenarios.ts";
import { FIGURE16_BOTTOM, FIGURE16_TOP, figure16Row, LATENCY_MS, type Figure16Row } from "../../scenarios/figure16.ts";
import { figure16Graphs } from "./figure16-plot.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { listChapters, PROJECT_ROOT } from "../shared/chapters.mjs";
import { didYouMean, helpText, isMain, parseCommand, runMain, UsageError, wholeOption } from "../shared/cli.mjs";
import { loadNodeProgram, runWithRealTimeLimit } from "../../sandbox/node-program.ts";


/** Real time one trial may take (trials take milliseconds; a longer one is a node that loops). */
const TRIAL_LIMIT_MS = 5000;
/** What the table says for a trial with no leader: Chapter 3's experiment.ts gives up after 10 s. */
const GIVE_UP_LABEL = ">10 s";

export const RANGES: readonly (readonly [number, number])[] = [
  [150, 150],
  [150, 155],
  [150, 175],
  [150, 200],
  [150, 300],
];

export interface RangeRow {
  readonly label: string;
  readonly summary: TrialSummary;
}

/**
 * The experiment's code: the learner's trial() and summarize() from
 * chapters/chapter3-split-votes/experiment.ts (or the reference's), run
 * in the sandbox like node code.
 */
export interface SplitVoteExperiment {
  trial(lab: HostLab, seed: number, range: readonly [number, number]): TrialResult;
  summarize(trials: readonly TrialResult[]): TrialSummary;
}

export function loadSplitVoteExperiment(file: string): SplitVoteExperiment & { label: string } {
  const program = loadNodeProgram(file, PROJECT_ROOT);
  const module = program.instantiateExperiment(["trial", "summarize"]);
  return {
    label: program.label,
    trial: (lab, seed, range) => module.call("trial", [seed, range], lab) as TrialResult,
    summarize: (trials) => module.call("summarize", [trials]) as TrialSummary,
  };
}

/** Every range: `runs` trials each (a tenth of that for the fixed timeout, as in the paper), summed up by the experiment's own summarize(). */
export function splitVoteExperiment(experiment: SplitVoteExperiment, createNode: CreateNode, runs: number): RangeRow[] {
  const lab = hostLab(createNode);
  return RANGES.map(([min, max]) => {
    // The paper ran 100 trials for the fixed timeout (each one takes long) and 1000 for the others.
    const n = min === max ? Math.max(1, Math.round(runs / 10)) : runs;
    const trials: TrialResult[] = [];
    for (let seed = 1; seed <= n; seed++) {
      // A node or a trial that never returns stops the experiment with a message that says where.
      trials.push(runWithRealTimeLimit(TRIAL_LIMIT_MS, () => experiment.trial(lab, seed, [min, max])));
    }
    return { label: `${min}-${max} ms`, summary: runWithRealTimeLimit(TRIAL_LIMIT_MS, () => experiment.summarize(trials)) };
  });
}

function ms(value: number | null): string {
  return value === null ? GIVE_UP_LABEL : `${Math.round(value)} ms`;
}

export function splitVoteTable(rows: readonly RangeRow[]): string {
  const header = ["timeouts", "runs", "1st election split", "median downtime", "99th pct", "worst", "no leader in 10 s"];
  const cells = rows.map(({ label, summary: r }) => [
    label,
    String(r.runs),
    `${((100 * r.firstElectionSplits) / r.runs).toFixed(1)} %`,
    ms(r.medianDowntime),
    ms(r.p99Downtime),
    ms(r.worstDowntime),
    `${r.noLeader} of ${r.runs}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`, ...cells.map(line)].join("\n");
}

/**
 * Three of five must agree: A and B are cut off from C, D and E at boot,
 * so only a candidate that gets both other votes of the majority side can
 * win. How long until one of C, D, E leads, over `runs` seeds (a run with
 * no leader after 60 s counts as null).
 */
export function cutOffMinorityExperiment(createNode: CreateNode, runs: number): { runs: number; median: number | null; p99: number | null; worst: number | null } {
  const times: number[] = [];
  for (let seed = 1; seed <= runs; seed++) {
    const w = new World({ nodes: 5, createNode, seed, traceLimit: 50 });
    w.partition(["A", "B"], ["C", "D", "E"]);
    const led = runWithRealTimeLimit(TRIAL_LIMIT_MS, () => w.runUntil(() => w.leaders().some((id) => id === "C" || id === "D" || id === "E"), 60_000));
    times.push(led ? w.now : Infinity);
  }
  times.sort((a, b) => a - b);
  const rank = (q: number): number | null => {
    const value = times[Math.max(0, Math.ceil(q * times.length) - 1)]!;
    return value === Infinity ? null : value;
  };
  return { runs, median: rank(0.5), p99: rank(0.99), worst: rank(1) };
}

export function cutOffMinorityLine(result: ReturnType<typeof cutOffMinorityExperiment>): string {
  const show = (v: number | null) => (v === null ? ">60 s" : `${v} ms`);
  return `${result.runs} runs: median ${show(result.median)}, 99th percentile ${show(result.p99)}, worst ${show(result.worst)}`;
}

/** Median downtime as bars on a log scale, from 100 ms to 10 s. */
export function splitVoteChart(rows: readonly RangeRow[]): string {
  const width = 50;
  const LIMIT = 10_000;
  const position = (value: number | null) => Math.round((width * Math.log10(Math.min(Math.max(value ?? LIMIT, 100), LIMIT) / 100)) / Math.log10(LIMIT / 100));
  const lines = ["median downtime (log scale)", `${"".padEnd(12)} 100 ms${" ".repeat(width / 2 - 8)}1 s${" ".repeat(width / 2 - 5)}10 s`];
  for (const { label, summary } of rows) {
    const bar = "█".repeat(Math.max(1, position(summary.medianDowntime)));
    const tail = "░".repeat(Math.max(0, position(summary.p99Downtime) - position(summary.medianDowntime)));
    lines.push(`${label.padEnd(12)} ${bar}${tail} ${ms(summary.medianDowntime)}`);
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

/** Chapter 7: the lab's "Figure 8 (unreliable)" on many seeds: does the cluster agree on a last command within 10 s? */
export function figure8UnreliableExperiment(createNode: CreateNode, seeds: number): { seeds: number; converged: number; spread: number[]; largest: number } {
  let converged = 0;
  let largest = 0;
  const spread: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const w = new World({ nodes: 5, createNode, seed, network: UNRELIABLE, traceLimit: 20 });
    w.afterEveryStep((step) => {
      for (const effect of step.effects) {
        if ((effect.kind === "deliver" || effect.kind === "lost") && effect.message.type === "AppendEntries" && effect.message.entries.length > largest) largest = effect.message.entries.length;
      }
    });
    runWithRealTimeLimit(TRIAL_LIMIT_MS, () => {
      figure8Unreliable(w, 1000);
      if (commitOnAll(w, "final", 10_000) !== undefined) converged++;
      else spread.push(Math.max(...w.nodes.map((id) => w.view(id).log.length)) - Math.min(...w.nodes.map((id) => w.view(id).commitIndex)));
    });
  }
  return { seeds, converged, spread: spread.sort((a, b) => a - b), largest };
}

export function figure8UnreliableLine(r: ReturnType<typeof figure8UnreliableExperiment>): string {
  const stuck = r.seeds - r.converged;
  const range = stuck === 0 ? "" : `; where they did not, ${r.spread[0]} to ${r.spread.at(-1)} entries were still not agreed`;
  return `agreed within 10 s on ${r.converged} of ${r.seeds} seeds${range}; largest AppendEntries: ${r.largest} entries`;
}

/** Chapter 7: the lab's fast-backup scenario on many seeds: what repairing two followers 50 entries astray costs. */
export function fastBackupExperiment(createNode: CreateNode, seeds: number): { seeds: number; repaired: number; appendEntries: number[]; entries: number[]; messages: number[]; repairMs: number[] } {
  const appendEntries: number[] = [];
  const messages: number[] = [];
  const entries: number[] = [];
  const repairMs: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const w = new World({ nodes: 5, createNode, seed, traceLimit: 20 });
    const r = runWithRealTimeLimit(TRIAL_LIMIT_MS, () => divergedTwiceOver(w, (among, withinMs) => (w.runUntil(() => currentLeader(w, among) !== undefined, withinMs), currentLeader(w, among))));
    if (r.repairMs === null) continue;
    appendEntries.push(r.appendEntries);
    entries.push(r.entries);
    messages.push(r.messages);
    repairMs.push(r.repairMs);
  }
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  return { seeds, repaired: repairMs.length, appendEntries: sorted(appendEntries), entries: sorted(entries), messages: sorted(messages), repairMs: sorted(repairMs) };
}

export function fastBackupLine(r: ReturnType<typeof fastBackupExperiment>): string {
  if (r.repaired === 0) return `repaired on none of ${r.seeds} seeds within 2 s`;
  const median = (xs: number[]) => xs[Math.ceil(xs.length / 2) - 1]!;
  return `repaired on ${r.repaired} of ${r.seeds} seeds; the last leader's AppendEntries to the two followers: median ${median(r.appendEntries)}, worst ${r.appendEntries.at(-1)}; entries in them: median ${median(r.entries)}; messages in all: median ${median(r.messages)}, worst ${r.messages.at(-1)}; time: median ${median(r.repairMs)} ms, worst ${r.repairMs.at(-1)} ms`;
}

/** What the paper says of a range, where it says anything (§9.3). */
const PAPER_SAYS: Readonly<Record<string, string>> = {
  "150-150": "over 10 s (repeated split votes)",
  "150-155": "median 287 ms",
  "150-200": "worst 513 ms",
  "12-24": "mean 35 ms, worst 152 ms",
};

/** Both graphs of Figure 16 on one node: every range, `trials` trials each (a tenth as many for 150-150, as in the paper). */
export function figure16Experiment(createNode: CreateNode, trials: number, latency: readonly [number, number]): { top: Figure16Row[]; bottom: Figure16Row[] } {
  const row = (range: readonly [number, number]) => runWithRealTimeLimit(600_000, () => figure16Row(createNode, range, range[0] === range[1] ? Math.max(1, Math.round(trials / 10)) : trials, latency));
  const top = FIGURE16_TOP.map(row);
  // 150-300 is on both graphs: measured once.
  const bottom = FIGURE16_BOTTOM.map((range) => top.find((r) => r.range[0] === range[0] && r.range[1] === range[1]) ?? row(range));
  return { top, bottom };
}

/** The graphs' subtitle: the node, the latency, the trials, and any range with no leader in any trial (it has no curve). */
export function figure16Note(label: string, latency: readonly [number, number], trials: number, rows: readonly Figure16Row[]): string {
  const none = rows.filter((r) => r.downtimes.length === 0).map((r) => `${r.range[0]}-${r.range[1]} ms: no leader within 10 s in any of ${r.trials} trials`);
  return [`${label}; one-way latency ${latency[0]}-${latency[1]} ms; ${trials} trials per range`, ...none].join("; ");
}

/** The table of one run: a row per range, the paper's stated number beside ours. */
export function figure16Table(result: { top: readonly Figure16Row[]; bottom: readonly Figure16Row[] }): string {
  const ms = (value: number | null) => (value === null ? ">10 s" : `${Math.round(value)} ms`);
  const header = `| election timeout | trials | median | mean | 99th percentile | worst | no leader within 10 s | the paper says |`;
  const lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"];
  const seen = new Set<string>();
  for (const row of [...result.top, ...result.bottom]) {
    const key = `${row.range[0]}-${row.range[1]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const mean = row.mean === null ? (row.downtimes.length === 0 ? ">10 s" : "n/a") : ms(row.mean);
    lines.push(`| ${key} ms | ${row.trials} | ${ms(row.median)} | ${mean} | ${ms(row.p99)} | ${ms(row.worst)} | ${row.gaveUp} | ${PAPER_SAYS[key] ?? "—"} |`);
  }
  return lines.join("\n");
}

/** How long the speed runs are: ten simulated minutes. */
export const SPEED_RUN_MS = 10 * 60 * 1000;

/**
 * What a speed run adds for a later chapter's node: the persistence checks
 * (Chapter 6 on), and a limit on saved state past which the world asks for
 * snapshots (Chapter 9 on).
 */
export type SpeedOptions = Pick<WorldOptions, "checkPersistence" | "savedStateLimit">;

/** The speed options for a chapter's node: every check its chapter has, and snapshots from Chapter 9. */
export function speedOptionsFor(chapter: number): SpeedOptions {
  return { ...(chapter >= 6 ? { checkPersistence: true } : {}), ...(chapter >= 9 ? { savedStateLimit: SPEED_SAVED_STATE_LIMIT } : {}) };
}

/** The saved-state limit of the speed runs from Chapter 9 on: about a hundred short commands. */
export const SPEED_SAVED_STATE_LIMIT = 1000;

/** The world the speed runs time: five nodes, and a client proposing every `everyMs` (or never) for SPEED_RUN_MS. */
export function speedWorld(createNode: CreateNode, everyMs: number | undefined, options: SpeedOptions = {}): World {
  const w = new World({ nodes: 5, createNode, seed: 1, traceLimit: 1000, ...options });
  if (everyMs !== undefined) proposeEvery(w, { from: 500, everyMs, through: SPEED_RUN_MS - 1 });
  return w;
}

/** One timed speed run: simulated ms per real ms, the real ms it took, and how far the log got. */
export interface SpeedRun {
  readonly ratio: number;
  readonly real: number;
  readonly committed: number;
}

function timedSpeedRun(createNode: CreateNode, everyMs: number | undefined, options: SpeedOptions): SpeedRun {
  const w = speedWorld(createNode, everyMs, options);
  const started = performance.now();
  runWithRealTimeLimit(120_000, () => w.runFor(SPEED_RUN_MS));
  const real = performance.now() - started;
  return { ratio: SPEED_RUN_MS / real, real, committed: Math.max(...w.nodes.map((id) => w.view(id).commitIndex)) };
}

/** How many timed runs follow the first: the steady speed is their median. */
const STEADY_RUNS = 5;

/**
 * Simulated ms per real ms for five nodes over ten simulated minutes, with
 * a client proposing every `everyMs` (or never). `first` is the first run
 * in this process, which also pays for compiling the world's and the
 * node's code to machine code (what a short test run sees); `steady` is
 * the median of the runs after it (what a long run, like Figure 16's ten
 * thousand trials or the soak, sees). This machine's speed wanders from
 * run to run, and the second run is often still compiling: an idle run
 * takes a tenth of a second, so the median of five says what one cannot.
 */
export function measureSpeed(createNode: CreateNode, everyMs: number | undefined, options: SpeedOptions = {}): { first: SpeedRun; steady: SpeedRun } {
  const first = timedSpeedRun(createNode, everyMs, options);
  const runs: SpeedRun[] = [];
  for (let i = 0; i < STEADY_RUNS; i++) runs.push(timedSpeedRun(createNode, everyMs, options));
  runs.sort((a, b) => a.ratio - b.ratio);
  return { first, steady: runs[Math.floor(runs.length / 2)]! };
}

function speed(createNode: CreateNode, label: string): string {
  const line = (run: SpeedRun): string => `${String(Math.round(run.ratio)).padStart(6)} simulated ms per real ms (${Math.round(run.real)} ms of real time)`;
  const idle = measureSpeed(createNode, undefined);
  const busy = measureSpeed(createNode, 100);
  return [
    `${label}, 5 nodes, 10 simulated minutes, every guarantee checked after every event:`,
    `  idle (heartbeats only), steady:          ${line(idle.steady)}`,
    `                          first run:       ${line(idle.first)}`,
    `  a client command every 100 ms, steady:   ${line(busy.steady)}, ${busy.steady.committed} entries committed`,
    `                          first run:       ${line(busy.first)}`,
    `  (steady: the median of ${STEADY_RUNS} runs after the first, which also compiles the code to machine code)`,
  ].join("\n");
}

const COMMAND = {
  usage: "npm run experiment -- split-votes|cut-off-minority|figure16|figure8-unreliable|fast-backup|speed [--runs N] [--solutions | --node FILE]",
  options: {
    runs: { type: "string" as const, value: "N", help: "trials per timeout range (split-votes; default 1000), or seeds (figure8-unreliable: 200; fast-backup: 20)" },
    ...(existsSync(path.join(PROJECT_ROOT, "solutions"))
      ? { solutions: { type: "boolean" as const, help: "run the reference solution (split-votes: Chapter 3's; speed always runs the Chapter 5 reference unless --node)" } }
      : {}),
    node: { type: "string" as const, value: "FILE", help: "run this node file (split-votes: with the experiment.ts beside it, if there is one)" },
    experiment: { type: "string" as const, value: "FILE", help: "split-votes: run this experiment file" },
    latency: { type: "string" as const, value: "MIN-MAX", help: "figure16: one-way message latency in ms (default 5-10, a broadcast of about 15 ms)" },
    out: { type: "string" as const, value: "DIR", help: "figure16: where to write the two graphs as SVG (default .workbook-cache/figure16)" },
    name: { type: "string" as const, value: "PREFIX", help: "figure16: the graphs' file names: PREFIX-top.svg and PREFIX-bottom.svg (default figure16)" },
  },
  more:
    "Experiments:\n  split-votes       Chapter 3: how long five nodes go without a leader, per timeout range\n" +
    "  cut-off-minority  Chapter 3: how long the three nodes of a majority take to elect, when all three must agree\n" +
    "  figure16          the paper's election experiment (§9.3): downtime after the leader crashes, per timeout range; table and graphs\n" +
    "  figure8-unreliable  Chapter 7: on how many seeds the lab's Figure 8 (unreliable) agrees within 10 s\n" +
    "  fast-backup       Chapter 7: what repairing two followers 50 entries astray costs, twice over\n" +
    "  speed             simulated ms per real ms, idle and busy",
};

/** The experiments, and the chapter whose node each is about (null: the most complete chapter's). */
const EXPERIMENT_CHAPTER: Readonly<Record<string, string | null>> = {
  "split-votes": "chapter3-split-votes",
  "cut-off-minority": "chapter3-split-votes",
  figure16: null,
  "figure8-unreliable": "chapter7-hostile-network",
  "fast-backup": "chapter7-hostile-network",
  speed: "chapter5-log-replication",
};

/** "2-3" → [2, 3], in ms; the paper's broadcast time of about 15 ms by default. */
function latencyOption(value: unknown): readonly [number, number] {
  if (typeof value !== "string") return LATENCY_MS;
  const match = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(value);
  if (!match || Number(match[2]) < Number(match[1])) throw new UsageError(`--latency takes MIN-MAX in ms, such as 5-10; not "${value}".`);
  return [Number(match[1]), Number(match[2])];
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  const which = positionals[0];
  const EXPERIMENTS = Object.keys(EXPERIMENT_CHAPTER);
  if (positionals.length !== 1 || which === undefined || !EXPERIMENTS.includes(which)) {
    const guess = which === undefined ? undefined : didYouMean(which, EXPERIMENTS);
    throw new UsageError(`Which experiment?${guess ? ` Did you mean ${guess}?` : ""}\n\n${helpText(COMMAND)}`);
  }
  // Split votes measure your Chapter 3 node; speed measures the complete reference node unless told otherwise.
  // (A student edition has no solutions/: speed measures the learner's Chapter 5 node there.)
  const hasSolutions = existsSync(path.join(PROJECT_ROOT, "solutions"));
  const chapterDir = EXPERIMENT_CHAPTER[which] ?? listChapters().at(-1)!.dir;
  let file = (which === "speed" && hasSolutions) || values.solutions ? path.join(PROJECT_ROOT, "solutions", chapterDir, "node.ts") : path.join(PROJECT_ROOT, "chapters", chapterDir, "node.ts");
  if (typeof values.node === "string") file = path.resolve(process.cwd(), values.node);
  const { createNode, label } = loadNode(file);
  try {
    if (which === "speed") {
      console.log(speed(createNode, label));
      return 0;
    }
    if (which === "figure16") {
      const trials = wholeOption(values.runs, "runs", { min: 10 }) ?? 1000;
      const latency = latencyOption(values.latency);
      const started = performance.now();
      const result = figure16Experiment(createNode, trials, latency);
      console.log(pc.bold(`Figure 16: five nodes, the leader crashed within its heartbeat interval, two survivors that cannot win; one-way latency ${latency[0]}-${latency[1]} ms (${label})\n`));
      console.log(figure16Table(result));
      const out = path.resolve(process.cwd(), typeof values.out === "string" ? values.out : path.join(PROJECT_ROOT, ".workbook-cache", "figure16"));
      const prefix = typeof values.name === "string" ? values.name : "figure16";
      mkdirSync(out, { recursive: true });
      const note = figure16Note(label, latency, trials, result.top);
      const graphs = await figure16Graphs(result, note);
      writeFileSync(path.join(out, `${prefix}-top.svg`), graphs.top);
      writeFileSync(path.join(out, `${prefix}-bottom.svg`), graphs.bottom);
      console.log(`\nThe two graphs: ${path.relative(process.cwd(), path.join(out, `${prefix}-top.svg`))} and ${prefix}-bottom.svg beside it.`);
      console.log(`${[...result.top, ...result.bottom].reduce((n, r) => n + r.trials, 0)} trials in ${((performance.now() - started) / 1000).toFixed(1)} s of real time.`);
      return 0;
    }
    if (which === "figure8-unreliable") {
      const seeds = wholeOption(values.runs, "runs", { min: 1 }) ?? 200;
      console.log(pc.bold(`Figure 8 (unreliable): 1000 rounds, 10 % lost, one message in three held back 0.2-2.2 s; then a last command (${label})\n`));
      console.log(figure8UnreliableLine(figure8UnreliableExperiment(createNode, seeds)));
      return 0;
    }
    if (which === "fast-backup") {
      const seeds = wholeOption(values.runs, "runs", { min: 1 }) ?? 20;
      console.log(pc.bold(`Two followers 50 entries astray, twice over: what the last leader sends to repair them, and all the three reunited nodes send meanwhile (${label})\n`));
      console.log(fastBackupLine(fastBackupExperiment(createNode, seeds)));
      return 0;
    }
    if (which === "cut-off-minority") {
      const runs = wholeOption(values.runs, "runs", { min: 10 }) ?? 1000;
      console.log(pc.bold(`Three of five must agree: A and B cut off from C, D, E at boot; time until one of C, D, E leads (${label})\n`));
      console.log(cutOffMinorityLine(cutOffMinorityExperiment(createNode, runs)));
      return 0;
    }
    // The experiment's own code: beside the node file, or the one given.
    const experimentFile = typeof values.experiment === "string" ? path.resolve(process.cwd(), values.experiment) : path.join(path.dirname(file), "experiment.ts");
    const experiment = loadSplitVoteExperiment(experimentFile);
    const runs = wholeOption(values.runs, "runs", { min: 10 }) ?? 1000;
    const started = performance.now();
    const rows = splitVoteExperiment(experiment, createNode, runs);
    console.log(pc.bold(`Split votes: five nodes boot together; time to the first leader (${experiment.label} on ${label})\n`));
    console.log(splitVoteTable(rows));
    console.log(`\n${splitVoteChart(rows)}`);
    console.log(`\n${rows.reduce((n, r) => n + r.summary.runs, 0)} trials in ${((performance.now() - started) / 1000).toFixed(1)} s of real time.`);
  } catch (error) {
    if (error instanceof Error && /not written yet/.test(error.message)) {
      const line = /Chapter \d+, step \d+ is not written yet[^\n]*/.exec(error.message)?.[0] ?? error.message.split("\n")[0];
      throw new UsageError(`Not finished yet:\n  ${line}\nThe experiment needs Chapter 3's node and experiment.ts written. Run it on the reference with --solutions to see what it shows.`);
    }
    throw error;
  }
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
