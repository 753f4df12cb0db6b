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
import { openSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { InvariantViolation, NODE_RULES } from "../../world/invariants.ts";
import { NodeLoadError, RealTimeLimitExceeded, runWithRealTimeLimit } from "../../sandbox/node-program.ts";
import { OutOfMemory } from "../../sandbox/node-code.ts";
import { NodeProcessFailed } from "../../sandbox/node-process.ts";
import { electionDiary, runawayDiagnosis, runSummary } from "../../world/diagnosis.ts";
import { formatMermaid, formatTimeline, formatTrace } from "../../world/trace.ts";
import { ContractBroken, NodeFailure, RunawayNode, World, worldOfFailedBoot, type WorldOptions } from "../../world/world.ts";
import { listChapters } from "../../scripts/shared/chapters.mjs";
import { errorText } from "../../scripts/shared/report.mjs";
import { readSettings } from "../../scripts/shared/settings.mjs";
import { gradedSeed } from "./graded-seeds.ts";
import { freshNodesForNextTest } from "./node-under-test.ts";
import { RULE } from "./rules.ts";

/** Rules whose failure means "nothing happened" (no leader, no commit): their report adds the election diary. */
const NOTHING_HAPPENED: readonly string[] = [RULE.liveness, RULE.logsConverge, RULE.commitMajority, RULE.replicate, RULE.freshTimeout];

/** What kind of failure a test met, so the report can fold and order them. */
export type FailureKind = "load" | "stopped" | "threw" | "contract" | "node rule" | "guarantee" | "rule" | "runaway" | "no progress" | "not written" | "other";

export interface FailureMeta {
  readonly kind: FailureKind;
  /** Failures with the same key are the same problem, reported once. */
  readonly key: string;
  /** One line that says what happened, for a folded group. */
  readonly summary: string;
  /** Whether the test played the other nodes itself (node) or ran whole clusters (cluster). */
  readonly scope?: "node" | "cluster";
  /** The failure as the report prints it, with the node's own stack frames (vitest's copy of the error keeps no frames outside its project files). */
  readonly output?: string;
}

declare module "vitest" {
  interface TaskMeta {
    /** Points this test is worth. */
    points?: number;
    /** The step of its chapter this test exercises (the first step it needs that no earlier test needed). */
    step?: number;
    /** Set when the test fails: what kind of failure, for folding and ordering. */
    failure?: FailureMeta;
  }
}

/**
 * How long node code may run without returning before real time stops it:
 * far more than any call takes on any machine (calls take microseconds),
 * so a verdict does not depend on the machine. Real time stops nothing
 * else: a test that is merely long runs to its end. Once a test was
 * stopped, the rest of its suite waits 1 s, not 5, for the same endless
 * loop (still a thousand times what a call takes, however loaded the machine).
 */
const REAL_TIME_LIMIT_MS = 5000;
const settings = readSettings();
const REAL_TIME_LIMIT_AFTER_A_HANG_MS = 1000;
/** The longest a test body may run at all (node code or not): vitest's own limit cannot interrupt synchronous code. */
const BACKSTOP_MS = 120_000;
let aTestWasStopped = false;

/** Thrown by expectRule: a rule of the paper was broken. */
export class RuleBroken extends Error {
  constructor(
    rule: string,
    instead: string,
    /**
     * The step whose code keeps this rule, when it is not the step the test
     * is aimed at; "unknown" for a symptom any step's code can cause (what
     * the clients saw, Chapter 8 on).
     */
    readonly step?: number | "unknown",
    /** The simulated time where the failure shows (the report's events end there, not at the end of the run). */
    readonly focusTime?: number,
  ) {
    super(`${rule}\nInstead:     ${instead}`);
    this.name = "Rule broken";
  }
}

/** The name of the test that is running, as its progress notes say it. */
let nameOfThisTest: string | undefined;

/** The worlds built by the test that is running, newest last. */
let worldsOfThisTest: World[] = [];
/** The seed of the newest world, kept even when building it failed (a skeleton's start() throws). */
let seedOfThisTest: number | undefined;

/** Replay arguments that replace "--seed N" in this test's report (for fast-check runs). */
let replayArgsOfThisTest: string | undefined;
/** The step the running test exercises, and so the reading and hint to send a learner to. */
let stepOfThisTest: number | undefined;
/** When a runaway's repeating exchange began: a replay's timeline keeps that moment. */
let runawayBeganAt: number | undefined;
/**
 * The step line a stop in this test would show (the same for every world
 * the test builds, so worked out once per test: a many-seed test notes
 * how to replay each of its worlds).
 */
let stopStepLineOfThisTest: { readonly line: string | undefined } | undefined;

/**
 * "Step:  2, Answer a RequestVote (chapters/…/README.md); a hint: npm run hint -- chapter2 2".
 * A broken node rule points at the step whose code keeps it (the chapter
 * file says which), wherever the test that noticed it was aimed.
 */
function stepLine(error?: unknown): string | undefined {
  const short = chapterOf(expect.getState().testPath);
  const chapter = listChapters().find((c) => c.short === short);
  if (!chapter) return undefined;
  // A stop or a flood says which handler ran, not which step's code: say so rather than guess.
  if (error instanceof RealTimeLimitExceeded || error instanceof OutOfMemory || error instanceof RunawayNode) {
    const aimed = chapter.steps.find((s) => s.number === stepOfThisTest);
    return `Step:        not known (a stop does not tell which step's code was running${aimed ? `; this test is aimed at step ${aimed.number}, ${aimed.title}` : ""})`;
  }
  // A symptom any step's code can cause (what the clients saw): say so rather than guess.
  if (error instanceof RuleBroken && error.step === "unknown") {
    const aimed = chapter.steps.find((s) => s.number === stepOfThisTest);
    return `Step:        not known (what the clients saw is a symptom: any step's code, the server's or the clerk's, can cause it; fix the failures of the tests aimed at earlier steps first${aimed ? `; this test is aimed at step ${aimed.number}, ${aimed.title}` : ""})`;
  }
  // The step whose code keeps the rule broken, when the harness knows it (a node rule's keeper, or a check that says).
  const keeper =
    error instanceof InvariantViolation
      ? chapter.steps.find((s) => s.rules.includes(error.guarantee))
      : error instanceof RuleBroken && typeof error.step === "number"
        ? chapter.steps.find((s) => s.number === error.step)
        : undefined;
  const step = keeper ?? chapter.steps.find((s) => s.number === stepOfThisTest);
  if (!step) return undefined;
  const nodeRule = error instanceof InvariantViolation && NODE_RULES.has(error.guarantee);
  const why =
    keeper && keeper.number !== stepOfThisTest
      ? ` (the rule broken here is kept by this step's code; the test that caught it is aimed at step ${stepOfThisTest})`
      : nodeRule && !keeper && chapter.number > 1
        ? ` (no step of this chapter keeps the rule broken here: look first at the code the skeleton gave you, from an earlier chapter)`
        : "";
  return `Step:        ${step.number}, ${step.title}${why} (chapters/${chapter.dir}/README.md); a hint: npm run hint -- ${chapter.short} ${step.number}`;
}

/**
 * For a test whose runs come from fast-check: report its seed and path
 * (e.g. "--seed 42 --path 3:1") instead of the world's seed.
 */
export function overrideReplay(args: string): void {
  replayArgsOfThisTest = args;
}

/** The step, seed and replay lines of a failure of this test (after what broke). */
function replayLines(step: string | undefined): string[] {
  const seedArgs = replayArgsOfThisTest ?? `--seed ${seedOfThisTest}`;
  const seedLine = replayArgsOfThisTest ? `${seedOfThisTest} (world); fast-check ${replayArgsOfThisTest.replace(/--/g, "")}` : `${seedOfThisTest}`;
  return [...(step ? [step] : []), `Seed:        ${seedLine}`, `Replay:      ${replayCommand(seedArgs)}`];
}

/** Build a world for this test; its seed goes into any failure report. */
export function world(options: WorldOptions): World {
  seedOfThisTest = options.seed;
  // Noted at once: if node code takes the test process down (out of
  // memory), the launcher still tells how to replay what it was running.
  if (nameOfThisTest !== undefined && settings.progressDir !== undefined) {
    stopStepLineOfThisTest ??= { line: stepLine(new OutOfMemory()) };
    noteProgress({ event: "replay", test: nameOfThisTest, lines: replayLines(stopStepLineOfThisTest.line) });
  }
  let built: World;
  try {
    built = new World(options);
  } catch (error) {
    // A node that failed as it booted (a step not written yet, say): its world is drawn all the same.
    const unfinished = worldOfFailedBoot(error);
    if (unfinished) worldsOfThisTest.push(unfinished);
    throw error;
  }
  worldsOfThisTest.push(built);
  recorderOfThisTest?.watch(built);
  return built;
}

/**
 * Check one rule. `instead` describes what the node did; it is only
 * computed when the check fails.
 */
export function expectRule(ok: boolean, rule: string, instead: () => string, keptBy?: { readonly step?: number | "unknown"; readonly focusTime?: number }): asserts ok {
  if (ok) return;
  const error = new RuleBroken(rule, instead(), keptBy?.step, keptBy?.focusTime);
  // No stack: the message says everything, and the test's own lines are not the learner's to debug.
  error.stack = `${error.name}: ${error.message}`;
  throw error;
}

/**
 * The seeds a many-seed test runs: first..first+count-1 (the published
 * seeds), or, when an instructor grades on a base seed (RAFT_GRADE_SEED,
 * npm run grade -- --seed-base WORD), a hash of the base and each of those
 * numbers (world/graded-seeds.ts): seeds no student has seen, from which
 * nobody can work out the base; or just the one seed being replayed.
 */
export function seeds(count: number, first = 1): number[] {
  if (settings.seed !== undefined) return [settings.seed];
  return Array.from({ length: count }, (_, i) => gradedSeed(settings.seedBase, first + i));
}

/** The seed of a single-seed test (from the base seed too, or the one being replayed). */
export function seed(defaultSeed: number): number {
  return seeds(1, defaultSeed)[0]!;
}

/** Whether this run replays one seed (statistics over many seeds mean nothing then). */
export function replayingOneSeed(): boolean {
  return settings.seed !== undefined;
}

/**
 * How a randomized (fast-check) test runs: its seed (from the base seed, or
 * the one being replayed), the path of one failing run when replaying it,
 * and how many runs.
 */
export function randomizedRuns(defaultSeed: number, defaultRuns: number): { seed: number; path: string | undefined; numRuns: number } {
  return { seed: settings.seed ?? gradedSeed(settings.seedBase, defaultSeed), path: settings.fcPath, numRuns: settings.randomRuns ?? defaultRuns };
}

/** Whether worlds are being drawn (a replay): a test may keep its whole trace then. */
export function drawing(): boolean {
  return settings.draw;
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
  // A student's hand-in, graded elsewhere: they replay in their own copy of the workbook.
  const subject = settings.nodeFile && !settings.submission
    ? ` --node ${path.relative(process.cwd(), settings.nodeFile)}`
    : settings.nodeRoot === "solutions"
      ? " --solutions"
      : "";
  return `npm run replay -- ${chapterOf(state.testPath)} ${seedArgs} --test ${shellQuote(name)}${subject}`;
}

/**
 * A failure of this test with its seed, the replay command and the end of
 * the trace added. Always a new error: one error object can be thrown by
 * several tests (a node file that does not load, say), and each test's
 * report is its own.
 */
function explain(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const explained = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error, { name: error.name, message: error.message, stack: error.stack });
  // A node file that does not load has no step to point at, and no run to replay.
  if (error instanceof NodeLoadError) return explained;
  const step = stepLine(error);
  if (seedOfThisTest === undefined) {
    // A test that built no world of its own (an experiment's functions, called directly).
    if (step === undefined) return explained;
    Object.assign(explained, { baseMessage: error.message, explanation: `\n${step}` });
    explained.message = `${error.message}\n\n${step}`;
    return explained;
  }
  const lines = [error.message, "", ...replayLines(step)];
  const latest = worldsOfThisTest.at(-1);
  // No leader, no commit: say who stood in each term and why the others refused.
  if (latest && error instanceof RuleBroken && NOTHING_HAPPENED.some((rule) => error.message.startsWith(rule))) {
    let diary = "";
    try {
      diary = electionDiary(latest.trace, latest.nodes);
    } catch {
      diary = "";
    }
    if (diary !== "") lines.push("", diary);
  }
  // A runaway: what repeats, and since when (a replay draws that moment, however long the run).
  if (latest && error instanceof RunawayNode && error.node !== undefined) {
    const diagnosis = runawayDiagnosis(latest.trace, error.node, latest.timing.heartbeatInterval);
    if (diagnosis) {
      lines.push("", diagnosis.text);
      runawayBeganAt = diagnosis.beganAt;
    }
  }
  // A replay draws the whole run already; elsewhere, show how the run ended.
  // (A node out of memory is told in the same words whichever process it ran
  // in; the test process that ran out can tell no events, so none is told.)
  const focus = error instanceof RuleBroken ? error.focusTime : undefined;
  const shown = latest?.seed === seedOfThisTest && !settings.draw && !(error instanceof OutOfMemory) ? latest.trace : [];
  if (focus !== undefined && shown.length > 0) {
    // Where the failure shows, not how the run ended.
    const end = shown.findIndex((e) => e.time > focus);
    const tail = shown.slice(0, end < 0 ? shown.length : end).slice(-14);
    if (tail.length > 0) lines.push("", `The events up to ${focus} ms, where it shows (the replay draws the whole run):`, formatTrace(tail));
  } else {
    const tail = shown.slice(-14);
    if (tail.length > 0) lines.push("", "Last events before the failure (the replay draws the whole run):", formatTrace(tail));
  }
  const oldHead = `${error.name}: ${error.message}`;
  // The report prints the node's stack frames between what went wrong and how to replay it.
  Object.assign(explained, { baseMessage: error.message, explanation: lines.slice(1).join("\n") });
  explained.message = lines.join("\n");
  // Reporters print the stack, which still holds the old message. Frames
  // inside the world or the tests say nothing useful to a learner; frames
  // in the node's own code (where it threw) are kept.
  const frames = (error.stack?.startsWith(oldHead) ? error.stack.slice(oldHead.length) : "")
    .split("\n")
    .filter((line) => /^\s+at /.test(line) && !/[\\/](world|tests|node_modules)[\\/]|node:internal/.test(line));
  explained.stack = [`${explained.name}: ${explained.message}`, ...frames].join("\n");
  return explained;
}

