/**
 * The simulated world: virtual time, seeded randomness, an in-memory
 * network, and the nodes under test. This file is the facade tests use;
 * the rooms behind it are
 *
 *   event-queue.ts   the agenda: events in order of (time, sequence)
 *   network.ts       each message's fate: lost, or when it arrives
 *   node-host.ts     one node's process, timers, disk, environment; every
 *                    call into node code, recorded as a NodeStep
 *   invariants.ts    the guarantees of Figure 3, checked on every step
 *   trace.ts         what happened, and ways to draw it
 *
 * Nothing here reads the real clock. Time moves only when the world takes
 * the next event from its agenda (a message arriving, a timer firing, an
 * action a test scheduled), so ten simulated minutes take as long as the
 * events in them take to run, and the same seed gives the same run.
 *
 * The world's core imports nothing from Node.js, so it runs in a browser
 * page as well; running untrusted node code in a sandbox is the Node
 * host's business (sandbox/node-program.ts).
 */
import type { ClientId, ClientReply, ClientRequest, CreateNode, LogEntry, Message, NodeId, NodeView, PersistentState, ProposeResult, Snapshot, TimerName, Timing } from "./contract.ts";
import { lastTerm, savedLog, snapshotIndex } from "./log.ts";
import { EventQueue, type Scheduled } from "./event-queue.ts";
import { InvariantChecker } from "./invariants.ts";
import { copyMessage, type TrafficCounts, type WireMessage } from "./messages.ts";
import { LOST_TO_PARTITION, Network, type Connectivity, type DropReason, type NetworkSettings } from "./network.ts";
import { copiesMessages, failedStep, NodeHost, RunawayNode, type Delivery, type Effect, type HostServices, type NodeState, type NodeStep, type PendingTimer, type TimerEntry } from "./node-host.ts";
import { effectEvents, recordStep, Trace, type TraceEvent, type TraceKind, type TraceSink } from "./trace.ts";

export { NodeFailure, RunawayNode, ContractBroken, markCopiesMessages, nodeCallInProgress, type NodeStep } from "./node-host.ts";
export { DEFAULT_NETWORK, type NetworkSettings, type Connectivity } from "./network.ts";

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
  /**
   * Clients of the key-value service (Chapter 8): "c1", "c2"... They are
   * on the network like nodes (a partition that does not name a client
   * leaves it able to reach every node), and a test drives them
   * (sendFromClient, onClientReply).
   */
  readonly clients?: readonly ClientId[];
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
  /** Keep only the last N trace events (for long runs); all when absent. Ignored when `trace` is given. */
  readonly traceLimit?: number;
  /** Where to write the trace (default: an in-memory Trace, readable as `world.trace`). */
  readonly trace?: TraceSink;
  /**
   * Check persistence (Chapter 6 on): every message a node sends is backed
   * by what is on its disk, a restarted node comes back exactly as it
   * saved itself, and one vote per term holds across restarts. Off for
   * the chapters before, whose nodes are not asked to save anything yet.
   */
  readonly checkPersistence?: boolean;
  /**
   * Drop messages that reach a node in a later life than the one they
   * were sent to (sent before it crashed, arriving after it restarted).
   * Off by default: in Raft's model a message travels to a server, not to
   * one run of its process, and a restarted server must cope with old
   * messages. A test turns it on to rule them out.
   */
  readonly dropMessagesToEarlierLives?: boolean;
  /**
   * Chapter 9 (the lab's maxraftstate): when what a node has saved, apart
   * from its snapshot, grows past this many characters (as JSON), the
   * world asks it for a snapshot through its lastApplied
   * (takeSnapshot(index)). Only the world starts a snapshot. Absent: never.
   */
  readonly savedStateLimit?: number;
}

/** The size of a saved state that savedStateLimit bounds: its term, vote and log as JSON, the snapshot left out. */
export function savedStateSize(state: PersistentState): number {
  return JSON.stringify({ currentTerm: state.currentTerm, votedFor: state.votedFor, log: state.log }).length;
}

export const DEFAULT_TIMING: Timing = { electionTimeoutMin: 150, electionTimeoutMax: 300, heartbeatInterval: 50 };

export const DEFAULT_LIMITS: RunawayLimits = { messagesPerNodePerSecond: 5_000, eventsAtOneInstant: 10_000 };

/**
 * A test's hand on the wire: called for every message a real node sends,
 * before the network decides its fate. Return undefined to let it go as
 * it is, or the messages to send instead (an empty list drops it; several
 * split it, say a multi-entry AppendEntries into one-entry pieces).
 */
