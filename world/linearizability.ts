/**
 * Is a history linearizable? The checker that judges a service from
 * outside, by what its clients saw (Chapter 8's clients, and any history
 * written by hand or fetched from Jepsen).
 *
 * A history is a list of operations, each with the simulated time a client
 * called it and the time the answer came back. It is linearizable when the
 * operations can be put in one order, each taking effect at some instant
 * between its call and its return, in which a sequential model of the
 * service (a register, a key-value map) gives every answer the clients
 * got (Herlihy and Wing, 1990).
 *
 * The search is Wing and Gong's (1993): take the operations in the order
 * of their calls, try each one that could come next, go back when a return
 * comes before its operation could be placed. Lowe's memoization (2017)
 * makes it fast: a set of operations already placed and the model's state
 * after them, once seen, is never explored again. A history is split by
 * key first (a key-value map is linearizable when each key's history is),
 * as Porcupine and Knossos do; each key is searched apart. This follows
 * Porcupine's checker (Athalye, MIT licence) closely.
 *
 * No Node.js module here: the same checker runs in a browser page.
 */

/** One operation a client called and (maybe) saw the answer to. */
export interface Operation<Input, Output> {
  /** Who called it: one client calls one operation at a time. */
  readonly client: number | string;
  readonly input: Input;
  readonly output: Output;
  /** When it was called, and when its answer came back (Infinity: never, its outcome unknown). */
  readonly call: number;
  readonly return: number;
}

/** What a model's step returns when the answer does not fit (a value, not an object: the search makes millions of steps). */
export const REFUSED: unique symbol = Symbol("an answer the model could not give");

/** A sequential model of the service: what each operation does to the state, and whether an answer fits. */
export interface Model<State, Input, Output> {
  readonly init: () => State;
  /** The state after `input`, if `output` is an answer the model could give in `state`; REFUSED if not. */
  readonly step: (state: State, input: Input, output: Output) => State | typeof REFUSED;
  readonly equal: (a: State, b: State) => boolean;
  /** A number for equal states alike (different states may share one). */
  readonly hash: (state: State) => number;
  /** Independent parts of a history, searched apart (by key); the whole history when absent. */
  readonly partition?: (history: readonly Operation<Input, Output>[]) => { readonly name: string; readonly operations: readonly Operation<Input, Output>[] }[];
  /** An operation in a few words: `put(x, 1)`, `get(x) → "1"`. */
  readonly describe: (input: Input, output: Output) => string;
}

export type Verdict = "linearizable" | "not linearizable" | "unknown";

/** What the search found in one part (one key) of a history. */
export interface PartVerdict<Input, Output> {
  readonly name: string;
  readonly verdict: Verdict;
  readonly operations: readonly Operation<Input, Output>[];
  /** The longest order found in which every operation's answer fits: indexes into `operations`. */
  readonly longestPrefix: readonly number[];
  /** Not linearizable: the operation whose answer came back before it could be placed after that prefix. */
  readonly unplaceable?: number;
}

export interface LinearizabilityResult<Input, Output> {
  /** Not linearizable when any part is not; unknown when none is not but the budget ran out in one. */
  readonly verdict: Verdict;
  readonly parts: readonly PartVerdict<Input, Output>[];
  /** The search's steps, in all (each a try to place one operation, or a step back). */
  readonly steps: number;
}

export interface CheckOptions {
  /**
   * How many search steps the checker may take, over all parts, before it
   * gives up with "unknown" (the search can take time exponential in the
   * number of concurrent operations). Counted work, never real time.
   */
  readonly budget?: number;
}

export const DEFAULT_BUDGET = 50_000_000;