/** What the summary says of a node at the end of a run. */
function pick(view: { role: string; currentTerm: number; commitIndex: number }): { role: string; term: number; commitIndex: number } {
  return { role: view.role, term: view.currentTerm, commitIndex: view.commitIndex };
}

/** Replaying for the page (npm run replay -- … --visualize): the frames of this test's worlds. Loaded only then. */
const recordingModule = settings.recordingFile === undefined ? undefined : await import("../../visualizer/recording.ts");
let recorderOfThisTest: import("../../visualizer/recording.ts").TestRecorder | undefined;

/** A history check failed in a run replayed for the page: the recording shows which calls cannot be ordered. */
export function recordHistoryFailure(history: () => import("../../visualizer/cluster-frames.ts").HistoryVerdict): void {
  recorderOfThisTest?.historyFailed(history());
}

/** Write the test's last world, frame by frame, for the page to open at the moment of failure. */
function writeRecording(name: string, failure: string | undefined): void {
  const file = settings.recordingFile;
  if (file === undefined || recorderOfThisTest === undefined) return;
  const chapter = Number(/chapter(\d+)-/.exec(path.basename(expect.getState().testPath ?? ""))?.[1] ?? 0);
  const recording = recorderOfThisTest.recording(name, chapter, seedOfThisTest ?? 0, failure);
  if (recording.worlds > 0) writeFileSync(file, JSON.stringify(recordingModule!.compactRecording(recording)));
  recorderOfThisTest = undefined;
}