export type Interceptor = (message: Message, from: NodeId, to: NodeId) => readonly Message[] | undefined;

export type { TrafficCounts } from "./messages.ts";

/** What the agenda holds: deliveries and timers (see node-host.ts), and the test's own actions. */
type Agenda = Delivery | TimerEntry | ({ readonly kind: "action"; readonly description: string; readonly run: () => void } & Scheduled);

export interface InboxMessage {
  readonly time: number;
  readonly from: NodeId;
  readonly message: WireMessage;
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Whether a step saved or applied anything (a loop, not a closure: it runs after every step of a world with a saved-state limit). */
function savedOrApplied(step: NodeStep): boolean {
  for (const effect of step.effects) if (effect.kind === "save" || effect.kind === "apply") return true;
  return false;
}

export function nodeIds(count: number): NodeId[] {
  return LETTERS.slice(0, count).split("");
}

/** Where an error thrown while a world booted keeps that world (see worldOfFailedBoot). */
const UNFINISHED_WORLD: unique symbol = Symbol("the world a boot failed in");

/** The world an error was thrown from while it booted its nodes, if it was. */
export function worldOfFailedBoot(error: unknown): World | undefined {
  return error instanceof Error ? (error as Error & { [UNFINISHED_WORLD]?: World })[UNFINISHED_WORLD] : undefined;
}

export class World {
  readonly seed: number;
  readonly nodes: readonly NodeId[];
  readonly timing: Timing;
  readonly limits: RunawayLimits;
  /** The nodes the test plays itself. */
  readonly scripted: readonly NodeId[];
  /** The key-value service's clients (Chapter 8), if any. */
  readonly clients: readonly ClientId[];

  private clock = 0;
  private readonly agenda = new EventQueue<Agenda>();
  private readonly hosts = new Map<NodeId, NodeHost>();
  private readonly net: Network;
  private readonly checker: InvariantChecker;
  private readonly sink: TraceSink;
  private readonly memory: Trace | undefined;
  private nextMessageId = 1;
  private instant = -1;
  private eventsThisInstant = 0;
  private readonly listeners: ((world: World) => void)[] = [];
  private readonly stepListeners: ((step: NodeStep) => void)[] = [];
  private readonly interceptors: Interceptor[] = [];
  /** Each client's place in the network (after the nodes), and who hears its replies. */
  private readonly clientIndex = new Map<ClientId, number>();
  private readonly clientHandlers = new Map<ClientId, (from: NodeId, reply: ClientReply) => void>();
  /** The node code copies every message it receives itself (the sandbox does). */
  private readonly copiesMessages: boolean;
  /** See WorldOptions.dropMessagesToEarlierLives. */
  dropMessagesToEarlierLives: boolean;
  /** See WorldOptions.savedStateLimit. */
  readonly savedStateLimit: number | undefined;
  /** The nodes the world has asked for a snapshot that has not been taken yet. */
  private readonly snapshotAsked = new Set<NodeHost>();

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.nodes = typeof options.nodes === "number" ? nodeIds(options.nodes) : [...options.nodes];
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.clients = [...(options.clients ?? [])];
    for (const [i, client] of this.clients.entries()) {
      if (this.nodes.includes(client) || this.clientIndex.has(client)) throw new Error(`client ${client} has the name of a node or another client`);
      this.clientIndex.set(client, this.nodes.length + i);
    }
    this.net = new Network(this.seed, [...this.nodes, ...this.clients], options.network, this.nodes.length);
    this.checker = new InvariantChecker(this.nodes.length, options.checkPersistence === true ? { saved: options.saved ?? {} } : undefined, new Set(options.scripted ?? []));
    this.dropMessagesToEarlierLives = options.dropMessagesToEarlierLives === true;
    this.savedStateLimit = options.savedStateLimit;
    this.memory = options.trace ? undefined : new Trace(options.traceLimit ?? 0);
    this.sink = options.trace ?? this.memory!;
    this.copiesMessages = copiesMessages(options.createNode);
    const scripted = new Set(options.scripted ?? []);
    this.scripted = [...scripted];
    for (const id of scripted) {
      if (!this.nodes.includes(id)) throw new Error(`scripted node ${id} is not one of the nodes ${this.nodes.join(", ")}`);
    }
    const world = this;
    const services: HostServices = {
      nodes: this.nodes,
      clients: this.clients,
      seed: this.seed,
      now: () => world.clock,
      send: (from, to, message) => world.send(from, to, message),
      recordOutsideStep: (node, time, effect) => effectEvents(world.sink, node, time, effect),
      scheduleTimer: (entry, dueAt) => world.agenda.schedule(dueAt, entry),
      messagesPerNodePerSecond: this.limits.messagesPerNodePerSecond,
      measuresSavedState: options.savedStateLimit !== undefined,
      heartbeatInterval: this.timing.heartbeatInterval,
    };
    for (const [index, id] of this.nodes.entries()) {
      this.hosts.set(id, new NodeHost(id, index, scripted.has(id), services, options.createNode, { ...this.timing, ...options.nodeTiming?.[id] }, options.saved?.[id], options.randomDraws?.[id]));
    }
    try {
      for (const host of this.hosts.values()) if (!host.scripted) this.boot(host, false);
    } catch (error) {
      // A node that fails as it boots: the world it failed in goes with the error, so that a replay can draw it.
      // The same error can come again (a node file that failed to load fails every boot alike), so the
      // world is replaced, never fixed for good, and an error that takes no property is thrown as it is.
      if (error instanceof Error) {
        try {
          Object.defineProperty(error, UNFINISHED_WORLD, { value: this, configurable: true });
        } catch {
          // A frozen error: the replay draws no world, the error still says what went wrong.
        }
      }
      throw error;
    }
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
    this.sink.record({ time: this.clock, kind: "network", description: text });
  }

