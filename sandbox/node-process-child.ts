/**
 * The program of a node's own process (see sandbox/node-process.ts): it runs
 * a learner's node file in the same realm as the test process would
 * (sandbox/sandbox-realm.ts), and does only what the world asks, one request
 * at a time, over its standard input and output.
 *
 * It is bundled into one file and started with no rights: no file but
 * itself to read, none to write, no process to start, no environment, and
 * (where the machine allows) no network. Everything in it is untrusted by
 * the world, which checks every answer: this file only has to be right for
 * an honest node to behave exactly as it would in the test process.
 *
 * Requests (from the world): load a file, create a node, run a handler
 * (then inspect), inspect, call an experiment's function, evaluate a lab
 * condition. While it serves one, it asks the world in turn (an env call,
 * a lab call) and serves whatever nested request comes back first.
 */
import { readSync, writeSync } from "node:fs";
import vm from "node:vm";
import type { NodeEnvironment, NodeView, PersistentState, RaftNode, Timing } from "../world/contract.ts";
import type { HostCluster, HostLab } from "../world/lab.ts";
import { checkEntry, checkOutgoing, MalformedMessage, TIMER_NAMES } from "../world/messages.ts";
import { RandomStream } from "../world/random.ts";
import { openRealm, runModule, type Realm, type SandboxEnv } from "./sandbox-realm.ts";
import {
  sameRaftSnapshot,
  snapshotClientReply,
  snapshotEntry,
  snapshotMessage,
  snapshotPerPeer,
  snapshotRaftSnapshot,
  snapshotSavedState,
  snapshotValue,
  type LogSnapshot,
  type ObjectSnapshot,
  type ViewSnapshot,
} from "./node-values.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
type Message = { [key: string]: Json | undefined };

// ---------------------------------------------------------------------------
// Frames: a 4-byte little-endian length, then that many bytes of JSON.

const IN_BLOCKING = 0;
/** Most quick tries to read before a read that waits, and how many pay off lately (see fill). */
const SPIN = 400;
const SPIN_FLOOR = 8;
let spin = SPIN;
const IN_POLLING = 3;
const OUT = 1;
let inbox = Buffer.alloc(1 << 16);
let inboxStart = 0;
let inboxEnd = 0;

/** Effects the world will be told with the next thing written: env calls whose outcome is known here (see outerEnv). */
const pending: Buffer[] = [];

function frameOf(message: Message): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Tell the world later, in order, with the next message. */
function queue(message: Message): void {
  pending.push(frameOf(message));
}

/** Write a message now, after whatever was queued. */
function send(message: Message): void {
  pending.push(frameOf(message));
  const frame = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
  pending.length = 0;
  let written = 0;
  while (written < frame.length) written += writeSync(OUT, frame, written, frame.length - written);
}

/** Read more bytes: poll a little (the world usually answers within microseconds), then block. */
function fill(): void {
  if (inboxEnd === inbox.length) {
    const live = inboxEnd - inboxStart;
    const bigger = Buffer.alloc(live * 2 > inbox.length ? inbox.length * 2 : inbox.length);
    inbox.copy(bigger, 0, inboxStart, inboxEnd);
    inbox = bigger;
    inboxStart = 0;
    inboxEnd = live;
  }
  // Nothing to read yet throws EAGAIN, often: without a stack, that costs a microsecond instead of ten.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  // A few quick tries (as many as paid off lately), then a read that waits without using the processor.
  for (let i = 0; i < spin; i++) {
    let got: number;
    try {
      got = readSync(IN_POLLING, inbox, inboxEnd, inbox.length - inboxEnd, null);
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") continue;
      throw error;
    }
    spin = Math.min(SPIN, Math.max(2 * spin, 2 * i + 16));
    Error.stackTraceLimit = limit;
    if (got === 0) process.exit(0);
    inboxEnd += got;
    return;
  }
  Error.stackTraceLimit = limit;
  spin = Math.max(SPIN_FLOOR, spin >> 1);
  const got = readSync(IN_BLOCKING, inbox, inboxEnd, inbox.length - inboxEnd, null);
  if (got === 0) process.exit(0);
  inboxEnd += got;
}