/** When replaying, draw every world the test built. */
function drawWorlds(failed: boolean): void {
  if (!settings.draw) return;
  for (const built of worldsOfThisTest) {
    const real = built.nodes.filter((id) => !built.scripted.includes(id));
    const heading = `Run with seed ${built.seed}, ${built.nodes.length} node${built.nodes.length === 1 ? "" : "s"}, ${built.now} ms of simulated time`;
    const legend =
      built.scripted.length > 0
        ? `\n${built.scripted.join(", ")} ${built.scripted.length === 1 ? "is" : "are"} played by the test (scripted); what ${built.scripted.length === 1 ? "it sends and receives" : "they send and receive"} shows in ${real.join(", ")}'s column as ←${built.scripted[0]} and →${built.scripted[0]}.`
        : "";
    const keep = runawayBeganAt !== undefined ? { keepFrom: runawayBeganAt } : {};
    const trace = built.trace;
    if (settings.timeline || trace.length <= 120) {
      console.log(`\n${heading}\n${"=".repeat(heading.length)}${legend}\n${formatTimeline(trace, real, { showTimerSets: true, ...keep })}\n`);
    } else {
      // A long run: what happened in a few lines, then (when it failed) how it ended; the whole timeline on request.
      const from = runawayBeganAt !== undefined ? trace.findIndex((e) => e.time >= runawayBeganAt!) : -1;
      const end = failed ? trace.slice(from >= 0 ? Math.max(0, from - 20) : -60).slice(0, 160) : [];
      console.log(
        `\n${heading}\n${"=".repeat(heading.length)}\n${runSummary(trace, built.nodes, real.map((id) => (built.isUp(id) ? { node: id, up: true, ...pick(built.view(id)) } : { node: id, up: false, role: "", term: 0, commitIndex: 0 })))}\n` +
          (end.length > 0 ? `\n${from >= 0 ? "Where the repeating exchange began" : "How it ended"} (the last ${end.length} of ${trace.length} events):${legend}\n${formatTimeline(end, real, { showTimerSets: true })}\n` : "") +
          `\n(The whole run, ${trace.length} events: add --timeline to this command.)\n`,
      );
    }
    const mermaidFile = settings.mermaidFile;
    if (mermaidFile) writeFileSync(mermaidFile, formatMermaid(built.trace, built.nodes));
  }
}

