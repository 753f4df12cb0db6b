/**
 * Planted cases: the worst a learner's node.ts can do, each planted in a
 * copy of the workbook where every chapter is finished, and graded the way
 * an instructor would (npm run grade: node code isolated in a process of
 * its own). The check requires each run to finish within a minute, to
 * explain every failure in results.json, to print exactly the pinned
 * output in tests/planted/ (what the learner sees), and a practice run
 * (npm test: node code in the test process) to print the same report.
 *
 * The cheats (three planted mistakes of old, and the red team of
 * scripts/maintainer/red-team.ts) are a buggy node plus a trick that would raise its
 * score if node code could reach the world, the environment or the real
 * realm. Each must score no more than the buggy node alone, graded by hand
 * and through the Gradescope autograder alike (the same score, test by
 * test), and no secret the check plants may show in anything either prints.
 *
 *   npm run planted                 run every case and compare with the pinned output
 *   npm run planted -- NAME         one case
 *   npm run planted -- --write      pin the output of this run (after a deliberate change)
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMain, parseCommand, runMain, UsageError } from "../shared/cli.mjs";
import { PROJECT_ROOT } from "../shared/chapters.mjs";
import { makeAutograder } from "../instructor/gradescope.ts";
import { MUTANTS, mutantSource } from "./mutants.ts";
import { CHECK_HANDS_NODE_ITS_PROCESS, RED_TEAM, RED_TEAM_TOP, redTeamEdits, redTeamPayload, SECRETS, type RedTeamCase } from "./red-team.ts";
import type { GradescopeResults } from "../shared/report.mjs";
import { makeScratchProject } from "../shared/scratch.ts";

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
  /** Its new node.ts: a reference solution, a mutant or a skeleton with edits, or nothing at all (deleted). */
  readonly node:
    | { readonly solution: string; readonly edits: Edits }
    | { readonly mutant: string; readonly edits: Edits }
    | { readonly skeleton: string; readonly edits: Edits }
    | { readonly deleted: true };
  /** For a cheat: the node (a mutant's name, or "skeleton") whose score it must not beat. */
  readonly cheatOn?: string;
  /** Other chapters graded in the same run (each still scored in full). */
  readonly alsoGrade?: readonly string[];
  /** Graded through the autograder with the regression section (--with-earlier); by hand, its chapter alone. */
  readonly withEarlier?: boolean;
  /** A red-team case: its trick, and whether practice runs hand it anything (see scripts/maintainer/red-team.ts). */
  readonly redTeam?: RedTeamCase;
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
    alsoGrade: ["chapter1"],
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
    name: "snapshot-state-not-a-string",
    what: "Chapter 9's node saves its store itself (a Map) as the snapshot's state, instead of a string the service wrote",
    chapter: "chapter9-snapshots",
    node: {
      solution: "chapter9-snapshots",
      edits: [["state: this.snapshotState };\n    // @end\n    if (snapshot === undefined)", "state: this.store as unknown as string };\n    // @end\n    if (snapshot === undefined)"]],
    },
  },
  {
    name: "reply-with-send",
    what: "Chapter 8's server answers a client with env.send, as it would a node, instead of env.replyToClient",
    chapter: "chapter8-key-value-service",
    node: {
      solution: "chapter8-key-value-service",
      edits: [
        [
          "    this.env.replyToClient(waiter.clientId, { type: \"ClientReply\", sequence: waiter.sequence, success: true, value, leaderId: this.env.id });\n",
          "    this.env.send(waiter.clientId, { type: \"ClientReply\", sequence: waiter.sequence, success: true, value, leaderId: this.env.id } as unknown as Message);\n",
        ],
      ],
    },
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
  {
    name: "cheat-full-marks-from-a-skeleton",
    what: "the untouched Chapter 6 skeleton with the escape that once scored it 40 / 40 by hand and 200 / 200 on the autograder with --with-earlier (read the base seed, list solutions/, forge passed notes, end the test process)",
    chapter: "chapter6-persistence",
    cheatOn: "skeleton",
    withEarlier: true,
    node: { skeleton: "chapter6-persistence", edits: [[RED_TEAM_TOP, `${redTeamPayload()}viaConstructor((globalThis as any).constructor.constructor);\n\n${RED_TEAM_TOP}`]] },
  },
  ...RED_TEAM.map(
    (redTeam): PlantedCase => ({
      name: redTeam.name,
      what: redTeam.what,
      chapter: CH2,
      cheatOn: "duplicate-votes-counted",
      redTeam,
      node: { mutant: "duplicate-votes-counted", edits: redTeamEdits(redTeam) },
    }),
  ),
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
  if ("skeleton" in node) return applyEdits(readFileSync(path.join(PROJECT_ROOT, "chapters", node.skeleton, "node.ts"), "utf8"), node.edits, planted.name);
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

/** Where cases are graded, and what each run's environment holds: the secret the red team hunts for, among others. */
function plantedEnv(planted: PlantedCase): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NO_COLOR: "1",
    [SECRETS.environment.name]: SECRETS.environment.value,
    ...(planted.cheatOn !== undefined ? { RAFT_GRADE_SEED: SECRETS.seedBase } : { RAFT_GRADE_SEED: "" }),
    ...(planted.redTeam?.handedItsProcess ? { [CHECK_HANDS_NODE_ITS_PROCESS]: "1" } : {}),
  };
}