/** A doubly linked list of calls and returns, in time order (Porcupine's layout). */
interface Entry {
  /** The operation's index in its part. */
  readonly id: number;
  /** The return entry of a call; undefined on a return. */
  readonly match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** A fixed pseudo-random 32-bit number for each operation (splitmix32), for Zobrist hashing. */
function bitKey(i: number): number {
  let z = (i + 1) * 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The placed operations as bits, with a hash kept up to date as bits flip
 * (each operation has its own random number; the hash is the XOR of the
 * placed ones'), so the memo costs the same at any depth.
 */
class Bits {
  readonly words: Uint32Array;
  private readonly keys: Uint32Array;
  hash = 0;
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32) || 1);
    this.keys = new Uint32Array(size);
    for (let i = 0; i < size; i++) this.keys[i] = bitKey(i);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.hash = (this.hash ^ this.keys[i]!) >>> 0;
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.hash = (this.hash ^ this.keys[i]!) >>> 0;
  }
}

function linkedEntries<I, O>(operations: readonly Operation<I, O>[]): Entry {
  const events: { time: number; isCall: boolean; id: number }[] = [];
  operations.forEach((op, id) => {
    events.push({ time: op.call, isCall: true, id }, { time: op.return, isCall: false, id });
  });
  // In time order; at the same instant, calls before returns (they overlap), and otherwise as given.
  const order = events.map((_, i) => i);
  order.sort((a, b) => {
    const x = events[a]!;
    const y = events[b]!;
    if (x.time !== y.time) return x.time < y.time ? -1 : 1;
    if (x.isCall !== y.isCall) return x.isCall ? -1 : 1;
    return a - b;
  });
  const head: Entry = { id: -1, match: undefined, prev: undefined, next: undefined };
  const returns = new Map<number, Entry>();
  let last = head;
  // Returns are made first, so that each call can point at its own.
  for (const i of order) {
    const e = events[i]!;
    if (!e.isCall) returns.set(e.id, { id: e.id, match: undefined, prev: undefined, next: undefined });
  }
  for (const i of order) {
    const e = events[i]!;
    const entry: Entry = e.isCall ? { id: e.id, match: returns.get(e.id), prev: undefined, next: undefined } : returns.get(e.id)!;
    entry.prev = last;
    last.next = entry;
    last = entry;
  }
  return head;
}

function lift(entry: Entry): void {
  entry.prev!.next = entry.next;
  if (entry.next) entry.next.prev = entry.prev;
  const match = entry.match!;
  match.prev!.next = match.next;
  if (match.next) match.next.prev = match.prev;
}

function unlift(entry: Entry): void {
  const match = entry.match!;
  match.prev!.next = match;
  if (match.next) match.next.prev = match;
  entry.prev!.next = entry;
  if (entry.next) entry.next.prev = entry;
}

interface PartSearch {
  readonly verdict: Verdict;
  readonly longestPrefix: readonly number[];
  readonly unplaceable?: number;
  readonly steps: number;
}