/** What a failure is, in one line and a folding key. */
/** "Chapter 2, step 3 is not written yet: count the votes" (a skeleton's stub says so, in the trace or in what it throws). */
const NOT_WRITTEN = /^Chapter (\d+), step (\d+) is not written yet: ([^.]+)/;

/** The steps not written yet that the test's worlds ran, lowest first. */
function stepsNotWritten(error: unknown): { step: number; text: string; chapter: number }[] {
  const found = new Map<number, { step: number; text: string; chapter: number }>();
  const add = (text: string): void => {
    const match = NOT_WRITTEN.exec(text);
    if (match && !found.has(Number(match[2]))) found.set(Number(match[2]), { chapter: Number(match[1]), step: Number(match[2]), text: match[0] });
  };
  if (error instanceof NodeFailure) add(error.thrown instanceof Error ? error.thrown.message : String(error.thrown));
  // An experiment's stub throws straight out of the call the test made.
  else if (error instanceof Error) add(error.message);
  for (const w of worldsOfThisTest) {
    try {
      for (const note of w.traceOf("note")) add(note.text);
    } catch {
      // A world writing to a sink of its own has no trace to read.
    }
  }
  return [...found.values()].sort((a, b) => a.step - b.step);
}

/**
 * What a rule's "Instead" says, without its particulars (numbers, node
 * names, commands, logs, what the node was handling), so that one mistake
 * seen in many tests folds into one failure.
 */
