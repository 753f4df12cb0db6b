/**
 * The simulated world: virtual time, seeded randomness, an in-memory
 * network, and the nodes under test.
 *
 * Nothing here reads the real clock. Time moves only when the world takes
 * the next event from its agenda (a message arriving, a timer firing, an
 * action a test scheduled), so ten simulated minutes take as long as the
 * events in them take to run, and the same seed gives the same run.
 *
 * After every event the world asks the node that handled it for its
 * state and checks the guarantees of Figure 3 (see invariants.ts).
 */
import type {
  AppendEntries,
  AppendEntriesReply,
  CreateNode,
  LogEntry,
  Message,
  NodeEnvironment,
  NodeId,
  NodeView,
  PersistentState,
  ProposeResult,
  RaftNode,
  TimerName,
  Timing,
} from "./contract.ts";
import { EventQueue } from "./event-queue.ts";
import { InvariantChecker, InvariantViolation } from "./invariants.ts";
import { RandomStream } from "./random.ts";
import { describeMessage, type DropReason, type TraceEvent, type TraceKind } from "./trace.ts";

/** How the in-memory network treats each message. */
export interface NetworkSettings {
  /** One-way delay in ms, drawn uniformly from [min, max). */
  readonly latency: readonly [number, number];
  /** Chance that a message is lost. */
  readonly dropRate: number;
  /** Chance that a message is delivered twice (each copy with its own delay). */
  readonly duplicateRate: number;
  /** Chance that a message is held back by an extra delay, so later ones overtake it. */
  readonly reorderRate: number;
  /** The extra delay of a held-back message, in ms, drawn from [min, max). */
  readonly reorderDelay: readonly [number, number];
}

/** When a node counts as running away. */
export interface RunawayLimits {
  /** Most messages one node may send in one simulated second. */
  readonly messagesPerNodePerSecond: number;
  /** Most events the world will run at one instant before calling it a loop. */
  readonly eventsAtOneInstant: number;
}

export interface WorldOptions {
  /** Node ids, e.g. ["A", "B", "C"], or a count (3 gives A, B, C). */
  readonly nodes: readonly NodeId[] | number;
  /** The node code under test. */
  readonly createNode: CreateNode;
  /** The seed: same seed, same run. */
  readonly seed: number;
  /**
   * Nodes the test plays itself. No code runs for them: what real nodes
   * send them waits in `inbox(id)`, and the test answers with `sendAs`.
   */
  readonly scripted?: readonly NodeId[];
  readonly network?: Partial<NetworkSettings>;
  readonly timing?: Partial<Timing>;
  /** State on each node's disk before it first boots (e.g. to start in term 3). */
  readonly saved?: Readonly<Record<NodeId, PersistentState>>;
  /**
   * The first random draws of each node, used before its seeded stream
   * (see forceRandomDraws). This is how a test chooses election timeouts
   * from the very first boot.
   */
  readonly randomDraws?: Readonly<Record<NodeId, readonly number[]>>;
  /** Timing for particular nodes, e.g. one node with a short election timeout. */
  readonly nodeTiming?: Readonly<Record<NodeId, Partial<Timing>>>;
  readonly limits?: Partial<RunawayLimits>;
  /** Keep only the last N trace events (for long runs); all when absent. */
  readonly traceLimit?: number;
}

export const DEFAULT_TIMING: Timing = { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 50 };

export const DEFAULT_NETWORK: NetworkSettings = {
  latency: [1, 10],
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelay: [20, 100],
};

export const DEFAULT_LIMITS: RunawayLimits = { messagesPerNodePerSecond: 5_000, eventsAtOneInstant: 10_000 };

/** The node code threw an exception. */
export class NodeFailure extends Error {
  constructor(
    readonly node: NodeId,
    readonly during: string,
    readonly time: number,
    /** What the node threw. */
    readonly thrown: unknown,
  ) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    super(`node ${node} threw while ${during} at ${time} ms:\n  ${reason}`);
    this.name = "Node threw";
    // Point the stack at the node's own code, so a test report shows the
    // line of node.ts that threw rather than the world's machinery.
    if (thrown instanceof Error && thrown.stack) {
      const frames = thrown.stack.split("\n").filter((line) => /^\s+at /.test(line));
      const nodeFrames = frames.filter((line) => !/[\\/](world|tests|node_modules)[\\/]/.test(line));
      this.stack = [`${this.name}: ${this.message}`, ...(nodeFrames.length > 0 ? nodeFrames : frames)].join("\n");
    }
  }
}