function runCommand(dir: string, command: readonly string[], env: NodeJS.ProcessEnv, resultsFile?: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: dir, env });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), WITHIN_MS * 3);
    child.on("close", (status) => {
      clearTimeout(killer);
      const results = resultsFile !== undefined && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, "utf8")) as GradescopeResults) : undefined;
      resolve({ output, results, ms: Date.now() - started, status: status ?? 1 });
    });
  });
}

/**
 * What of a run's output is pinned: everything but the timing of the run,
 * and the warning grade adds when this checkout's grading files differ from
 * its manifest (a fact about the checkout, which the check's own manifest
 * step judges, not about the case).
 */
export function normalize(output: string): string {
  return output
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n*WARNING: the files that grade a node[\s\S]*?\nGrade the node\.ts alone[^\n]*/g, "")
    .trim();
}

/** The report itself (tests, failures, score table), without what only grade prints around it. */
function reportPart(output: string): string {
  return normalize(output)
    .split("\n")
    .filter((line) => !/^Results written to /.test(line))
    .join("\n")
    .split("\nRegression: ")[0]!
    .trim();
}

export interface PlantedOutcome {
  readonly planted: PlantedCase;
  readonly problems: string[];
  readonly output: string;
  readonly seconds: number;
}

/** Everything the check plants that no output may show. */
const SECRET_TEXTS = [SECRETS.environment.value, SECRETS.file.text, SECRETS.seedBase];

function leaks(text: string): string[] {
  return SECRET_TEXTS.filter((secret) => text.includes(secret));
}

/** The chapters a case grades. */
function gradedChapters(planted: PlantedCase): string[] {
  return [planted.chapter.replace(/-.*$/, ""), ...(planted.alsoGrade ?? [])];
}

/**
 * Grade the workbook with one chapter planted, by hand (isolated) and as a
 * learner practises (in the test process); every promise that breaks is a
 * problem.
 */
