/**
 * A learner's file as the world runs it: compiled once (esbuild strips the
 * types), and every failure of its code told in the same words whether it
 * ran in the test process (sandbox/node-program.ts) or in a process of its own
 * (sandbox/node-process.ts): a file that does not load, an error it threw
 * (with its own lines of node.ts), a call that never returned.
 *
 * Nothing here trusts what node code says about itself: the frames of a
 * stack are read only where they name the file's own label with a line and
 * a column, and the line shown under a failure comes from the source this
 * side compiled, never from a file a stack frame names.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire, SourceMap } from "node:module";
import path from "node:path";
import { getHeapStatistics } from "node:v8";
import vm from "node:vm";
import { Worker } from "node:worker_threads";
import type { TransformFailure, TransformOptions, transformSync as TransformSync } from "esbuild";
import { clearCallInProgress, didNotReturnText, HarnessError, nodeCallInProgress, type CallInProgress } from "../world/node-host.ts";
import { importRefusedText, missingExportText } from "../world/refused.ts";
import { FLAGS } from "./sandbox-realm.ts";

/** Why a node file could not be used at all. */
export type LoadProblem = "missing" | "syntax" | "import" | "export" | "top-level";

/** A node file that does not load: the first thing a learner needs to fix. */
export class NodeLoadError extends HarnessError {
  constructor(
    readonly file: string,
    readonly problem: LoadProblem,
    message: string,
  ) {
    super(message);
    // The file's own name: a chapter's other files (experiment.ts, clerk.ts) load the same way.
    this.name = `${path.basename(file) || "node.ts"} did not load`;
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A test ran out of real time: a node call that never returns, most likely. */
export class RealTimeLimitExceeded extends HarnessError {
  constructor(
    readonly limitMs: number,
    readonly call: CallInProgress | undefined,
  ) {
    super(didNotReturnText(limitMs, call));
    this.name = "Stopped";
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** What a learner reads when the node's code ran out of memory (the same whichever process it ran in). */
export const OUT_OF_MEMORY =
  "the node's code ran out of memory while this test ran, and was stopped with it. " +
  "Does a handler build an ever-growing array, map or string (a log appended to in a loop that never ends, say)? " +
  "Every other test still runs, in a fresh process.";

/** The node's code (or its process) ran out of memory during a test: the test fails, and the others still run. */
export class OutOfMemory extends HarnessError {
  constructor() {
    super(OUT_OF_MEMORY);
    this.name = "Stopped";
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A node file compiled once: what both kinds of sandbox run. */
export interface CompiledNodeFile {
  readonly file: string;
  /** The file as messages name it (relative to the project). */
  readonly label: string;
  /** esbuild's CommonJS output. */
  readonly code: string;
  readonly map: SourceMap | undefined;
  /** The source as compiled, for the line shown under a failure. */
  readonly sourceLines: readonly string[];
  readonly mtimeMs: number;
  readonly size: number;
}

const compiledFiles = new Map<string, CompiledNodeFile>();

/**
 * Compile a node file; throws a NodeLoadError that says what is wrong
 * (missing, a syntax error with its line and column) before any test runs.
 * With `useCache` (a practice run's default), esbuild's output is kept in
 * the project's compile cache and taken from it next time (see cacheFile);
 * grading passes false: what a grade runs is compiled from the file itself,
 * never read from a folder the code under test could have written to.
 */
export function compileNodeFile(file: string, root: string, useCache = true): CompiledNodeFile {
  const label = path.relative(root, file) || file;
  if (!existsSync(file)) {
    throw new NodeLoadError(
      file,
      "missing",
      `${label} is missing. If you deleted or renamed it by mistake, get the skeleton back with: git checkout -- ${label}` +
        ` (outside a git clone: copy it again from the workbook).`,
    );
  }
  const stats = statSync(file);
  // Kept apart by useCache: a grade never reuses what a practice run took from the cache.
  const key = `${useCache ? "cache" : "fresh"}:${file}`;
  const cached = compiledFiles.get(key);
  if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size && cached.label === label) return cached;
  const source = readFileSync(file, "utf8");
  const options = transformOptions(label);
  const output = (useCache ? compiledBefore(root, source, options) : undefined) ?? compile(file, root, source, options, useCache);
  const compiled: CompiledNodeFile = { file, label, code: output.code, map: sourceMapOf(output.map), sourceLines: source.split("\n"), mtimeMs: stats.mtimeMs, size: stats.size };
  compiledFiles.set(key, compiled);
  return compiled;
}

/** How every node file is compiled: esbuild's TypeScript loader, CommonJS out. */
function transformOptions(label: string): TransformOptions {
  // Dynamic import() becomes require(), which the sandbox refuses with a
  // plain message (an import() left as it is would reach the host's loader).
  return { loader: "ts", format: "cjs", target: "es2022", sourcemap: "external", sourcefile: label, supported: { "dynamic-import": false } };
}

/** Where the compile cache keeps `file` as it reads now (for the cache's own tests). */
export function compileCacheFile(file: string, root: string): string {
  return cacheFile(root, readFileSync(file, "utf8"), transformOptions(path.relative(root, file) || file));
}

function sourceMapOf(text: string): SourceMap | undefined {
  try {
    return new SourceMap(JSON.parse(text) as ConstructorParameters<typeof SourceMap>[0]);
  } catch {
    return undefined;
  }
}

/** What esbuild made of a file: the code and its source map (JSON). */
interface CompilerOutput {
  readonly code: string;
  readonly map: string;
}

/**
 * esbuild, loaded the first time a file is not in the compile cache: a
 * learner who runs a suite again with the same files never starts it
 * (loading it and its first compile are most of a tenth of a second).
 */
let esbuildTransform: typeof TransformSync | undefined;

function compile(file: string, root: string, source: string, options: TransformOptions, remember: boolean): CompilerOutput {
  esbuildTransform ??= (createRequire(import.meta.url)("esbuild") as { transformSync: typeof TransformSync }).transformSync;
  let output: CompilerOutput;
  try {
    const result = esbuildTransform(source, options);
    output = { code: result.code, map: result.map };
  } catch (error) {
    const first = (error as TransformFailure).errors?.[0];
    if (!first) throw error;
    const where = first.location;
    const pointer = where ? `\n\n  ${String(where.line).padStart(4)} | ${where.lineText}\n       | ${" ".repeat(where.column)}^` : "";
    const label = options.sourcefile ?? file;
    throw new NodeLoadError(file, "syntax", `${label}, line ${where?.line ?? "?"}, column ${(where?.column ?? 0) + 1}: ${first.text}${pointer}`);
  }
  if (remember) rememberCompiled(root, source, options, output);
  return output;
}

/**
 * The compile cache (.workbook-cache/compiled): esbuild's output for a
 * source, named by a hash of the source, the options (the file's label
 * among them) and esbuild's version. Only what esbuild made of the very
 * same text comes back; a file that cannot be read or parsed is compiled
 * again. Nothing depends on it but speed.
 */
function cacheFile(root: string, source: string, options: TransformOptions): string {
  const key = createHash("sha256").update(JSON.stringify([esbuildVersion(), options, source])).digest("hex");
  return path.join(root, ".workbook-cache", "compiled", `${key.slice(0, 40)}.json`);
}

let version: string | undefined;
function esbuildVersion(): string {
  version ??= (JSON.parse(readFileSync(createRequire(import.meta.url).resolve("esbuild/package.json"), "utf8")) as { version: string }).version;
  return version;
}

function compiledBefore(root: string, source: string, options: TransformOptions): CompilerOutput | undefined {
  try {
    const saved = JSON.parse(readFileSync(cacheFile(root, source, options), "utf8")) as Partial<CompilerOutput>;
    return typeof saved.code === "string" && typeof saved.map === "string" ? { code: saved.code, map: saved.map } : undefined;
  } catch {
    return undefined;
  }
}

/** How many compiled files the cache keeps: a learner's every edit adds one, so the oldest go. */
export const COMPILE_CACHE_LIMIT = 200;

function rememberCompiled(root: string, source: string, options: TransformOptions, output: CompilerOutput): void {
  try {
    const target = cacheFile(root, source, options);
    mkdirSync(path.dirname(target), { recursive: true });
    pruneCompileCache(path.dirname(target));
    // Written whole, then renamed: a suite running beside this one never reads half a file.
    const partial = `${target}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(output));
    renameSync(partial, target);
  } catch {
    // A read-only project still runs; it compiles each time.
  }
}

/** Past the limit, the older half goes (by when each was written): one look at the folder per compile, none per run. */
function pruneCompileCache(dir: string): void {
  const names = readdirSync(dir).filter((name) => name.endsWith(".json"));
  if (names.length < COMPILE_CACHE_LIMIT) return;
  const written = names.map((name) => ({ name, at: statSync(path.join(dir, name)).mtimeMs })).sort((a, b) => a.at - b.at);
  for (const { name } of written.slice(0, written.length - COMPILE_CACHE_LIMIT / 2)) rmSync(path.join(dir, name), { force: true });
}

/** How long a node file's own top-level code may take. */
export const LOAD_LIMIT_MS = 2000;

/** What became of running a file's top-level code, as either sandbox saw it. */
export type LoadOutcome =
  | { readonly kind: "loaded"; readonly exports: readonly string[]; readonly functions: readonly string[]; readonly hasDefault: boolean }
  | { readonly kind: "import refused"; readonly name: string }
  | { readonly kind: "timed out" }
  | { readonly kind: "threw"; readonly thrown: Described };

/** What node code threw, as three strings read inside its realm: name, message, stack. */
export type Described = readonly [name: string, message: string, stack: string];

/**
 * Check a load's outcome: returns when the file exports the functions
 * required (the first is what the world looks for first), else throws the
 * NodeLoadError a learner reads.
 */
export function checkLoad(compiled: CompiledNodeFile, outcome: LoadOutcome, required: readonly string[], requiredHint: string): void {
  const { file, label } = compiled;
  const failLoad = (problem: LoadProblem, text: string): never => {
    throw new NodeLoadError(file, problem, text);
  };
  switch (outcome.kind) {
    case "import refused":
      return failLoad("import", importRefusedText(label, clip(outcome.name, 200)));
    case "timed out":
      return failLoad("top-level", `${label}: its top-level code did not finish within ${LOAD_LIMIT_MS / 1000} s (an endless loop outside any method?).`);
    case "threw": {
      const [name, message, stack] = outcome.thrown;
      const frames = nodeFrames(stack, compiled);
      return failLoad("top-level", `${label} threw while loading, before any test could start: ${clip(name, 200)}: ${clip(message, 4000)}${frames.length > 0 ? `\n${frames.join("\n")}` : ""}`);
    }
    case "loaded":
      break;
  }
  const [first, ...rest] = required;
  if (first !== undefined && !outcome.functions.includes(first)) {
    if (outcome.hasDefault) failLoad("export", `${label} has a default export but no export named ${first}. The world looks for: ${requiredHint}`);
    failLoad("export", missingExportText(label, first, requiredHint, outcome.exports.map((n) => clip(n, 100))));
  }
  for (const name of rest) {
    if (!outcome.functions.includes(name)) {
      failLoad("export", missingExportText(label, name, "see the chapter's reading", outcome.exports.map((n) => clip(n, 100))));
    }
  }
}

/** At most `max` characters of a text node code made (a huge toString must not flood a report). */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)} … (${text.length - max} more characters left out)`;
}

/** What a node's error message needs added for a learner. */
export function explainMessage(message: string): string {
  if (/read[ -]only property|object is not extensible|Cannot (add|delete) property|Cannot assign to read only/.test(message)) {
    return `${message}\n  (Log entries are read-only once they are in a log: the contract's LogEntry is readonly. To change an entry, put a new { term, command } object in its place.)`;
  }
  return message;
}

/** An error thrown by node code, as the world reports it: its own frames of node.ts, and the line that threw. */
export interface NodeError extends Error {
  /** The line of node.ts the first frame points at, with a caret under the column (for the report). */
  codeFrame?: string;
}

/** An error for the world to report, carrying the node's own stack frames, mapped to node.ts lines. */
export function nodeError(thrown: Described, compiled: CompiledNodeFile): NodeError {
  const [rawName, rawMessage, stack] = thrown;
  const name = clip(rawName, 200);
  const message = explainMessage(clip(rawMessage, 4000));
  const error: NodeError = new Error(message);
  error.name = name;
  const frames = nodeFrames(stack, compiled);
  error.stack = [`${name}: ${message}`, ...frames].join("\n");
  const frame = codeFrameOf(frames[0], compiled);
  // Own and enumerable: the harness copies errors with Object.assign.
  if (frame !== undefined) error.codeFrame = frame;
  return error;
}

/** The frames of a node's stack that are in its own file: "    at Node.start (chapters/…/node.ts:54:11)", with node.ts's lines. */
export function nodeFrames(stack: string, compiled: CompiledNodeFile): string[] {
  const frames: string[] = [];
  const { label, map } = compiled;
  for (const line of stack.split("\n").slice(0, 200)) {
    // Only a frame that is exactly "at name (label:line:column)" or "at
    // label:line:column": the rest of a stack, or a line of text made to look
    // like a frame of another file, is dropped.
    const named = /^\s+at ([^()\n]{1,120}) \((.+):(\d+):(\d+)\)$/.exec(line);
    const bare = named ? null : /^\s+at (.+):(\d+):(\d+)$/.exec(line);
    const match = named ? named : bare ? [bare[0], undefined, bare[1], bare[2], bare[3]] : null;
    if (!match || match[2] !== label) continue;
    let lineNumber = Number(match[3]);
    let column = Number(match[4]);
    const entry = map?.findEntry(lineNumber - 1, column - 1) as { originalLine?: number; originalColumn?: number } | undefined;
    if (entry?.originalLine !== undefined && entry.originalColumn !== undefined) {
      lineNumber = entry.originalLine + 1;
      column = entry.originalColumn + 1;
    }
    frames.push(match[1] !== undefined ? `    at ${match[1]} (${label}:${lineNumber}:${column})` : `    at ${label}:${lineNumber}:${column}`);
    if (frames.length === 20) break;
  }
  return frames;
}

/** The source line a frame of the node's own file points at, with a caret under the column. */
function codeFrameOf(frame: string | undefined, compiled: CompiledNodeFile): string | undefined {
  const match = frame ? /:(\d+):(\d+)\)?$/.exec(frame) : null;
  if (!match) return undefined;
  const line = Number(match[1]);
  const source = compiled.sourceLines[line - 1];
  if (source === undefined) return undefined;
  const gutter = String(line).length;
  const column = Math.max(0, Number(match[2]) - 1);
  const shown = source.length > 120 ? `${source.slice(0, 119)}…` : source;
  return `  ${String(line)} | ${shown}\n  ${" ".repeat(gutter)} | ${" ".repeat(Math.min(column, 119))}^`;
}

/** Console output of node code: one line per call, with the node and the simulated time. */
export function writeNodeLog(level: string, text: string): void {
  const call = nodeCallInProgress();
  const who = call ? `[node ${call.node} @ ${call.time} ms]` : "[node.ts]";
  const line = `${who} ${text}`;
  // Through this side's console, so a test runner shows it with the test it belongs to.
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

const limitContext = vm.createContext({ body: undefined as unknown, result: undefined as unknown });
const limitScript = new vm.Script("result = body(); body = undefined;");

/** Whether the node call that a stop interrupted was reporting its state: set by whichever sandbox ran it. */
let inspectingHook: () => boolean = () => FLAGS[0] === 1;

/** For sandbox/node-process.ts: how to tell, when a test is stopped, whether the node was in inspect(). */
export function setInspectingHook(hook: () => boolean): () => void {
  const previous = inspectingHook;
  inspectingHook = hook;
  return () => {
    inspectingHook = previous;
  };
}

/**
 * The watch on node code: [0] 1 while node code runs in this process (2
 * once the watchdog has stopped it), [1] a count of entries into node code
 * and returns from it, [2] how long it may run, [3] nothing (the watchdog sleeps on
 * it); [4] the process group of a node's own process this process is
 * waiting on (0: none), [5] since when it has said nothing, [6] 1 once the
 * watchdog ended it for that, [7] how long it may say nothing. Written at
 * every call: stores, no calls.
 */
const WATCH = new Int32Array(new SharedArrayBuffer(32));
const ORIGIN = Date.now();
let watchdogStarted = false;

/**
 * A thread that stops node code which has run longer than the limit: it
 * interrupts this process's JavaScript (SIGINT, which the run below takes
 * as "stop here"), whatever else the machine is doing. No per-call timer:
 * the thread looks every 50 ms.
 */
function startWatchdog(): void {
  if (watchdogStarted) return;
  watchdogStarted = true;
  // A stray interrupt, arriving after the call it was meant for returned, does nothing.
  process.on("SIGINT", () => {});
  const watchdog = new Worker(
    `const { workerData } = require("node:worker_threads");
const watch = new Int32Array(workerData.buffer);
let seen = -1;
let since = 0;
for (;;) {
  Atomics.wait(watch, 3, 0, 50);
  const limit = Atomics.load(watch, 2) > 0 ? Atomics.load(watch, 2) : 5000;
  const now = Date.now() - workerData.origin;
  // Node code in this process: the count of entries into it and returns from it moves at every call.
  const count = Atomics.load(watch, 1);
  if (count !== seen || Atomics.load(watch, 0) !== 1) {
    seen = count;
    since = now;
  } else if (now - since > limit && Atomics.compareExchange(watch, 0, 1, 2) === 1) {
    process.kill(process.pid, "SIGINT");
  }
  const group = Atomics.load(watch, 4);
  if (group > 0 && now - Atomics.load(watch, 5) > Atomics.load(watch, 7) && Atomics.compareExchange(watch, 4, group, 0) === group) {
    Atomics.store(watch, 6, 1);
    try { process.kill(-group, "SIGKILL"); } catch (error) {}
  }
}`,
    { eval: true, workerData: { buffer: WATCH.buffer, origin: ORIGIN } },
  );
  watchdog.unref();
}

/**
 * This process now waits on a node's own process (its process group): the
 * watchdog ends that process if it says nothing for the limit (the wait is
 * a read that only its answer, or its end, can finish).
 */
export function waitOnNodeProcess(group: number, silentSince: number, limitMs: number): void {
  startWatchdog();
  WATCH[6] = 0;
  WATCH[5] = silentSince - ORIGIN;
  WATCH[7] = limitMs;
  Atomics.store(WATCH, 4, group);
}

/** The wait is over; true if the watchdog ended the process for saying nothing too long. */
export function doneWaitingOnNodeProcess(): boolean {
  Atomics.store(WATCH, 4, 0);
  return WATCH[6] === 1;
}

/** The real-time limit of a node call right now (the innermost runWithRealTimeLimit's; 5 s outside any). */
export function callLimitMs(): number {
  return WATCH[2]! > 0 ? WATCH[2]! : 5000;
}

/** What the watch held before a call into node code began (for when it returns to the code that called). */
export type WatchMark = number;

/**
 * Node code begins to run (a handler, a load, an experiment's function):
 * its clock starts. (A count, not a time: the watchdog notes when it last
 * saw the count move, which costs each call one addition.)
 */
export function enterNodeCode(): WatchMark {
  const previous = WATCH[0]!;
  WATCH[1] = (WATCH[1]! + 1) | 0;
  WATCH[0] = 1;
  return previous;
}

/** Node code returned: back to the code that called it (the clock starts again if that is node code too). */
export function leaveNodeCode(previous: WatchMark): void {
  WATCH[1] = (WATCH[1]! + 1) | 0;
  if (WATCH[0] !== 2) WATCH[0] = previous === 1 ? 1 : 0;
}

/** Whether this process's heap is all but full. */
function nearHeapLimit(): boolean {
  const heap = getHeapStatistics();
  return heap.used_heap_size > 0.8 * heap.heap_size_limit;
}

/**
 * Run `body` (synchronous code: a test, a trial of an experiment) and stop
 * it when node code in it runs for longer than `limitMs` of real time
 * without returning: V8 interrupts even `while (true) {}`. Real time stops
 * nothing else, so a verdict does not depend on how fast the machine is: a
 * body that is merely long runs to its end (up to `backstopMs`). The error
 * names the node call that was running.
 */
export function runWithRealTimeLimit<T>(limitMs: number, body: () => T, backstopMs = 600_000): T {
  startWatchdog();
  const context = limitContext as { body: unknown; result: unknown };
  // No clearing of the call in progress here: a node file loads inside a
  // node's first call (createNode), under a limit of its own, and what the
  // node prints then still names the node.
  const previous = context.body;
  const previousLimit = WATCH[2]!;
  context.body = body;
  WATCH[2] = limitMs;
  try {
    // displayErrors off: Node would otherwise prefix the stack of whatever
    // passes through with the line of this script, an arrow and all.
    limitScript.runInContext(limitContext, { timeout: backstopMs, breakOnSigint: true, displayErrors: false });
    return context.result as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Stopped by the watchdog while the heap was all but full: node code
    // that was eating memory (V8 collects garbage over and over near its
    // limit, slowly), the same verdict as a node's own process that ran out.
    if (code === "ERR_SCRIPT_EXECUTION_INTERRUPTED" && nearHeapLimit()) {
      clearCallInProgress();
      WATCH[0] = 0;
      FLAGS[0] = 0;
      throw new OutOfMemory();
    }
    if (code === "ERR_SCRIPT_EXECUTION_INTERRUPTED" || code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      // The interrupted call never reached its own clean-up.
      const stopped = nodeCallInProgress();
      clearCallInProgress();
      WATCH[0] = 0;
      // The sandbox marks the moment a handler is done and inspect() begins.
      const inInspect = inspectingHook();
      FLAGS[0] = 0;
      const limit = code === "ERR_SCRIPT_EXECUTION_TIMEOUT" ? backstopMs : limitMs;
      throw new RealTimeLimitExceeded(limit, stopped && inInspect ? { ...stopped, describe: () => `reporting its state (inspect) after ${stopped.describe()}` } : stopped);
    }
    throw error;
  } finally {
    WATCH[2] = previousLimit;
    context.result = undefined;
    context.body = previous;
  }
}