function checkPart<S, I, O>(model: Model<S, I, O>, operations: readonly Operation<I, O>[], budget: number): PartSearch {
  const head = linkedEntries(operations);
  const placed = new Bits(operations.length);
  // The memo: every (placed set, state) pair seen. Its bits sit in one
  // growing pool, its states in an array, and a hash table of chains
  // (typed arrays, no object per entry) finds them: millions of steps
  // must not mean millions of allocations.
  const stride = placed.words.length;
  let pool = new Uint32Array(stride * 1024);
  let hashes = new Uint32Array(1024);
  let chain = new Int32Array(1024);
  let heads = new Int32Array(2048).fill(-1);
  let mask = heads.length - 1;
  const memoStates: S[] = [];
  const callEntries: Entry[] = [];
  const callStates: S[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  let longest: number[] = [];
  let unplaceable: number | undefined;
  const words = placed.words;
  const { step, equal, hash } = model;
  while (head.next !== undefined) {
    if (++steps > budget) return { verdict: "unknown", longestPrefix: longest, steps };
    if (entry === undefined) break;
    if (entry.match !== undefined) {
      // A call: try to place its operation here.
      const op = operations[entry.id]!;
      const after = step(state, op.input, op.output);
      if (after !== REFUSED) {
        placed.set(entry.id);
        const key = (placed.hash ^ hash(after)) >>> 0;
        let seen = false;
        for (let at = heads[key & mask]!; at >= 0; at = chain[at]!) {
          if (hashes[at] !== key || !equal(memoStates[at]!, after)) continue;
          let same = true;
          for (let w = 0; same && w < stride; w++) same = pool[at * stride + w] === words[w];
          if (same) {
            seen = true;
            break;
          }
        }
        if (!seen) {
          const at = memoStates.length;
          if (at >= hashes.length) {
            const size = hashes.length * 2;
            const grownPool = new Uint32Array(size * stride);
            grownPool.set(pool);
            pool = grownPool;
            const grownHashes = new Uint32Array(size);
            grownHashes.set(hashes);
            hashes = grownHashes;
            chain = new Int32Array(size);
            heads = new Int32Array(size * 2).fill(-1);
            mask = heads.length - 1;
            for (let i = 0; i < at; i++) {
              chain[i] = heads[hashes[i]! & mask]!;
              heads[hashes[i]! & mask] = i;
            }
          }
          pool.set(words, at * stride);
          hashes[at] = key;
          chain[at] = heads[key & mask]!;
          heads[key & mask] = at;
          memoStates.push(after);
          callEntries.push(entry);
          callStates.push(state);
          state = after;
          lift(entry);
          entry = head.next;
          continue;
        }
        placed.clear(entry.id);
      }
      entry = entry.next;
    } else {
      // A return whose operation is not placed yet: what is placed so far cannot go on. Step back.
      if (callEntries.length > longest.length || unplaceable === undefined) {
        longest = callEntries.map((c) => c.id);
        unplaceable = entry.id;
      }
      const top = callEntries.pop();
      if (top === undefined) return { verdict: "not linearizable", longestPrefix: longest, ...(unplaceable !== undefined ? { unplaceable } : {}), steps };
      entry = top;
      state = callStates.pop()!;
      placed.clear(entry.id);
      unlift(entry);
      entry = entry.next;
    }
  }
  return { verdict: "linearizable", longestPrefix: callEntries.map((c) => c.id), steps };
}

/** Check a history against a model: every part searched, with one budget of steps for all. */
export function checkLinearizability<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], options: CheckOptions = {}): LinearizabilityResult<I, O> {
  const budget = options.budget ?? DEFAULT_BUDGET;
  const parts = model.partition ? model.partition(history) : [{ name: "", operations: history }];
  const results: PartVerdict<I, O>[] = [];
  let steps = 0;
  for (const part of parts) {
    const found = checkPart(model, part.operations, budget - steps);
    steps += found.steps;
    results.push({ name: part.name, verdict: found.verdict, operations: part.operations, longestPrefix: found.longestPrefix, ...(found.unplaceable !== undefined ? { unplaceable: found.unplaceable } : {}) });
    if (found.verdict === "not linearizable") break;
  }
  const verdict: Verdict = results.some((r) => r.verdict === "not linearizable") ? "not linearizable" : results.some((r) => r.verdict === "unknown") ? "unknown" : "linearizable";
  return { verdict, parts: results, steps };
}

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

/** A key-value service's operations (Chapter 8): put and append write, get reads. */
export type KvInput = { readonly op: "get"; readonly key: string } | { readonly op: "put" | "append"; readonly key: string; readonly value: string };
/** A get's answer (absent when it was never answered); puts and appends answer nothing. */
export interface KvOutput {
  readonly value?: string;
}

function stringHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A key-value map, one key at a time (the history is split by key): a get
 * sees the value of every put and append before it, "" for a key never
 * written.
 */
export const keyValueModel: Model<string, KvInput, KvOutput> = {
  init: () => "",
  step: (state, input, output) => {
    switch (input.op) {
      case "get":
        // A get never answered (its output unknown) fits any state.
        return output.value === undefined || output.value === state ? state : REFUSED;
      case "put":
        return input.value;
      case "append":
        return state + input.value;
    }
  },
  equal: (a, b) => a === b,
  hash: stringHash,
  partition: (history) => {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of history) {
      const list = byKey.get(op.input.key);
      if (list) list.push(op);
      else byKey.set(op.input.key, [op]);
    }
    return [...byKey.entries()].map(([name, operations]) => ({ name, operations }));
  },
  describe: (input, output) => (input.op === "get" ? `get(${input.key}) → ${JSON.stringify(output.value ?? "")}` : `${input.op}(${input.key}, ${JSON.stringify(input.value)})`),
};

