/**
 * A node's code in a process of its own: how grading keeps what a
 * learner's code does away from what decides its grade.
 *
 * The test process (this side) runs the world, the checks and the test;
 * the node's realm (sandbox/sandbox-realm.ts, the same as in practice runs)
 * lives in a child process started with no rights at all: Node.js's
 * permission model takes away every file but its own program, every
 * process and thread, and its environment is empty; where the machine
 * allows (`unshare -n`), it has no network either. One child per test, so
 * nothing a node does in one test is there in the next.
 *
 * The world drives the node synchronously, as it drives a node in the
 * test process: every handler call is a request, every env call the node
 * makes is a request back, and what crosses is plain JSON, never an
 * object. What the node hands the world (messages, saved states, views)
 * crosses as snapshots that this side rebuilds and checks with the world's
 * own code (sandbox/node-values.ts); text it prints is shown as text. So
 * whatever code in the child does, escaped from its realm or not, it holds
 * only what the node was handed, and it can change nothing here but the
 * answers the world checks anyway.
 *
 * The cost is a round trip per call (about ten microseconds here, with a
 * short spin before sleeping), which is why practice runs keep the realm in
 * the test process and only grading isolates (the check proves both give
 * the same reports).
 */
import { CREATE_NODE_HINT } from "../world/refused.ts";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, constants, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import type { buildSync as BuildSync } from "esbuild";
import type { CreateNode, NodeEnvironment, NodeView, PersistentState, ProposeResult, RaftNode } from "../world/contract.ts";
import type { HostCluster, HostLab } from "../world/lab.ts";
import { clearCallInProgress, HarnessError, HOST_STATE, markCopiesMessages, nodeCallInProgress, type HostState } from "../world/node-host.ts";
import {
  callLimitMs,
  checkLoad,
  clip,
  doneWaitingOnNodeProcess,
  LOAD_LIMIT_MS,
  nodeError,
  OutOfMemory,
  RealTimeLimitExceeded,
  waitOnNodeProcess,
  writeNodeLog,
  type CompiledNodeFile,
  type Described,
  type LoadOutcome,
} from "./node-code.ts";
import { BadSnapshot, rebuildObject, rebuildPerPeer, rebuildValue } from "./node-values.ts";
import { CLIENT_REQUEST, FLAGS, PROPOSE, RECEIVE, START, TAKE_SNAPSHOT, TIMER } from "./sandbox-realm.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
type Message = { [key: string]: Json | undefined };

/** The node's process did something no honest one does: the test fails, and the process is ended. */
export class NodeProcessFailed extends HarnessError {
  constructor(detail: string) {
    super(`the node's own process ${detail}`);
    this.name = "Node process";
    this.stack = `${this.name}: ${this.message}`;
  }
}

const SANDBOX_DIR = path.dirname(fileURLToPath(import.meta.url));
/** Largest frame either side accepts. */
const MAX_FRAME = 64 * 1024 * 1024;
/**
 * The memory a node's process may use: a node that eats it all ends its own
 * test, and only that. Far more than any node needs (its logs and state are
 * a few megabytes), and small enough that V8 gives up within a second,
 * well before the real-time limit.
 */
const NODE_PROCESS_MEMORY_MB = 96;

let programFile: string | undefined;

/**
 * The child's program, bundled once into one file (the only file it may
 * read), in a folder of its own that any user can read (the child may run
 * as an unprivileged one).
 */
