/**
 * Node values as plain data, for a node whose code runs in a process of
 * its own (sandbox/node-process.ts).
 *
 * What a node hands the world (a message it sends, a state it saves, its
 * view of itself) is read in the node's process, property by property, as
 * the world would read it, and written down as JSON: a snapshot. This side
 * rebuilds an object with exactly those properties and hands it to the
 * world's own checks, which then say exactly what they say of the node's
 * object in the test process. No object crosses, only data; and every
 * decision about that data is the world's, on this side.
 *
 * `snapshot*` functions run in the node's process, on the node's own
 * objects; `rebuild*` functions run here, on data that anybody could have
 * written, and check its shape before they trust it.
 */

/** A value as JSON: primitives as they are, the rest tagged. */
export type WireValue =
  | null
  | boolean
  | number
  | string
  | { readonly u: 1 }
  | { readonly n: "NaN" | "Infinity" | "-Infinity" | "-0" }
  | { readonly b: string }
  | { readonly y: string }
  /** Not a primitive: whether it is a function, and its length when it is an array. */
  | { readonly f: "object" | "function"; readonly a?: number };

/** A value as the node's process reads it (node code may run: getters, toString). */
export function snapshotValue(value: unknown): WireValue {
  switch (typeof value) {
    case "number":
      if (Number.isNaN(value)) return { n: "NaN" };
      if (value === Infinity) return { n: "Infinity" };
      if (value === -Infinity) return { n: "-Infinity" };
      if (Object.is(value, -0)) return { n: "-0" };
      return value;
    case "string":
      // As it is: a command of any length is a command (a frame is at most 64 MB).
      return value;
    case "boolean":
      return value;
    case "undefined":
      return { u: 1 };
    case "bigint":
      return { b: String(value) };
    case "symbol":
      // The world says only "a symbol".
      return { y: "" };
    case "object":
    case "function": {
      // What it is, never what its own toString or toJSON would say: the
      // world describes a node's values without running node code (shown in
      // world/messages.ts), so this process does not run it either.
      if (value === null) return null;
      const length = Array.isArray(value) ? value.length : undefined;
      return { f: typeof value === "function" ? "function" : "object", ...(length !== undefined ? { a: length } : {}) };
    }
  }
}

/** Data that is not what the protocol says: a node process that lies, or a bug. */
export class BadSnapshot extends Error {
  constructor(what: string) {
    super(`the node's process sent ${what}, which is not what it was asked for`);
    this.name = "Node process";
  }
}

/** A stand-in for a node's object that is not a primitive: what the world says of it is "an object". */
class Foreign {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new BadSnapshot(what);
  return value;
}

/** A value rebuilt from its snapshot. */
export function rebuildValue(wire: unknown): unknown {
  if (wire === null || typeof wire === "boolean" || typeof wire === "number") return wire;
  if (typeof wire === "string") return text(wire, "a string too long");
  if (!isRecord(wire)) throw new BadSnapshot("a value of no known kind");
  if (wire.u === 1) return undefined;
  if (typeof wire.n === "string") {
    switch (wire.n) {
      case "NaN":
        return NaN;
      case "Infinity":
        return Infinity;
      case "-Infinity":
        return -Infinity;
      case "-0":
        return -0;
    }
    throw new BadSnapshot("a number of no known kind");
  }
  if (typeof wire.b === "string") {
    if (!/^-?\d{1,1000}$/.test(wire.b)) throw new BadSnapshot("a bigint that is not one");
    return BigInt(wire.b);
  }
  if (typeof wire.y === "string") return Symbol(text(wire.y, "a symbol"));
  if (wire.f === "object" || wire.f === "function") {
    if (wire.f === "function") return function stand(): void {};
    if (wire.a !== undefined) {
      if (typeof wire.a !== "number" || !Number.isInteger(wire.a) || wire.a < 0 || wire.a > 2 ** 32 - 1) throw new BadSnapshot("an array length");
      // An array of that length (the world says "an array of N").
      const array: unknown[] = [];
      array.length = wire.a;
      return array;
    }
    return new Foreign();
  }
  throw new BadSnapshot("a value of no known kind");
}

/**
 * An object as the world reads it: the names a `for...in` loop lists (its
 * enumerable keys, inherited ones included), and the value of each name
 * the world reads by name (whether or not it is listed).
 */