/** Jepsen's etcd register: read, write, compare-and-set; an answer never seen may have taken effect or not. */
export type RegisterInput = { readonly op: "read" } | { readonly op: "write"; readonly value: number } | { readonly op: "cas"; readonly from: number; readonly to: number };
export interface RegisterOutput {
  /** What a read saw (null: no value yet). */
  readonly value?: number | null;
  /** Whether a compare-and-set succeeded. */
  readonly ok?: boolean;
  /** The client never learned the outcome (a timeout). */
  readonly unknown?: boolean;
}

export const registerModel: Model<number | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  step: (state, input, output) => {
    switch (input.op) {
      case "read":
        return output.unknown === true || output.value === state ? state : REFUSED;
      case "write":
        return input.value;
      case "cas": {
        const matches = state === input.from;
        if (output.unknown !== true && output.ok !== matches) return REFUSED;
        return matches ? input.to : state;
      }
    }
  },
  equal: (a, b) => a === b,
  hash: (state) => (state === null ? 0x9e3779b9 : Math.imul(state + 1, 0x85ebca6b) >>> 0),
  describe: (input, output) => {
    const seen = output.unknown === true ? "unknown" : undefined;
    switch (input.op) {
      case "read":
        return `read() → ${seen ?? (output.value === null || output.value === undefined ? "nil" : output.value)}`;
      case "write":
        return `write(${input.value})${seen ? ` → ${seen}` : ""}`;
      case "cas":
        return `cas(${input.from}, ${input.to}) → ${seen ?? (output.ok ? "ok" : "fail")}`;
    }
  },
};

/**
 * A Jepsen log of etcd's register test (the format of Porcupine's
 * test_data/jepsen) as a history: the time of an operation is the line
 * number of its call and of its answer; an operation whose client never
 * learned the outcome (`:info`, still open at the end) returns at the end,
 * its outcome unknown; a read that timed out returns there, unknown.
 */
