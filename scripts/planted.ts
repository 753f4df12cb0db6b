/**
 * Planted cases: the worst a learner's node.ts can do, each planted in a
 * copy of the workbook where every other chapter is finished, and graded
 * the way a learner or an instructor would run it. The check requires
 * each run to finish within a minute, to score the other chapters, to
 * explain every failure in results.json, and to print exactly the pinned
 * output in tests/planted/ (what the learner sees).
 *
 * Three of them are cheats: a buggy node plus a trick that would raise its
 * score if node code could reach the world, the environment or the real
 * realm. Each must score no more than the buggy node alone.
 *
 *   npm run planted                 run every case and compare with the pinned output
 *   npm run planted -- NAME         one case
 *   npm run planted -- --write      pin the output of this run (after a deliberate change)
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMain, parseCommand, runMain, UsageError } from "./cli.mjs";
import { PROJECT_ROOT } from "./chapters.mjs";
import { MUTANTS, mutantSource } from "./mutants.ts";
import type { GradescopeResults } from "./report.mjs";
import { makeScratchProject } from "./scratch.ts";

const PINNED = path.join(PROJECT_ROOT, "tests", "planted");
const SCRATCH = path.join(PROJECT_ROOT, ".workbook-cache", "planted");
/** What "finishes" means: the issue's promise to a learner. */
const WITHIN_MS = 60_000;

type Edits = readonly (readonly [find: string, replace: string])[];

export interface PlantedCase {
  readonly name: string;
  /** What was planted, in a learner's words. */
  readonly what: string;
  /** The chapter whose node.ts is replaced. */
  readonly chapter: string;
  /** Its new node.ts: a reference solution with edits, a mutant with edits, or nothing at all (deleted). */
  readonly node: { readonly solution: string; readonly edits: Edits } | { readonly mutant: string; readonly edits: Edits } | { readonly deleted: true };
  /** For a cheat: the mutant whose score it must not beat. */
  readonly cheatOn?: string;
}

const CH1 = "chapter1-timers-and-roles";
const CH2 = "chapter2-request-vote";
const CH5 = "chapter5-log-replication";
const RECEIVE = "  receive(from: NodeId, message: Message): void {\n";