export interface ObjectSnapshot {
  /** null when the value is not an object: then `v` is the value itself. */
  readonly k: readonly string[] | null;
  readonly p?: Readonly<Record<string, WireValue | ArraySnapshot>>;
  readonly v?: WireValue;
}

/** An array as the world reads it: its elements, each an object snapshot (entries). */
export interface ArraySnapshot {
  readonly arr: readonly ObjectSnapshot[];
}

/** The names the world reads of a message, by type (world/messages.ts), and of entries and saved states. */
const MESSAGE_NAMES = [
  "type", "term", "candidateId", "lastLogIndex", "lastLogTerm", "voteGranted", "leaderId", "prevLogIndex", "prevLogTerm", "leaderCommit", "success", "matchIndex", "conflictTerm", "conflictIndex",
  // InstallSnapshot's own (Chapter 9; its term, leaderId and its reply's matchIndex are above).
  "lastIncludedIndex", "lastIncludedTerm", "data",
];
const ENTRY_NAMES = ["term", "command"];

/** Snapshot an object, reading `names` (and `arrays`, as arrays of entries). */
export function snapshotObject(value: unknown, names: readonly string[], arrays: readonly string[] = []): ObjectSnapshot {
  if (typeof value !== "object" || value === null) return { k: null, v: snapshotValue(value) };
  const keys: string[] = [];
  const record = value as Record<string, unknown>;
  for (const key in record) {
    keys.push(key);
    if (keys.length > 1000) break;
  }
  const properties: Record<string, WireValue | ArraySnapshot> = {};
  for (const name of names) properties[name] = snapshotValue(record[name]);
  for (const name of arrays) {
    const raw = record[name];
    properties[name] = Array.isArray(raw) ? snapshotEntries(raw) : snapshotValue(raw);
  }
  return { k: keys, p: properties };
}

/** A list of entries: each as the world reads an entry. */
export function snapshotEntries(list: readonly unknown[]): ArraySnapshot {
  const length = list.length;
  const items: ObjectSnapshot[] = [];
  for (let i = 0; i < length; i++) items.push(snapshotEntry(list[i]));
  return { arr: items };
}

/** One entry as the world reads it: { term, command }, or what it is instead. */
export function snapshotEntry(value: unknown): ObjectSnapshot {
  if (typeof value !== "object" || value === null) return { k: null, v: snapshotValue(value) };
  const record = value as Record<string, unknown>;
  return { k: [], p: { term: snapshotValue(record.term), command: snapshotValue(record.command) } };
}

/** A message a node sends, as the world reads it. */
export function snapshotMessage(value: unknown): ObjectSnapshot {
  return snapshotObject(value, MESSAGE_NAMES, ["entries"]);
}

/** A reply a server sends a client (Chapter 8), as the world reads it. */
export function snapshotClientReply(value: unknown): ObjectSnapshot {
  return snapshotObject(value, ["type", "sequence", "success", "value", "leaderId"]);
}

const SNAPSHOT_NAMES = ["lastIncludedIndex", "lastIncludedTerm", "state"];

/**
 * A Snapshot (Chapter 9: the node's state machine standing in for the
 * start of its log; not this file's kind of snapshot) that a node saves or
 * hands env.applySnapshot, as the world reads it.
 */
export function snapshotRaftSnapshot(value: unknown): ObjectSnapshot {
  return snapshotObject(value, SNAPSHOT_NAMES);
}

/**
 * Whether two of snapshotRaftSnapshot's readings are of the same snapshot:
 * the same keys and the same three values. A primitive matches by value;
 * anything else never does (its reading is an object made afresh each
 * time), nor does a snapshot that is not an object.
 */
export function sameRaftSnapshot(a: ObjectSnapshot, b: ObjectSnapshot): boolean {
  const p = a.p;
  const q = b.p;
  if (p === undefined || q === undefined || p.lastIncludedIndex !== q.lastIncludedIndex || p.lastIncludedTerm !== q.lastIncludedTerm || p.state !== q.state) return false;
  const k = a.k;
  const l = b.k;
  if (k === null || l === null || k.length !== l.length) return false;
  for (let i = 0; i < k.length; i++) if (k[i] !== l[i]) return false;
  return true;
}

/** A state a node saves, as the world reads it (its Chapter 9 snapshot goes beside it: sandbox/node-process-child.ts, savedStateChange). */
export function snapshotSavedState(value: unknown): ObjectSnapshot {
  return snapshotObject(value, ["currentTerm", "votedFor"], ["log"]);
}