export function parseJepsenRegisterLog(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const open = new Map<number, { call: number; input: RegisterInput }>();
  const done: Operation<RegisterInput, RegisterOutput>[] = [];
  const lines = text.split("\n");
  lines.forEach((line, time) => {
    const m = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/.exec(line);
    if (!m) return;
    const client = Number(m[1]);
    const [kind, f, rest] = [m[2]!, m[3]!, m[4]!];
    if (kind === "invoke") {
      const input: RegisterInput =
        f === "read" ? { op: "read" } : f === "write" ? { op: "write", value: Number(rest) } : (() => {
          const [from, to] = /^\[(\d+)\s+(\d+)\]$/.exec(rest)!.slice(1).map(Number) as [number, number];
          return { op: "cas", from, to } as const;
        })();
      open.set(client, { call: time, input });
      return;
    }
    const call = open.get(client);
    if (!call) return;
    let output: RegisterOutput | undefined;
    if (kind === "ok" && f === "read") output = { value: rest === "nil" ? null : Number(rest) };
    else if (kind === "ok" && f === "write") output = {};
    else if ((kind === "ok" || kind === "fail") && f === "cas" && /^\[/.test(rest)) output = { ok: kind === "ok" };
    else if (kind === "fail" && f === "read" && rest === ":timed-out") output = { unknown: true };
    // :info (the outcome is unknown): the operation stays open, and returns at the end.
    if (output === undefined) return;
    open.delete(client);
    done.push({ client, input: call.input, output, call: call.call, return: time });
  });
  for (const [client, call] of open) done.push({ client, input: call.input, output: { unknown: true }, call: call.call, return: Infinity });
  return done;
}

/**
 * A Jepsen-style key-value log (the format of Porcupine's test_data/kv:
 * one `{:process 0, :type :invoke, :f :append, :key "0", :value "x"}` per
 * line) as a history, times being line numbers. An operation never
 * answered returns at the end, as Porcupine reads these logs.
 */
export function parseJepsenKeyValueLog(text: string): Operation<KvInput, KvOutput>[] {
  const open = new Map<number, { call: number; input: KvInput }>();
  const done: Operation<KvInput, KvOutput>[] = [];
  text.split("\n").forEach((line, time) => {
    const m = /^\{:process (\d+), :type :(invoke|ok), :f :(get|put|append), :key "(.*?)", :value (nil|"(.*)")\}$/.exec(line.trim());
    if (!m) return;
    const client = Number(m[1]);
    const [kind, f, key] = [m[2]!, m[3]! as "get" | "put" | "append", m[4]!];
    const value = m[6] ?? "";
    if (kind === "invoke") {
      open.set(client, { call: time, input: f === "get" ? { op: "get", key } : { op: f, key, value } });
      return;
    }
    const call = open.get(client);
    if (!call) return;
    open.delete(client);
    done.push({ client, input: call.input, output: f === "get" ? { value } : {}, call: call.call, return: time });
  });
  for (const [client, call] of open) done.push({ client, input: call.input, output: call.input.op === "get" ? { value: "" } : {}, call: call.call, return: Infinity });
  return done;
}


// ---------------------------------------------------------------------------
// Pictures of a part that is not linearizable
// ---------------------------------------------------------------------------

/** The part that decided the verdict: the first not linearizable, else the first unknown. */
export function decidingPart<I, O>(result: LinearizabilityResult<I, O>): PartVerdict<I, O> | undefined {
  return result.parts.find((p) => p.verdict === "not linearizable") ?? result.parts.find((p) => p.verdict === "unknown");
}

function timeText(t: number): string {
  return Number.isFinite(t) ? `${t}` : "never";
}

/**
 * A part in a few lines of text, for the terminal: the longest order in
 * which every answer fits, then the operation that cannot be placed after
 * it, with the operations it overlaps.
 */
export function describeVerdict<S, I, O>(model: Model<S, I, O>, part: PartVerdict<I, O>, unit = "ms"): string {
  const name = part.name === "" ? "the history" : `key ${JSON.stringify(part.name)}`;
  const op = (i: number): string => {
    const o = part.operations[i]!;
    return `client ${o.client}: ${model.describe(o.input, o.output)}, called at ${timeText(o.call)}, answered at ${timeText(o.return)}${Number.isFinite(o.return) ? ` ${unit}` : ""}`;
  };
  if (part.verdict === "linearizable") return `${name}: linearizable (${part.operations.length} operations).`;
  if (part.verdict === "unknown") {
    return `${name}: unknown. The checker's budget ran out before it could decide (${part.longestPrefix.length} of ${part.operations.length} operations placed at best); it does not guess.`;
  }
  const lines = [`${name}: not linearizable. No order of its ${part.operations.length} operations gives every answer the clients got.`];
  lines.push(`  The longest order that fits (${part.longestPrefix.length} operations${part.longestPrefix.length > 8 ? ", the last 8 shown" : ""}):`);
  for (const i of part.longestPrefix.slice(-8)) lines.push(`    ${op(i)}`);
  if (part.unplaceable !== undefined) {
    const stuck = part.operations[part.unplaceable]!;
    lines.push(`  Cannot be placed after it: ${op(part.unplaceable)}.`);
    const overlapping = part.operations.map((o, i) => ({ o, i })).filter(({ o, i }) => i !== part.unplaceable && o.call < stuck.return && o.return > stuck.call);
    if (overlapping.length > 0) lines.push(`  It overlaps ${overlapping.length} operation${overlapping.length === 1 ? "" : "s"}: ${overlapping.slice(0, 6).map(({ i }) => model.describe(part.operations[i]!.input, part.operations[i]!.output)).join("; ")}${overlapping.length > 6 ? "; ..." : ""}.`);
  }
  return lines.join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * A part as an SVG picture, as Porcupine's visualizer draws one: a row per
 * client, each operation a bar from its call to its answer in simulated
 * time (an answer never seen runs to the right edge), the longest order
 * that fits in green with its place in that order, and the operation that
 * cannot be placed after it in red.
 */
export function historySvg<S, I, O>(model: Model<S, I, O>, part: PartVerdict<I, O>, unit = "ms"): string {
  const ops = part.operations;
  const clients = [...new Set(ops.map((o) => String(o.client)))].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
  // Where it went wrong: the operations that fit, the one that cannot be
  // placed and those it overlaps. A long history is cut to their stretch
  // of time (bars running past its edges are cut there too).
  const stuck = part.unplaceable !== undefined ? ops[part.unplaceable] : undefined;
  const relevant = stuck ? [...part.longestPrefix.map((i) => ops[i]!), stuck, ...ops.filter((o) => o.call < stuck.return && o.return > stuck.call)] : ops;
  const finite = relevant.flatMap((o) => [o.call, o.return]).filter(Number.isFinite);
  const first = Math.min(...finite);
  const last = Math.max(...finite, first + 1);
  const margin = (last - first) * 0.05;
  const start = stuck ? Math.max(first >= 0 ? 0 : -Infinity, first - margin) : Math.min(first, 0);
  const end = stuck ? last + margin : last;
  const [left, width, rowHeight, top] = [110, 900, 34, 56];
  const x = (t: number): number => left + ((Math.max(start, Math.min(Number.isFinite(t) ? t : end, end)) - start) / (end - start)) * width;
  const order = new Map(part.longestPrefix.map((id, place) => [id, place + 1]));
  const height = top + clients.length * rowHeight + 40;
  const title = part.name === "" ? "the history" : `key ${JSON.stringify(part.name)}`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 40}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(`${title}: ${part.verdict}`)}</text>`,
    `<text x="10" y="42" fill="#555">${escapeXml(`green: the longest order that fits (${part.longestPrefix.length} of ${ops.length}), numbered; red: the operation that cannot be placed after it; time in ${unit}`)}</text>`,
  ];
  clients.forEach((client, row) => {
    const y = top + row * rowHeight;
    out.push(`<text x="10" y="${y + 20}">client ${escapeXml(client)}</text>`, `<line x1="${left}" y1="${y + rowHeight - 2}" x2="${left + width}" y2="${y + rowHeight - 2}" stroke="#eee"/>`);
  });
  ops.forEach((o, i) => {
    if (o.return < start || o.call > end) return;
    const row = clients.indexOf(String(o.client));
    const y = top + row * rowHeight + 4;
    const [x1, x2] = [x(o.call), Math.max(x(o.return), x(o.call) + 3)];
    const fill = i === part.unplaceable ? "#e76f51" : order.has(i) ? "#b7e4c7" : "#dbe4f0";
    const label = `${order.has(i) ? `${order.get(i)}. ` : ""}${model.describe(o.input, o.output)}`;
    out.push(
      `<g><title>${escapeXml(`${label}\ncalled at ${timeText(o.call)}, answered at ${timeText(o.return)}`)}</title>`,
      `<rect x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" height="${rowHeight - 10}" rx="3" fill="${fill}" stroke="#555" stroke-width="0.5"/>`,
      `<text x="${(x1 + 3).toFixed(1)}" y="${y + 16}" font-size="10">${escapeXml(label.length * 5.5 > x2 - x1 ? label.slice(0, Math.max(0, Math.floor((x2 - x1) / 5.5))) : label)}</text></g>`,
    );
  });
  out.push(`<text x="${left}" y="${height - 12}" fill="#555">${Math.round(start)} ${escapeXml(unit)}</text>`, `<text x="${left + width - 60}" y="${height - 12}" fill="#555">${Math.round(end)} ${escapeXml(unit)}</text>`, "</svg>");
  return `${out.join("\n")}\n`;
}