  /** Schedule an action of the test's (a partition, a crash, a proposal) at a given time. */
  at(time: number, description: string, run: () => void): void {
    this.agenda.schedule(Math.max(time, this.clock), { kind: "action", description, run, time: 0, sequence: 0 });
  }

  /**
   * Run `run` at `from`, `from + everyMs`, ... up to `through` (as many
   * `at` calls would), keeping only the next one on the agenda: a long
   * run's thousands of repeats do not weigh on every event, and each runs
   * in exactly the order it would have had if all were scheduled now.
   */
  every(from: number, everyMs: number, through: number, description: string, run: () => void): void {
    if (!(everyMs > 0)) throw new Error(`every: everyMs must be positive, not ${everyMs}`);
    const count = through < from ? 0 : Math.floor((through - from) / everyMs) + 1;
    if (count === 0) return;
    const first = this.agenda.reserve(count);
    const clock = this.clock;
    const scheduleRepeat = (k: number): void => {
      const entry = {
        kind: "action" as const,
        description,
        time: 0,
        sequence: 0,
        run: () => {
          if (k + 1 < count) scheduleRepeat(k + 1);
          run();
        },
      };
      this.agenda.scheduleAs(Math.max(from + k * everyMs, clock), entry, first + k);
    };
    scheduleRepeat(0);
  }

  /** Call `listener` after every event the world runs (a delivery, a timer, an action), to watch a run as it goes. */
  afterEveryEvent(listener: (world: World) => void): void {
    this.listeners.push(listener);
  }

  /** Call `listener` with every node step, the record the checks and the trace read. */
  afterEveryStep(listener: (step: NodeStep) => void): void {
    this.stepListeners.push(listener);
  }

  /** When the next event on the agenda is due, or undefined when none is (a page that plays a run event by event asks). */
  get nextEventTime(): number | undefined {
    return this.agenda.peek()?.time;
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
    const event = next;
    switch (event.kind) {
      case "deliver":
        this.deliver(event);
        break;
      case "timer":
        this.fireTimer(event);
        break;
      case "action":
        if (event.description !== "") this.sink.record({ time: this.clock, kind: "network", description: event.description });
        event.run();
        break;
    }
    if (this.listeners.length > 0) for (const listener of this.listeners) listener(this);
    return true;
  }

  // -------------------------------------------------------------------------
  // Looking at the nodes
  // -------------------------------------------------------------------------

