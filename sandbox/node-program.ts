/**
 * The sandbox: how a node file written by a learner runs under Node.js.
 * (With sandbox/sandbox-realm.ts, sandbox/node-code.ts and sandbox/node-process.ts,
 * the only files in world/ that need Node.js; the world's core runs
 * anywhere.)
 *
 * A node.ts is compiled (sandbox/node-code.ts) and evaluated in a fresh realm
 * of its own for each test (sandbox/sandbox-realm.ts). Its globals are only
 * what the contract allows: a console for debugging, and the language
 * itself. `Math.random`, the clock, timers and `process` throw with a
 * message that says what to use instead; `eval` and `new Function` are off;
 * nothing of the world, the checker or the test harness is in reach,
 * because nothing the node is handed comes from outside its own realm: its
 * environment, every message and every saved state are built inside it.
 *
 * Two ways to run it, one behaviour:
 *
 *   - in the test process (the default for practice: npm test): fast, and
 *     as safe as node:vm is, which Node.js says is "not a security
 *     mechanism";
 *   - isolated (npm run grade, the autograder): the realm lives in a process
 *     of its own with no rights at all (sandbox/node-process.ts), so that code
 *     that escapes the realm still holds nothing but the node's own inputs,
 *     and every verdict is reached in this process, where no node code runs.
 *
 * Two things a sandbox cannot stop from inside are handled around it: a
 * call that never returns (runWithRealTimeLimit stops the test after a
 * real-time limit, naming the node and what it was handling), and a node
 * that eats all memory (its process dies; in the test process, the
 * launcher runs the rest of the tests again in a fresh one).
 */
import { CREATE_NODE_HINT } from "../world/refused.ts";
import type { CreateNode, NodeEnvironment, NodeView, PersistentState, ProposeResult, RaftNode } from "../world/contract.ts";
import type { HostLab } from "../world/lab.ts";
import { clearCallInProgress, markSandboxed } from "../world/node-host.ts";
import {
  checkLoad,
  compileNodeFile,
  enterNodeCode,
  leaveNodeCode,
  LOAD_LIMIT_MS,
  NodeLoadError,
  nodeError,
  RealTimeLimitExceeded,
  runWithRealTimeLimit,
  writeNodeLog,
  type CompiledNodeFile,
  type Described,
  type LoadOutcome,
} from "./node-code.ts";
import { isolatedCreateNode, isolatedExperiment } from "./node-process.ts";
import { CLIENT_REQUEST, FLAGS, openRealm, PROPOSE, RECEIVE, runModule, START, TAKE_SNAPSHOT, TIMER, type Realm, type SandboxHelpers } from "./sandbox-realm.ts";

export { LOAD_LIMIT_MS, NodeLoadError, RealTimeLimitExceeded, runWithRealTimeLimit };
export type { LoadProblem } from "./node-code.ts";