function childProgram(): string {
  if (programFile !== undefined && existsSync(programFile)) return programFile;
  // esbuild is loaded here, when a node first needs a process of its own: a practice run never pays for it.
  const buildSync = (createRequire(import.meta.url)("esbuild") as { buildSync: typeof BuildSync }).buildSync;
  const built = buildSync({
    entryPoints: [path.join(SANDBOX_DIR, "node-process-child.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    write: false,
    logLevel: "silent",
  });
  const dir = mkdtempSync(path.join(tmpdir(), "raft-node-program-"));
  chmodSync(dir, 0o755);
  const file = path.join(dir, "node-process.cjs");
  writeFileSync(file, built.outputFiles[0]!.text, { mode: 0o644 });
  programFile = file;
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return file;
}

/**
 * What stands between a node's process and the rest of the machine, beyond
 * Node.js's permission model (which always applies): the layers this
 * machine lets us add, found once by trying them.
 */
interface Layers {
  /** The command that starts the child under them, before `node ...`. */
  readonly prefix: readonly string[];
  /** In words, for the grade's notes. */
  readonly description: string;
}

let layers: Layers | undefined;

function commandPath(name: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8", timeout: 5000 });
  const where = found.status === 0 ? found.stdout.trim() : "";
  return path.isAbsolute(where) ? where : undefined;
}

/**
 * Try, from the most to the least: no network and no view of other
 * processes (new network and process namespaces, `unshare`), and, when this
 * process is root, an unprivileged user (`setpriv`).
 */
function isolationLayers(): Layers {
  if (layers !== undefined) return layers;
  const unshare = commandPath("unshare");
  const setpriv = commandPath("setpriv");
  const asNobody = setpriv !== undefined && typeof process.getuid === "function" && process.getuid() === 0 ? [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "--no-new-privs"] : [];
  const candidates: Layers[] = [];
  const who = asNobody.length > 0 ? ", as an unprivileged user" : "";
  if (unshare !== undefined) {
    candidates.push({ prefix: [unshare, "--net", "--pid", "--fork", "--kill-child", "--", ...asNobody], description: `no network, no other process in sight${who}` });
    candidates.push({ prefix: [unshare, "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--"], description: "no network, no other process in sight" });
    candidates.push({ prefix: [unshare, "--net", "--", ...asNobody], description: `no network${who}` });
    candidates.push({ prefix: [unshare, "--map-root-user", "--net", "--"], description: "no network" });
  }
  if (asNobody.length > 0) candidates.push({ prefix: asNobody, description: "as an unprivileged user; the network is not cut on this machine" });
  candidates.push({ prefix: [], description: "the network is not cut on this machine" });
  const program = childProgram();
  for (const candidate of candidates) {
    const tried = spawnSync(candidate.prefix[0] ?? process.execPath, [...candidate.prefix.slice(1), ...(candidate.prefix.length > 0 ? [process.execPath] : []), permissionFlag(), `--allow-fs-read=${program}`, "--no-warnings", "-e", "0"], {
      stdio: "ignore",
      timeout: 10_000,
      env: {},
      cwd: path.dirname(program),
    });
    if (tried.status === 0) {
      layers = candidate;
      return candidate;
    }
  }
  layers = { prefix: [], description: "the network is not cut on this machine" };
  return layers;
}

/** What keeps a node's process from the machine here, in words (for the grade's notes). */
export function isolationDescription(): string {
  return `node code ran in a process of its own with no file, process or environment (Node.js's permission model); ${isolationLayers().description}`;
}

/** Node.js's flag for its permission model (renamed when it became stable). */
function permissionFlag(): string {
  return process.allowedNodeEnvironmentFlags.has("--permission") ? "--permission" : "--experimental-permission";
}

/** Whether this platform can run node processes (named pipes, Node.js's permission model). */
export function isolationAvailable(): boolean {
  return process.platform !== "win32" && (process.allowedNodeEnvironmentFlags.has("--permission") || process.allowedNodeEnvironmentFlags.has("--experimental-permission"));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/**
 * Quick tries to read an answer before a read that waits (a try costs about
 * a microsecond): as many as pay off, between these. Waking from a wait is
 * slow on an idle virtual machine and trying is wasteful on a busy one.
 */
const SPIN = 400;
const SPIN_FLOOR = 8;

/**
 * Set in this process's environment by the project's check alone: the
 * node's process hands node code its own `process`, as if the node had
 * found a way out of its realm that nobody knows of yet (scripts/maintainer/red-team.ts).
 * Never in the test process: there it would be this process's.
 */
export const CHECK_HANDS_NODE_ITS_PROCESS = "RAFT_CHECK_HAND_NODE_ITS_PROCESS";

/** One node process: the child, and the pipes to it. */
class NodeProcess {
  private readonly child: ChildProcess;
  private readonly toChild: number;
  private readonly fromChild: number;
  /** The same pipe, read by a read that waits (after a short spin on the other). */
  private readonly fromChildWaiting: number;
  private readonly childErrors: number;
  private inbox = Buffer.alloc(1 << 16);
  private inboxStart = 0;
  private inboxEnd = 0;
  private nextId = 1;
  dead = false;
  /** What this side answers the child's requests with (set by the session). */
  handler: ((request: Message) => Message) | undefined;

  constructor() {
    const program = childProgram();
    const dir = mkdtempSync(path.join(tmpdir(), "raft-node-"));
    const requests = path.join(dir, "requests");
    const answers = path.join(dir, "answers");
    const errors = path.join(dir, "errors");
    execFileSync("mkfifo", ["-m", "600", requests, answers, errors]);
    // Each end opened on its own: the child's ends are its own open files,
    // so nothing it does to them (blocking, non-blocking) reaches ours.
    const childPolls = openSync(requests, constants.O_RDONLY | constants.O_NONBLOCK);
    this.toChild = openSync(requests, constants.O_WRONLY | constants.O_NONBLOCK);
    const childReads = openSync(requests, constants.O_RDONLY);
    this.fromChild = openSync(answers, constants.O_RDONLY | constants.O_NONBLOCK);
    const childWrites = openSync(answers, constants.O_WRONLY);
    this.fromChildWaiting = openSync(answers, constants.O_RDONLY);
    this.childErrors = openSync(errors, constants.O_RDONLY | constants.O_NONBLOCK);
    const childErrorWrites = openSync(errors, constants.O_WRONLY);
    rmSync(dir, { recursive: true, force: true });
    const node = [process.execPath, permissionFlag(), `--allow-fs-read=${program}`, `--max-old-space-size=${NODE_PROCESS_MEMORY_MB}`, "--no-warnings", program];
    const command = [...isolationLayers().prefix, ...node];
    this.child = spawn(command[0]!, command.slice(1), {
      stdio: [childReads, childWrites, childErrorWrites, childPolls],
      // Nothing of this process's environment: not a variable, not a path.
      env: {},
      cwd: path.dirname(program),
      // A process group of its own: a signal it sends to "its group" reaches only itself.
      detached: true,
    });
    for (const fd of [childPolls, childReads, childWrites, childErrorWrites]) closeSync(fd);
    this.child.on("error", () => {
      this.dead = true;
    });
  }

  /** End the child (and forget it). */
  kill(): void {
    if (!this.dead) {
      this.dead = true;
      // The whole process group (it was started as the leader of its own):
      // the layers in front of node (unshare, setpriv) and node itself.
      try {
        if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGKILL");
      } catch {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    for (const fd of [this.toChild, this.fromChild, this.fromChildWaiting, this.childErrors]) {
      try {
        closeSync(fd);
      } catch {
        // closed
      }
    }
  }

  private write(message: Message, deadline: number): void {
    const body = Buffer.from(JSON.stringify(message), "utf8");
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    body.copy(frame, 4);
    let written = 0;
    let waits = 0;
    while (written < frame.length) {
      try {
        written += writeSync(this.toChild, frame, written, frame.length - written);
        waits = 0;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "EAGAIN") {
          waits = this.pause(waits, deadline);
          continue;
        }
        this.died();
      }
    }
  }

  /** When the child last sent anything: the real-time limit counts from there. */
  private lastHeard = 0;
  /** How many quick tries to read before a read that waits (see readSome). */
  private spin = SPIN;

  /**
   * Wait a little before writing again (the child is not reading): spin
   * first, then sleep, longer and longer. Real time stops only node code
   * that does not return: the child has said nothing for the whole limit.
   */
  private pause(waits: number, deadline: number): number {
    if (waits > SPIN) {
      const now = Date.now();
      if (now > deadline) throw new LoadTimedOut();
      if (now - this.lastHeard > callLimitMs()) this.stopForTime();
      Atomics.wait(sleeper, 0, 0, Math.min(1, 0.02 * (waits - SPIN)));
    }
    return waits + 1;
  }

  /** The child said nothing for the whole limit: node code that does not return. */
  private stopForTime(): never {
    const stopped = nodeCallInProgress();
    clearCallInProgress();
    const inInspect = FLAGS[0] === 1;
    FLAGS[0] = 0;
    this.kill();
    throw new RealTimeLimitExceeded(callLimitMs(), stopped && inInspect ? { ...stopped, describe: () => `reporting its state (inspect) after ${stopped.describe()}` } : stopped);
  }

  /**
   * Read what the child wrote: a few quick tries (answers mostly come
   * within microseconds), then a read that waits without using the
   * processor, which only the child's answer, or its end, finishes. The
   * watchdog (sandbox/node-code.ts) ends the child if it says nothing for the
   * limit (for a load, until the load's deadline).
   */
  private readSome(deadline: number): number {
    const limit = Error.stackTraceLimit;
    // Nothing to read yet throws EAGAIN: without a stack, that costs a microsecond instead of ten.
    Error.stackTraceLimit = 0;
    try {
      for (let i = 0; i < this.spin; i++) {
        try {
          const got = readSync(this.fromChild, this.inbox, this.inboxEnd, this.inbox.length - this.inboxEnd, null);
          // Trying paid off: try as long next time, and a little longer.
          this.spin = Math.min(SPIN, Math.max(2 * this.spin, 2 * i + 16));
          return got;
        } catch (error) {
          if ((error as { code?: string }).code !== "EAGAIN") throw error;
        }
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
    // Trying did not pay off (a busy machine, or a long call): try less next
    // time, so that waiting costs the machine nothing it needs elsewhere.
    this.spin = Math.max(SPIN_FLOOR, this.spin >> 1);
    const group = this.child.pid ?? 0;
    const forLoad = Number.isFinite(deadline);
    waitOnNodeProcess(group, forLoad ? Date.now() : this.lastHeard, forLoad ? Math.max(1, deadline - Date.now()) : callLimitMs());
    let got: number;
    try {
      got = readSync(this.fromChildWaiting, this.inbox, this.inboxEnd, this.inbox.length - this.inboxEnd, null);
    } finally {
      if (doneWaitingOnNodeProcess()) {
        this.dead = true;
        if (forLoad) {
          this.kill();
          // eslint-disable-next-line no-unsafe-finally
          throw new LoadTimedOut();
        }
        // eslint-disable-next-line no-unsafe-finally
        this.stopForTime();
      }
    }
    return got;
  }

  private readFrame(deadline: number): Message {
    for (;;) {
      const available = this.inboxEnd - this.inboxStart;
      if (available >= 4) {
        const length = this.inbox.readUInt32LE(this.inboxStart);
        if (length > MAX_FRAME) this.fail("sent a message larger than 64 MB");
        if (available >= 4 + length) {
          const text = this.inbox.toString("utf8", this.inboxStart + 4, this.inboxStart + 4 + length);
          this.inboxStart += 4 + length;
          if (this.inboxStart === this.inboxEnd) this.inboxStart = this.inboxEnd = 0;
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            this.fail("sent something that is not JSON");
          }
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) this.fail("sent something that is not a message");
          return parsed as Message;
        }
        if (4 + length > this.inbox.length) {
          const bigger = Buffer.alloc(Math.max(this.inbox.length * 2, 4 + length));
          this.inbox.copy(bigger, 0, this.inboxStart, this.inboxEnd);
          this.inbox = bigger;
          this.inboxEnd -= this.inboxStart;
          this.inboxStart = 0;
        }
      }
      if (this.inboxEnd === this.inbox.length) {
        this.inbox.copy(this.inbox, 0, this.inboxStart, this.inboxEnd);
        this.inboxEnd -= this.inboxStart;
        this.inboxStart = 0;
      }
      const got = this.readSome(deadline);
      if (got === 0) this.died();
      this.inboxEnd += got;
      this.lastHeard = Date.now();
    }
  }

  /** The child is gone: out of memory, most likely, or it ended itself. */
  private died(): never {
    const wasDead = this.dead;
    // What it wrote as it died (V8 says when the heap ran out), read before its pipes are closed.
    let errors = "";
    try {
      const buffer = Buffer.alloc(65536);
      const got = readSync(this.childErrors, buffer, 0, buffer.length, null);
      errors = buffer.toString("utf8", 0, got);
    } catch {
      errors = "";
    }
    this.kill();
    if (wasDead) throw new NodeProcessFailed("was already ended");
    if (/heap out of memory|Allocation failed|Invalid (array|table) (length|size)|FATAL ERROR|out of memory/i.test(errors)) throw new OutOfMemory();
    throw new NodeProcessFailed("ended while the node's code was running (it must run until the world ends it)");
  }

  private fail(detail: string): never {
    this.kill();
    throw new NodeProcessFailed(detail);
  }

  /** Send a request and wait for its answer, serving the child's own requests meanwhile. */
  request(message: Message, deadline = Infinity): Message {
    if (this.dead) throw new NodeProcessFailed("was already ended");
    const id = this.nextId++;
    let done = false;
    try {
      this.lastHeard = Date.now();
      this.write({ ...message, q: id }, deadline);
      for (;;) {
        const incoming = this.readFrame(deadline);
        if (incoming.r !== undefined) {
          if (incoming.r !== id) this.fail("answered a question it was not asked");
          if (incoming.fault !== undefined) this.fail(`could not do what it was asked (${clip(String(incoming.fault), 300)})`);
          done = true;
          return incoming;
        }
        if (typeof incoming.o === "string") {
          this.oneWay(incoming);
          continue;
        }
        if (typeof incoming.q !== "number") this.fail("sent a message of no known kind");
        const asked = incoming.q;
        let reply: Message;
        try {
          reply = this.handler ? this.handler(incoming) : { e: "nothing to ask" };
        } catch (error) {
          if (error instanceof HarnessError || error instanceof BadSnapshot || error instanceof LoadTimedOut || error instanceof RealTimeLimitExceeded) throw error;
          reply = { e: error instanceof Error ? error.message : String(error) };
        }
        // The child waited for this side meanwhile: its clock starts again now.
        this.lastHeard = Date.now();
        this.write({ ...reply, r: asked }, deadline);
      }
    } finally {
      // A stop (a real-time limit) or a failure mid-exchange leaves the pipes
      // out of step: this process is done.
      if (!done) this.kill();
    }
  }

  /** What the child tells without asking: console lines, notes, and that inspect() began. */
  oneWayHandler: ((message: Message) => void) | undefined;

  private oneWay(message: Message): void {
    if (message.o === "inspect") {
      FLAGS[0] = 1;
      return;
    }
    this.oneWayHandler?.(message);
  }
}

/** A load that ran past its limit (a node file whose top-level code never ends). */
class LoadTimedOut extends Error {}

/** Text a node made, made safe to print: no terminal control characters, and not too long. */
function printable(value: unknown, max: number): string {
  const text = typeof value === "string" ? value : String(value);
  return clip(text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u0080-\u009f]/g, "?"), max);
}

/** A described error as the child sent it, checked. */
function describedFrom(value: unknown): Described {
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === "string")) throw new NodeProcessFailed("described an error in no known way");
  return [printable(value[0], 200), printable(value[1], 4000), clip(value[2] as string, 20000)];
}