export async function runPlanted(planted: PlantedCase, cheatScores: ReadonlyMap<string, number>): Promise<PlantedOutcome> {
  const dir = path.join(SCRATCH, planted.name);
  const source = plantedSource(planted);
  makeScratchProject(dir, { chapters: "solutions", ...(source !== null ? { nodes: { [planted.chapter]: source } } : {}) });
  if (source === null) rmSync(path.join(dir, "chapters", planted.chapter, "node.ts"));
  writeFileSync(path.join(dir, SECRETS.file.path), `${SECRETS.file.text}\n`);
  const env = plantedEnv(planted);
  const chapters = gradedChapters(planted);
  const resultsFile = path.join(dir, "results.json");
  const suites = path.join("scripts", "learner", "suites.mjs");
  // One after the other: each case already runs beside another, on a machine of two cores.
  const graded = await runCommand(dir, [process.execPath, suites, "grade", ...chapters, "--out", resultsFile], env, resultsFile);
  const practice = await runCommand(dir, [process.execPath, suites, "test", ...chapters], { ...env, [CHECK_HANDS_NODE_ITS_PROCESS]: "" });
  const problems: string[] = [];
  if (graded.ms > WITHIN_MS) problems.push(`grade took ${(graded.ms / 1000).toFixed(1)} s, more than ${WITHIN_MS / 1000} s`);
  if (!graded.results) problems.push(`grade wrote no results.json:\n${graded.output.slice(-2000)}`);
  const short = planted.chapter.replace(/-.*$/, "");
  for (const test of graded.results?.tests ?? []) {
    if (test.name.startsWith(`${short}:`)) {
      if (test.status === "failed" && test.output.trim() === "") problems.push(`results.json gives no reason for the failure of "${test.name}"`);
    } else if (test.status !== "passed") {
      problems.push(`another chapter lost points: "${test.name}" failed (${test.output.split("\n")[0]})`);
    }
  }
  if (!/Score \(your code in chapters\/\)/.test(graded.output)) problems.push("the output has no score table");
  // A practice run says what grading says (a node handed its process outright is the check's simulation: practice hands it nothing).
  if (!planted.redTeam?.handedItsProcess && reportPart(practice.output) !== reportPart(graded.output)) {
    problems.push(`a practice run (npm test) prints another report than grade; see .workbook-cache/planted/${planted.name}.practice.txt`);
    writeFileSync(path.join(SCRATCH, `${planted.name}.practice.txt`), `${reportPart(practice.output)}\n`);
    writeFileSync(path.join(SCRATCH, `${planted.name}.graded.txt`), `${reportPart(graded.output)}\n`);
  }
  const allOutput = [graded.output, practice.output, JSON.stringify(graded.results ?? {})];
  if (planted.cheatOn !== undefined) {
    const honest = cheatScores.get(cheatKey(planted, false));
    const cheat = graded.results?.score;
    if (honest === undefined || cheat === undefined) problems.push("the cheat's score could not be compared");
    else if (cheat > honest) problems.push(`the cheat scored ${cheat} by hand, more than the node without the trick (${honest})`);
    // The same submission through the Gradescope autograder: the same score, test by test.
    const autograded = await runAutograder(planted, source);
    allOutput.push(autograded.output, JSON.stringify(autograded.results ?? {}));
    if (!autograded.results) problems.push(`the autograder wrote no results.json:\n${autograded.output.slice(-2000)}`);
    else {
      const honestThere = cheatScores.get(cheatKey(planted, planted.withEarlier === true));
      if (honestThere !== undefined && autograded.results.score > honestThere) problems.push(`the cheat scored ${autograded.results.score} through the autograder, more than the node without the trick (${honestThere})`);
      // Test by test, on the tests both ran (the autograder's regression section comes on top).
      const byHand = new Map((graded.results?.tests ?? []).map((t) => [t.name, t.score]));
      const differing = autograded.results.tests.filter((t) => byHand.has(t.name) && byHand.get(t.name) !== t.score);
      const missing = [...byHand.keys()].filter((name) => !autograded.results!.tests.some((t) => t.name === name));
      if (differing.length > 0 || missing.length > 0) {
        problems.push(`the autograder and grading by hand disagree on ${differing.map((t) => `"${t.name}" (${t.score} there, ${byHand.get(t.name)} by hand)`).join(", ") || "the list of tests"}`);
      }
    }
  }
  for (const text of allOutput) for (const secret of leaks(text)) problems.push(`a secret the check planted shows in the output: ${secret}`);
  return { planted, problems, output: normalize(graded.output), seconds: graded.ms / 1000 };
}