/** A node file compiled once, ready to be run in as many fresh sandboxes as needed. */
export interface NodeProgram {
  readonly file: string;
  /** The file as messages name it (relative to the project). */
  readonly label: string;
  /** Whether its code runs in a process of its own (see the top of this file). */
  readonly isolated: boolean;
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

export interface LoadOptions {
  /** Run the node's code in a process of its own with no rights (see sandbox/node-process.ts). */
  readonly isolated?: boolean;
  /**
   * Compile from the file itself, never from the compile cache (a grade;
   * isolated implies it, and so does a grade on a platform that cannot
   * isolate).
   */
  readonly fresh?: boolean;
}

/**
 * Compile a node file; throws a NodeLoadError that says what is wrong
 * (missing, a syntax error with its line and column) before any test runs.
 */
export function loadNodeProgram(file: string, root = process.cwd(), options: LoadOptions = {}): NodeProgram {
  const isolated = options.isolated === true;
  const compiled = compileNodeFile(file, root, !(isolated || options.fresh === true));
  return {
    file,
    label: compiled.label,
    isolated,
    instantiate: () => (isolated ? isolatedCreateNode(compiled) : instantiate(compiled)),
    instantiateExperiment: (names) => (isolated ? isolatedExperiment(compiled, names) : instantiateExperiment(compiled, names)),
  };
}

/** A file evaluated in a fresh realm of this process: its exports, and how to report what its code throws. */
interface Evaluated {
  readonly helpers: SandboxHelpers;
  readonly exports: Record<string, unknown>;
  /** Rethrow what the file's code threw as an error of this side's, with its frames mapped to the file's lines. */
  readonly fail: (error: unknown) => never;
  /** A refused global (Math.random...) stops the call even if the code caught the error. */
  readonly refusedCheck: () => void;
}

function evaluate(compiled: CompiledNodeFile, required: readonly string[], requiredHint: string): Evaluated {
  const realm: Realm = openRealm(compiled.label, writeNodeLog);
  const helpers = realm.helpers;
  // Everything that runs the file's code, its getters included, runs under a time limit.
  let outcome: LoadOutcome;
  let values: Record<string, unknown> = {};
  try {
    outcome = runWithRealTimeLimit(LOAD_LIMIT_MS, () => {
      const mark = enterNodeCode();
      try {
        const exported = runModule(realm, compiled.code, compiled.label);
        values = exported.values;
        return { kind: "loaded", exports: exported.names, functions: exported.names.filter((n) => typeof exported.values[n] === "function"), hasDefault: exported.hasDefault };
      } finally {
        leaveNodeCode(mark);
      }
    });
  } catch (error) {
    const imported = helpers.takeImportRefused();
    if (imported !== undefined) outcome = { kind: "import refused", name: imported };
    else if (error instanceof RealTimeLimitExceeded) outcome = { kind: "timed out" };
    else outcome = { kind: "threw", thrown: describe(helpers, error) };
  }
  checkLoad(compiled, outcome, required, requiredHint);
  const fail = (error: unknown): never => {
    if (isOuterError(error)) throw error;
    throw nodeError(describe(helpers, error), compiled);
  };
  const refusedCheck = (): void => {
    if (FLAGS[1] === 0) return;
    const text = helpers.takeRefused();
    if (text === undefined) return;
    throw nodeError(["Error", text, ""], compiled);
  };
  return { helpers, exports: values, fail, refusedCheck };
}

function instantiateExperiment(compiled: CompiledNodeFile, names: readonly string[]): ExperimentModule {
  const first = names[0] ?? "";
  const { helpers, exports, fail, refusedCheck } = evaluate(compiled, names, `export function ${first}(...) (see the chapter's reading)`);
  return {
    call(name, args, lab) {
      const fn = exports[name];
      if (typeof fn !== "function") throw new Error(`${compiled.label} has no function ${name}`);
      let text: string;
      const mark = enterNodeCode();
      try {
        text = helpers.call(fn, JSON.stringify(args), lab);
      } catch (error) {
        return fail(error);
      } finally {
        leaveNodeCode(mark);
      }
      refusedCheck();
      return JSON.parse(text) as unknown;
    },
  };
}

function instantiate(compiled: CompiledNodeFile): CreateNode {
  const { helpers, exports, fail, refusedCheck } = evaluate(compiled, ["createNode"], CREATE_NODE_HINT);
  const createNode = exports.createNode;
  const sandboxCreate = createNode as (env: NodeEnvironment, saved: PersistentState | null) => RaftNode;

  const create: CreateNode = (env, saved) => {
    // Calls into the sandbox: whatever the node throws comes back as an
    // error of this side's (fail), with the frames of node.ts mapped to its lines.
    const made = helpers.makeEnv(env);
    const sync = made.sync;
    let inner: RaftNode;
    const mark = enterNodeCode();
    try {
      inner = helpers.create(sandboxCreate, made, saved, env.now(), env.timing);
    } catch (error) {
      return fail(error);
    } finally {
      leaveNodeCode(mark);
    }
    refusedCheck();
    if (typeof inner !== "object" || inner === null) return inner;
    // The view the last handler's call brought back, or the error inspect() threw then.
    let view: NodeView | undefined;
    let inspectError: unknown;
    let inspectFailed = false;
    const handle = (kind: number, a: unknown, b: unknown): void => {
      const mark = enterNodeCode();
      try {
        view = helpers.enter(kind, inner, sync, a, b, env.now(), env.timing) as NodeView;
        leaveNodeCode(mark);
      } catch (error) {
        leaveNodeCode(mark);
        if (FLAGS[0] === 1) {
          // The handler was done; inspect() threw. Report it when the world asks for the view.
          FLAGS[0] = 0;
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
      clientRequest: (from, request) => handle(CLIENT_REQUEST, from, request),
      takeSnapshot: (index) => handle(TAKE_SNAPSHOT, index, undefined),
      timerFired: (timer) => handle(TIMER, timer, undefined),
      propose(command) {
        let result: ProposeResult;
        const mark = enterNodeCode();
        try {
          result = helpers.enter(PROPOSE, inner, sync, command, undefined, env.now(), env.timing) as ProposeResult;
        } catch (error) {
          return fail(error);
        } finally {
          leaveNodeCode(mark);
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
        const mark = enterNodeCode();
        try {
          fresh = helpers.inspect(inner);
        } catch (error) {
          FLAGS[0] = 0;
          return fail(error);
        } finally {
          leaveNodeCode(mark);
        }
        refusedCheck();
        return fresh;
      },
    };
  };
  // The world freezes a node's log entries with the realm's own freeze (see sandbox/sandbox-realm.ts).
  return markSandboxed(create, { copiesMessages: true, freeze: helpers.freeze });
}

/** Name, message and stack of what node code threw, read inside the sandbox, as strings. */
function describe(helpers: SandboxHelpers, thrown: unknown): Described {
  if (isOuterError(thrown)) return [thrown.name, thrown.message, thrown.stack ?? ""];
  const described = helpers.describeThrown(thrown);
  // Index reads, not destructuring: the sandbox's array iterator belongs to node code.
  return [String(described[0]), String(described[1]), String(described[2])];
}

/** An error of this side's (the world's), not one thrown by node code. */
function isOuterError(error: unknown): error is Error {
  return error instanceof Error;
}

/** Forget a call interrupted by a stop (re-exported for scripts that run nodes outside a test). */
export { clearCallInProgress };