// ---------------------------------------------------------------------------
// One session per test: its process, its programs, its node instances.

interface InstanceState {
  readonly env: NodeEnvironment;
  readonly peers: readonly string[];
  /** The entries of the node's log as this side rebuilt them, position by position (the world's mirror follows them by identity). */
  readonly viewLog: unknown[];
  /** The entries of its last save, rebuilt. */
  savedLog: unknown[];
  /** The snapshot (Chapter 9) of the last save the world took, rebuilt; undefined when that save had none (see save). */
  savedSnapshot: unknown;
}

class Session {
  readonly process = takeProcess();
  private nextProgram = 1;
  private nextInstance = 1;
  readonly instances = new Map<number, InstanceState>();
  private nextCluster = 1;
  private readonly clusters = new Map<number, HostCluster>();
  /** The lab of the experiment call in progress. */
  lab: HostLab | undefined;

  constructor() {
    this.process.handler = (request) => this.answer(request);
    this.process.oneWayHandler = (message) => this.told(message);
  }

  /** Load a file into the process (in a fresh realm each time); throws what a learner reads if it does not load. */
  load(compiled: CompiledNodeFile, required: readonly string[], hint: string): number {
    const p = this.nextProgram++;
    let outcome: LoadOutcome;
    try {
      const reply = this.process.request({ op: "load", p, code: compiled.code, label: compiled.label, ...(process.env[CHECK_HANDS_NODE_ITS_PROCESS] === "1" ? { handOver: 1 } : {}) }, Date.now() + LOAD_LIMIT_MS);
      outcome = loadOutcomeFrom(reply);
    } catch (error) {
      if (!(error instanceof LoadTimedOut)) throw error;
      outcome = { kind: "timed out" };
    }
    checkLoad(compiled, outcome, required, hint);
    return p;
  }