  /** A node's state, as it reported it after its last event (crashed nodes have none; paused nodes keep theirs). */
  view(id: NodeId): NodeView {
    const host = this.host(id);
    if (host.scripted) throw new Error(`node ${id} is scripted by the test; it has no state of its own`);
    if (!host.up || host.state === null) throw new Error(`node ${id} is crashed`);
    const state = host.state;
    const indexes = state.role === "leader" ? host.leaderIndexes : undefined;
    // Tests ask for views after every event (runUntil conditions), mostly of
    // nodes whose state has not changed: the same state gives the same view.
    const cached = host.lastView;
    const mirror = host.mirror;
    const base = mirror.lastIncludedIndex;
    if (cached !== undefined && cached.state === state && cached.indexes === indexes && (cached.view.lastIncludedIndex ?? 0) === base && (cached.view.lastIncludedTerm ?? 0) === mirror.lastIncludedTerm) return cached.view;
    const view: NodeView = Object.freeze({
      role: state.role,
      currentTerm: state.currentTerm,
      votedFor: state.votedFor,
      leaderId: state.leaderId,
      commitIndex: state.commitIndex,
      lastApplied: state.lastApplied,
      // The log as it is when read (its copy changes only with the node's log).
      get log(): readonly LogEntry[] {
        return mirror.log;
      },
      // A log that begins after a snapshot (Chapter 9) says where; earlier nodes' views are as they were.
      ...(base > 0 ? { lastIncludedIndex: base, lastIncludedTerm: mirror.lastIncludedTerm } : {}),
      ...(indexes?.matchIndex ? { matchIndex: indexes.matchIndex } : {}),
      ...(indexes?.nextIndex ? { nextIndex: indexes.nextIndex } : {}),
    });
    host.lastView = { state, indexes, view };
    return view;
  }

  /**
   * A node's role, term, vote, leader, commitIndex and lastApplied, as the
   * world checked them after its last event: what view() shows but the log
   * and the leader's indexes, without building a view (crashed nodes have none).
   */
  stateOf(id: NodeId): NodeState {
    const host = this.host(id);
    if (host.scripted) throw new Error(`node ${id} is scripted by the test; it has no state of its own`);
    if (!host.up || host.state === null) throw new Error(`node ${id} is crashed`);
    return host.state;
  }

  /** Whether a node runs: booted, not crashed, not paused, not scripted. */
  isRunning(id: NodeId): boolean {
    const host = this.host(id);
    return host.running && !host.scripted;
  }

  /** Same as isRunning: a paused node is not up. */
  isUp(id: NodeId): boolean {
    return this.isRunning(id);
  }

  isPaused(id: NodeId): boolean {
    return this.host(id).paused;
  }

  isCrashed(id: NodeId): boolean {
    const host = this.host(id);
    return !host.scripted && !host.up;
  }

  /** The nodes that run (not crashed, not paused, not scripted). */
  runningNodes(): NodeId[] {
    return this.nodes.filter((id) => this.isRunning(id));
  }

  /** Running nodes that currently believe they are leader (a paused leader does not count). */
  leaders(): NodeId[] {
    return this.runningNodes().filter((id) => this.host(id).state?.role === "leader");
  }

  /** The pending timer of a node, if any. */
  timer(id: NodeId, name: TimerName): PendingTimer | undefined {
    const entry = this.host(id).timers.get(name);
    return entry === undefined ? undefined : { generation: entry.generation, setAt: entry.setAt, delay: entry.time - entry.setAt, dueAt: entry.time };
  }

  /** What a node has applied to its state machine since it last booted, in order. */
  applied(id: NodeId): readonly { index: number; entry: LogEntry }[] {
    return this.host(id).applied;
  }

  /** What is on a node's disk: the state it last saved (or was started with), or null. */
  disk(id: NodeId): PersistentState | null {
    const disk = this.host(id).disk;
    if (disk === null) return null;
    if (disk.snapshot === undefined) return { currentTerm: disk.currentTerm, votedFor: disk.votedFor, log: disk.log.slice() };
    // A copy of the snapshot too: a test that changes what it was handed changes nothing on the disk.
    return { currentTerm: disk.currentTerm, votedFor: disk.votedFor, log: disk.log.slice(), snapshot: { ...disk.snapshot } };
  }

  /** The snapshot a node's state machine was last loaded from in this life (Chapter 9), or null: what its applied() entries follow. */
  appliedSnapshot(id: NodeId): Snapshot | null {
    const snapshot = this.host(id).appliedSnapshot;
    return snapshot === null ? null : { ...snapshot };
  }

  /** How many times a node has booted (1 after its first boot). */
  incarnation(id: NodeId): number {
    return this.host(id).incarnation;
  }

  /** Messages and bytes each node has sent so far, by type (lost ones included). */
  trafficOf(id: NodeId): TrafficCounts {
    return this.host(id).traffic.counts();
  }

  /** The trace so far (only the last `traceLimit` events if a limit was set). */
  get trace(): readonly TraceEvent[] {
    if (!this.memory) throw new Error("this world writes its trace to a sink of the test's; read it there");
    return this.memory.events;
  }

  /** Trace events of one kind. */
  traceOf<K extends TraceKind>(kind: K): Extract<TraceEvent, { kind: K }>[] {
    return this.trace.filter((e): e is Extract<TraceEvent, { kind: K }> => e.kind === kind);
  }