/** The autograders the cases run through, one per assignment (chapter, with or without earlier chapters). */
const autograders = new Map<string, string>();

function autograderFor(planted: PlantedCase): string {
  const short = planted.chapter.replace(/-.*$/, "");
  const key = `${short}${planted.withEarlier ? "+earlier" : ""}`;
  const known = autograders.get(key);
  if (known) return known;
  const dir = path.join(SCRATCH, "autograders", key);
  makeAutograder(dir, { chapter: short, seedBase: SECRETS.seedBase, withEarlier: planted.withEarlier === true, linkNodeModules: true });
  autograders.set(key, dir);
  return dir;
}

/** Submit the planted node.ts to the case's autograder, as Gradescope would run it. */
async function runAutograder(planted: PlantedCase, source: string | null): Promise<Run> {
  const autograder = autograderFor(planted);
  const root = path.join(SCRATCH, `${planted.name}-gradescope`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(root, "submission"), { recursive: true });
  mkdirSync(path.join(root, "results"), { recursive: true });
  symlinkSync(autograder, path.join(root, "source"), "dir");
  if (source !== null) writeFileSync(path.join(root, "submission", "node.ts"), source);
  // Each submission grades in the autograder's own folder: one at a time (Gradescope gives each its own machine).
  const run = await queueOn(autograder, () =>
    runCommand(root, ["bash", path.join(autograder, "run_autograder")], { ...plantedEnv(planted), AUTOGRADER_ROOT: root }, path.join(root, "results", "results.json")),
  );
  return run;
}

const queues = new Map<string, Promise<unknown>>();

function queueOn<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  queues.set(key, next);
  return next;
}

function cheatKey(planted: PlantedCase, withEarlier: boolean): string {
  return `${planted.chapter}:${planted.cheatOn}${withEarlier ? ":earlier" : ""}`;
}

/** The nodes the cheats are compared with, graded as the cheats are (same seeds, same sections). */
async function honestScores(cases: readonly PlantedCase[]): Promise<Map<string, number>> {
  const scores = new Map<string, number>();
  for (const planted of cases) {
    if (planted.cheatOn === undefined) continue;
    for (const withEarlier of planted.withEarlier ? [false, true] : [false]) {
      const key = cheatKey(planted, withEarlier);
      if (scores.has(key)) continue;
      const source = planted.cheatOn === "skeleton" ? readFileSync(path.join(PROJECT_ROOT, "chapters", planted.chapter, "node.ts"), "utf8") : mutantSource(MUTANTS.find((m) => m.name === planted.cheatOn)!);
      const dir = path.join(SCRATCH, `honest-${planted.cheatOn}${withEarlier ? "-earlier" : ""}`);
      makeScratchProject(dir, { chapters: "solutions", nodes: { [planted.chapter]: source } });
      const resultsFile = path.join(dir, "results.json");
      const short = planted.chapter.replace(/-.*$/, "");
      const run = await runCommand(
        dir,
        // The project's own nodes (a mutant, a skeleton): graded in-process, which scores as isolation does.
        [process.execPath, path.join("scripts", "learner", "suites.mjs"), "grade", short, ...(withEarlier ? ["--with-earlier"] : []), "--in-process", "--out", resultsFile],
        { ...process.env, NO_COLOR: "1", RAFT_GRADE_SEED: SECRETS.seedBase },
        resultsFile,
      );
      scores.set(key, run.results?.score ?? -1);
    }
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
  // The longest (through the autograder with every earlier chapter) first, so that the others fill in beside it.
  const order = cases.map((_, i) => i).sort((a, b) => Number(cases[b]!.withEarlier === true) - Number(cases[a]!.withEarlier === true));
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < cases.length) {
        const i = order[next++]!;
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