  newInstance(env: NodeEnvironment): number {
    const i = this.nextInstance++;
    this.instances.set(i, { env, peers: [...env.peers], viewLog: [], savedLog: [], savedSnapshot: undefined });
    return i;
  }

  private told(message: Message): void {
    if (message.o === "env") {
      const instance = this.instances.get(message.i as number);
      if (!instance || !Array.isArray(message.a)) throw new NodeProcessFailed("told of an env call of no node");
      this.foreseen(instance, String(message.m), message.a, message.v);
    } else if (message.o === "log") {
      writeNodeLog(typeof message.l === "string" && ["log", "info", "warn", "error", "debug"].includes(message.l) ? message.l : "log", printable(message.t, 10_100));
    } else if (message.o === "note") {
      const instance = this.instances.get(message.i as number);
      instance?.env.note(printable(message.t, 10_100));
    } else {
      throw new NodeProcessFailed("told something of no known kind");
    }
  }

  /** The child's requests: env calls of its nodes, and lab calls of its experiment. */
  private answer(request: Message): Message {
    if (request.op === "env") {
      const instance = this.instances.get(request.i as number);
      if (!instance || !Array.isArray(request.a)) throw new NodeProcessFailed("made an env call for no node");
      return this.envCall(instance, String(request.m), request.a);
    }
    if (request.op === "lab") return this.labCall(request);
    throw new NodeProcessFailed("asked for something of no known kind");
  }