/** An object rebuilt from its snapshot: the listed keys enumerable, the other names readable but not listed. */
export function rebuildObject(wire: unknown): unknown {
  if (!isRecord(wire)) throw new BadSnapshot("an object snapshot of no known shape");
  if (wire.k === null) return rebuildValue(wire.v);
  if (!Array.isArray(wire.k) || wire.k.length > 1001 || !wire.k.every((k) => typeof k === "string" && k.length <= 1000)) throw new BadSnapshot("an object's keys");
  const properties = wire.p === undefined ? {} : wire.p;
  if (!isRecord(properties)) throw new BadSnapshot("an object's properties");
  const listed = new Set(wire.k as string[]);
  const rebuilt: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(properties)) {
    const rebuiltValue = isRecord(value) && Array.isArray(value.arr) ? rebuildEntries(value) : rebuildValue(value);
    // defineProperty, never assignment: a name like "__proto__" stays a plain property.
    Object.defineProperty(rebuilt, name, { value: rebuiltValue, enumerable: listed.has(name), writable: true, configurable: true });
  }
  for (const key of listed) {
    if (!Object.prototype.hasOwnProperty.call(rebuilt, key)) Object.defineProperty(rebuilt, key, { value: undefined, enumerable: true, writable: true, configurable: true });
  }
  return rebuilt;
}

/** A list of entries rebuilt from its snapshot. */
export function rebuildEntries(wire: unknown): unknown[] {
  if (!isRecord(wire) || !Array.isArray(wire.arr)) throw new BadSnapshot("a list of entries");
  return (wire.arr as unknown[]).map((item) => rebuildObject(item));
}

/** What a node reports of itself (the view's fields the world reads), with its log as a change since the last report. */
export interface ViewSnapshot {
  /** null when inspect() returned something that is not an object: then `v` is what it returned. */
  readonly k: null | 1;
  readonly v?: WireValue;
  readonly role?: WireValue;
  readonly currentTerm?: WireValue;
  readonly votedFor?: WireValue;
  readonly leaderId?: WireValue;
  readonly commitIndex?: WireValue;
  readonly lastApplied?: WireValue;
  readonly matchIndex?: PerPeerSnapshot;
  readonly nextIndex?: PerPeerSnapshot;
  readonly log?: LogSnapshot;
  /** Chapter 9's, present only when the view has them (JSON leaves out a key whose value is undefined). */
  readonly lastIncludedIndex?: WireValue;
  readonly lastIncludedTerm?: WireValue;
}

/** A leader's per-peer field: absent, not an object, or a value per peer. */
export type PerPeerSnapshot = { readonly u: 1 } | { readonly bad: WireValue } | { readonly per: Readonly<Record<string, WireValue>> };

/**
 * A log as changed since the node's last report: its new length, and the
 * positions (from 0) that hold another object than last time, each as the
 * world reads an entry. Positions not listed hold the same object.
 */
export type LogSnapshot = { readonly notArray: WireValue } | { readonly len: number; readonly set: readonly (readonly [number, ObjectSnapshot])[] };

/** Read a per-peer field of a view (matchIndex, nextIndex) as the world does. */
export function snapshotPerPeer(value: unknown, peers: readonly string[]): PerPeerSnapshot {
  if (value === undefined) return { u: 1 };
  if (typeof value !== "object" || value === null) return { bad: snapshotValue(value) };
  const per: Record<string, WireValue> = {};
  for (const peer of peers) per[peer] = snapshotValue((value as Record<string, unknown>)[peer]);
  return { per };
}

/** A per-peer field rebuilt: undefined, the bad value itself, or an object with a value per peer. */
export function rebuildPerPeer(wire: unknown, peers: readonly string[]): unknown {
  if (!isRecord(wire)) throw new BadSnapshot("a per-peer field");
  if (wire.u === 1) return undefined;
  if ("bad" in wire) return rebuildValue(wire.bad);
  if (!isRecord(wire.per)) throw new BadSnapshot("a per-peer field");
  const rebuilt: Record<string, unknown> = {};
  for (const peer of peers) {
    if (Object.prototype.hasOwnProperty.call(wire.per, peer)) rebuilt[peer] = rebuildValue(wire.per[peer]);
  }
  return rebuilt;
}