  // -------------------------------------------------------------------------
  // Scripted peers
  // -------------------------------------------------------------------------

  /** Messages real nodes have sent to scripted node `id`, oldest first. */
  inbox(id: NodeId): readonly InboxMessage[] {
    return this.host(id).inbox;
  }

  /** Empty every scripted node's inbox. */
  clearInboxes(): void {
    for (const host of this.hosts.values()) host.inbox = [];
  }

  /** As scripted node `from`, hand `message` to node `to` right now. */
  sendAs(from: NodeId, to: NodeId, message: Message): void {
    const target = this.host(to);
    const delivery: Delivery = { kind: "deliver", from, fromIndex: this.host(from).index, to, host: target, message, messageId: this.nextMessageId++, incarnation: target.incarnation, sentAt: this.clock, copies: 1, time: this.clock, sequence: 0 };
    effectEvents(this.sink, from, this.clock, delivery);
    this.deliver(delivery);
  }

  // -------------------------------------------------------------------------
  // Clients (Chapter 8)
  // -------------------------------------------------------------------------

  /** Run `run` at `time` without a line in the trace (a client's own timer, say). */
  schedule(time: number, run: () => void): void {
    this.agenda.schedule(Math.max(time, this.clock), { kind: "action", description: "", run, time: 0, sequence: 0 });
  }

  /** Who hears the replies servers send `client`. */
  onClientReply(client: ClientId, handler: (from: NodeId, reply: ClientReply) => void): void {
    this.clientIndexOf(client);
    this.clientHandlers.set(client, handler);
  }

  /** Client `client` sends `request` (already checked) to node `to`, over the network like any message. */
  sendFromClient(client: ClientId, to: NodeId, request: ClientRequest): void {
    const fromIndex = this.clientIndexOf(client);
    // Only to a node: a client never sends to another client.
    this.host(to);
    this.transmit(null, client, fromIndex, to, request);
  }

  private clientIndexOf(client: ClientId): number {
    const index = this.clientIndex.get(client);
    if (index === undefined) throw new Error(`there is no client ${client}; the clients are ${this.clients.join(", ") || "none"}`);
    return index;
  }

  /**
   * Make node `id`'s next random draws return exactly these values, in
   * order (then the seeded stream carries on). This is how a test chooses
   * a node's next election timeouts.
   */
  forceRandomDraws(id: NodeId, values: readonly number[]): void {
    this.host(id).forcedDraws.push(...values);
  }

  /** Watch or reshape every message real nodes send (see Interceptor). */
  intercept(interceptor: Interceptor): void {
    this.interceptors.push(interceptor);
  }

  // -------------------------------------------------------------------------
  // Faults
  // -------------------------------------------------------------------------

