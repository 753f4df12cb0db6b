/**
 * The realm a node file runs in: a fresh `node:vm` context whose globals
 * are only what the contract allows (the language itself and a console),
 * with `Math.random`, the clock, timers and `process` refused, and the
 * helpers (the prelude) that carry things in and out of it.
 *
 * Used on both sides of sandbox/node-process.ts: in the test process itself
 * for a learner's practice runs (sandbox/node-program.ts), and in the node's own
 * process, which has no rights, for grading. Either way the node sees the
 * same realm, so it behaves the same.
 *
 * What the realm is made of keeps host objects out of node code's reach:
 * the context's global object has no prototype (so `constructor`,
 * `hasOwnProperty` or `toString` found through it are the realm's own, not
 * the host's), promise jobs that node code queues never run (microtasks
 * wait for an evaluation that never comes), every call out to the host is
 * wrapped so that what the host throws comes back as an error of the
 * realm's, and the realm's own Object.freeze is what freezes a node's log
 * entries. Node.js's documentation says `node:vm` "is not a security
 * mechanism": grading does not rely on it alone (sandbox/node-process.ts).
 */
import vm from "node:vm";
import type { NodeEnvironment, NodeView, PersistentState, RaftNode, Timing } from "../world/contract.ts";
import type { HostLab } from "../world/lab.ts";
import { REFUSED } from "../world/refused.ts";

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

  // Told when a handler is done and inspect() begins (a node's own process
  // passes the news on: sandbox/node-process-child.ts); absent in the test process.
  const onInspect = host.onInspect;
  // What the host reads after every call, without calling in: flags[0] is 1
  // while the node reports its state (inspect), flags[1] is 1 once node code
  // touched a refused global or import (the text waits in takeRefused). Kept
  // here rather than handed to a host function, which a node calling at the
  // edge of its stack could make throw an error of the host's own.
  const flags = host.flags;
  let refusedText;
  let importRefusedName;
  function refuse(what, instead) {
    return function () {
      const text = "node code called " + what + ". " + instead;
      if (refusedText === undefined) refusedText = text;
      flags[1] = 1;
      throw new ErrorType(text);
    };
  }
  function lock(object, key, value) {
    defineProperty(object, key, { value: value, writable: false, configurable: false, enumerable: false });
  }
  // What node code is told, in the words a page's run says too (world/refused.ts).
  const R = ${JSON.stringify(REFUSED)};
  lock(Math, "random", refuse(R.random.what, R.random.instead));
  const RealDate = Date;
  function SimulatedDate() {
    if (arguments.length === 0 || !new.target) refuse(R.date.what, R.date.instead)();
    return Reflect.construct(RealDate, arguments, new.target);
  }
  SimulatedDate.prototype = RealDate.prototype;
  lock(SimulatedDate, "now", refuse(R.dateNow.what, R.dateNow.instead));
  lock(SimulatedDate, "UTC", RealDate.UTC);
  lock(SimulatedDate, "parse", RealDate.parse);
  lock(g, "Date", SimulatedDate);
  lock(g, "setTimeout", refuse(R.setTimeout.what, R.setTimeout.instead));
  lock(g, "setInterval", refuse(R.setInterval.what, R.setInterval.instead));
  lock(g, "setImmediate", refuse(R.setImmediate.what, R.setImmediate.instead));
  lock(g, "queueMicrotask", refuse(R.queueMicrotask.what, R.queueMicrotask.instead));
  lock(g, "performance", freeze({ now: refuse(R.performanceNow.what, R.performanceNow.instead) }));
  defineProperty(g, "process", {
    get: refuse(R.process.what, R.process.instead),
    configurable: false,
  });
  // V8 calls Error.prepareStackTrace with every frame of a stack, the
  // world's included; node code may not install one.
  lock(ErrorType, "prepareStackTrace", undefined);
  // Node.js formats an error with the prepareStackTrace of its realm's global
  // Error, whatever that name holds then: it stays this Error.
  lock(g, "Error", ErrorType);

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
      if (text.length > 10000) text = text.slice(0, 10000) + " … (" + (text.length - 10000) + " more characters left out)";
      try {
        host.log(level, text);
      } catch (error) {
        // The host could not take the line (a call at the edge of the stack): it is lost, nothing else.
      }
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
      case "InstallSnapshot":
        return { type: m.type, term: m.term, leaderId: m.leaderId, lastIncludedIndex: m.lastIncludedIndex, lastIncludedTerm: m.lastIncludedTerm, data: m.data };
      case "InstallSnapshotReply":
        return { type: m.type, term: m.term, matchIndex: m.matchIndex };
      case "ClientRequest":
        return { type: m.type, clientId: m.clientId, sequence: m.sequence, operation: m.operation, key: m.key, value: m.value };
    }
    throw new ErrorType("unknown message type " + StringType(m.type));
  }
  function copyState(s) {
    if (s === null) return null;
    const state = { currentTerm: s.currentTerm, votedFor: s.votedFor, log: copyEntries(s.log) };
    // Chapter 9's snapshot, only when one was saved: older nodes never see the key.
    const snapshot = s.snapshot;
    if (snapshot !== undefined) state.snapshot = { lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm, state: snapshot.state };
    return state;
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
  const phase = flags;

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
      replyToClient: function replyToClient(to, reply) {
        try { outer.replyToClient(to, reply); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      applySnapshot: function applySnapshot(snapshot) {
        try { outer.applySnapshot(snapshot); } catch (error) { throw new ErrorType(failureText(error)); }
      },
      note: function note(text) {
        try { outer.note(show(text)); } catch (error) { throw new ErrorType(failureText(error)); }
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
      case 4:
        if (typeof node.clientRequest !== "function") {
          throw new ErrorType("a client sent this node a ClientRequest, and the node has no clientRequest(from, request) method: from Chapter 8 on a server answers clients (world/contract.ts)");
        }
        node.clientRequest(a, copyMessage(b));
        break;
      case 5:
        if (typeof node.takeSnapshot !== "function") {
          throw new ErrorType("the world asked this node for a snapshot (takeSnapshot(index)), and the node has no takeSnapshot(index) method: from Chapter 9 on a node compacts its log when the world asks (world/contract.ts)");
        }
        node.takeSnapshot(a);
        break;
    }
    phase[0] = 1;
    if (onInspect !== undefined) {
      try {
        onInspect();
      } catch (error) {
        // Only news: nothing to do if it cannot be passed on.
      }
    }
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
          get now() {
            try { return cluster.now(); } catch (error) { throw fail(error); }
          },
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
    if (importRefusedName === undefined) importRefusedName = StringType(name);
    flags[1] = 1;
    throw new ErrorType(text);
  }
  function takeRefused() {
    const text = refusedText;
    refusedText = undefined;
    flags[1] = 0;
    return text;
  }
  function takeImportRefused() {
    return importRefusedName;
  }
  return {
    makeEnv: makeEnv, create: create, enter: enter, inspect: inspect, call: call, describeThrown: describeThrown, requireRefused: requireRefused,
    takeRefused: takeRefused, takeImportRefused: takeImportRefused,
    // The realm's own freeze: freezing a node's object with it hands a proxy's traps only objects of the realm.
    freeze: freeze,
  };
})`;

/** A node's environment inside the sandbox, and how the world hands it the time and timing before each call. */
export interface SandboxEnv {
  readonly env: NodeEnvironment;
  readonly sync: (time: number, timing: Timing) => void;
}

/** What enter() is asked to run. */
export const START = 0;
export const RECEIVE = 1;
export const TIMER = 2;
export const PROPOSE = 3;
export const CLIENT_REQUEST = 4;
export const TAKE_SNAPSHOT = 5;

export interface SandboxHelpers {
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
  /** The first refused global node code touched since the last take (and the flag cleared). */
  takeRefused(): string | undefined;
  /** The module a node file tried to import at run time, if it did. */
  takeImportRefused(): string | undefined;
  /** The realm's own Object.freeze. */
  freeze<T>(value: T): T;
}

/** The sandbox's globals a node file sees as parameters of its module function (see runModule). */
export const SANDBOX_GLOBALS = [
  "globalThis", "undefined", "NaN", "Infinity", "Object", "Function", "Array", "Number", "Boolean", "String", "Symbol", "BigInt",
  "Math", "JSON", "Reflect", "Proxy", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "Promise", "Date", "RegExp",
  "Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError",
  "ArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  "isNaN", "isFinite", "parseInt", "parseFloat", "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI",
  "console", "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "performance",
];

/**
 * Written by every sandbox's prelude, read by the host without calling in:
 * [0] is 1 while a node reports its state (see enter in PRELUDE), [1] is 1
 * once node code touched a refused global (helpers.takeRefused says which).
 * One for every realm of a process: only one node call runs at a time.
 */
export const FLAGS = new Int32Array(2);

const preludeScript = new vm.Script(PRELUDE, { filename: "sandbox/sandbox-realm.ts (prelude)" });

/** A fresh realm: its helpers, and the language's globals to hand a module. */
export interface Realm {
  readonly context: vm.Context;
  readonly helpers: SandboxHelpers;
  readonly globals: readonly unknown[];
}

/** Make a fresh realm; `log` receives what node code prints with console.* (one line per call). */
export function openRealm(label: string, log: (level: string, text: string) => void, onInspect?: () => void): Realm {
  // A global object with no prototype: names looked up through it that the
  // realm does not define (constructor, toString...) are not the host's.
  // Microtasks run only after an evaluation: node code is called, never
  // evaluated, once loaded, so a job it queues never runs.
  const context = vm.createContext(Object.create(null) as object, { name: label, codeGeneration: { strings: false, wasm: false }, microtaskMode: "afterEvaluate" });
  const makeHelpers = preludeScript.runInContext(context) as (host: object) => SandboxHelpers;
  const helpers = makeHelpers({ flags: FLAGS, log, onInspect });
  const globals = vm.runInContext(`[${SANDBOX_GLOBALS.join(", ")}]`, context) as unknown[];
  return { context, helpers, globals };
}

/** A module's exports as read once it ran. */
export interface ModuleExports {
  readonly values: Record<string, unknown>;
  readonly hasDefault: boolean;
  readonly names: string[];
}

/**
 * Run a compiled node file (CommonJS, as esbuild writes it) in a realm and
 * read its exports. Throws whatever the file's code throws.
 */
export function runModule(realm: Realm, code: string, label: string): ModuleExports {
  // The module: esbuild's CommonJS output inside a function, one line up so
  // line numbers match. The language's globals come in as parameters: in a
  // vm context every global lookup goes through Node's interceptor, about a
  // hundred times slower than a local, and node code says Math and Map often.
  // Strict mode as in any ES module: assigning to a frozen entry throws
  // instead of silently doing nothing.
  const wrapper = new vm.Script(`(function (exports, module, require, ${SANDBOX_GLOBALS.join(", ")}) { "use strict";\n${code}\n})`, { filename: label, lineOffset: -1 });
  const run = wrapper.runInContext(realm.context, { displayErrors: false }) as (exports: unknown, module: unknown, require: unknown, ...globals: unknown[]) => void;
  const moduleObject = vm.runInContext("({ exports: {} })", realm.context) as { exports: Record<string, unknown> };
  run(moduleObject.exports, moduleObject, realm.helpers.requireRefused, ...realm.globals);
  const exports = moduleObject.exports;
  const names = Object.keys(exports);
  const values: Record<string, unknown> = {};
  for (const name of names) values[name] = exports[name];
  return { values, hasDefault: exports.default !== undefined, names };
}