/** A node flooded the network or looped without letting time pass. */
export class RunawayNode extends Error {
  constructor(
    readonly node: NodeId | undefined,
    detail: string,
  ) {
    super(detail);
    this.name = "Runaway node";
  }
}

type Agenda =
  | { readonly kind: "deliver"; readonly from: NodeId; readonly to: NodeId; readonly message: Message; readonly messageId: number }
  | { readonly kind: "timer"; readonly node: NodeId; readonly timer: TimerName; readonly generation: number }
  | { readonly kind: "action"; readonly description: string; readonly run: () => void };

interface PendingTimer {
  readonly generation: number;
  readonly setAt: number;
  readonly delay: number;
  readonly dueAt: number;
}

interface Slot {
  readonly id: NodeId;
  readonly scripted: boolean;
  readonly random: RandomStream;
  node: RaftNode | null;
  up: boolean;
  /** Stopped like a frozen process: memory kept, no messages, no timers until resumed. */
  paused: boolean;
  /** This node's timing (the cluster's, unless a test changed it). */
  timing: Timing;
  /** Counts boots, so a crashed incarnation's environment can no longer act. */
  incarnation: number;
  disk: PersistentState | null;
  timers: Map<TimerName, PendingTimer>;
  timerGeneration: number;
  lastView: NodeView | null;
  forcedDraws: number[];
  inbox: InboxMessage[];
  applied: { index: number; entry: LogEntry }[];
  sendWindowStart: number;
  sendsInWindow: number;
}

export interface InboxMessage {
  readonly time: number;
  readonly from: NodeId;
  readonly message: Message;
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * While node code runs, the real clock, real randomness and real timers
 * throw: a node that used them would make runs unrepeatable, and the
 * error says what to use instead. The guards are installed once, and pass
 * every call through unless a node is running (swapping globals at every
 * event would cost more than the rest of the event).
 */
let nodeCodeRunning = false;

function guard<F extends (...args: never[]) => unknown>(original: F, what: string, instead: string): F {
  const guarded = function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
    if (nodeCodeRunning) {
      throw new Error(`node code called ${what}. In the simulated world use ${instead}, so the same seed replays the same run.`);
    }
    return original.apply(this, args) as ReturnType<F>;
  };
  // Keep what hangs off the original (setTimeout's promisified form, for one).
  for (const key of Reflect.ownKeys(original)) {
    if (key === "length" || key === "name" || key === "prototype") continue;
    const descriptor = Object.getOwnPropertyDescriptor(original, key);
    if (descriptor) Object.defineProperty(guarded, key, descriptor);
  }
  return guarded as unknown as F;
}

const GUARDS_INSTALLED = Symbol.for("raft-workbook.world-guards");
if (!(GUARDS_INSTALLED in globalThis)) {
  Object.defineProperty(globalThis, GUARDS_INSTALLED, { value: true });
  Math.random = guard(Math.random, "Math.random()", "env.randomInt(min, max)");
  Date.now = guard(Date.now, "Date.now()", "env.now()");
  performance.now = guard(performance.now.bind(performance), "performance.now()", "env.now()");
  globalThis.setTimeout = guard(globalThis.setTimeout, "setTimeout()", 'env.setTimer("election" or "heartbeat", delayMs)');
  globalThis.setInterval = guard(globalThis.setInterval, "setInterval()", "env.setTimer(...) again each time the timer fires");
}

function insideTheWorld<T>(run: () => T): T {
  if (nodeCodeRunning) return run();
  nodeCodeRunning = true;
  try {
    return run();
  } finally {
    nodeCodeRunning = false;
  }
}

export function nodeIds(count: number): NodeId[] {
  return LETTERS.slice(0, count).split("");
}