  private envCall(instance: InstanceState, method: string, args: readonly Json[]): Message {
    const env = instance.env;
    switch (method) {
      case "randomInt":
        return { v: env.randomInt(rebuildValue(args[0]) as number, rebuildValue(args[1]) as number) };
      case "send":
        env.send(rebuildValue(args[0]) as string, rebuildObject(args[1]) as never);
        return {};
      case "setTimer":
        env.setTimer(rebuildValue(args[0]) as never, rebuildValue(args[1]) as number);
        return {};
      case "cancelTimer":
        env.cancelTimer(rebuildValue(args[0]) as never);
        return {};
      case "apply":
        env.apply(rebuildValue(args[0]) as number, rebuildObject(args[1]) as never);
        return {};
      case "save":
        this.save(instance, args[0]);
        return {};
      case "replyToClient":
        env.replyToClient(rebuildValue(args[0]) as string, rebuildObject(args[1]) as never);
        return {};
      case "applySnapshot":
        env.applySnapshot(rebuildObject(args[0]) as never);
        return {};
    }
    throw new NodeProcessFailed(`made an env call of no known kind (${printable(method, 40)})`);
  }

  /**
   * An env call the node's process made without waiting, having foreseen
   * that the world takes it: the world makes it now, in order, and ends the
   * run if it does not do what was foreseen.
   */
  private foreseen(instance: InstanceState, method: string, args: readonly Json[], value: Json | undefined): void {
    const env = instance.env;
    try {
      switch (method) {
        case "randomInt": {
          const drawn = env.randomInt(args[0] as number, args[1] as number);
          if (drawn !== value) throw new NodeProcessFailed(`drew ${printable(value, 40)} where the world drew ${drawn}`);
          return;
        }
        case "send":
          env.send(args[0] as string, args[1] as never);
          return;
        case "setTimer":
          env.setTimer(args[0] as never, args[1] as number);
          return;
        case "cancelTimer":
          env.cancelTimer(args[0] as never);
          return;
        case "apply":
          env.apply(args[0] as number, args[1] as never);
          return;
        case "save":
          this.save(instance, args[0]);
          return;
      }
    } catch (error) {
      if (error instanceof HarnessError || error instanceof BadSnapshot) throw error;
      throw new NodeProcessFailed(`carried on after an env call (${printable(method, 20)}) that the world refused: ${printable(error instanceof Error ? error.message : String(error), 2000)}`);
    }
    throw new NodeProcessFailed(`told of an env call of no known kind (${printable(method, 40)})`);
  }