  /**
   * Split the cluster: nodes in different groups cannot reach each other,
   * in either direction. Nodes in no group form one more group together.
   * Replaces any earlier partition; isolated nodes stay isolated.
   */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    const all = this.net.partition(groups);
    this.mark(`partition ${all.map((g) => `{${g.join(",")}}`).join(" | ")}`);
  }

  /** Cut node `id` off from everyone, both ways, until `reconnect(id)`. */
  isolate(id: NodeId): void {
    this.host(id);
    this.net.isolate(id);
    this.mark(`isolate ${id}`);
  }

  /** Undo `isolate(id)` and the one-way cuts touching it. Other isolated nodes stay isolated; a partition stays. */
  reconnect(id: NodeId): void {
    this.host(id);
    this.net.reconnect(id);
    this.mark(`reconnect ${id}`);
  }

  /** Cut one direction only: `from` can no longer reach `to` (replies still flow back). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.net.cutOneWay(from, to);
    this.mark(`cut ${from}→${to} (one way)`);
  }

  /** Undo `cutOneWay(from, to)`. */
  restoreOneWay(from: NodeId, to: NodeId): void {
    this.net.restoreOneWay(from, to);
    this.mark(`restore ${from}→${to}`);
  }

  /** Every link works again: no partition, no isolated node, no one-way cut. */
  heal(): void {
    this.net.heal();
    this.mark("heal: every link works again");
  }

  /** Who can reach whom now. */
  connectivity(): Connectivity {
    return this.net.connectivity();
  }

  /** Whether `from` can currently reach `to`. */
  canReach(from: NodeId, to: NodeId): boolean {
    return this.net.canReach(from, to);
  }

  /** The nodes that `id` can reach and hear from, itself included. */
  connectedTo(id: NodeId): NodeId[] {
    return this.nodes.filter((other) => other === id || (this.net.canReach(id, other) && this.net.canReach(other, id)));
  }

  /**
   * Give one link its own latency range, in ms [min, max), overriding the
   * network's. A test uses it to decide which of two messages arrives first.
   */
  setLinkLatency(from: NodeId, to: NodeId, latency: readonly [number, number]): void {
    this.net.configureLink(from, to, { latency });
  }

  /** Give one direction of one link settings of its own: latency, loss, duplicates, reordering. */
  setLinkNetwork(from: NodeId, to: NodeId, settings: Partial<NetworkSettings>): void {
    this.net.configureLink(from, to, settings);
    this.mark(`link ${from}→${to} now ${JSON.stringify(settings)}`);
  }

  /** How the network treats messages now (links with settings of their own aside). */
  get network(): NetworkSettings {
    return this.net.settings;
  }

  /** Change the network's behaviour from now on (loss, duplicates, delays). */
  setNetwork(settings: Partial<NetworkSettings>): void {
    this.net.configure(settings);
    this.mark(`network now ${JSON.stringify(settings)}`);
  }

  /**
   * The node freezes, as a process stopped by its operating system would:
   * it keeps its memory, but hears nothing (messages to it are lost) and
   * its timers wait. `resume` lets it carry on; timers that came due in
   * the meantime fire at once.
   */
  pause(id: NodeId): void {
    const host = this.host(id);
    if (!host.up || host.paused) return;
    host.paused = true;
    this.mark(`pause ${id}`);
  }

  resume(id: NodeId): void {
    const host = this.host(id);
    if (!host.paused) return;
    host.paused = false;
    this.mark(`resume ${id}`);
    for (const pending of host.timers.values()) {
      if (pending.time <= this.clock) this.agenda.schedule(this.clock, { ...pending });
    }
  }

  /**
   * Fire node `id`'s election timer now, as if it had run out (the page's
   * "time out" button). Returns false when the node is not running or has
   * no election timer set; the later agenda entry of that timer is then stale.
   */
  timeOut(id: NodeId): boolean {
    const host = this.host(id);
    const pending = host.timers.get("election");
    if (!host.up || host.paused || host.node === null || pending === undefined) return false;
    this.mark(`time out ${id}`);
    this.agenda.schedule(this.clock, { ...pending });
    return true;
  }

  /** Change one node's timing from its next timer on (e.g. make it the first to stand). */
  setTiming(id: NodeId, timing: Partial<Timing>): void {
    const host = this.host(id);
    host.timing = { ...host.timing, ...timing };
  }

  /** The node stops: its memory and timers are gone; only what it saved survives. */
  crash(id: NodeId): void {
    const host = this.host(id);
    if (host.up) this.crashHost(host);
  }

  /**
   * Arm a crash inside node `id`'s code: it crashes `when` ("before" or
   * "after") its `nth` send or save from now on, in the middle of whatever
   * it is handling. What it did up to that point stands (messages sent,
   * state saved); nothing after it happens. This is how a test shows that
   * a node saved too late: crash it between its send and its save.
   */
  crashAt(id: NodeId, point: { readonly when: "before" | "after"; readonly what: "send" | "save"; readonly nth?: number }): void {
    const host = this.host(id);
    if (host.scripted) throw new Error(`node ${id} is scripted by the test; it has no code to crash in`);
    host.armCrash(point.when, point.what, point.nth ?? 1);
  }

  /** Take back a crash point armed with crashAt that has not been reached yet. */
  disarmCrash(id: NodeId): void {
    this.host(id).crashPoint = undefined;
  }

  /** A crashed node boots again from what it saved to disk. */
  restart(id: NodeId): void {
    const host = this.host(id);
    if (host.scripted) throw new Error(`node ${id} is scripted by the test; there is nothing to restart`);
    if (host.up) throw new Error(`node ${id} is running; crash it before restarting it`);
    this.boot(host, true);
  }

  // -------------------------------------------------------------------------
  // Clients
  // -------------------------------------------------------------------------

  /** A client asks node `id` to add `command` to the log. A crashed or paused node does not answer. */
  propose(id: NodeId, command: string): ProposeResult {
    const host = this.host(id);
    if (!host.running || host.node === null) return { accepted: false, leaderId: null };
    let step: NodeStep;
    try {
      step = host.propose(command);
    } catch (error) {
      return this.traceFailure(error);
    }
    this.observe(step, host);
    return step.result!;
  }

  // -------------------------------------------------------------------------
  // Inside the world
  // -------------------------------------------------------------------------

  private host(id: NodeId): NodeHost {
    const host = this.hosts.get(id);
    if (!host) throw new Error(`there is no node ${id}; the nodes are ${this.nodes.join(", ")}`);
    return host;
  }

  /** Trace a node step and check it; a failed step is traced too, for the report. */
  private observe(step: NodeStep, host: NodeHost): void {
    recordStep(this.sink, step);
    this.checker.afterStep(step, host.mirror);
    if (this.stepListeners.length > 0) for (const listener of this.stepListeners) listener(step);
    // It reached an armed crash point in this step: what it would have done after that point never happened.
    if (host.dying) {
      this.crashHost(host, host.crashPoint?.description ?? "mid-step");
      return;
    }
    if (this.savedStateLimit !== undefined && host.disk !== null && !this.snapshotAsked.has(host) && savedOrApplied(step)) this.maybeAskForSnapshot(host);
  }

  /**
   * A node whose saved state grew past the limit is asked for a snapshot
   * through what it has applied, at the same instant, right after the event
   * that grew it or applied more (as the lab's service checks the size each
   * time it has applied a command).
   */
  private maybeAskForSnapshot(host: NodeHost): void {
    if (host.savedSize() <= this.savedStateLimit!) return;
    const incarnation = host.incarnation;
    this.snapshotAsked.add(host);
    this.agenda.schedule(this.clock, {
      kind: "action",
      description: "",
      time: 0,
      sequence: 0,
      run: () => {
        this.snapshotAsked.delete(host);
        // Crashed, paused or restarted since: its next save asks again.
        if (!host.running || host.incarnation !== incarnation || host.node === null || host.state === null) return;
        const index = host.state.lastApplied;
        // Nothing applied past the snapshot it has: nothing to compact yet.
        if (index <= (host.disk?.snapshot?.lastIncludedIndex ?? 0)) return;
        let step: NodeStep;
        try {
          step = host.takeSnapshot(index);
        } catch (error) {
          return this.traceFailure(error);
        }
        this.observe(step, host);
      },
    });
  }

  /** The node stops: out of the checks, its memory and timers gone, and the trace says so. */
  private crashHost(host: NodeHost, during?: string): void {
    host.crash();
    this.checker.crashed(host.id);
    this.sink.record({ time: this.clock, kind: "crash", node: host.id, ...(during === undefined ? {} : { during }) });
  }

  private traceFailure(error: unknown): never {
    const partial = failedStep(error);
    if (partial) {
      recordStep(this.sink, partial);
      // What it applied before failing may already break the order: then that is the cause to report.
      this.checker.afterFailedStep(partial);
    }
    throw error;
  }

  private boot(host: NodeHost, restart: boolean): void {
    const disk = host.disk;
    const saved = disk === null ? undefined : savedLog(disk);
    const base = saved === undefined ? 0 : snapshotIndex(saved);
    this.sink.record({
      time: this.clock,
      kind: "boot",
      node: host.id,
      restart,
      term: disk?.currentTerm ?? 0,
      votedFor: disk?.votedFor ?? null,
      logLength: disk?.log.length ?? 0,
      lastLogTerm: saved === undefined ? 0 : lastTerm(saved),
      ...(base > 0 ? { snapshotIndex: base } : {}),
    });
    let step: NodeStep;
    try {
      step = host.boot(restart);
    } catch (error) {
      return this.traceFailure(error);
    }
    this.observe(step, host);
  }

  /** A node sends: interceptors first, then the network decides, then the agenda (or a scripted inbox) takes it. */
  private send(from: NodeHost, to: NodeId, message: WireMessage): void {
    if (message.type === "ClientReply" || message.type === "ClientRequest") {
      this.route(from, to, message);
      return;
    }
    if (this.interceptors.length > 0) {
      let messages: readonly Message[] = [message];
      for (const interceptor of this.interceptors) messages = messages.flatMap((m) => interceptor(m, from.id, to) ?? [m]);
      if (messages.length === 0) {
        from.effect({ kind: "lost", to, message, messageId: this.nextMessageId++, reason: "intercepted" });
        return;
      }
      if (messages.length !== 1 || messages[0] !== message) {
        for (const m of messages) this.route(from, to, copyMessage(m));
        return;
      }
    }
    this.route(from, to, message);
  }

  private route(from: NodeHost, to: NodeId, message: WireMessage): void {
    from.traffic.count(message);
    this.transmit(from, from.id, from.index, to, message);
  }

  /**
   * One message on its way, whoever sent it (a node, or a client: `sender`
   * null): a scripted node's inbox takes it at once; otherwise the network
   * loses it or schedules its delivery, twice when it duplicates it. What
   * became of it is the sender's effect (a client's goes straight to the trace).
   */
  private transmit(sender: NodeHost | null, from: NodeId, fromIndex: number, to: NodeId, message: WireMessage): void {
    const messageId = this.nextMessageId++;
    const clientIndex = this.clients.length === 0 ? undefined : this.clientIndex.get(to);
    const target = clientIndex === undefined ? this.host(to) : null;
    if (target !== null && target.scripted) {
      // The test's inbox receives it at once.
      this.sent(sender, from, { kind: "to-scripted", to, message, messageId });
      target.inbox.push({ time: this.clock, from, message });
      return;
    }
    const first = this.net.route(fromIndex, target === null ? clientIndex! : target.index);
    if (first < 0) {
      this.sent(sender, from, { kind: "lost", to, message, messageId, reason: first === LOST_TO_PARTITION ? "partition" : "loss" });
      return;
    }
    const second = this.net.duplicateDelay;
    // Messages travel to a node, not to one of its lives: a node that
    // restarts receives what was sent to it before (the incarnation is
    // kept for tests that want to tell them apart).
    const delivery: Delivery = {
      kind: "deliver",
      from,
      fromIndex,
      to,
      host: target,
      message,
      messageId,
      incarnation: target === null ? 0 : target.incarnation,
      sentAt: this.clock,
      copies: second < 0 ? 1 : 2,
      time: 0,
      sequence: 0,
    };
    this.agenda.schedule(this.clock + first, delivery);
    this.sent(sender, from, delivery);
    if (second >= 0) this.agenda.schedule(this.clock + second, { ...delivery, copies: 0 });
  }

  /** What became of a message, recorded as its sender's effect (a node's) or in the trace (a client's). */
  private sent(sender: NodeHost | null, from: NodeId, effect: Effect): void {
    if (sender !== null) sender.effect(effect);
    else effectEvents(this.sink, from, this.clock, effect);
  }

  private fireTimer(entry: TimerEntry): void {
    const host = entry.host;
    const pending = host.timers.get(entry.timer);
    // A timer that was replaced or cancelled since leaves a stale agenda entry behind.
    if (!host.up || host.node === null || pending === undefined || pending.generation !== entry.generation) return;
    // A paused node's timer stays pending; resume() fires it.
    if (host.paused) return;
    host.timers.delete(entry.timer);
    let step: NodeStep;
    try {
      step = host.fireTimer(entry);
    } catch (error) {
      return this.traceFailure(error);
    }
    this.observe(step, host);
  }

  private deliver(delivery: Delivery): void {
    const host = delivery.host;
    if (host === null) {
      this.deliverToClient(delivery);
      return;
    }
    let reason: DropReason | undefined;
    if (!host.up || host.node === null) reason = "crashed";
    else if (host.paused) reason = "paused";
    else if (this.dropMessagesToEarlierLives && delivery.incarnation !== host.incarnation) reason = "old incarnation";
    else if (!this.net.canReachAt(delivery.fromIndex, host.index)) reason = "partition";
    if (reason !== undefined) {
      this.sink.record({ time: this.clock, kind: "drop", from: delivery.from, to: host.id, message: delivery.message, messageId: delivery.messageId, reason });
      return;
    }
    // Each delivery hands the node a copy of its own: what it does to it
    // changes nothing for the sender, the trace or a duplicate. (A
    // sandboxed node's copy is made inside its sandbox.)
    let step: NodeStep;
    try {
      step = host.deliver(delivery, this.copiesMessages ? delivery.message : copyMessage(delivery.message));
    } catch (error) {
      return this.traceFailure(error);
    }
    this.observe(step, host);
  }

  /** A server's reply reaches its client (Chapter 8), unless the network has cut them apart since. */
  private deliverToClient(delivery: Delivery): void {
    const client = delivery.to;
    const index = this.clientIndexOf(client);
    if (!this.net.canReachAt(delivery.fromIndex, index)) {
      this.sink.record({ time: this.clock, kind: "drop", from: delivery.from, to: client, message: delivery.message, messageId: delivery.messageId, reason: "partition" });
      return;
    }
    this.sink.record({ time: this.clock, kind: "deliver", from: delivery.from, to: client, message: delivery.message, messageId: delivery.messageId });
    const handler = this.clientHandlers.get(client);
    if (handler !== undefined && delivery.message.type === "ClientReply") handler(delivery.from, copyMessage(delivery.message));
  }
}