function copyState(state: PersistentState): PersistentState {
  return { currentTerm: state.currentTerm, votedFor: state.votedFor, log: state.log.map((e) => ({ term: e.term, command: e.command })) };
}

export class World {
  readonly seed: number;
  readonly nodes: readonly NodeId[];
  readonly timing: Timing;
  private networkSettings: NetworkSettings;
  readonly limits: RunawayLimits;
  /** The nodes the test plays itself. */
  readonly scripted: readonly NodeId[];

  private clock = 0;
  private readonly agenda = new EventQueue<Agenda>();
  private readonly slots = new Map<NodeId, Slot>();
  private readonly links = new Map<string, RandomStream>();
  private readonly blocked = new Set<string>();
  private readonly linkLatency = new Map<string, readonly [number, number]>();
  private readonly checker = new InvariantChecker();
  private readonly createNode: CreateNode;
  private readonly traceLimit: number;
  private readonly events: TraceEvent[] = [];
  private nextMessageId = 1;
  /** The AppendEntries a node is handling right now, and its success reply if it sends one. */
  private handlingAppend: { node: NodeId; from: NodeId; request: AppendEntries; reply?: AppendEntriesReply } | undefined;
  private instant = -1;
  private eventsThisInstant = 0;

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.nodes = typeof options.nodes === "number" ? nodeIds(options.nodes) : [...options.nodes];
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    this.networkSettings = { ...DEFAULT_NETWORK, ...options.network };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.createNode = options.createNode;
    this.traceLimit = options.traceLimit ?? 0;
    const scripted = new Set(options.scripted ?? []);
    this.scripted = [...scripted];
    for (const id of scripted) {
      if (!this.nodes.includes(id)) throw new Error(`scripted node ${id} is not one of the nodes ${this.nodes.join(", ")}`);
    }
    for (const id of this.nodes) {
      this.slots.set(id, {
        id,
        scripted: scripted.has(id),
        random: new RandomStream(this.seed, `election-timeouts:${id}`),
        node: null,
        up: false,
        paused: false,
        timing: { ...this.timing, ...options.nodeTiming?.[id] },
        incarnation: 0,
        disk: options.saved?.[id] ? copyState(options.saved[id]) : null,
        timers: new Map(),
        timerGeneration: 0,
        lastView: null,
        forcedDraws: [...(options.randomDraws?.[id] ?? [])],
        inbox: [],
        applied: [],
        sendWindowStart: 0,
        sendsInWindow: 0,
      });
    }
    for (const slot of this.slots.values()) if (!slot.scripted) this.boot(slot, false);
  }

  // -------------------------------------------------------------------------
  // Time
  // -------------------------------------------------------------------------

  /** The current simulated time in ms. */
  get now(): number {
    return this.clock;
  }

  /** Run every event due in the next `ms` milliseconds; the clock ends at now + ms. */
  runFor(ms: number): void {
    this.runUntilTime(this.clock + ms);
  }

  /** Run every event due up to and including `time`; the clock ends at `time`. */
  runUntilTime(time: number): void {
    for (;;) {
      const next = this.agenda.peek();
      if (next === undefined || next.time > time) break;
      this.step();
    }
    if (time > this.clock) this.clock = time;
  }

  /**
   * Run until `condition` holds (checked after every event) or `withinMs`
   * more milliseconds pass. Returns whether the condition came true.
   */
  runUntil(condition: () => boolean, withinMs: number): boolean {
    const deadline = this.clock + withinMs;
    if (condition()) return true;
    for (;;) {
      const next = this.agenda.peek();
      if (next === undefined || next.time > deadline) break;
      this.step();
      if (condition()) return true;
    }
    this.clock = Math.max(this.clock, deadline);
    return condition();
  }

  /** Write a line of the test's own into the trace, such as the stage of a story. */
  mark(text: string): void {
    this.record({ time: this.clock, kind: "network", description: text });
  }

  /** Schedule an action of the test's (a partition, a crash, a proposal) at a given time. */
  at(time: number, description: string, run: () => void): void {
    this.agenda.schedule(Math.max(time, this.clock), { kind: "action", description, run });
  }

  /** Run the next event on the agenda. Returns false when there is none. */
  step(): boolean {
    const next = this.agenda.pop();
    if (next === undefined) return false;
    this.clock = next.time;
    if (next.time === this.instant) {
      if (++this.eventsThisInstant > this.limits.eventsAtOneInstant) {
        throw new RunawayNode(
          undefined,
          `more than ${this.limits.eventsAtOneInstant} events ran at ${next.time} ms without simulated time moving on. ` +
            `Some node is reacting to its own actions in a loop that takes no time.`,
        );
      }
    } else {
      this.instant = next.time;
      this.eventsThisInstant = 1;
    }
    const event = next.item;
    switch (event.kind) {
      case "deliver":
        this.deliver(event.from, event.to, event.message, event.messageId);
        break;
      case "timer":
        this.fireTimer(event.node, event.timer, event.generation);
        break;
      case "action":
        this.record({ time: this.clock, kind: "network", description: event.description });
        event.run();
        break;
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // Looking at the nodes
  // -------------------------------------------------------------------------

  /** The state of a running node, read fresh from the node. */
  view(id: NodeId): NodeView {
    const slot = this.slot(id);
    if (slot.scripted) throw new Error(`node ${id} is scripted by the test; it has no state of its own`);
    if (!slot.up || slot.node === null) throw new Error(`node ${id} is crashed`);
    return slot.node.inspect();
  }

  /** Whether a node is running (not crashed, not scripted). */
  isUp(id: NodeId): boolean {
    const slot = this.slot(id);
    return slot.up && !slot.scripted;
  }

  /** The running nodes that are not scripted. */
  runningNodes(): NodeId[] {
    return this.nodes.filter((id) => this.isUp(id));
  }

  /** Running nodes that currently believe they are leader. */
  leaders(): NodeId[] {
    return this.runningNodes().filter((id) => this.view(id).role === "leader");
  }

  /** The pending timer of a node, if any. */
  timer(id: NodeId, name: TimerName): { readonly setAt: number; readonly delay: number; readonly dueAt: number } | undefined {
    return this.slot(id).timers.get(name);
  }

  /** What a node has applied to its state machine since it last booted, in order. */
  applied(id: NodeId): readonly { index: number; entry: LogEntry }[] {
    return this.slot(id).applied;
  }

  /** The trace so far (only the last `traceLimit` events if a limit was set). */
  get trace(): readonly TraceEvent[] {
    return this.events;
  }

  /** Trace events of one kind. */
  traceOf<K extends TraceKind>(kind: K): Extract<TraceEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<TraceEvent, { kind: K }> => e.kind === kind);
  }

  // -------------------------------------------------------------------------
  // Scripted peers
  // -------------------------------------------------------------------------

  /** Messages real nodes have sent to scripted node `id`, oldest first. */
  inbox(id: NodeId): readonly InboxMessage[] {
    return this.slot(id).inbox;
  }

  /** Empty every scripted node's inbox. */
  clearInboxes(): void {
    for (const slot of this.slots.values()) slot.inbox = [];
  }

  /** As scripted node `from`, hand `message` to node `to` right now. */
  sendAs(from: NodeId, to: NodeId, message: Message): void {
    const messageId = this.nextMessageId++;
    this.record({ time: this.clock, kind: "send", from, to, message, messageId, arrivesAt: this.clock });
    this.deliver(from, to, message, messageId);
  }

  /**
   * Make node `id`'s next random draws return exactly these values, in
   * order (then the seeded stream carries on). This is how a test chooses
   * a node's next election timeouts.
   */
  forceRandomDraws(id: NodeId, values: readonly number[]): void {
    this.slot(id).forcedDraws.push(...values);
  }

  // -------------------------------------------------------------------------
  // Faults
  // -------------------------------------------------------------------------

  /**
   * Split the cluster: nodes in different groups cannot reach each other,
   * in either direction. Nodes in no group form one more group together.
   */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    const listed = new Set(groups.flat());
    const rest = this.nodes.filter((id) => !listed.has(id));
    const all = rest.length > 0 ? [...groups, rest] : groups;
    const groupOf = new Map<NodeId, number>();
    all.forEach((group, i) => group.forEach((id) => groupOf.set(id, i)));
    this.blocked.clear();
    for (const a of this.nodes) for (const b of this.nodes) if (groupOf.get(a) !== groupOf.get(b)) this.blocked.add(`${a}>${b}`);
    this.record({ time: this.clock, kind: "network", description: `partition ${all.map((g) => `{${g.join(",")}}`).join(" | ")}` });
  }

  /** Cut node `id` off from everyone, both ways. */
  isolate(id: NodeId): void {
    for (const other of this.nodes) {
      if (other === id) continue;
      this.blocked.add(`${id}>${other}`);
      this.blocked.add(`${other}>${id}`);
    }
    this.record({ time: this.clock, kind: "network", description: `isolate ${id}` });
  }

  /** Restore all links of node `id`. */
  reconnect(id: NodeId): void {
    for (const other of this.nodes) {
      this.blocked.delete(`${id}>${other}`);
      this.blocked.delete(`${other}>${id}`);
    }
    this.record({ time: this.clock, kind: "network", description: `reconnect ${id}` });
  }

  /** Cut one direction only: `from` can no longer reach `to` (replies still flow back). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
    this.record({ time: this.clock, kind: "network", description: `cut ${from}→${to} (one way)` });
  }

  /** Every link works again. */
  heal(): void {
    this.blocked.clear();
    this.record({ time: this.clock, kind: "network", description: "heal: every link works again" });
  }

  /**
   * Give one link its own latency range, in ms [min, max), overriding the
   * network's. A test uses it to decide which of two messages arrives first.
   */
  setLinkLatency(from: NodeId, to: NodeId, latency: readonly [number, number]): void {
    this.linkLatency.set(`${from}>${to}`, latency);
  }

  /** How the network treats messages now. */
  get network(): NetworkSettings {
    return this.networkSettings;
  }

  /** Whether `from` can currently reach `to`. */
  canReach(from: NodeId, to: NodeId): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  /** Change the network's behaviour from now on (loss, duplicates, delays). */
  setNetwork(settings: Partial<NetworkSettings>): void {
    this.networkSettings = { ...this.networkSettings, ...settings };
    this.record({ time: this.clock, kind: "network", description: `network now ${JSON.stringify(settings)}` });
  }

  /**
   * The node freezes, as a process stopped by its operating system would:
   * it keeps its memory, but hears nothing (messages to it are lost) and
   * its timers wait. `resume` lets it carry on; timers that came due in
   * the meantime fire at once.
   */
  pause(id: NodeId): void {
    const slot = this.slot(id);
    if (!slot.up || slot.paused) return;
    slot.paused = true;
    this.record({ time: this.clock, kind: "network", description: `pause ${id}` });
  }

  resume(id: NodeId): void {
    const slot = this.slot(id);
    if (!slot.paused) return;
    slot.paused = false;
    this.record({ time: this.clock, kind: "network", description: `resume ${id}` });
    for (const [timer, pending] of slot.timers) {
      if (pending.dueAt <= this.clock) this.agenda.schedule(this.clock, { kind: "timer", node: id, timer, generation: pending.generation });
    }
  }

  /** Change one node's timing from its next timer on (e.g. make it the first to stand). */
  setTiming(id: NodeId, timing: Partial<Timing>): void {
    const slot = this.slot(id);
    slot.timing = { ...slot.timing, ...timing };
  }

  /** The node stops: its memory and timers are gone; only what it saved survives. */
  crash(id: NodeId): void {
    const slot = this.slot(id);
    if (!slot.up) return;
    slot.up = false;
    slot.paused = false;
    slot.node = null;
    slot.timers.clear();
    slot.timerGeneration++;
    this.checker.crashed(id);
    this.record({ time: this.clock, kind: "crash", node: id });
  }

  /** A crashed node boots again from what it saved to disk. */
  restart(id: NodeId): void {
    const slot = this.slot(id);
    if (slot.up || slot.scripted) return;
    this.boot(slot, true);
  }

  // -------------------------------------------------------------------------
  // Clients
  // -------------------------------------------------------------------------

  /** A client asks node `id` to add `command` to the log. */
  propose(id: NodeId, command: string): ProposeResult {
    const slot = this.slot(id);
    if (!slot.up || slot.node === null || slot.paused) return { accepted: false, leaderId: null };
    const node = slot.node;
    let result: ProposeResult = { accepted: false, leaderId: null };
    this.runNode(slot, `handling a client's command "${command}"`, () => {
      result = node.propose(command);
    });
    this.record({ time: this.clock, kind: "propose", node: id, command, result });
    return result;
  }

  // -------------------------------------------------------------------------
  // Inside the world
  // -------------------------------------------------------------------------

  private slot(id: NodeId): Slot {
    const slot = this.slots.get(id);
    if (!slot) throw new Error(`there is no node ${id}; the nodes are ${this.nodes.join(", ")}`);
    return slot;
  }

  private record(event: TraceEvent): void {
    this.events.push(event);
    if (this.traceLimit > 0 && this.events.length > 2 * this.traceLimit) {
      this.events.splice(0, this.events.length - this.traceLimit);
    }
  }

  private boot(slot: Slot, restart: boolean): void {
    slot.up = true;
    slot.incarnation++;
    slot.timers.clear();
    slot.timerGeneration++;
    slot.applied = [];
    const env = this.environment(slot);
    const saved = slot.disk ? copyState(slot.disk) : null;
    let node: RaftNode | undefined;
    this.record({ time: this.clock, kind: "boot", node: slot.id, restart, term: saved?.currentTerm ?? 0, logLength: saved?.log.length ?? 0 });
    try {
      node = insideTheWorld(() => this.createNode(env, saved));
    } catch (error) {
      throw new NodeFailure(slot.id, "being created (createNode)", this.clock, error);
    }
    slot.node = node;
    const view = this.inspect(slot, "booting");
    slot.lastView = view;
    this.checker.boot(slot.id, view, this.clock);
    this.runNode(slot, "starting up (start)", () => node.start());
  }

  private environment(slot: Slot): NodeEnvironment {
    const world = this;
    const peers = this.nodes.filter((id) => id !== slot.id);
    // Each boot gets its own environment; a crashed incarnation's leftover
    // references can no longer act.
    const incarnation = slot.incarnation;
    const alive = (): boolean => slot.up && slot.incarnation === incarnation;
    return {
      id: slot.id,
      peers,
      // Read afresh each time: a test may change a node's timing mid-run.
      get timing(): Timing {
        return slot.timing;
      },
      now: () => world.clock,
      randomInt(min: number, max: number): number {
        const forced = slot.forcedDraws.shift();
        return forced ?? slot.random.int(min, max);
      },
      send(to: NodeId, message: Message): void {
        if (alive()) world.send(slot, to, message);
      },
      setTimer(name: TimerName, delayMs: number): void {
        if (alive()) world.setTimer(slot, name, delayMs);
      },
      cancelTimer(name: TimerName): void {
        if (!alive() || !slot.timers.has(name)) return;
        slot.timers.delete(name);
        world.record({ time: world.clock, kind: "timer-cancel", node: slot.id, timer: name });
      },
      apply(index: number, entry: LogEntry): void {
        if (!alive()) return;
        const copy = { term: entry.term, command: entry.command };
        world.checker.applied(slot.id, index, copy, world.clock);
        slot.applied.push({ index, entry: copy });
        world.record({ time: world.clock, kind: "apply", node: slot.id, index, entry: copy });
      },
      save(state: PersistentState): void {
        if (!alive()) return;
        slot.disk = copyState(state);
        world.record({ time: world.clock, kind: "save", node: slot.id });
      },
      note(text: string): void {
        world.record({ time: world.clock, kind: "note", node: slot.id, text });
      },
    };
  }

  private send(slot: Slot, to: NodeId, message: Message): void {
    const target = this.slots.get(to);
    if (!target || to === slot.id) {
      throw new Error(`node ${slot.id} sent ${describeMessage(message)} to "${to}", which is not one of its peers (${this.nodes.filter((n) => n !== slot.id).join(", ")})`);
    }
    this.countSend(slot);
    const handling = this.handlingAppend;
    if (handling && handling.node === slot.id && handling.from === to && message.type === "AppendEntriesReply" && message.success) handling.reply = message;
    const messageId = this.nextMessageId++;
    if (target.scripted) {
      // The test's inbox receives it at once.
      this.record({ time: this.clock, kind: "send", from: slot.id, to, message, messageId, arrivesAt: this.clock });
      this.record({ time: this.clock, kind: "deliver", from: slot.id, to, message, messageId, toScripted: true });
      target.inbox.push({ time: this.clock, from: slot.id, message });
      return;
    }
    const link = this.link(slot.id, to);
    const net = this.network;
    if (this.blocked.has(`${slot.id}>${to}`)) {
      this.record({ time: this.clock, kind: "send", from: slot.id, to, message, messageId });
      this.record({ time: this.clock, kind: "drop", from: slot.id, to, message, messageId, reason: "partition" });
      return;
    }
    if (link.chance(net.dropRate)) {
      this.record({ time: this.clock, kind: "send", from: slot.id, to, message, messageId });
      this.record({ time: this.clock, kind: "drop", from: slot.id, to, message, messageId, reason: "loss" });
      return;
    }
    const latency = this.linkLatency.get(`${slot.id}>${to}`) ?? net.latency;
    const arrivesAt = this.clock + this.delay(link, latency);
    const duplicated = link.chance(net.duplicateRate);
    this.record({ time: this.clock, kind: "send", from: slot.id, to, message, messageId, arrivesAt, duplicated });
    this.agenda.schedule(arrivesAt, { kind: "deliver", from: slot.id, to, message, messageId });
    if (duplicated) this.agenda.schedule(this.clock + this.delay(link, latency), { kind: "deliver", from: slot.id, to, message, messageId });
  }

  /** One message's trip time on a link: its latency, plus a hold-back if it is to be overtaken. */
  private delay(link: RandomStream, latency: readonly [number, number]): number {
    const net = this.networkSettings;
    let d = link.int(latency[0], latency[1]);
    if (link.chance(net.reorderRate)) d += link.int(net.reorderDelay[0], net.reorderDelay[1]);
    return d;
  }

  private countSend(slot: Slot): void {
    if (this.clock - slot.sendWindowStart >= 1000) {
      slot.sendWindowStart = this.clock;
      slot.sendsInWindow = 0;
    }
    if (++slot.sendsInWindow > this.limits.messagesPerNodePerSecond) {
      throw new RunawayNode(
        slot.id,
        `node ${slot.id} sent more than ${this.limits.messagesPerNodePerSecond} messages within one simulated second ` +
          `(${slot.sendWindowStart} to ${this.clock} ms). Is it answering every message with more messages? ` +
          `A leader of five nodes needs about ${(4 * 1000) / this.timing.heartbeatInterval} heartbeats a second.`,
      );
    }
  }

  private link(from: NodeId, to: NodeId): RandomStream {
    const key = `${from}>${to}`;
    let stream = this.links.get(key);
    if (!stream) {
      stream = new RandomStream(this.seed, `network:${key}`);
      this.links.set(key, stream);
    }
    return stream;
  }

  private setTimer(slot: Slot, name: TimerName, delayMs: number): void {
    if (!(typeof delayMs === "number" && Number.isFinite(delayMs) && delayMs > 0)) {
      throw new RunawayNode(
        slot.id,
        `node ${slot.id} set its ${name} timer with a delay of ${String(delayMs)} ms at ${this.clock} ms. ` +
          `Timers need a positive delay; a zero or negative one would fire in a loop without time passing.`,
      );
    }
    const generation = ++slot.timerGeneration;
    slot.timers.set(name, { generation, setAt: this.clock, delay: delayMs, dueAt: this.clock + delayMs });
    this.record({ time: this.clock, kind: "timer-set", node: slot.id, timer: name, delay: delayMs });
    this.agenda.schedule(this.clock + delayMs, { kind: "timer", node: slot.id, timer: name, generation });
  }

  private fireTimer(id: NodeId, name: TimerName, generation: number): void {
    const slot = this.slot(id);
    const pending = slot.timers.get(name);
    // A timer that was replaced or cancelled since leaves a stale agenda entry behind.
    if (!slot.up || slot.node === null || pending === undefined || pending.generation !== generation) return;
    // A paused node's timer stays pending; resume() fires it.
    if (slot.paused) return;
    slot.timers.delete(name);
    this.record({ time: this.clock, kind: "timer-fire", node: id, timer: name });
    const node = slot.node;
    this.runNode(slot, () => `handling its ${name} timer`, () => node.timerFired(name));
  }

  private deliver(from: NodeId, to: NodeId, message: Message, messageId: number): void {
    const slot = this.slot(to);
    let reason: DropReason | undefined;
    if (!slot.up || slot.node === null) reason = "crashed";
    else if (slot.paused) reason = "paused";
    else if (this.blocked.has(`${from}>${to}`)) reason = "partition";
    if (reason !== undefined) {
      this.record({ time: this.clock, kind: "drop", from, to, message, messageId, reason });
      return;
    }
    this.record({ time: this.clock, kind: "deliver", from, to, message, messageId });
    const node = slot.node!;
    if (message.type !== "AppendEntries") {
      this.runNode(slot, () => `handling ${describeMessage(message)} from ${from}`, () => node.receive(from, message));
      return;
    }
    const handling: { node: NodeId; from: NodeId; request: AppendEntries; reply?: AppendEntriesReply } = { node: to, from, request: message };
    this.handlingAppend = handling;
    try {
      this.runNode(slot, () => `handling ${describeMessage(message)} from ${from}`, () => node.receive(from, message));
    } finally {
      this.handlingAppend = undefined;
    }
    if (handling.reply) this.checker.successfulAppend(to, message, handling.reply, slot.lastView!, this.clock);
  }

  /** Run one callback of a node's, then trace what changed and check the guarantees. */
  private runNode(slot: Slot, during: string | (() => string), callback: () => void): void {
    const mark = this.events.length;
    try {
      insideTheWorld(callback);
    } catch (error) {
      if (error instanceof RunawayNode || error instanceof NodeFailure) throw error;
      if (error instanceof InvariantViolation) throw error;
      throw new NodeFailure(slot.id, typeof during === "string" ? during : during(), this.clock, error);
    }
    const view = this.inspect(slot, during);
    const before = slot.lastView;
    if (before !== null) {
      // What changed is told before what the node sent while changing it.
      const changes: TraceEvent[] = [];
      if (view.currentTerm !== before.currentTerm) {
        changes.push({ time: this.clock, kind: "term", node: slot.id, from: before.currentTerm, to: view.currentTerm });
      }
      if (view.role !== before.role) {
        changes.push({ time: this.clock, kind: "role", node: slot.id, from: before.role, to: view.role, term: view.currentTerm });
      }
      if (view.votedFor !== null && (view.votedFor !== before.votedFor || view.currentTerm !== before.currentTerm)) {
        changes.push({ time: this.clock, kind: "vote", node: slot.id, votedFor: view.votedFor, term: view.currentTerm });
      }
      if (view.commitIndex !== before.commitIndex) {
        changes.push({ time: this.clock, kind: "commit", node: slot.id, commitIndex: view.commitIndex });
      }
      if (changes.length > 0) {
        const at = Math.min(mark, this.events.length);
        this.events.splice(at, 0, ...changes);
      }
    }
    slot.lastView = view;
    this.checker.afterEvent(slot.id, view, this.clock);
  }

  private inspect(slot: Slot, during: string | (() => string)): NodeView {
    try {
      const view = insideTheWorld(() => slot.node!.inspect());
      // Copy the log reference so later changes are visible as changes.
      return { ...view };
    } catch (error) {
      throw new NodeFailure(slot.id, `reporting its state (inspect) after ${typeof during === "string" ? during : during()}`, this.clock, error);
    }
  }
}