function shapeOf(detail: string): string {
  return detail
    .replace(/\((while|reporting|booting|restarting)[^()]*(\([^()]*\)[^()]*)*\)/g, "(…)")
    .replace(/while handling [^,]*( from [A-Z])?/g, "while …")
    .replace(/\(its log[,:][^)]*\)/g, "(its log)")
    .replace(/\[[^\]]*\]/g, "[…]")
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b[A-Z]\b/g, "N")
    .replace(/\d+/g, "#")
    .replace(/\b(booted|restarted)\b/g, "(re)started")
    .replace(/nothing on its disk \(term #, no vote, an empty log\)/g, "term #, votedFor N, log […] on its disk");
}

/** What a failure is, in one line and a folding key. */
function failureMeta(error: unknown): FailureMeta {
  const firstLine = (text: string) => text.split("\n")[0] ?? text;
  if (error instanceof NodeLoadError) return { kind: "load", key: `load:${error.message}`, summary: error.message };
  if (error instanceof OutOfMemory) return { kind: "stopped", key: "crashed:memory", summary: "the node's code ran out of memory" };
  if (error instanceof NodeProcessFailed) return { kind: "other", key: `process:${error.message}`, summary: firstLine(error.message) };
  if (error instanceof RealTimeLimitExceeded) {
    const what = error.call ? `node code did not return from ${error.call.describe().replace(/\(.*$/, "")}` : "the test ran out of real time";
    return { kind: "stopped", key: `stopped:${what}`, summary: firstLine(error.message) };
  }
  // A test that ran a step not written yet waits for that step, whatever else it saw.
  const unwritten = stepsNotWritten(error)[0];
  if (unwritten !== undefined) {
    const short = `chapter${unwritten.chapter}`;
    return {
      kind: "not written",
      key: `not written:${short}:${unwritten.step}`,
      summary: `${unwritten.text}. Read step ${unwritten.step} of the reading; a hint: npm run hint -- ${short} ${unwritten.step}`,
    };
  }
  if (error instanceof NodeFailure) {
    const thrown = error.thrown instanceof Error ? error.thrown.message : String(error.thrown);
    const kind: FailureKind = error.thrown instanceof ContractBroken ? "contract" : "threw";
    return { kind, key: `${kind}:${thrown}`, summary: thrown };
  }
  if (error instanceof RunawayNode) return { kind: "runaway", key: `runaway:${firstLine(error.message)}`, summary: firstLine(error.message) };
  if (error instanceof InvariantViolation) {
    const kind: FailureKind = NODE_RULES.has(error.guarantee) ? "node rule" : "guarantee";
    // One mistake breaks a rule in many tests with other numbers, nodes and logs: fold them by the shape of what happened.
    return { kind, key: `${kind}:${error.guarantee}:${shapeOf(error.detail)}`, summary: firstLine(error.message) };
  }
  if (error instanceof RuleBroken) {
    // No leader, no commit, logs that never agreed: what happened is nothing, which many causes lead to.
    const kind: FailureKind = NOTHING_HAPPENED.some((rule) => error.message.startsWith(rule)) ? "no progress" : "rule";
    return { kind, key: `${kind}:${error.message}`, summary: firstLine(error.message) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "other", key: `other:${message}`, summary: firstLine(message) };
}

export interface GradedOptions {
  /**
   * The step of the chapter this test exercises: the check proves that the
   * test starts passing when that step is written, and a failure sends the
   * learner to that step's reading and hint.
   */
  readonly step: number;
  /**
   * The learner's file this test grades, when it is not node.ts (Chapter 3's
   * experiment.ts). A regression section (grade --with-earlier) grades a
   * later chapter's node.ts only, so it leaves such tests out.
   */
  readonly grades?: string;
}

/** Declare a graded test worth `points`, exercising step `options.step` of its chapter. */
export function graded(points: number, name: string, options: GradedOptions, body: () => void | Promise<void>): void {
  if (settings.regression && options.grades !== undefined && options.grades !== "node.ts") return;
  // vitest's browser UI lists tests by name only: there, the name carries the points.
  // First, so the UI's narrow list shows them even when it cuts the name short.
  const shownName = settings.pointsInNames ? `${points} pt${points === 1 ? "" : "s"} · ${name}` : name;
  test(shownName, { meta: { points, step: options.step } }, async (context) => {
    worldsOfThisTest = [];
    stepOfThisTest = options.step;
    stopStepLineOfThisTest = undefined;
    runawayBeganAt = undefined;
    seedOfThisTest = undefined;
    replayArgsOfThisTest = undefined;
    freshNodesForNextTest();
    nameOfThisTest = name;
    recorderOfThisTest = recordingModule === undefined ? undefined : new recordingModule.TestRecorder();
    noteProgress({ event: "start", test: name });
    // Shown beside the test in vitest's browser UI (npm test -- chapterN --ui), and only
    // there: an annotation is a round trip to vitest's main process, each test, for nothing else.
    if (settings.pointsInNames) await context.annotate(`${points} point${points === 1 ? "" : "s"}`, "points");
    const limit = aTestWasStopped ? REAL_TIME_LIMIT_AFTER_A_HANG_MS : REAL_TIME_LIMIT_MS;
    let failedHere = false;
    try {
      // Node code in this process is watched by runWithRealTimeLimit; node
      // code in a process of its own, by the wait for its answers
      // (sandbox/node-process.ts). The same limit either way, per call.
      const result = runWithRealTimeLimit(limit, body, BACKSTOP_MS);
      if (result instanceof Promise) await result;
    } catch (error) {
      failedHere = true;
      if (error instanceof RealTimeLimitExceeded) aTestWasStopped = true;
      const scope = worldsOfThisTest.length > 0 && worldsOfThisTest.every((w) => w.scripted.length > 0) ? "node" : "cluster";
      const unwritten = stepsNotWritten(error);
      const explained = explain(error);
      if (unwritten.length > 0 && explained instanceof Error) {
        const list = unwritten.map((u) => `${u.step} (${u.text.replace(NOT_WRITTEN, "$3")})`).join(", ");
        const note = `\nThis test ran steps not written yet: ${list}. It can pass only once they are written.`;
        const withNote = explained as Error & { explanation?: string };
        withNote.explanation = `${withNote.explanation ?? ""}${note}`;
        explained.message += note;
      }
      const output = errorText(explained instanceof Error ? explained : new Error(String(explained)));
      const failure: FailureMeta = { ...failureMeta(error), scope, output };
      context.task.meta.failure = failure;
      noteProgress({ event: "end", test: name, points, state: "failed", output, failure });
      throw explained;
    } finally {
      drawWorlds(failedHere);
      writeRecording(name, context.task.meta.failure?.output);
    }
    noteProgress({ event: "end", test: name, points, state: "passed" });
  });
}

/**
 * A line in this suite's progress notes, written at once: if the test
 * process dies (out of memory), the launcher still knows which tests
 * finished, how, and which one was running.
 */
function noteProgress(note: Record<string, unknown>): void {
  const dir = settings.progressDir;
  if (dir === undefined) return;
  const testPath = expect.getState().testPath;
  if (testPath === undefined) return;
  const file = path.join(dir, `${path.basename(testPath).replace(/\.test\.ts$/, "")}.jsonl`);
  // Opened once, appended to at each note (a many-seed test notes every world it builds): each
  // write reaches the file before the next line of the test runs, whatever becomes of this process.
  let descriptor = progressFiles.get(file);
  if (descriptor === undefined) {
    descriptor = openSync(file, "a");
    progressFiles.set(file, descriptor);
  }
  writeSync(descriptor, `${JSON.stringify(note)}\n`);
}

/** The progress notes' files this process has open, by path. */
const progressFiles = new Map<string, number>();