  /**
   * A save, made now. Its snapshot (Chapter 9) is kept once the world took
   * it, as the node's process keeps its reading: a later save of the same
   * one says only that (sandbox/node-process-child.ts, save).
   */
  private save(instance: InstanceState, wire: Json | undefined): void {
    if (!isRecord(wire)) throw new BadSnapshot("a saved state");
    const snap = wire.snap;
    let snapshot: unknown;
    if (snap === 1) {
      if (instance.savedSnapshot === undefined) throw new BadSnapshot("a saved state with the same snapshot as a save that had none");
      snapshot = instance.savedSnapshot;
    } else if (snap !== undefined) {
      snapshot = rebuildObject(snap);
    }
    instance.env.save(this.savedState(instance, wire, snapshot) as PersistentState);
    // The world throws when it refuses.
    instance.savedSnapshot = snapshot;
  }

  /**
   * A saved state rebuilt: the same entry objects where the node kept its
   * own (so the world copies only what changed), and its snapshot only when
   * it has one (an earlier chapter's save has no `snapshot` key at all).
   */
  private savedState(instance: InstanceState, wire: { [key: string]: Json | undefined }, snapshot: unknown): unknown {
    if (wire.full !== undefined) {
      instance.savedLog = [];
      const state = rebuildObject(wire.full);
      if (snapshot !== undefined && typeof state === "object" && state !== null) Object.defineProperty(state, "snapshot", { value: snapshot, enumerable: true, writable: true, configurable: true });
      return state;
    }
    const log = rebuildLog(instance.savedLog, wire.len, wire.set, "a saved log");
    instance.savedLog = log.slice();
    const currentTerm = rebuildValue(wire.currentTerm);
    const votedFor = rebuildValue(wire.votedFor);
    return snapshot === undefined ? { currentTerm, votedFor, log } : { currentTerm, votedFor, log, snapshot };
  }

  private labCall(request: Message): Message {
    const lab = this.lab;
    if (lab === undefined) throw new NodeProcessFailed("asked for a lab it was not given");
    const args = Array.isArray(request.a) ? request.a : [];
    if (request.m === "boot") {
      const cluster = lab.boot(Number(args[0]), Number(args[1]), Number(args[2]), Number(args[3]));
      const c = this.nextCluster++;
      this.clusters.set(c, cluster);
      return { v: { c, nodes: [...cluster.nodes] } };
    }
    const cluster = this.clusters.get(request.c as number);
    if (!cluster) throw new NodeProcessFailed("asked about a cluster it never booted");
    switch (request.m) {
      case "now":
        return { v: cluster.now() };
      case "runUntil": {
        const condition = Number(args[0]);
        const holds = (): boolean => {
          const reply = this.process.request({ op: "condition", c: condition });
          if (typeof reply.e === "string") throw new Error(printable(reply.e, 4000));
          return reply.v === true;
        };
        return { v: cluster.runUntil(holds, Number(args[1])) };
      }
      case "runFor":
        cluster.runFor(Number(args[0]));
        return {};
      case "leaders":
        return { v: [...cluster.leaders()] };
      case "view":
        return { v: plainView(cluster.view(String(args[0]))) };
    }
    throw new NodeProcessFailed("asked the lab for something of no known kind");
  }

  end(): void {
    this.process.kill();
  }
}

/** A view as JSON (the lab hands experiment code what the world sees; it is all numbers and strings). */
function plainView(view: NodeView): Json {
  return JSON.parse(JSON.stringify(view)) as Json;
}

/** A log rebuilt from a change: positions not listed keep the previous objects. */
function rebuildLog(previous: readonly unknown[], length: Json | undefined, set: Json | undefined, what: string): unknown[] {
  if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || length > 10_000_000 || !Array.isArray(set)) throw new BadSnapshot(what);
  const log: unknown[] = new Array(length);
  const given = new Map<number, Json>();
  for (const item of set) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== "number" || !Number.isInteger(item[0]) || item[0] < 0 || item[0] >= length) throw new BadSnapshot(what);
    given.set(item[0], item[1]!);
  }
  for (let i = 0; i < length; i++) {
    const changed = given.get(i);
    if (changed !== undefined) log[i] = rebuildObject(changed);
    else if (i < previous.length) log[i] = previous[i];
    else throw new BadSnapshot(what);
  }
  return log;
}

