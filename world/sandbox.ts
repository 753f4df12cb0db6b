/**
 * The sandbox: how a node file written by a learner runs under Node.js.
 * (The only file in world/ that needs Node.js; the world's core runs
 * anywhere.)
 *
 * A node.ts is compiled (esbuild strips the types) and evaluated in a
 * fresh `node:vm` context of its own for each test. Its globals are only
 * what the contract allows: a console for debugging, and the language
 * itself. `Math.random`, the clock, timers and `process` throw with a
 * message that says what to use instead; `eval` and `new Function` are
 * off; nothing of the world, the checker or the test harness is in
 * reach, because nothing the node is handed comes from outside its own
 * context: its environment, every message and every saved state are
 * built inside the sandbox, and the world reads what the node returns
 * without ever passing it an object of its own.
 *
 * Two things a sandbox cannot stop from inside are handled around it:
 * a call that never returns (runWithRealTimeLimit stops the test after a
 * real-time limit, naming the node and what it was handling), and a node
 * that eats all memory (the test process dies alone; the launcher runs
 * the rest of the tests again in a fresh one).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { transformSync, type TransformFailure } from "esbuild";
import type { CreateNode, NodeEnvironment, NodeView, PersistentState, ProposeResult, RaftNode, Timing } from "./contract.ts";
import type { HostLab } from "./lab.ts";
import { clearCallInProgress, HarnessError, markCopiesMessages, nodeCallInProgress, type CallInProgress } from "./node-host.ts";

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
    this.name = "node.ts did not load";
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A test ran out of real time: a node call that never returns, most likely. */
export class RealTimeLimitExceeded extends Error {
  constructor(
    readonly limitMs: number,
    readonly call: CallInProgress | undefined,
  ) {
    const seconds = `${(limitMs / 1000).toFixed(limitMs % 1000 === 0 ? 0 : 1)} s`;
    super(
      call
        ? `node ${call.node} did not return from ${call.describe()} at ${call.time} ms of simulated time, ` +
            `and the test was stopped after ${seconds} of real time. An endless loop? Look for a loop in that ` +
            `handler whose condition never changes, or a recursion that never ends.`
        : `the test was stopped after ${seconds} of real time, while no node code was running: the test itself ` +
            `is slow on this machine, or a node keeps the world busy (a flood of messages or timers).`,
    );
    this.name = "Stopped";
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A node file compiled once, ready to be run in as many fresh sandboxes as needed. */
export interface NodeProgram {
  readonly file: string;
  /** The file as messages name it (relative to the project). */
  readonly label: string;
  /** Evaluate the file in a fresh sandbox and return its createNode, wrapped for the world. */
  instantiate(): CreateNode;
  /**
   * Evaluate the file (an experiment, like Chapter 3's) in a fresh sandbox
   * and return its exported functions, called with values that are copied
   * in and out as JSON and, first, a lab built inside the sandbox.
   */
  instantiateExperiment(names: readonly string[]): ExperimentModule;
}

/** An experiment file's functions, callable from this side. */
export interface ExperimentModule {
  /**
   * Call the exported function `name` with `lab` (when given) and then
   * `args` (copied in as JSON), and return what it returned (copied out as
   * JSON: numbers, strings, booleans, null, arrays and plain objects).
   */
  call(name: string, args: readonly unknown[], lab?: HostLab): unknown;
}


interface Compiled {
  readonly code: string;
  readonly map: SourceMap | undefined;
  readonly mtimeMs: number;
  readonly size: number;
}

const compiledFiles = new Map<string, Compiled>();

/**
 * Compile a node file; throws a NodeLoadError that says what is wrong
 * (missing, a syntax error with its line and column) before any test runs.
 */
export function loadNodeProgram(file: string, root = process.cwd()): NodeProgram {
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
  let compiled = compiledFiles.get(file);
  if (!compiled || compiled.mtimeMs !== stats.mtimeMs || compiled.size !== stats.size) {
    compiled = compile(file, label, stats);
    compiledFiles.set(file, compiled);
  }
  const program: Compiled = compiled;
  return {
    file,
    label,
    instantiate: () => instantiate(program, file, label),
    instantiateExperiment: (names) => instantiateExperiment(program, file, label, names),
  };
}

function compile(file: string, label: string, stats: { mtimeMs: number; size: number }): Compiled {
  const source = readFileSync(file, "utf8");
  try {
    const result = transformSync(source, { loader: "ts", format: "cjs", target: "es2022", sourcemap: "external", sourcefile: label });
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(result.map) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      map = undefined;
    }
    return { code: result.code, map, mtimeMs: stats.mtimeMs, size: stats.size };
  } catch (error) {
    const first = (error as TransformFailure).errors?.[0];
    if (!first) throw error;
    const where = first.location;
    const pointer = where
      ? `\n\n  ${String(where.line).padStart(4)} | ${where.lineText}\n       | ${" ".repeat(where.column)}^`
      : "";
    throw new NodeLoadError(file, "syntax", `${label}, line ${where?.line ?? "?"}, column ${(where?.column ?? 0) + 1}: ${first.text}${pointer}`);
  }
}

/**
 * What runs inside every sandbox before the node file: it takes away
 * what a node must not use, and builds the helpers that carry things
 * into the sandbox. It keeps its own references to the language's
 * functions before any node code runs, so a node that replaces
 * Object.freeze or Array.prototype.push later changes nothing here.
 */
const PRELUDE = String.raw`(function (host) {
  "use strict";
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const ErrorType = Error;
  const StringType = String;
  const stringify = JSON.stringify;
  const isArray = Array.isArray;
  const g = globalThis;

  function refuse(what, instead) {
    return function () {
      const text = "node code called " + what + ". " + instead;
      host.refused(text);
      throw new ErrorType(text);
    };
  }
  function lock(object, key, value) {
    defineProperty(object, key, { value: value, writable: false, configurable: false, enumerable: false });
  }
  const repeatable = ", so the same seed replays the same run.";
  lock(Math, "random", refuse("Math.random()", "In the simulated world use env.randomInt(min, max)" + repeatable));
  const RealDate = Date;
  function SimulatedDate() {
    if (arguments.length === 0 || !new.target) refuse("Date() or new Date() for the current time", "In the simulated world use env.now()" + repeatable)();
    return Reflect.construct(RealDate, arguments, new.target);
  }
  SimulatedDate.prototype = RealDate.prototype;
  lock(SimulatedDate, "now", refuse("Date.now()", "In the simulated world use env.now()" + repeatable));
  lock(SimulatedDate, "UTC", RealDate.UTC);
  lock(SimulatedDate, "parse", RealDate.parse);
  lock(g, "Date", SimulatedDate);
  const timers = 'env.setTimer("election" or "heartbeat", delayMs)';
  lock(g, "setTimeout", refuse("setTimeout()", "In the simulated world use " + timers + repeatable));
  lock(g, "setInterval", refuse("setInterval()", "In the simulated world set the timer again each time it fires: " + timers + repeatable));
  lock(g, "setImmediate", refuse("setImmediate()", "In the simulated world use " + timers + repeatable));
  lock(g, "queueMicrotask", refuse("queueMicrotask()", "A node's handlers run to the end; there is nothing to wait for."));
  lock(g, "performance", freeze({ now: refuse("performance.now()", "In the simulated world use env.now()" + repeatable) }));
  defineProperty(g, "process", {
    get: refuse("process (the environment, arguments, the real process)", "Everything a node needs comes through env (world/contract.ts)."),
    configurable: false,
  });
  // V8 calls Error.prepareStackTrace with every frame of a stack, the
  // world's included; node code may not install one.
  lock(ErrorType, "prepareStackTrace", undefined);

  function show(value) {
    if (typeof value === "string") return value;
    try {
      const text = stringify(value);
      return text === undefined ? StringType(value) : text;
    } catch (error) {
      return StringType(value);
    }
  }
  function logger(level) {
    return function () {
      let text = "";
      for (let i = 0; i < arguments.length; i++) text += (i === 0 ? "" : " ") + show(arguments[i]);
      host.log(level, text);
    };
  }
  lock(g, "console", freeze({ log: logger("log"), info: logger("info"), warn: logger("warn"), error: logger("error"), debug: logger("debug") }));

  function copyEntries(source) {
    const entries = [];
    const n = source.length;
    for (let i = 0; i < n; i++) {
      const e = source[i];
      entries[i] = { term: e.term, command: e.command };
    }
    return entries;
  }
  function copyMessage(m) {
    switch (m.type) {
      case "RequestVote":
        return { type: m.type, term: m.term, candidateId: m.candidateId, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm };
      case "RequestVoteReply":
        return { type: m.type, term: m.term, voteGranted: m.voteGranted };
      case "AppendEntries":
        return { type: m.type, term: m.term, leaderId: m.leaderId, prevLogIndex: m.prevLogIndex, prevLogTerm: m.prevLogTerm, entries: copyEntries(m.entries), leaderCommit: m.leaderCommit };
      case "AppendEntriesReply": {
        const reply = { type: m.type, term: m.term, success: m.success, matchIndex: m.matchIndex, lastLogIndex: m.lastLogIndex };
        // Chapter 7's optional hints, only when given: older nodes never see the keys.
        if (m.conflictTerm !== undefined) reply.conflictTerm = m.conflictTerm;
        if (m.conflictIndex !== undefined) reply.conflictIndex = m.conflictIndex;
        return reply;
      }
    }
    throw new ErrorType("unknown message type " + StringType(m.type));
  }
  function copyState(s) {
    if (s === null) return null;
    return { currentTerm: s.currentTerm, votedFor: s.votedFor, log: copyEntries(s.log) };
  }
  function failureText(error) {
    // An error of the world's, caught here so that node code never holds it.
    try {
      return typeof error === "object" && error !== null ? StringType(error.message) : StringType(error);
    } catch (e) {
      return "the world refused the call";
    }
  }
  // What a node call is doing, for a report of one that never returns: 1
  // while the node reports its state (inspect), 0 otherwise. Written here,
  // read by the world's side without a call.
  const phase = host.phase;

  function makeEnv(outer) {
    const peers = [];
    for (let i = 0; i < outer.peers.length; i++) peers[i] = outer.peers[i];
    freeze(peers);
    // The time and the timing settings cannot change while the node runs:
    // the world hands them over with every call (see enter), so reading
    // them costs the node nothing.
    let now = 0;
    let timingSource;
    let timing;
    function sync(time, t) {
      now = time;
      if (t !== timingSource) {
        timingSource = t;
        timing = freeze({ electionTimeoutMin: t.electionTimeoutMin, electionTimeoutMax: t.electionTimeoutMax, heartbeatInterval: t.heartbeatInterval });
      }
    }
    // Each method calls the world's environment and turns a refusal into an
    // error of the sandbox's own.
    const env = freeze({
      id: outer.id,
      peers: peers,
      get timing() {
        return timing;
      },
      now: function now_() { return now; },
      randomInt: function randomInt(min, max) {
        try { return outer.randomInt(min, max); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      send: function send(to, message) {
        try { outer.send(to, message); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      setTimer: function setTimer(name, delayMs) {
        try { outer.setTimer(name, delayMs); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      cancelTimer: function cancelTimer(name) {
        try { outer.cancelTimer(name); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      apply: function apply(index, entry) {
        try { outer.apply(index, entry); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      save: function save(state) {
        try { outer.save(state); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      note: function note(text) {
        outer.note(show(text));
      },
    });
    return { env: env, sync: sync };
  }
  function create(createNode, made, saved, time, timing) {
    made.sync(time, timing);
    return createNode(made.env, copyState(saved));
  }
  // One call into the sandbox per event: the handler, then the node's view
  // of itself (what the world asks for next anyway).
  function enter(kind, node, sync, a, b, time, timing) {
    sync(time, timing);
    switch (kind) {
      case 0:
        node.start();
        break;
      case 1:
        node.receive(a, copyMessage(b));
        break;
      case 2:
        node.timerFired(a);
        break;
      case 3:
        return node.propose(a);
    }
    phase[0] = 1;
    const view = node.inspect();
    phase[0] = 0;
    return view;
  }
  function inspect(node) {
    phase[0] = 1;
    const view = node.inspect();
    phase[0] = 0;
    return view;
  }
  function describeThrown(thrown) {
    try {
      if (thrown instanceof ErrorType) {
        return [StringType(thrown.name), StringType(thrown.message), typeof thrown.stack === "string" ? thrown.stack : ""];
      }
      return ["Error", "threw " + show(thrown) + " (not an Error)", ""];
    } catch (error) {
      return ["Error", "threw something that cannot be described", ""];
    }
  }
  // An experiment's lab, built here around the world's: experiment code
  // gets only objects of its own, and hands the world only numbers and strings.
  function makeLab(outer) {
    function fail(error) {
      return new ErrorType(failureText(error));
    }
    function names(list) {
      const copy = [];
      for (let i = 0; i < list.length; i++) copy[i] = StringType(list[i]);
      return freeze(copy);
    }
    function viewOf(v) {
      return freeze({
        role: StringType(v.role), currentTerm: v.currentTerm, votedFor: v.votedFor, leaderId: v.leaderId,
        log: freeze(copyEntries(v.log)), commitIndex: v.commitIndex, lastApplied: v.lastApplied,
      });
    }
    return freeze({
      bootCluster: function bootCluster(options) {
        const range = options.electionTimeout;
        let cluster;
        try {
          cluster = outer.boot(+options.nodes, +options.seed, +range[0], +range[1]);
        } catch (error) {
          throw fail(error);
        }
        const nodes = names(cluster.nodes);
        return freeze({
          get now() { return cluster.now(); },
          nodes: nodes,
          runUntil: function runUntil(condition, withinMs) {
            if (typeof condition !== "function") throw new ErrorType("runUntil(condition, withinMs): condition must be a function that returns true when the run should stop");
            try { return cluster.runUntil(function () { return !!condition(); }, +withinMs); } catch (error) { throw fail(error); }
          },
          runFor: function runFor(ms) {
            try { cluster.runFor(+ms); } catch (error) { throw fail(error); }
          },
          leaders: function leaders() {
            try { return names(cluster.leaders()); } catch (error) { throw fail(error); }
          },
          view: function view(id) {
            try { return viewOf(cluster.view(StringType(id))); } catch (error) { throw fail(error); }
          },
        });
      },
    });
  }
  const parse = JSON.parse;
  function call(fn, argsText, outerLab) {
    const args = parse(argsText);
    if (outerLab !== undefined) args.unshift(makeLab(outerLab));
    const result = fn.apply(undefined, args);
    const text = stringify(result);
    return text === undefined ? "null" : text;
  }
  function requireRefused(name) {
    const text = "imports \"" + StringType(name) + "\" at run time";
    host.importRefused(StringType(name));
    throw new ErrorType(text);
  }
  return { makeEnv: makeEnv, create: create, enter: enter, inspect: inspect, call: call, describeThrown: describeThrown, requireRefused: requireRefused };
})`;

/** A node's environment inside the sandbox, and how the world hands it the time and timing before each call. */
interface SandboxEnv {
  readonly env: NodeEnvironment;
  readonly sync: (time: number, timing: Timing) => void;
}

/** What enter() is asked to run. */
const START = 0;
const RECEIVE = 1;
const TIMER = 2;
const PROPOSE = 3;

interface SandboxHelpers {
  /** The node's environment, built inside the sandbox around the world's (which it never hands over). */
  makeEnv(outer: NodeEnvironment): SandboxEnv;
  create(createNode: unknown, made: SandboxEnv, saved: PersistentState | null, time: number, timing: Timing): RaftNode;
  /** Run a handler, then inspect(): one call into the sandbox per event. */
  enter(kind: number, node: RaftNode, sync: SandboxEnv["sync"], a: unknown, b: unknown, time: number, timing: Timing): unknown;
  inspect(node: RaftNode): NodeView;
  /** Call an experiment's function with a lab and JSON arguments; its result comes back as JSON text. */
  call(fn: unknown, argsText: string, lab: HostLab | undefined): string;
  describeThrown(thrown: unknown): [string, string, string];
  requireRefused(name: string): never;
}

/** The sandbox's globals a node file sees as parameters of its module function (see instantiate). */
const SANDBOX_GLOBALS = [
  "globalThis", "undefined", "NaN", "Infinity", "Object", "Function", "Array", "Number", "Boolean", "String", "Symbol", "BigInt",
  "Math", "JSON", "Reflect", "Proxy", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "Promise", "Date", "RegExp",
  "Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError",
  "ArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  "isNaN", "isFinite", "parseInt", "parseFloat", "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI",
  "console", "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "performance",
];

/** Written by every sandbox's prelude: 1 while a node reports its state (see enter in PRELUDE). */
const PHASE = new Int32Array(1);

const preludeScript = new vm.Script(PRELUDE, { filename: "world/sandbox.ts (prelude)" });

/** How long a node file's own top-level code may take. */
const LOAD_LIMIT_MS = 2000;

/** Console output of node code: one line per call, with the node and the simulated time. */
function writeLog(level: string, text: string): void {
  const call = nodeCallInProgress();
  const who = call ? `[node ${call.node} @ ${call.time} ms]` : "[node.ts]";
  const line = `${who} ${text}`;
  // Through this side's console, so a test runner shows it with the test it belongs to.
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/** A file evaluated in a fresh sandbox: its exports, and how to turn what its code throws into errors of this side's. */
interface Evaluated {
  readonly helpers: SandboxHelpers;
  readonly exports: Record<string, unknown>;
  /** Rethrow what the file's code threw as an error of this side's, with its frames mapped to the file's lines. */
  readonly fail: (error: unknown) => never;
  /** A refused global (Math.random...) stops the call even if the code caught the error. */
  readonly refusedCheck: () => void;
}

function evaluate(compiled: Compiled, file: string, label: string, required: string, requiredHint: string): Evaluated {
  // Set when node code touched a refused global (Math.random...), even if it caught the error.
  let refused: string | undefined;
  let importRefused: string | undefined;
  const context = vm.createContext({}, { name: label, codeGeneration: { strings: false, wasm: false } });
  const makeHelpers = preludeScript.runInContext(context) as (host: object) => SandboxHelpers;
  const helpers = makeHelpers({
    phase: PHASE,
    refused: (text: string) => {
      refused ??= text;
    },
    log: writeLog,
    importRefused: (name: string) => {
      importRefused ??= name;
    },
  });

  // The module: esbuild's CommonJS output inside a function, one line up so
  // line numbers match. The language's globals come in as parameters: in a
  // vm context every global lookup goes through Node's interceptor, about a
  // hundred times slower than a local, and node code says Math and Map often.
  // Strict mode as in any ES module: assigning to a frozen entry throws
  // instead of silently doing nothing.
  const wrapper = new vm.Script(`(function (exports, module, require, ${SANDBOX_GLOBALS.join(", ")}) { "use strict";\n${compiled.code}\n})`, { filename: label, lineOffset: -1 });
  const globals = vm.runInContext(`[${SANDBOX_GLOBALS.join(", ")}]`, context) as unknown[];
  const failLoad = (problem: LoadProblem, text: string): never => {
    throw new NodeLoadError(file, problem, text);
  };
  // Everything that runs the file's code, its getters included, runs under a time limit.
  let exported: { values: Record<string, unknown>; hasDefault: boolean; names: string[] };
  try {
    exported = runWithRealTimeLimit(LOAD_LIMIT_MS, () => {
      const run = wrapper.runInContext(context, { displayErrors: false }) as (exports: unknown, module: unknown, require: unknown, ...globals: unknown[]) => void;
      const moduleObject = vm.runInContext("({ exports: {} })", context) as { exports: Record<string, unknown> };
      run(moduleObject.exports, moduleObject, helpers.requireRefused, ...globals);
      const exports = moduleObject.exports;
      const names = Object.keys(exports);
      const values: Record<string, unknown> = {};
      for (const name of names) values[name] = exports[name];
      return { values, hasDefault: exports.default !== undefined, names };
    });
  } catch (error) {
    if (importRefused !== undefined) {
      failLoad(
        "import",
        `${label} imports "${importRefused}" at run time. A workbook file depends on nothing but the world's types: ` +
          `write \`import type { ... } from "../../world/contract.ts"\`. Everything else comes through what the world hands your code.`,
      );
    }
    if (error instanceof RealTimeLimitExceeded) failLoad("top-level", `${label}: its top-level code did not finish within ${LOAD_LIMIT_MS / 1000} s (an endless loop outside any method?).`);
    const [name, message, stack] = describe(helpers, error);
    failLoad("top-level", `${label} threw while loading, before any test could start: ${name}: ${message}${nodeFrames(stack, label, compiled.map)}`);
    throw error;
  }
  if (typeof exported.values[required] !== "function") {
    if (exported.hasDefault) {
      failLoad("export", `${label} has a default export but no export named ${required}. The world looks for: ${requiredHint}`);
    }
    failLoad("export", `${label} must export a function named ${required} (${requiredHint}); it exports ${exported.names.length > 0 ? exported.names.join(", ") : "nothing"}.`);
  }
  const fail = (error: unknown): never => {
    if (isOuterError(error)) throw error;
    const [name, message, stack] = describe(helpers, error);
    throw nodeError(name, explainMessage(message), stack, label, compiled.map);
  };
  const refusedCheck = (): void => {
    if (refused === undefined) return;
    const text = refused;
    refused = undefined;
    throw nodeError("Error", text, "", label, compiled.map);
  };
  return { helpers, exports: exported.values, fail, refusedCheck };
}

function instantiateExperiment(compiled: Compiled, file: string, label: string, names: readonly string[]): ExperimentModule {
  const first = names[0] ?? "";
  const { helpers, exports, fail, refusedCheck } = evaluate(compiled, file, label, first, `export function ${first}(...) (see the chapter's reading)`);
  for (const name of names.slice(1)) {
    if (typeof exports[name] !== "function") {
      throw new NodeLoadError(file, "export", `${label} must export a function named ${name} (see the chapter's reading); it exports ${Object.keys(exports).join(", ") || "nothing"}.`);
    }
  }
  return {
    call(name, args, lab) {
      const fn = exports[name];
      if (typeof fn !== "function") throw new Error(`${label} has no function ${name}`);
      let text: string;
      try {
        text = helpers.call(fn, JSON.stringify(args), lab);
      } catch (error) {
        return fail(error);
      }
      refusedCheck();
      return JSON.parse(text) as unknown;
    },
  };
}

function instantiate(compiled: Compiled, file: string, label: string): CreateNode {
  const { helpers, exports, fail, refusedCheck } = evaluate(compiled, file, label, "createNode", "export const createNode: CreateNode = (env, saved) => ... (see world/contract.ts)");
  const createNode = exports.createNode;
  const sandboxCreate = createNode as (env: NodeEnvironment, saved: PersistentState | null) => RaftNode;

  const create: CreateNode = (env, saved) => {
    // Calls into the sandbox: whatever the node throws comes back as an
    // error of this side's (fail), with the frames of node.ts mapped to its lines.
    const made = helpers.makeEnv(env);
    const sync = made.sync;
    let inner: RaftNode;
    try {
      inner = helpers.create(sandboxCreate, made, saved, env.now(), env.timing);
    } catch (error) {
      return fail(error);
    }
    refusedCheck();
    if (typeof inner !== "object" || inner === null) return inner;
    // The view the last handler's call brought back, or the error inspect() threw then.
    let view: NodeView | undefined;
    let inspectError: unknown;
    let inspectFailed = false;
    const handle = (kind: number, a: unknown, b: unknown): void => {
      try {
        view = helpers.enter(kind, inner, sync, a, b, env.now(), env.timing) as NodeView;
      } catch (error) {
        if (PHASE[0] === 1) {
          // The handler was done; inspect() threw. Report it when the world asks for the view.
          PHASE[0] = 0;
          inspectFailed = true;
          inspectError = error;
        } else {
          fail(error);
        }
      }
      refusedCheck();
    };
    return {
      start: () => handle(START, undefined, undefined),
      receive: (from, message) => handle(RECEIVE, from, message),
      timerFired: (timer) => handle(TIMER, timer, undefined),
      propose(command) {
        let result: ProposeResult;
        try {
          result = helpers.enter(PROPOSE, inner, sync, command, undefined, env.now(), env.timing) as ProposeResult;
        } catch (error) {
          return fail(error);
        }
        refusedCheck();
        return result;
      },
      inspect() {
        if (view !== undefined) {
          const ready = view;
          view = undefined;
          return ready;
        }
        if (inspectFailed) {
          inspectFailed = false;
          return fail(inspectError);
        }
        let fresh: NodeView;
        try {
          fresh = helpers.inspect(inner);
        } catch (error) {
          PHASE[0] = 0;
          return fail(error);
        }
        refusedCheck();
        return fresh;
      },
    };
  };
  return markCopiesMessages(create);
}

/** Name, message and stack of what node code threw, read inside the sandbox, as strings. */
function describe(helpers: SandboxHelpers, thrown: unknown): [string, string, string] {
  if (isOuterError(thrown)) return [thrown.name, thrown.message, thrown.stack ?? ""];
  const described = helpers.describeThrown(thrown);
  // Index reads, not destructuring: the sandbox's array iterator belongs to node code.
  return [String(described[0]), String(described[1]), String(described[2])];
}

/** An error of this side's (the world's), not one thrown by node code. */
function isOuterError(error: unknown): error is Error {
  return error instanceof Error;
}

/** What a node's error message needs added for a learner. */
function explainMessage(message: string): string {
  if (/read[ -]only property|object is not extensible|Cannot (add|delete) property|Cannot assign to read only/.test(message)) {
    return `${message}\n  (Log entries are read-only once they are in a log: the contract's LogEntry is readonly. To change an entry, put a new { term, command } object in its place.)`;
  }
  return message;
}

/** An error for the world to report, carrying the node's own stack frames, mapped to node.ts lines. */
function nodeError(name: string, message: string, stack: string, label: string, map: SourceMap | undefined): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = `${name}: ${message}${nodeFrames(stack, label, map)}`;
  return error;
}

/** The frames of a stack that are in the node's file, with lines and columns of node.ts itself. */
function nodeFrames(stack: string, label: string, map: SourceMap | undefined): string {
  const frames: string[] = [];
  for (const line of stack.split("\n")) {
    if (!/^\s+at /.test(line) || !line.includes(label)) continue;
    frames.push(
      line.replace(/:(\d+):(\d+)(\)?)$/, (whole, lineText: string, columnText: string, close: string) => {
        const entry = map?.findEntry(Number(lineText) - 1, Number(columnText) - 1) as { originalLine?: number; originalColumn?: number } | undefined;
        if (entry?.originalLine === undefined || entry.originalColumn === undefined) return whole;
        return `:${entry.originalLine + 1}:${entry.originalColumn + 1}${close}`;
      }),
    );
  }
  return frames.length > 0 ? `\n${frames.join("\n")}` : "";
}

