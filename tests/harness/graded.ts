/**
 * Graded tests, and failures that teach.
 *
 * `graded(points, name, body)` declares a test worth `points`. Inside it,
 * `world(...)` builds a simulated world and `expectRule(...)` checks one
 * rule of the paper. When a check fails, or the world stops the run (a
 * node threw, a guarantee of Figure 3 broke, a node ran away), the
 * failure says:
 *
 *   Rule broken:  the rule, in the paper's words
 *   Instead:      what the node did
 *   Seed:         the seed of the run
 *   Replay:       the command that runs exactly this again and draws it
 *   Last events before the failure
 */
import path from "node:path";
import { expect, test } from "vitest";
import { formatTimeline, formatMermaid, formatTrace } from "../../world/trace.ts";
import { World, type WorldOptions } from "../../world/world.ts";
import { writeFileSync } from "node:fs";

declare module "vitest" {
  interface TaskMeta {
    /** Points this test is worth. */
    points?: number;
  }
}

/** Thrown by expectRule: a rule of the paper was broken. */
export class RuleBroken extends Error {
  constructor(rule: string, instead: string) {
    super(`${rule}\nInstead:     ${instead}`);
    this.name = "Rule broken";
  }
}

/** The worlds built by the test that is running, newest last. */
let worldsOfThisTest: World[] = [];
/** The seed of the newest world, kept even when building it failed (a skeleton's start() throws). */
let seedOfThisTest: number | undefined;

/** Replay arguments that replace "--seed N" in this test's report (for fast-check runs). */
let replayArgsOfThisTest: string | undefined;

/**
 * For a test whose runs come from fast-check: report its seed and path
 * (e.g. "--seed 42 --path 3:1") instead of the world's seed.
 */
export function overrideReplay(args: string): void {
  replayArgsOfThisTest = args;
}

/** Build a world for this test; its seed goes into any failure report. */
export function world(options: WorldOptions): World {
  seedOfThisTest = options.seed;
  const built = new World(options);
  worldsOfThisTest.push(built);
  return built;
}

/**
 * Check one rule. `instead` describes what the node did; it is only
 * computed when the check fails.
 */
export function expectRule(ok: boolean, rule: string, instead: () => string): asserts ok {
  if (ok) return;
  const error = new RuleBroken(rule, instead());
  // No stack: the message says everything, and the test's own lines are not the learner's to debug.
  error.stack = `${error.name}: ${error.message}`;
  throw error;
}

/**
 * The seeds a many-seed test runs: 1..count, or just RAFT_SEED when the
 * test is being replayed.
 */
export function seeds(count: number, first = 1): number[] {
  const replaying = process.env.RAFT_SEED;
  if (replaying !== undefined && replaying !== "") return [Number(replaying)];
  return Array.from({ length: count }, (_, i) => first + i);
}

/** The seed of a single-seed test (or RAFT_SEED when replaying). */
export function seed(defaultSeed: number): number {
  return seeds(1, defaultSeed)[0]!;
}

function shellQuote(text: string): string {
  return `"${text.replace(/(["\\$`])/g, "\\$1")}"`;
}

function chapterOf(testPath: string | undefined): string {
  const match = /(chapter\d+)/.exec(path.basename(testPath ?? ""));
  return match?.[1] ?? "chapterN";
}

function replayCommand(seedArgs: string): string {
  const state = expect.getState();
  const name = state.currentTestName ?? "";
  const subject = process.env.RAFT_NODE_FILE
    ? ` --node ${path.relative(process.cwd(), process.env.RAFT_NODE_FILE)}`
    : process.env.RAFT_NODE_ROOT === "solutions"
      ? " --solutions"
      : "";
  return `npm run replay -- ${chapterOf(state.testPath)} ${seedArgs} --test ${shellQuote(name)}${subject}`;
}

/** Add the seed, the replay command and the end of the trace to a failure. */
function explain(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (seedOfThisTest === undefined) return error;
  const seedArgs = replayArgsOfThisTest ?? `--seed ${seedOfThisTest}`;
  const seedLine = replayArgsOfThisTest ? `${seedOfThisTest} (world); fast-check ${replayArgsOfThisTest.replace(/--/g, "")}` : `${seedOfThisTest}`;
  const lines = [error.message, "", `Seed:        ${seedLine}`, `Replay:      ${replayCommand(seedArgs)}`];
  const latest = worldsOfThisTest.at(-1);
  // A replay draws the whole run already; elsewhere, show how the run ended.
  const tail = latest?.seed === seedOfThisTest && !process.env.RAFT_DRAW ? latest.trace.slice(-14) : [];
  if (tail.length > 0) lines.push("", "Last events before the failure (the replay draws the whole run):", formatTrace(tail));
  const oldHead = `${error.name}: ${error.message}`;
  error.message = lines.join("\n");
  // Reporters print the stack, which still holds the old message. Frames
  // inside the world or the tests say nothing useful to a learner; frames
  // in the node's own code (where it threw) are kept.
  const frames = (error.stack?.startsWith(oldHead) ? error.stack.slice(oldHead.length) : "")
    .split("\n")
    .filter((line) => /^\s+at /.test(line) && !/[\\/](world|tests|node_modules)[\\/]|node:internal/.test(line));
  error.stack = [`${error.name}: ${error.message}`, ...frames].join("\n");
  return error;
}

/** When replaying, draw every world the test built. */
function drawWorlds(): void {
  if (!process.env.RAFT_DRAW) return;
  for (const built of worldsOfThisTest) {
    const real = built.nodes.filter((id) => !built.scripted.includes(id));
    const heading = `Run with seed ${built.seed}, ${built.nodes.length} nodes, ${built.now} ms of simulated time`;
    const legend =
      built.scripted.length > 0
        ? `\n${built.scripted.join(", ")} ${built.scripted.length === 1 ? "is" : "are"} played by the test (scripted); what ${built.scripted.length === 1 ? "it sends and receives" : "they send and receive"} shows in ${real.join(", ")}'s column as ←${built.scripted[0]} and →${built.scripted[0]}.`
        : "";
    console.log(`\n${heading}\n${"=".repeat(heading.length)}${legend}\n${formatTimeline(built.trace, real, { showTimerSets: true })}\n`);
    const mermaidFile = process.env.RAFT_MERMAID;
    if (mermaidFile) writeFileSync(mermaidFile, formatMermaid(built.trace, built.nodes));
  }
}

/** Declare a graded test worth `points`. */
export function graded(points: number, name: string, body: () => void | Promise<void>): void {
  test(name, { meta: { points } }, async () => {
    worldsOfThisTest = [];
    seedOfThisTest = undefined;
    replayArgsOfThisTest = undefined;
    try {
      await body();
    } catch (error) {
      throw explain(error);
    } finally {
      drawWorlds();
    }
  });
}