function loadOutcomeFrom(reply: Message): LoadOutcome {
  switch (reply.kind) {
    case "loaded": {
      const names = (value: Json | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string").map((v) => printable(v, 200)) : []);
      return { kind: "loaded", exports: names(reply.exports), functions: names(reply.functions), hasDefault: reply.hasDefault === true };
    }
    case "import refused":
      return { kind: "import refused", name: printable(reply.name, 200) };
    case "threw":
      return { kind: "threw", thrown: describedFrom(reply.thrown) };
  }
  throw new NodeProcessFailed("answered a load in no known way");
}

let session: Session | undefined;
/** A process started ahead of the next test, so that its start costs nothing then. */
let spare: NodeProcess | undefined;
const live = new Set<NodeProcess>();

function takeProcess(): NodeProcess {
  const taken = spare !== undefined && !spare.dead ? spare : new NodeProcess();
  live.add(taken);
  // The next test's process starts now, while this test runs.
  spare = new NodeProcess();
  return taken;
}

function currentSession(): Session {
  if (session === undefined || session.process.dead) session = new Session();
  return session;
}

/**
 * End this test's node process (called at the start of every test): the
 * next node or experiment loads into a fresh one.
 */
export function endNodeProcesses(): void {
  if (session !== undefined) {
    session.end();
    live.delete(session.process);
    session = undefined;
  }
}

process.on("exit", () => {
  for (const child of live) child.kill();
  spare?.kill();
});

/** What the node's process is told with every call, to foresee the world's side of each env call (see sandbox/node-process-child.ts). */
function hostStateOf(env: NodeEnvironment): Json {
  const state = (env as unknown as { [HOST_STATE]?: () => HostState })[HOST_STATE]?.();
  if (state === undefined) return { p: 0 };
  return {
    p: state.predictable ? 1 : 0,
    ws: state.sendWindowStart,
    wn: state.sendsInWindow,
    lim: state.messagesPerSecond,
    rs: [...state.random],
    ...(state.forcedDraws.length > 0 ? { fd: [...state.forcedDraws] } : {}),
  };
}

function nodesOf(env: NodeEnvironment): Json {
  const state = (env as unknown as { [HOST_STATE]?: () => HostState })[HOST_STATE]?.();
  return state ? [...state.nodes] : [env.id, ...env.peers];
}

/** A refused global the child reported after a call: thrown as node code's error, as in the test process. */
function refusedCheck(reply: Message, compiled: CompiledNodeFile): void {
  if (typeof reply.rf === "string") throw nodeError(["Error", printable(reply.rf, 4000), ""], compiled);
}

/** The createNode of a node file run in this test's node process. */
export function isolatedCreateNode(compiled: CompiledNodeFile): CreateNode {
  const own = currentSession();
  const p = own.load(compiled, ["createNode"], CREATE_NODE_HINT);
  const create: CreateNode = (env, saved) => {
    // A node created after its test's session ended has no process to run in.
    if (own !== session) throw new NodeProcessFailed("belongs to a test that has ended");
    const proc = own.process;
    const i = own.newInstance(env);
    const state = own.instances.get(i)!;
    const created = proc.request({ op: "create", p, i, id: env.id, peers: [...env.peers], nodes: nodesOf(env), saved: saved as unknown as Json, t: env.now(), timing: { ...env.timing }, h: hostStateOf(env) });
    if (created.threw !== undefined) throw nodeError(describedFrom(created.threw), compiled);
    refusedCheck(created, compiled);
    if (created.ok !== 1) return kindOf(created.kind) as RaftNode;
    let view: NodeView | undefined;
    let inspectError: Described | undefined;
    const viewFrom = (reply: Message): NodeView => rebuildView(reply.view, state);
    const handle = (kind: number, a: Json | undefined, b: Json | undefined): void => {
      const reply = proc.request({ op: "enter", p, i, k: kind, a, b, t: env.now(), timing: { ...env.timing }, h: hostStateOf(env) });
      FLAGS[0] = 0;
      if (reply.threw !== undefined) {
        if (reply.ph === 1) inspectError = describedFrom(reply.threw);
        else {
          view = undefined;
          throw nodeError(describedFrom(reply.threw), compiled);
        }
      } else {
        view = viewFrom(reply);
      }
      refusedCheck(reply, compiled);
    };
    return {
      start: () => handle(START, undefined, undefined),
      receive: (from, message) => handle(RECEIVE, from, message as unknown as Json),
      clientRequest: (from, request) => handle(CLIENT_REQUEST, from, request as unknown as Json),
      takeSnapshot: (index) => handle(TAKE_SNAPSHOT, index, undefined),
      timerFired: (timer) => handle(TIMER, timer, undefined),
      propose(command): ProposeResult {
        const reply = proc.request({ op: "enter", p, i, k: PROPOSE, a: command, t: env.now(), timing: { ...env.timing }, h: hostStateOf(env) });
        FLAGS[0] = 0;
        if (reply.threw !== undefined) throw nodeError(describedFrom(reply.threw), compiled);
        refusedCheck(reply, compiled);
        return rebuildProposeResult(reply.result) as ProposeResult;
      },
      inspect(): NodeView {
        if (view !== undefined) {
          const ready = view;
          view = undefined;
          return ready;
        }
        if (inspectError !== undefined) {
          const thrown = inspectError;
          inspectError = undefined;
          throw nodeError(thrown, compiled);
        }
        const reply = proc.request({ op: "inspect", p, i, t: env.now(), h: hostStateOf(env) });
        FLAGS[0] = 0;
        if (reply.threw !== undefined) throw nodeError(describedFrom(reply.threw), compiled);
        refusedCheck(reply, compiled);
        return viewFrom(reply);
      },
    };
  };
  return markCopiesMessages(create);
}

/** A value of the kind the child named (what createNode returned instead of a node). */
function kindOf(kind: Json | undefined): unknown {
  switch (kind) {
    case "null":
      return null;
    case "undefined":
      return undefined;
    case "number":
      return 0;
    case "string":
      return "";
    case "boolean":
      return false;
    case "bigint":
      return 0n;
    case "symbol":
      return Symbol("node");
    case "function":
      return () => undefined;
  }
  throw new NodeProcessFailed("said createNode returned something of no known kind");
}

function isRecord(value: unknown): value is Record<string, Json | undefined> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A node's view rebuilt from its snapshot (its log from the change since the last one). */
function rebuildView(wire: Json | undefined, state: InstanceState): NodeView {
  if (!isRecord(wire)) throw new BadSnapshot("a view");
  if (wire.k === null) return rebuildValue(wire.v) as NodeView;
  const log = wire.log;
  let rebuiltLog: unknown;
  if (!isRecord(log)) throw new BadSnapshot("a view's log");
  if (log.notArray !== undefined) rebuiltLog = rebuildValue(log.notArray);
  else {
    const entries = rebuildLog(state.viewLog, log.len, log.set, "a view's log");
    // The same array, changed in place: the world's mirror compares its elements.
    state.viewLog.length = 0;
    for (let j = 0; j < entries.length; j++) state.viewLog.push(entries[j]);
    rebuiltLog = state.viewLog;
  }
  const view: Record<string, unknown> = {
    role: rebuildValue(wire.role),
    currentTerm: rebuildValue(wire.currentTerm),
    votedFor: rebuildValue(wire.votedFor),
    leaderId: rebuildValue(wire.leaderId),
    commitIndex: rebuildValue(wire.commitIndex),
    lastApplied: rebuildValue(wire.lastApplied),
    log: rebuiltLog,
    matchIndex: rebuildPerPeer(wire.matchIndex, state.peers),
    nextIndex: rebuildPerPeer(wire.nextIndex, state.peers),
  };
  // Chapter 9's, only when the node's view has them: an earlier node's view has no such keys.
  if (wire.lastIncludedIndex !== undefined) view.lastIncludedIndex = rebuildValue(wire.lastIncludedIndex);
  if (wire.lastIncludedTerm !== undefined) view.lastIncludedTerm = rebuildValue(wire.lastIncludedTerm);
  return view as unknown as NodeView;
}

function rebuildProposeResult(wire: Json | undefined): unknown {
  if (!isRecord(wire)) throw new BadSnapshot("a propose() result");
  if (wire.k === null) return rebuildValue(wire.v);
  return { accepted: rebuildValue(wire.accepted), index: rebuildValue(wire.index), term: rebuildValue(wire.term), leaderId: rebuildValue(wire.leaderId) };
}

/** An experiment file's functions, run in this test's node process. */
export function isolatedExperiment(compiled: CompiledNodeFile, names: readonly string[]): { call(name: string, args: readonly unknown[], lab?: HostLab): unknown } {
  const own = currentSession();
  const first = names[0] ?? "";
  const p = own.load(compiled, names, `export function ${first}(...) (see the chapter's reading)`);
  return {
    call(name, args, lab) {
      if (own !== session) throw new NodeProcessFailed("belongs to a test that has ended");
      own.lab = lab;
      let reply: Message;
      try {
        reply = own.process.request({ op: "call", p, name, args: JSON.stringify(args), lab: lab ? 1 : 0 });
      } finally {
        own.lab = undefined;
      }
      if (reply.threw !== undefined) throw nodeError(describedFrom(reply.threw), compiled);
      refusedCheck(reply, compiled);
      if (typeof reply.text !== "string") throw new NodeProcessFailed("answered a call in no known way");
      try {
        return JSON.parse(reply.text) as unknown;
      } catch {
        throw new NodeProcessFailed("answered a call with something that is not JSON");
      }
    },
  };
}