export const PLANTED: readonly PlantedCase[] = [
  {
    name: "endless-loop",
    what: "while (true) {} in Chapter 2's receive(), when a RequestVote arrives",
    chapter: CH2,
    node: { solution: CH2, edits: [[RECEIVE, `${RECEIVE}    if (message.type === "RequestVote") while (true) {}\n`]] },
  },
  {
    name: "zero-delay-timer",
    what: "Chapter 1's election timer set with a delay of 0, which would fire forever without time passing",
    chapter: CH1,
    node: { solution: CH1, edits: [['this.env.setTimer("election", this.env.randomInt(electionTimeoutMin, electionTimeoutMax));', 'this.env.setTimer("election", 0 * this.env.randomInt(electionTimeoutMin, electionTimeoutMax));']] },
  },
  {
    name: "huge-array",
    what: "an array of 1e9 elements built in Chapter 2's receive()",
    chapter: CH2,
    node: { solution: CH2, edits: [[RECEIVE, `${RECEIVE}    if (message.type === "RequestVote") void new Array<number>(1e9).fill(0);\n`]] },
  },
  {
    name: "syntax-error",
    what: "a half-written line in Chapter 2's node.ts",
    chapter: CH2,
    node: { solution: CH2, edits: [["    const grant =\n", "    const grant = request.term >\n    const grant2 =\n"]] },
  },
  {
    name: "default-export",
    what: "Chapter 2's node exported as a default export instead of createNode",
    chapter: CH2,
    node: { solution: CH2, edits: [["export const createNode: CreateNode = (env, saved) => new Node(env, saved);", "const createNode: CreateNode = (env, saved) => new Node(env, saved);\nexport default createNode;"]] },
  },
  {
    name: "missing-file",
    what: "Chapter 2's node.ts deleted",
    chapter: CH2,
    node: { deleted: true },
  },
  {
    name: "mutated-message",
    what: "Chapter 5's follower drops the entries it already holds from request.entries with shift(), then counts what is left",
    chapter: CH5,
    node: {
      solution: CH5,
      edits: [
        [
          "    request.entries.forEach((entry, offset) => {\n      const index = request.prevLogIndex + 1 + offset;\n      if (index <= this.lastLogIndex() && this.termAt(index) === entry.term) return;\n      if (index <= this.lastLogIndex()) this.log.length = index - 1;\n      this.log.push(entry);\n    });\n",
          "    const entries = request.entries as LogEntry[];\n    let index = request.prevLogIndex + 1;\n    while (entries.length > 0 && index <= this.lastLogIndex() && this.termAt(index) === entries[0]!.term) {\n      entries.shift();\n      index++;\n    }\n    if (entries.length > 0) {\n      this.log.length = index - 1;\n      this.log.push(...entries);\n    }\n",
        ],
      ],
    },
  },
  {
    name: "mutated-log-entry",
    what: "Chapter 5's new leader stamps its current term on every entry of its log, changing them in place",
    chapter: CH5,
    node: { solution: CH5, edits: [["    this.env.cancelTimer(\"election\");\n    // @step 3", "    this.env.cancelTimer(\"election\");\n    for (const entry of this.log) (entry as { term: number }).term = this.currentTerm;\n    // @step 3"]] },
  },
  {
    name: "timer-typo",
    what: 'Chapter 1\'s node sets a timer named "elections"',
    chapter: CH1,
    node: { solution: CH1, edits: [['this.env.setTimer("election", this.env.randomInt(', 'this.env.setTimer("elections" as TimerName, this.env.randomInt(']] },
  },
  {
    name: "cheat-patch-the-checker",
    what: "a buggy Chapter 5 node that replaces InvariantChecker.prototype.afterStep with a no-op",
    chapter: CH5,
    cheatOn: "pitfall-8-match-from-own-log",
    node: {
      mutant: "pitfall-8-match-from-own-log",
      edits: [["export const createNode", 'import { InvariantChecker } from "../../world/invariants.ts";\nInvariantChecker.prototype.afterStep = function () {};\n\nexport const createNode']],
    },
  },
  {
    name: "cheat-read-the-environment",
    what: "a buggy Chapter 5 node that reads process.env to tell grading from practice, and behaves when graded",
    chapter: CH5,
    cheatOn: "pitfall-8-match-from-own-log",
    node: {
      mutant: "pitfall-8-match-from-own-log",
      edits: [
        [
          "const newMatch = this.lastLogIndex();",
          "let graded = false;\n      try {\n        graded = (globalThis as unknown as { process: { env: Record<string, string> } }).process.env.RAFT_NODE_ROOT !== undefined;\n      } catch {\n        graded = false;\n      }\n      const newMatch = graded ? Math.max(match, reply.matchIndex) : this.lastLogIndex();",
        ],
      ],
    },
  },
  {
    name: "cheat-escape-the-sandbox",
    what: "a buggy Chapter 5 node that compiles code in the world's realm through a function's constructor, to switch the checks off",
    chapter: CH5,
    cheatOn: "pitfall-8-match-from-own-log",
    node: {
      mutant: "pitfall-8-match-from-own-log",
      edits: [
        [
          "  start(): void {\n",
          '  start(): void {\n    try {\n      const outside = (this.env.send as unknown as { constructor: (code: string) => () => { process: unknown } }).constructor("return globalThis")();\n      Object.assign(outside, { RAFT_CHECKS: "off" });\n    } catch {\n      // no way out\n    }\n',
        ],
      ],
    },
  },
];

function applyEdits(text: string, edits: Edits, what: string): string {
  for (const [find, replace] of edits) {
    const count = text.split(find).length - 1;
    if (count !== 1) throw new Error(`planted case ${what}: expected to find this text once, found it ${count} times:\n${find}`);
    text = text.replace(find, replace);
  }
  return text;
}

/** The planted node.ts, or null for a deleted one. */
export function plantedSource(planted: PlantedCase): string | null {
  const node = planted.node;
  if ("deleted" in node) return null;
  if ("solution" in node) return applyEdits(readFileSync(path.join(PROJECT_ROOT, "solutions", node.solution, "node.ts"), "utf8"), node.edits, planted.name);
  const mutant = MUTANTS.find((m) => m.name === node.mutant);
  if (!mutant) throw new Error(`planted case ${planted.name}: no mutant ${node.mutant}`);
  return applyEdits(mutantSource(mutant), node.edits, planted.name);
}

interface Run {
  readonly output: string;
  readonly results: GradescopeResults | undefined;
  readonly ms: number;
  readonly status: number;
}

function runCommand(dir: string, args: readonly string[]): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join("scripts", "suites.mjs"), ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), WITHIN_MS * 2);
    child.on("close", (status) => {
      clearTimeout(killer);
      const file = path.join(dir, "results.json");
      const results = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as GradescopeResults) : undefined;
      resolve({ output, results, ms: Date.now() - started, status: status ?? 1 });
    });
  });
}

/** What of a run's output is pinned: everything but the timing of the run. */
export function normalize(output: string): string {
  return output
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .trim();
}

export interface PlantedOutcome {
  readonly planted: PlantedCase;
  readonly problems: string[];
  readonly output: string;
  readonly seconds: number;
}