function receive(): Message {
  for (;;) {
    if (inboxEnd - inboxStart >= 4) {
      const length = inbox.readUInt32LE(inboxStart);
      if (inboxEnd - inboxStart >= 4 + length) {
        const text = inbox.toString("utf8", inboxStart + 4, inboxStart + 4 + length);
        inboxStart += 4 + length;
        if (inboxStart === inboxEnd) inboxStart = inboxEnd = 0;
        return JSON.parse(text) as Message;
      }
      if (inboxStart > 0) {
        inbox.copy(inbox, 0, inboxStart, inboxEnd);
        inboxEnd -= inboxStart;
        inboxStart = 0;
      }
    }
    fill();
  }
}

let nextRequest = 1;

/** Ask the world, serving what it asks in the meantime; returns its answer. */
function ask(message: Message): Message {
  const id = nextRequest++;
  send({ ...message, q: id });
  for (;;) {
    const incoming = receive();
    if (incoming.r === id) return incoming;
    serve(incoming);
  }
}

/** An answer of the world's: its value, or (what the world threw) an error with its message. */
function answer(reply: Message): Json | undefined {
  if (typeof reply.e === "string") throw new Error(reply.e);
  return reply.v;
}

// ---------------------------------------------------------------------------
// What the world asked to run.

interface Program {
  readonly realm: Realm;
  readonly exports: Record<string, unknown>;
}

interface Instance {
  readonly made: SandboxEnv;
  node: RaftNode | null;
  readonly peers: readonly string[];
  /** The cluster's nodes, in the world's order. */
  readonly nodes: readonly string[];
  /** The node's own log entries as last reported, position by position (by identity, as the world's mirror follows them). */
  seen: unknown[];
  /** The node's own entries of its last save, position by position. */
  savedSeen: unknown[];
  /**
   * The snapshot (Chapter 9) of the last save the world took, as read then;
   * undefined when that save had none (or there was none yet). A save of
   * the same snapshot again is foreseen, and crosses as "the same" (see save).
   */
  savedSnapshot: ObjectSnapshot | undefined;
}

const programs = new Map<number, Program>();
const instances = new Map<number, Instance>();
const conditions = new Map<number, () => boolean>();
let nextCondition = 1;

function realmLog(level: string, text: string): void {
  // Now, not later: a line printed just before a call that never returns is still shown.
  send({ o: "log", l: level, t: text });
}

function described(program: Program | undefined, thrown: unknown): [string, string, string] {
  if (program === undefined) return ["Error", String(thrown), ""];
  try {
    const d = program.realm.helpers.describeThrown(thrown);
    return [String(d[0]), String(d[1]), String(d[2])];
  } catch {
    return ["Error", "threw something that cannot be described", ""];
  }
}

function refused(program: Program): string | undefined {
  return program.realm.helpers.takeRefused();
}

/**
 * A call of the world's in progress, and what this process knows of the
 * world's side of it: whether every env call can be foreseen (no crash
 * point armed, the node alive), the send budget, and the node's random
 * stream. The world sends it with every call.
 */
interface CallInProgress {
  readonly instance: Instance;
  predictable: boolean;
  readonly now: number;
  readonly messagesPerSecond: number;
  sendWindowStart: number;
  sendsInWindow: number;
  readonly random: RandomStream | undefined;
  readonly forcedDraws: number[];
}

const calls: CallInProgress[] = [];

function beginCall(instance: Instance, request: Message): void {
  const h = request.h as { p?: number; ws?: number; wn?: number; lim?: number; rs?: number[]; fd?: number[] } | undefined;
  calls.push({
    instance,
    predictable: h?.p === 1,
    now: request.t as number,
    messagesPerSecond: h?.lim ?? 0,
    sendWindowStart: h?.ws ?? 0,
    sendsInWindow: h?.wn ?? 0,
    random: h?.rs ? RandomStream.fromState(h.rs) : undefined,
    forcedDraws: h?.fd ? [...h.fd] : [],
  });
}

/** The call of this instance in progress, when what its env calls do can be foreseen here. */
function foreseeable(instance: Instance): CallInProgress | undefined {
  const call = calls.at(-1);
  return call !== undefined && call.instance === instance && call.predictable ? call : undefined;
}