const limitContext = vm.createContext({ body: undefined as unknown, result: undefined as unknown });
const limitScript = new vm.Script("result = body(); body = undefined;");

/**
 * Run `body` (synchronous code: a test, a trial of an experiment) and stop
 * it if it takes longer than `limitMs` of real time, whatever it is doing:
 * V8 interrupts even `while (true) {}` in node code. The error names the
 * node call that was running, if any. (One watchdog per call of this
 * function, not per node call: far too costly per event.)
 */
export function runWithRealTimeLimit<T>(limitMs: number, body: () => T): T {
  const context = limitContext as { body: unknown; result: unknown };
  clearCallInProgress();
  const previous = context.body;
  context.body = body;
  try {
    // displayErrors off: Node would otherwise prefix the stack of whatever
    // passes through with the line of this script, an arrow and all.
    limitScript.runInContext(limitContext, { timeout: limitMs, displayErrors: false });
    return context.result as T;
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      // The interrupted call never reached its own clean-up.
      const stopped = nodeCallInProgress();
      clearCallInProgress();
      // The sandbox marks the moment a handler is done and inspect() begins.
      const inInspect = PHASE[0] === 1;
      PHASE[0] = 0;
      throw new RealTimeLimitExceeded(limitMs, stopped && inInspect ? { ...stopped, describe: () => `reporting its state (inspect) after ${stopped.describe()}` } : stopped);
    }
    throw error;
  } finally {
    context.result = undefined;
    context.body = previous;
  }
}