/** Grade the whole workbook with one chapter planted; every promise that breaks is a problem. */
export async function runPlanted(planted: PlantedCase, cheatScores: ReadonlyMap<string, number>): Promise<PlantedOutcome> {
  const dir = path.join(SCRATCH, planted.name);
  const source = plantedSource(planted);
  makeScratchProject(dir, { chapters: "solutions", ...(source !== null ? { nodes: { [planted.chapter]: source } } : {}) });
  if (source === null) rmSync(path.join(dir, "chapters", planted.chapter, "node.ts"));
  const run = await runCommand(dir, ["grade"]);
  const problems: string[] = [];
  if (run.ms > WITHIN_MS) problems.push(`grade took ${(run.ms / 1000).toFixed(1)} s, more than ${WITHIN_MS / 1000} s`);
  if (!run.results) problems.push("grade wrote no results.json");
  const short = planted.chapter.replace(/-.*$/, "");
  for (const test of run.results?.tests ?? []) {
    if (test.name.startsWith(`${short}:`)) {
      if (test.status === "failed" && test.output.trim() === "") problems.push(`results.json gives no reason for the failure of "${test.name}"`);
    } else if (test.status !== "passed") {
      problems.push(`another chapter lost points: "${test.name}" failed (${test.output.split("\n")[0]})`);
    }
  }
  if (!/Score \(your code in chapters\/\)/.test(run.output)) problems.push("the output has no score table");
  if (planted.cheatOn) {
    const honest = cheatScores.get(planted.cheatOn);
    const cheat = run.results?.tests.filter((t) => t.name.startsWith(`${short}:`)).reduce((sum, t) => sum + t.score, 0);
    if (honest === undefined || cheat === undefined) problems.push("the cheat's score could not be compared");
    else if (cheat > honest) problems.push(`the cheat scored ${cheat} on ${short}, more than the buggy node alone (${honest})`);
  }
  return { planted, problems, output: normalize(run.output), seconds: run.ms / 1000 };
}

/** The buggy nodes' own scores on their chapter, for the cheats to be compared with. */
async function honestScores(cases: readonly PlantedCase[]): Promise<Map<string, number>> {
  const scores = new Map<string, number>();
  for (const name of new Set(cases.map((c) => c.cheatOn).filter((n) => n !== undefined))) {
    const mutant = MUTANTS.find((m) => m.name === name)!;
    const dir = path.join(SCRATCH, `honest-${name}`);
    makeScratchProject(dir, { chapters: "solutions", nodes: { [mutant.from]: mutantSource(mutant) } });
    const short = mutant.from.replace(/-.*$/, "");
    const run = await runCommand(dir, ["grade", short]);
    scores.set(name, run.results?.tests.reduce((sum, t) => sum + t.score, 0) ?? -1);
  }
  return scores;
}

function pinnedFile(planted: PlantedCase): string {
  return path.join(PINNED, `${planted.name}.txt`);
}

/** Run cases (two at a time) and compare each with its pinned output; with `write`, pin this run's output instead. */
export async function checkPlanted(cases: readonly PlantedCase[], write: boolean): Promise<PlantedOutcome[]> {
  mkdirSync(SCRATCH, { recursive: true });
  const scores = await honestScores(cases);
  const outcomes: PlantedOutcome[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < cases.length) {
        const i = next++;
        const outcome = await runPlanted(cases[i]!, scores);
        const file = pinnedFile(outcome.planted);
        if (write) {
          mkdirSync(PINNED, { recursive: true });
          writeFileSync(file, `${outcome.output}\n`);
        } else if (!existsSync(file)) {
          outcome.problems.push(`no pinned output in ${path.relative(PROJECT_ROOT, file)} (npm run planted -- --write)`);
        } else if (readFileSync(file, "utf8").trim() !== outcome.output) {
          outcome.problems.push(`the output differs from ${path.relative(PROJECT_ROOT, file)}; see .workbook-cache/planted/${outcome.planted.name}.txt, or pin it with npm run planted -- ${outcome.planted.name} --write`);
          writeFileSync(path.join(SCRATCH, `${outcome.planted.name}.txt`), `${outcome.output}\n`);
        }
        outcomes[i] = outcome;
      }
    }),
  );
  return outcomes;
}

const COMMAND = {
  usage: "npm run planted -- [NAME ...] [--write]",
  options: { write: { type: "boolean" as const, help: "pin this run's output as the expected one" } },
  more: `The cases:\n${PLANTED.map((p) => `  ${p.name.padEnd(28)} ${p.what}`).join("\n")}`,
};

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  const cases = positionals.length === 0 ? PLANTED : positionals.map((name) => PLANTED.find((p) => p.name === name) ?? (() => { throw new UsageError(`There is no planted case "${name}".\n\n${COMMAND.more}`); })());
  const outcomes = await checkPlanted(cases, values.write === true);
  let failed = 0;
  for (const o of outcomes) {
    console.log(`${o.problems.length === 0 ? "ok     " : "FAILED "} ${o.planted.name.padEnd(28)} ${o.seconds.toFixed(1).padStart(5)} s  ${o.planted.what}`);
    for (const p of o.problems) console.log(`          ${p}`);
    if (o.problems.length > 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}

if (isMain(import.meta.url)) await runMain(main);