/** Ask the world to make an env call, and from then on in this call, ask for every one (the world's side may have moved). */
function askEnv(instance: Instance, method: string, args: Json[]): Json | undefined {
  const call = calls.at(-1);
  if (call !== undefined) call.predictable = false;
  return answer(ask({ op: "env", i: instanceId(instance), m: method, a: args }));
}

function whole(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * Whether the world would take this state as it is (world/node-host.ts,
 * checkSaved), but for its Chapter 9 snapshot: save() foresees only a
 * snapshot the world took before, unchanged (or none after none).
 */
function savable(state: unknown, nodes: readonly string[]): boolean {
  if (typeof state !== "object" || state === null) return false;
  const record = state as Record<string, unknown>;
  const votedFor = record.votedFor ?? null;
  if (!whole(record.currentTerm) || (votedFor !== null && (typeof votedFor !== "string" || !nodes.includes(votedFor)))) return false;
  const log = record.log;
  if (!Array.isArray(log)) return false;
  for (const entry of log) if (!isEntry(entry)) return false;
  return true;
}

/**
 * The environment a node's realm wraps. An env call whose outcome this
 * process can foresee exactly (the world's own checks, run here on the
 * node's values, say it is well formed; the send budget is not exceeded;
 * no crash point is armed) is told to the world later, with the next
 * message, and the node carries on at once; any other asks the world and
 * waits. The world makes every call itself, in order, and ends the run if
 * one it was told about does not do what this process foresaw.
 */
function outerEnv(id: string, peers: readonly string[], instance: () => Instance, program: Program): NodeEnvironment {
  const env = {
    id,
    peers,
    // The realm hands the node the time and timing of each call itself (see enter in the prelude).
    now: () => 0,
    timing: { electionTimeoutMin: 0, electionTimeoutMax: 0, heartbeatInterval: 0 },
    randomInt(min: number, max: number): number {
      const own = instance();
      const call = foreseeable(own);
      if (call?.random !== undefined && typeof min === "number" && typeof max === "number" && Number.isFinite(min) && Number.isFinite(max)) {
        const drawn = call.forcedDraws.shift() ?? call.random.int(min, max);
        queue({ o: "env", i: instanceId(own), m: "randomInt", a: [min, max], v: drawn });
        return drawn;
      }
      return askEnv(own, "randomInt", [snapshotValue(min) as Json, snapshotValue(max) as Json]) as number;
    },
    send(to: string, message: unknown): void {
      const own = instance();
      const call = foreseeable(own);
      if (call !== undefined && typeof to === "string" && own.peers.includes(to)) {
        let copy: unknown;
        try {
          copy = checkOutgoing(message, own.nodes);
        } catch (error) {
          if (!(error instanceof MalformedMessage)) throw error;
          copy = undefined;
        }
        if (copy !== undefined) {
          if (call.now - call.sendWindowStart >= 1000) {
            call.sendWindowStart = call.now;
            call.sendsInWindow = 0;
          }
          if (call.sendsInWindow + 1 <= call.messagesPerSecond) {
            call.sendsInWindow++;
            queue({ o: "env", i: instanceId(own), m: "send", a: [to, copy as Json] });
            return;
          }
        }
      }
      askEnv(own, "send", [snapshotValue(to) as Json, snapshotMessage(message) as unknown as Json]);
    },
    setTimer(name: string, delayMs: number): void {
      const own = instance();
      if (foreseeable(own) !== undefined && (TIMER_NAMES as readonly string[]).includes(name) && typeof delayMs === "number" && Number.isFinite(delayMs) && delayMs > 0) {
        queue({ o: "env", i: instanceId(own), m: "setTimer", a: [name, delayMs] });
        return;
      }
      askEnv(own, "setTimer", [snapshotValue(name) as Json, snapshotValue(delayMs) as Json]);
    },
    cancelTimer(name: string): void {
      const own = instance();
      if (foreseeable(own) !== undefined && (TIMER_NAMES as readonly string[]).includes(name)) {
        queue({ o: "env", i: instanceId(own), m: "cancelTimer", a: [name] });
        return;
      }
      askEnv(own, "cancelTimer", [snapshotValue(name) as Json]);
    },
    apply(index: number, entry: unknown): void {
      const own = instance();
      if (foreseeable(own) !== undefined && typeof index === "number" && Number.isInteger(index) && index >= 1 && isEntry(entry)) {
        const copy = checkEntry(entry, "apply");
        queue({ o: "env", i: instanceId(own), m: "apply", a: [index, { term: copy.term, command: copy.command }] });
        return;
      }
      askEnv(own, "apply", [snapshotValue(index) as Json, snapshotEntry(entry) as unknown as Json]);
    },
    save(state: unknown): void {
      const own = instance();
      // Chapter 9's snapshot, read once. A node saves the same one over and
      // over between two snapshots: that save is foreseen, and its state
      // (which can be long) does not cross again. A new snapshot, or none
      // after one, is rare and the world's rules about it are the world's: asked.
      const raw = typeof state === "object" && state !== null ? (state as { snapshot?: unknown }).snapshot : undefined;
      const snapshot = raw === undefined ? undefined : snapshotRaftSnapshot(raw);
      const taken = own.savedSnapshot;
      const same = snapshot === undefined ? taken === undefined : taken !== undefined && sameRaftSnapshot(snapshot, taken);
      if (foreseeable(own) !== undefined && same && savable(state, own.nodes)) {
        queue({ o: "env", i: instanceId(own), m: "save", a: [savedStateChange(own, state, snapshot === undefined ? undefined : 1)] });
        // The same values; this reading's state is most likely the very string the next save hands over, compared at once.
        if (snapshot !== undefined) own.savedSnapshot = snapshot;
      } else {
        askEnv(own, "save", [savedStateChange(own, state, snapshot === undefined ? undefined : same ? 1 : snapshot)]);
        // Taken (the world throws when it refuses), on this side as on the world's (sandbox/node-process.ts, save).
        own.savedSnapshot = snapshot;
      }
      freezeSaved(program, state);
    },
    replyToClient(to: unknown, reply: unknown): void {
      // Rare (one per client request): always asked, never foreseen.
      askEnv(instance(), "replyToClient", [snapshotValue(to) as Json, snapshotClientReply(reply) as unknown as Json]);
    },
    applySnapshot(snapshot: unknown): void {
      // Rare (a snapshot installed, or loaded at a restart): always asked, never foreseen.
      askEnv(instance(), "applySnapshot", [snapshotRaftSnapshot(snapshot) as unknown as Json]);
    },
    note(text: string): void {
      queue({ o: "note", i: instanceId(instance()), t: String(text) });
    },
  };
  return env as unknown as NodeEnvironment;
}

const idOfInstance = new WeakMap<Instance, number>();
function instanceId(instance: Instance): number {
  return idOfInstance.get(instance) ?? 0;
}

/**
 * A saved state as the world reads it, with its log as a change since the
 * last save: the world keeps the same copies for the same entry objects.
 * Its Chapter 9 snapshot, when it has one, goes beside it as `snap`: as
 * read, or 1 for the snapshot of the last save the world took.
 */
function savedStateChange(instance: Instance, state: unknown, snapshot: ObjectSnapshot | 1 | undefined): Json {
  const change = savedLogChange(instance, state);
  // Only when the state has one: an earlier chapter's save crosses as it always did.
  if (snapshot !== undefined) change.snap = snapshot as unknown as Json;
  return change;
}

function savedLogChange(instance: Instance, state: unknown): Message {
  if (typeof state !== "object" || state === null) return { full: snapshotSavedState(state) as unknown as Json };
  const record = state as Record<string, unknown>;
  const log = record.log;
  if (!Array.isArray(log)) return { full: snapshotSavedState(state) as unknown as Json };
  const seen = instance.savedSeen;
  const length = log.length;
  const set: [number, ObjectSnapshot][] = [];
  for (let i = 0; i < length; i++) {
    const entry: unknown = log[i];
    if (i < seen.length && seen[i] === entry) continue;
    set.push([i, snapshotEntry(entry)]);
    seen[i] = entry;
  }
  seen.length = length;
  return { currentTerm: snapshotValue(record.currentTerm) as Json, votedFor: snapshotValue(record.votedFor) as Json, len: length, set: set as unknown as Json };
}

/** A saved entry is read-only from then on, as the world freezes it in the test process (with the realm's own freeze). */
function freezeSaved(program: Program, state: unknown): void {
  if (typeof state !== "object" || state === null) return;
  const log = (state as { log?: unknown }).log;
  if (!Array.isArray(log)) return;
  for (const entry of log) {
    if (!isEntry(entry)) return;
    program.realm.helpers.freeze(entry);
  }
}

function isEntry(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const term = (value as { term?: unknown }).term;
  return typeof term === "number" && Number.isInteger(term) && term >= 0 && typeof (value as { command?: unknown }).command === "string";
}

/** The view as the world reads it, its log as a change since the last view (and the new entries frozen, as the world's mirror freezes them). */
function viewSnapshot(program: Program, instance: Instance, view: unknown): ViewSnapshot {
  if (typeof view !== "object" || view === null) return { k: null, v: snapshotValue(view) };
  const record = view as Record<string, unknown>;
  const lastIncludedIndex = record.lastIncludedIndex;
  const lastIncludedTerm = record.lastIncludedTerm;
  return {
    k: 1,
    role: snapshotValue(record.role),
    currentTerm: snapshotValue(record.currentTerm),
    votedFor: snapshotValue(record.votedFor),
    leaderId: snapshotValue(record.leaderId),
    commitIndex: snapshotValue(record.commitIndex),
    lastApplied: snapshotValue(record.lastApplied),
    log: logChange(program, instance, record.log),
    matchIndex: snapshotPerPeer(record.matchIndex, instance.peers),
    nextIndex: snapshotPerPeer(record.nextIndex, instance.peers),
    // Chapter 9's, only when the view has them (JSON leaves out an undefined): an earlier node's view crosses as it always did.
    lastIncludedIndex: lastIncludedIndex === undefined ? undefined : snapshotValue(lastIncludedIndex),
    lastIncludedTerm: lastIncludedTerm === undefined ? undefined : snapshotValue(lastIncludedTerm),
  };
}

function logChange(program: Program, instance: Instance, log: unknown): LogSnapshot {
  if (!Array.isArray(log)) return { notArray: snapshotValue(log) };
  const seen = instance.seen;
  const length = log.length;
  const set: [number, ObjectSnapshot][] = [];
  let valid = true;
  for (let i = 0; i < length; i++) {
    const entry: unknown = log[i];
    if (i < seen.length && seen[i] === entry) continue;
    set.push([i, snapshotEntry(entry)]);
    seen[i] = entry;
    // The world freezes each entry it adopts, in order, until one is not an entry.
    if (valid && isEntry(entry)) program.realm.helpers.freeze(entry);
    else valid = false;
  }
  seen.length = length;
  return { len: length, set };
}

function copyState(saved: Json | undefined): PersistentState | null {
  if (saved === null || saved === undefined) return null;
  return saved as unknown as PersistentState;
}

/** A lab for an experiment's code: each call asks the world, which runs the clusters. */
function labFor(): HostLab {
  return {
    boot(nodes, seed, min, max): HostCluster {
      const booted = answer(ask({ op: "lab", m: "boot", a: [nodes, seed, min, max] })) as { c: number; nodes: string[] };
      const c = booted.c;
      return {
        nodes: booted.nodes,
        now: () => answer(ask({ op: "lab", m: "now", c })) as number,
        runUntil(condition, withinMs) {
          const id = nextCondition++;
          conditions.set(id, condition);
          try {
            return answer(ask({ op: "lab", m: "runUntil", c, a: [id, withinMs] })) as boolean;
          } finally {
            conditions.delete(id);
          }
        },
        runFor(ms) {
          answer(ask({ op: "lab", m: "runFor", c, a: [ms] }));
        },
        leaders: () => answer(ask({ op: "lab", m: "leaders", c })) as string[],
        view: (id) => answer(ask({ op: "lab", m: "view", c, a: [id] })) as unknown as NodeView,
      };
    },
  };
}

// ---------------------------------------------------------------------------

function serve(request: Message): void {
  const id = request.q;
  let reply: Message;
  try {
    reply = handle(request);
  } catch (error) {
    reply = { fault: String((error as Error)?.message ?? error) };
  }
  send({ ...reply, r: id });
}

function handle(request: Message): Message {
  switch (request.op) {
    case "load": {
      const p = request.p as number;
      const label = request.label as string;
      const realm = openRealm(label, realmLog, () => {
        inspecting = true;
        send({ o: "inspect" });
      });
      const program: Program = { realm, exports: {} };
      programs.set(p, program);
      // The check's simulated escape (sandbox/node-process.ts, CHECK_HANDS_NODE_ITS_PROCESS): this process, handed over.
      if (request.handOver === 1) (realm.context as Record<string, unknown>).handedOver = process;
      try {
        const exported = runModule(realm, request.code as string, label);
        Object.assign(program.exports, exported.values);
        return { kind: "loaded", exports: exported.names, functions: exported.names.filter((n) => typeof exported.values[n] === "function"), hasDefault: exported.hasDefault };
      } catch (error) {
        const imported = realm.helpers.takeImportRefused();
        if (imported !== undefined) return { kind: "import refused", name: imported };
        return { kind: "threw", thrown: described(program, error) };
      }
    }
    case "create": {
      const program = programs.get(request.p as number)!;
      const i = request.i as number;
      const peers = request.peers as string[];
      let instance: Instance | undefined;
      const env = outerEnv(request.id as string, peers, () => instance!, program);
      const made = program.realm.helpers.makeEnv(env);
      instance = { made, node: null, peers, nodes: request.nodes as string[], seen: [], savedSeen: [], savedSnapshot: undefined };
      idOfInstance.set(instance, i);
      instances.set(i, instance);
      beginCall(instance, request);
      try {
        const node = program.realm.helpers.create(program.exports.createNode, made, copyState(request.saved), request.t as number, request.timing as unknown as Timing);
        instance.node = node;
        return { ok: typeof node === "object" && node !== null ? 1 : 0, kind: node === null ? "null" : typeof node, rf: refused(program) };
      } catch (error) {
        return { threw: described(program, error), rf: refused(program) };
      } finally {
        calls.pop();
      }
    }
    case "enter": {
      const program = programs.get(request.p as number)!;
      const instance = instances.get(request.i as number)!;
      const helpers = program.realm.helpers;
      const kind = request.k as number;
      beginCall(instance, request);
      try {
        const result = helpers.enter(kind, instance.node!, instance.made.sync, request.a, request.b, request.t as number, request.timing as unknown as Timing);
        if (kind === 3) return { result: snapshotProposeResult(result), rf: refused(program) };
        return { view: viewSnapshot(program, instance, result) as unknown as Json, rf: refused(program) };
      } catch (error) {
        return { threw: described(program, error), ph: inspecting ? 1 : 0, rf: refused(program) };
      } finally {
        inspecting = false;
        calls.pop();
      }
    }
    case "inspect": {
      const program = programs.get(request.p as number)!;
      const instance = instances.get(request.i as number)!;
      beginCall(instance, request);
      try {
        const view = program.realm.helpers.inspect(instance.node!);
        return { view: viewSnapshot(program, instance, view) as unknown as Json, rf: refused(program) };
      } catch (error) {
        return { threw: described(program, error), rf: refused(program) };
      } finally {
        inspecting = false;
        calls.pop();
      }
    }
    case "call": {
      const program = programs.get(request.p as number)!;
      const fn = program.exports[request.name as string];
      try {
        const text = program.realm.helpers.call(fn, request.args as string, request.lab === 1 ? labFor() : undefined);
        return { text: text.length > 10_000_000 ? "null" : text, rf: refused(program) };
      } catch (error) {
        return { threw: described(program, error), rf: refused(program) };
      }
    }
    case "condition": {
      const condition = conditions.get(request.c as number);
      try {
        return { v: condition ? condition() : false };
      } catch (error) {
        return { e: error instanceof Error ? error.message : String(error) };
      }
    }
  }
  return { fault: `no such request ${String(request.op)}` };
}

function snapshotProposeResult(result: unknown): Json {
  if (typeof result !== "object" || result === null) return { k: null, v: snapshotValue(result) as Json };
  const record = result as Record<string, unknown>;
  return { k: 1, accepted: snapshotValue(record.accepted) as Json, index: snapshotValue(record.index) as Json, term: snapshotValue(record.term) as Json, leaderId: snapshotValue(record.leaderId) as Json };
}

/** Set while a node reports its state after a handler: the world is told, in case the report never ends. */
let inspecting = false;

function main(): void {
  for (;;) serve(receive());
}

// A cap on this process's whole life (five minutes, far more than any test
// takes), in case the world's process died without ending it while node code
// was in an endless loop.
vm.runInNewContext("main()", { main }, { timeout: 300_000 });
