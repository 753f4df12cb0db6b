/**
 * The node host: everything the world keeps for one node, and the only
 * door between the world and the node's code.
 *
 * For each node it holds what a real machine would: the process (the
 * node object, or none while crashed), its timers, its disk, its boot
 * count (incarnation), and the random stream it draws timeouts from. It
 * builds the node's environment, calls the node, and turns each call
 * into one NodeStep record: what came in, what the node did (sent, set,
 * applied, saved), and its state before and after. The checker and the
 * trace both read that record.
 *
 * Nothing the node hands back is trusted or shared: messages are checked
 * and copied when sent, its view is checked field by field, and its log is
 * followed by a LogMirror that keeps the world's own copies.
 */
import type {
  ClientId,
  ClientReply,
  CreateNode,
  LogEntry,
  Message,
  NodeEnvironment,
  NodeId,
  NodeView,
  PersistentState,
  ProposeResult,
  RaftNode,
  Role,
  Snapshot,
  TimerName,
  Timing,
} from "./contract.ts";
import { firstDifference, LogMirror, MalformedLog, type LogChange } from "./log.ts";
import { checkClientReply, checkEntry, checkOutgoing, checkSnapshot, MalformedMessage, shown, TIMER_NAMES, Traffic, type WireMessage } from "./messages.ts";
import { RandomStream } from "./random.ts";
import type { Scheduled } from "./event-queue.ts";
import type { DropReason } from "./network.ts";
import { describeMessage } from "./message-text.ts";

/**
 * A message on its way: the world's agenda entry for its delivery, which
 * is also what the sender's step records having sent, and what the
 * receiver's step records handling.
 */
export interface Delivery extends Scheduled {
  readonly kind: "deliver";
  readonly from: NodeId;
  /** The sender's position in the world's list of nodes. */
  readonly fromIndex: number;
  readonly to: NodeId;
  /** The node it goes to; null when it goes to a client (Chapter 8). */
  readonly host: NodeHost | null;
  readonly message: WireMessage;
  readonly messageId: number;
  /** The receiver's boot count when it was sent (messages reach the node, whatever life it is in). */
  readonly incarnation: number;
  readonly sentAt: number;
  /** 2 when the network delivers it twice (on the first of the two deliveries), 1 otherwise. */
  readonly copies: number;
}

/** A timer set: its agenda entry, and the node's pending timer while it waits. */
export interface TimerEntry extends Scheduled {
  readonly kind: "timer";
  readonly host: NodeHost;
  readonly timer: TimerName;
  readonly generation: number;
  readonly setAt: number;
}

/** What a node is handling. */
export type StepInput =
  | { readonly kind: "boot"; readonly restart: boolean }
  | Delivery
  | TimerEntry
  | { readonly kind: "propose"; readonly command: string }
  /** The world asks for a snapshot through `index` (Chapter 9): takeSnapshot(index). */
  | { readonly kind: "snapshot"; readonly index: number };

/**
 * What a node did during a step, in order. Sends and timers are the
 * world's own agenda entries (no second record is made of them); the
 * trace turns all of these into its events when it is read.
 */
export type Effect =
  | Delivery
  | TimerEntry
  | { readonly kind: "lost"; readonly to: NodeId; readonly message: WireMessage; readonly messageId: number; readonly reason: DropReason }
  | { readonly kind: "to-scripted"; readonly to: NodeId; readonly message: WireMessage; readonly messageId: number }
  | { readonly kind: "timer-cancel"; readonly timer: TimerName }
  | { readonly kind: "apply"; readonly index: number; readonly entry: LogEntry }
  /** Its state machine was loaded from a snapshot (Chapter 9; the world's checked copy). */
  | { readonly kind: "apply-snapshot"; readonly snapshot: Snapshot }
  /** What it wrote to its disk (the world's checked copy). */
  | { readonly kind: "save"; readonly state: PersistentState }
  | { readonly kind: "note"; readonly text: string };

/** Where a sent message went (for effects that are sends). */
export function sentTo(effect: Effect): { readonly to: NodeId; readonly message: WireMessage } | undefined {
  return effect.kind === "deliver" || effect.kind === "lost" || effect.kind === "to-scripted" ? effect : undefined;
}

/** A node's state as the world checked it: every field of its view but the log. */
export interface NodeState {
  readonly role: Role;
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
}

/** One event at one node: the record the checker and the trace both read. */
export interface NodeStep {
  readonly node: NodeId;
  readonly incarnation: number;
  readonly time: number;
  readonly input: StepInput;
  /** Its state before (null at boot). */
  readonly before: NodeState | null;
  readonly after: NodeState;
  /** How its log changed, if it did. */
  readonly log: LogChange | undefined;
  /** What it did, in order: sends, timers, applies, saves, notes. */
  readonly effects: readonly Effect[];
  /** For a client's command: the node's answer. */
  readonly result?: ProposeResult;
  /** A leader's matchIndex and nextIndex, when its view shows them (the contract's optional fields). */
  readonly matchIndex: Readonly<Record<NodeId, number>> | undefined;
  readonly nextIndex: Readonly<Record<NodeId, number>> | undefined;
  /** The node crashed at an armed crash point during this step: what it would have done after that point never happened. */
  readonly interrupted: boolean;
}

/** The node's code threw, or broke the contract while acting. */
export class NodeFailure extends Error {
  constructor(
    readonly node: NodeId,
    readonly during: string,
    readonly time: number,
    /** What the node threw, or what it did wrong. */
    readonly thrown: unknown,
  ) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    super(`node ${node} ${thrown instanceof ContractBroken ? "broke the contract" : "threw"} while ${during} at ${time} ms:\n  ${reason}`);
    this.name = thrown instanceof ContractBroken ? "Contract broken" : "Node threw";
    // Keep only the frames in the node's own code: the line of node.ts that
    // threw helps; the world's machinery around it does not.
    const frames = thrown instanceof Error && typeof thrown.stack === "string" ? thrown.stack.split("\n").filter((line) => /^\s+at /.test(line)) : [];
    const own = frames.filter((line) => !/(^|[\s(\\/])(world|node_modules)[\\/]|node:internal|\(node:/.test(line));
    this.stack = [`${this.name}: ${this.message}`, ...own].join("\n");
    // The line of node.ts that threw, as the sandbox read it from the source it compiled.
    const codeFrame = thrown instanceof Error ? (thrown as { codeFrame?: unknown }).codeFrame : undefined;
    if (typeof codeFrame === "string") this.codeFrame = codeFrame;
  }

  /** The line of node.ts the node's first frame points at, with a caret (for the report). */
  codeFrame?: string;
}

/**
 * An error of the harness's or the loader's, not the node's (a node file
 * that does not load, for one): it passes through the host as it is,
 * instead of being reported as something the node threw.
 */
export class HarnessError extends Error {}

/** A node did something the contract does not allow (a malformed message, an unknown timer...). */
export class ContractBroken extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Contract broken";
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
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A pending timer, as tests can read it. */
export interface PendingTimer {
  readonly generation: number;
  readonly setAt: number;
  readonly delay: number;
  readonly dueAt: number;
}

/** The call into node code that is running right now, if any: what a stopped run reports. */
export interface CallInProgress {
  readonly node: NodeId;
  readonly time: number;
  readonly seed: number;
  /** "handling RequestVote(term 4, ...) from B" */
  describe(): string;
}

/**
 * Mark a createNode whose nodes copy every message they receive (as the
 * sandbox does, into the node's own realm), so the world need not copy
 * each delivery a second time.
 */
export function markCopiesMessages(create: CreateNode): CreateNode {
  return Object.assign(create, { copiesMessages: true });
}

/**
 * What a node's own process needs to know to act exactly as the world would
 * during a call (sandbox/node-process.ts): read through a symbol of the
 * world's env object, which node code never holds.
 */
export const HOST_STATE: unique symbol = Symbol("the host's state, for a node in a process of its own");

export interface HostState {
  /** The cluster's nodes, in the world's order (messages name them). */
  readonly nodes: readonly NodeId[];
  /** False when an env call might be ignored (a crash point armed, a node dying, an old incarnation): then every call asks. */
  readonly predictable: boolean;
  /** The send budget: how many messages a second, and this second's count so far. */
  readonly messagesPerSecond: number;
  readonly sendWindowStart: number;
  readonly sendsInWindow: number;
  /** The node's random stream, and the draws a test forced. */
  readonly random: readonly number[];
  readonly forcedDraws: readonly number[];
}

/** Where a node object keeps the freeze of the realm its code runs in (see markSandboxed). */
const REALM_FREEZE: unique symbol = Symbol("the freeze of the node's realm");

/**
 * Mark a createNode whose nodes run in a sandbox: they copy every message
 * they receive, and the world freezes their log entries with `freeze`, the
 * realm's own Object.freeze (freezing a proxy with this side's would hand
 * its traps objects of this side's).
 */
export function markSandboxed(create: CreateNode, marks: { readonly copiesMessages: true; readonly freeze: <T>(value: T) => T }): CreateNode {
  const marked: CreateNode = (env, saved) => {
    const node = create(env, saved);
    if (typeof node === "object" && node !== null) Object.defineProperty(node, REALM_FREEZE, { value: marks.freeze });
    return node;
  };
  return markCopiesMessages(marked);
}

/** The freeze of a node's realm, or this side's Object.freeze. */
function freezeFor(node: RaftNode): (value: unknown) => void {
  const own = (node as { [REALM_FREEZE]?: (value: unknown) => unknown })[REALM_FREEZE];
  return typeof own === "function" ? (value) => void own(value) : (value) => void Object.freeze(value);
}

/** Whether createNode was marked by markCopiesMessages. */
export function copiesMessages(create: CreateNode): boolean {
  return (create as { copiesMessages?: boolean }).copiesMessages === true;
}

/** Reused for every call (no allocation on the hot path). */
const current = { active: false, node: "" as NodeId, time: 0, seed: 0, input: null as StepInput | null };

/** The node call running now (read by whatever stops a run that takes too long). */
export function nodeCallInProgress(): CallInProgress | undefined {
  if (!current.active) return undefined;
  const input = current.input;
  return { node: current.node, time: current.time, seed: current.seed, describe: () => (input === null ? "reporting its state (inspect)" : describeInput(input)) };
}

/** Forget a call that was interrupted before it could clean up after itself. */
export function clearCallInProgress(): void {
  current.active = false;
}

/** Told of every call into node code as it begins (a page finding which call never returned: visualizer/run-worker.ts). */
let callWatcher: ((call: CallInProgress) => void) | undefined;

/** Watch every call into node code (undefined: stop watching). Costs nothing when no one watches. */
export function watchNodeCalls(watcher: ((call: CallInProgress) => void) | undefined): void {
  callWatcher = watcher;
}

/**
 * What a learner reads when node code never returned: the same words
 * wherever the run was stopped (a test in a terminal, a page's run).
 */
export function didNotReturnText(limitMs: number, call: CallInProgress | undefined): string {
  const seconds = `${(limitMs / 1000).toFixed(limitMs % 1000 === 0 ? 0 : 1)} s`;
  return call
    ? `node ${call.node} did not return from ${call.describe()} at ${call.time} ms of simulated time, ` +
        `and the test was stopped after ${seconds} of real time. An endless loop? Look for a loop in that ` +
        `handler whose condition never changes, or a recursion that never ends.`
    : `the test was stopped after ${seconds} of real time, while no node code was running: the test itself ` +
        `is slow on this machine, or a node keeps the world busy (a flood of messages or timers).`;
}

function enter(node: NodeId, time: number, seed: number, input: StepInput | null): void {
  if (callWatcher !== undefined) {
    const described = input;
    callWatcher({ node, time, seed, describe: () => (described === null ? "reporting its state (inspect)" : describeInput(described)) });
  }
  current.active = true;
  current.node = node;
  current.time = time;
  current.seed = seed;
  current.input = input;
}

/** What the host needs from the world. */
export interface HostServices {
  readonly nodes: readonly NodeId[];
  readonly seed: number;
  now(): number;
  /** The clients of the key-value service (Chapter 8), who may be sent a ClientReply. */
  readonly clients: readonly ClientId[];
  /** Route a checked copy of a message (and record it as an effect of the sender). */
  send(from: NodeHost, to: NodeId, message: WireMessage): void;
  /** Put a timer on the agenda. */
  scheduleTimer(entry: TimerEntry, dueAt: number): void;
  /** What a test does through a node's env outside any step goes straight to the trace. */
  recordOutsideStep(node: NodeId, time: number, effect: Effect): void;
  readonly messagesPerNodePerSecond: number;
  readonly heartbeatInterval: number;
  /** Whether the world bounds saved state (Chapter 9's savedStateLimit): then the host keeps the disk's size as it goes. */
  readonly measuresSavedState: boolean;
}

export function describeInput(input: StepInput): string {
  switch (input.kind) {
    case "boot":
      return input.restart ? "restarting (createNode and start)" : "booting (createNode and start)";
    // Each names the contract's method the node was in, the one place the world can name in any node.
    case "deliver":
      return `handling ${describeMessage(input.message)} from ${input.from} in ${input.message.type === "ClientRequest" ? "clientRequest()" : "receive()"}`;
    case "timer":
      return `handling its ${input.timer} timer in timerFired()`;
    case "propose":
      return `handling a client's command "${input.command}" in propose()`;
    case "snapshot":
      return `taking a snapshot through index ${input.index} in takeSnapshot()`;
  }
}

function copyState(state: PersistentState): PersistentState {
  const log = state.log.map((e) => ({ term: e.term, command: e.command }));
  const snapshot = state.snapshot;
  if (snapshot === undefined) return { currentTerm: state.currentTerm, votedFor: state.votedFor, log };
  return { currentTerm: state.currentTerm, votedFor: state.votedFor, log, snapshot: { lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm, state: snapshot.state } };
}

export class NodeHost {
  readonly random: RandomStream;
  node: RaftNode | null = null;
  up = false;
  /** Stopped like a frozen process: memory kept, no messages, no timers until resumed. */
  paused = false;
  /** Counts boots, so a crashed incarnation's environment can no longer act. */
  incarnation = 0;
  disk: PersistentState | null;
  readonly timers = new Map<TimerName, TimerEntry>();
  timerGeneration = 0;
  state: NodeState | null = null;
  /** The last view the world made of this node, and the state it shows (see World.view). */
  lastView: { readonly state: NodeState; readonly indexes: NodeHost["leaderIndexes"]; readonly view: NodeView } | undefined;
  readonly mirror = new LogMirror();
  /** How this node's entries are frozen once the world has seen them (its realm's freeze, for a sandboxed node). */
  private freeze: (value: unknown) => void = (value) => void Object.freeze(value);
  forcedDraws: number[];
  inbox: { readonly time: number; readonly from: NodeId; readonly message: WireMessage }[] = [];
  applied: { index: number; entry: LogEntry }[] = [];
  /** The snapshot its state machine was last loaded from in this life (Chapter 9), if any. */
  appliedSnapshot: Snapshot | null = null;
  /** What this node has sent, counted by type. */
  readonly traffic = new Traffic();
  private sendWindowStart = 0;
  private sendsInWindow = 0;
  /** The step being recorded while node code runs. */
  private effects: Effect[] | null = null;
  /** A contract breach seen while node code ran: thrown once the call returns, whatever the node did with it. */
  private stopped: Error | undefined;

  constructor(
    readonly id: NodeId,
    /** This node's position in the world's list of nodes. */
    readonly index: number,
    readonly scripted: boolean,
    private readonly services: HostServices,
    private readonly createNode: CreateNode,
    public timing: Timing,
    saved: PersistentState | undefined,
    forcedDraws: readonly number[] | undefined,
  ) {
    this.random = new RandomStream(services.seed, `election-timeouts:${id}`);
    this.disk = saved ? copyState(saved) : null;
    this.forcedDraws = [...(forcedDraws ?? [])];
  }

  /**
   * A crash armed at a point inside the node's handlers: before or after
   * its n-th send or save (counted from when it was armed). A crash between
   * events cannot show that a node saved too late; one between its save and
   * its send, or its send and its save, can.
   */
  crashPoint: { readonly when: "before" | "after"; readonly what: "send" | "save"; remaining: number; readonly description: string } | undefined;
  /** The crash point was reached: the rest of this step does nothing, and the world crashes the node when it returns. */
  dying = false;

  /** Arm a crash point (see crashPoint). */
  armCrash(when: "before" | "after", what: "send" | "save", nth: number): void {
    if (!Number.isInteger(nth) || nth < 1) throw new Error(`crashAt: nth must be 1 or more, not ${nth}`);
    const ordinal = nth === 1 ? "1st" : nth === 2 ? "2nd" : nth === 3 ? "3rd" : `${nth}th`;
    this.crashPoint = { when, what, remaining: nth, description: `${when} its ${ordinal} ${what}` };
  }

  /** Called before a send or save: true when the node crashes right here, before it. */
  crashBefore(what: "send" | "save"): boolean {
    const point = this.crashPoint;
    if (point === undefined || point.what !== what) return false;
    if (point.when === "before") {
      if (--point.remaining > 0) return false;
      this.dying = true;
      return true;
    }
    return false;
  }

  /** Called after a send or save: the node crashes right after it. */
  crashAfter(what: "send" | "save"): void {
    const point = this.crashPoint;
    if (point === undefined || point.what !== what || point.when !== "after") return;
    if (--point.remaining === 0) this.dying = true;
  }

  /** Whether the node is running: booted, not crashed, not paused. */
  get running(): boolean {
    return this.up && !this.paused;
  }

  /** Record an effect of the step in progress (or, outside any step, a test acting through the env, straight to the trace). */
  effect(effect: Effect): void {
    if (this.effects !== null) this.effects.push(effect);
    else this.services.recordOutsideStep(this.id, this.services.now(), effect);
  }

  /** Boot (or reboot) the node from its disk. */
  boot(restart: boolean): NodeStep {
    this.up = true;
    this.paused = false;
    this.incarnation++;
    this.timers.clear();
    this.timerGeneration++;
    this.applied = [];
    this.appliedSnapshot = null;
    this.state = null;
    this.mirror.reset();
    const env = this.environment();
    const saved = this.disk ? copyState(this.disk) : null;
    return this.call({ kind: "boot", restart }, () => {
      const node = this.createNode(env, saved);
      if (typeof node !== "object" || node === null) throw new ContractBroken(`createNode returned ${node === null ? "null" : typeof node}, not a node object.`);
      this.node = node;
      this.freeze = freezeFor(node);
      this.mirror.freeze = this.freeze;
      node.start();
    });
  }

  crash(): void {
    this.dying = false;
    this.crashPoint = undefined;
    this.up = false;
    this.paused = false;
    this.node = null;
    this.timers.clear();
    this.timerGeneration++;
  }

  deliver(delivery: Delivery, copy: WireMessage): NodeStep {
    this.copy = copy;
    return this.call(delivery);
  }

  fireTimer(entry: TimerEntry): NodeStep {
    return this.call(entry);
  }

  /** The world asks for a snapshot through `index` (its lastApplied): Chapter 9. */
  takeSnapshot(index: number): NodeStep {
    return this.call({ kind: "snapshot", index });
  }

  propose(command: string): NodeStep {
    const step = this.call({ kind: "propose", command });
    const answer = this.answer;
    this.answer = undefined;
    return { ...step, result: this.checkResult(answer, step) };
  }

  /** The message a delivery hands the node (set just before the call). */
  private copy: WireMessage | undefined;
  /** What propose() returned. */
  private answer: unknown;

  /** The node code a step runs (no closure per event: this runs for every one). */
  private run(input: StepInput, boot: (() => void) | undefined): void {
    switch (input.kind) {
      case "deliver": {
        const copy = this.copy!;
        this.copy = undefined;
        if (copy.type === "ClientRequest") {
          const node = this.node!;
          if (typeof node.clientRequest !== "function") {
            this.breach(new ContractBroken(`it has no clientRequest(from, request) method, and client ${input.from} sent it a ClientRequest: from Chapter 8 on a server answers clients (world/contract.ts).`));
          }
          node.clientRequest(input.from, copy);
          return;
        }
        if (copy.type === "ClientReply") throw new Error(`a ClientReply was delivered to node ${this.id}; replies go to clients`);
        this.node!.receive(input.from, copy);
        return;
      }
      case "timer":
        this.node!.timerFired(input.timer);
        return;
      case "propose":
        this.answer = this.node!.propose(input.command);
        return;
      case "snapshot": {
        const node = this.node!;
        if (typeof node.takeSnapshot !== "function") {
          this.breach(new ContractBroken(`it has no takeSnapshot(index) method, and the world asked it for a snapshot: from Chapter 9 on a node compacts its log when the world asks (world/contract.ts).`));
        }
        node.takeSnapshot(input.index);
        return;
      }
      case "boot":
        boot!();
        return;
    }
  }

  /**
   * Run one call into node code and record it as a step. Whatever the node
   * throws, or breaks while acting, becomes a NodeFailure naming the node,
   * what it was handling and when; the step so far is attached, so the
   * trace can show what it did before it failed.
   */
  private call(input: StepInput, boot?: () => void): NodeStep {
    const time = this.services.now();
    const before = this.state;
    const effects: Effect[] = [];
    this.effects = effects;
    this.stopped = undefined;
    enter(this.id, time, this.services.seed, input);
    let thrown: unknown;
    let failed = false;
    try {
      this.run(input, boot);
    } catch (error) {
      failed = true;
      thrown = error;
    } finally {
      current.active = false;
      this.effects = null;
    }
    // A breach the node caught and carried on from still ends the run.
    // (Read through a method: TypeScript cannot see that body() may set it.)
    const breach = this.takeBreach();
    if (breach !== undefined) {
      if (failed && thrown instanceof Error && thrown !== breach && thrown.message === breach.message) {
        // The breach's own error came out of the node's code: its stack (the
        // sandbox maps it to node.ts lines) says where the node was.
        breach.stack = `${breach.name}: ${breach.message}\n${(thrown.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line)).join("\n")}`;
        const codeFrame = (thrown as { codeFrame?: unknown }).codeFrame;
        if (typeof codeFrame === "string") Object.assign(breach, { codeFrame });
      } else {
        breach.message += "\n  (The node caught the error and carried on; a broken contract ends the run all the same.)";
        breach.stack = `${breach.name}: ${breach.message}`;
      }
      failed = true;
      thrown = breach;
    }
    if (failed && thrown instanceof HarnessError) throw thrown;
    if (failed) {
      const partial: NodeStep = { node: this.id, incarnation: this.incarnation, time, input, before, after: before ?? INITIAL, log: undefined, effects, matchIndex: undefined, nextIndex: undefined, interrupted: this.dying };
      if (thrown instanceof RunawayNode) throw attachStep(thrown, partial);
      throw attachStep(new NodeFailure(this.id, describeInput(input), time, thrown), partial);
    }
    let after: NodeState;
    let log: LogChange | undefined;
    let matchIndex: Record<NodeId, number> | undefined;
    let nextIndex: Record<NodeId, number> | undefined;
    try {
      enter(this.id, time, this.services.seed, null);
      after = this.readState();
      log = this.readLog();
      // A leader's matchIndex and nextIndex move on replies (and start when it
      // wins): read them then, not on every heartbeat tick. A value raised at
      // any other moment is still seen, and checked, at the next reply.
      const leading = after.role === "leader";
      const newLeader = leading && (before === null || before.role !== "leader" || before.currentTerm !== after.currentTerm);
      if (leading && (newLeader || (input.kind === "deliver" && input.message.type === "AppendEntriesReply"))) {
        matchIndex = this.readPerPeer("matchIndex");
        nextIndex = this.readPerPeer("nextIndex");
      } else if (leading && this.leaderIndexes !== undefined) {
        this.keepLeaderIndexes = true;
      }
    } catch (error) {
      const partial: NodeStep = { node: this.id, incarnation: this.incarnation, time, input, before, after: before ?? INITIAL, log: undefined, effects, matchIndex: undefined, nextIndex: undefined, interrupted: this.dying };
      throw attachStep(new NodeFailure(this.id, `reporting its state (inspect) after ${describeInput(input)}`, time, error), partial);
    } finally {
      current.active = false;
      this.view = undefined;
    }
    this.state = after;
    // Between reads, a leader's view keeps showing what was last read.
    if (this.keepLeaderIndexes) this.keepLeaderIndexes = false;
    else this.leaderIndexes = matchIndex === undefined && nextIndex === undefined ? undefined : { matchIndex, nextIndex };
    // One shape for every step (the checker and the trace read millions of them).
    return { node: this.id, incarnation: this.incarnation, time, input, before, after, log, effects, matchIndex, nextIndex, interrupted: this.dying };
  }

  /** Set for one step: the leader's indexes were not read, and the last ones read stand. */
  private keepLeaderIndexes = false;

  /** A leader's matchIndex and nextIndex as its view last showed them (when it shows them). */
  leaderIndexes: { readonly matchIndex: Readonly<Record<NodeId, number>> | undefined; readonly nextIndex: Readonly<Record<NodeId, number>> | undefined } | undefined;

  /** A leader's view may show matchIndex or nextIndex (optional in the contract): check it, and copy it. */
  private readPerPeer(field: "matchIndex" | "nextIndex"): Record<NodeId, number> | undefined {
    const raw = this.view![field];
    if (raw === undefined) return undefined;
    if (typeof raw !== "object" || raw === null) throw new ContractBroken(`inspect() says ${field} ${shown(raw)}; when present it must be an object { B: 3, C: 5, ... } with a whole number per peer.`);
    const values = raw as Record<string, unknown>;
    // Mostly nothing moved since the last read: then the last copy stands (copies are never changed).
    const last = field === "matchIndex" ? this.leaderIndexes?.matchIndex : this.leaderIndexes?.nextIndex;
    if (last !== undefined) {
      let same = true;
      for (const peer of this.peers) {
        if (values[peer] !== last[peer]) {
          same = false;
          break;
        }
      }
      if (same) return last as Record<NodeId, number>;
    }
    const copy: Record<NodeId, number> = {};
    for (const peer of this.peers) {
      const value = values[peer];
      if (value === undefined) continue;
      // The label only when something is wrong: building it every time costs more than the check.
      copy[peer] = typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : this.whole(value, `${field}.${peer}`);
    }
    return copy;
  }

  /** The other nodes, in the world's order. */
  private get peers(): readonly NodeId[] {
    return (this.peerList ??= this.services.nodes.filter((id) => id !== this.id));
  }

  private peerList: readonly NodeId[] | undefined;


  /** The view inspect() returned, between readState and readLog. */
  private view: Record<string, unknown> | undefined;

  /** Ask the node for its view and check every field but the log. */
  private readState(): NodeState {
    const raw: unknown = this.node!.inspect();
    if (typeof raw !== "object" || raw === null) throw new ContractBroken(`inspect() returned ${raw === null ? "null" : typeof raw}, not a view.`);
    const view = raw as Record<string, unknown>;
    this.view = view;
    const role = view.role;
    const currentTerm = view.currentTerm;
    const votedFor = view.votedFor;
    const leaderId = view.leaderId;
    const commitIndex = view.commitIndex;
    const lastApplied = view.lastApplied;
    // Most events change nothing: the same values were checked last time,
    // so keep the same state object.
    const last = this.state;
    if (
      last !== null &&
      last.role === role &&
      last.currentTerm === currentTerm &&
      last.votedFor === votedFor &&
      last.leaderId === leaderId &&
      last.commitIndex === commitIndex &&
      last.lastApplied === lastApplied
    ) {
      return last;
    }
    if (role !== "follower" && role !== "candidate" && role !== "leader") throw new ContractBroken(`inspect() says role ${shown(role)}; it must be "follower", "candidate" or "leader".`);
    return {
      role,
      currentTerm: this.whole(currentTerm, "currentTerm"),
      votedFor: this.nodeOrNull(votedFor, "votedFor"),
      leaderId: this.nodeOrNull(leaderId, "leaderId"),
      commitIndex: this.whole(commitIndex, "commitIndex"),
      lastApplied: this.whole(lastApplied, "lastApplied"),
    };
  }

  /** The log of the view readState just read, through the mirror. */
  private readLog(): LogChange | undefined {
    const view = this.view!;
    let base = 0;
    let baseTerm = 0;
    // Chapter 9's optional fields: a log that begins after a snapshot.
    const rawIndex = view.lastIncludedIndex;
    if (rawIndex !== undefined) {
      base = this.whole(rawIndex, "lastIncludedIndex");
      const rawTerm = view.lastIncludedTerm;
      if (base > 0 && rawTerm === undefined) throw new ContractBroken(`inspect() says lastIncludedIndex ${base} but no lastIncludedTerm; a view with a snapshot shows both.`);
      baseTerm = rawTerm === undefined ? 0 : this.whole(rawTerm, "lastIncludedTerm");
      if (base === 0 && baseTerm !== 0) throw new ContractBroken(`inspect() says lastIncludedTerm ${baseTerm} with lastIncludedIndex 0; without a snapshot both are 0.`);
    } else if (view.lastIncludedTerm !== undefined && view.lastIncludedTerm !== 0) {
      throw new ContractBroken(`inspect() says lastIncludedTerm ${shown(view.lastIncludedTerm)} but no lastIncludedIndex; a view with a snapshot shows both.`);
    }
    try {
      return this.mirror.update(view.log, base, baseTerm);
    } catch (error) {
      if (error instanceof MalformedLog) throw new ContractBroken(`inspect() reports a log the world cannot read: ${error.message}`);
      throw error;
    }
  }

  private whole(value: unknown, key: string): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new ContractBroken(`inspect() says ${key} ${shown(value)}; it must be a whole number, 0 or more.`);
    return value;
  }

  private nodeOrNull(value: unknown, key: string): NodeId | null {
    if (value === null) return null;
    if (typeof value !== "string" || !this.services.nodes.includes(value)) throw new ContractBroken(`inspect() says ${key} ${shown(value)}; it must be null or one of the nodes (${this.services.nodes.join(", ")}).`);
    return value;
  }

  private checkResult(answer: unknown, step: NodeStep): ProposeResult {
    const fail = (detail: string): never => {
      throw attachStep(new NodeFailure(this.id, describeInput(step.input), step.time, new ContractBroken(`propose() returned ${detail}`)), step);
    };
    if (typeof answer !== "object" || answer === null) return fail(`${answer === null ? "null" : typeof answer}; it must return { accepted: true, index, term } or { accepted: false, leaderId }.`);
    const result = answer as Record<string, unknown>;
    if (result.accepted === true) {
      const { index, term } = result;
      if (typeof index !== "number" || !Number.isInteger(index) || index < 1) return fail(`accepted with index ${shown(index)}; the index must be a whole number, 1 or more.`);
      if (typeof term !== "number" || !Number.isInteger(term) || term < 0) return fail(`accepted with term ${shown(term)}; the term must be a whole number.`);
      return { accepted: true, index, term };
    }
    if (result.accepted === false) {
      const leaderId = result.leaderId ?? null;
      if (leaderId !== null && (typeof leaderId !== "string" || !this.services.nodes.includes(leaderId))) return fail(`refused naming leader ${shown(leaderId)}, which is not a node.`);
      return { accepted: false, leaderId: leaderId as NodeId | null };
    }
    return fail(`accepted: ${shown(result.accepted)}; it must be true or false.`);
  }

  private takeBreach(): Error | undefined {
    const breach = this.stopped;
    this.stopped = undefined;
    return breach;
  }

  /** Stop the node's call at the end, whatever it does with the error thrown now. */
  private breach(error: Error): never {
    this.stopped ??= error;
    throw error;
  }

  /**
   * The node's environment. Each boot gets its own: what a crashed
   * incarnation kept of it can no longer act.
   */
  private environment(): NodeEnvironment {
    const host = this;
    const services = this.services;
    const peers = Object.freeze(services.nodes.filter((id) => id !== this.id));
    const incarnation = this.incarnation;
    // A node that crashed in the middle of a step (a crash point) does nothing more.
    const alive = (): boolean => host.up && host.incarnation === incarnation && !host.dying;
    const timerName = (name: unknown, what: string): TimerName => {
      if (typeof name !== "string" || !TIMER_NAMES.includes(name as TimerName)) {
        host.breach(new ContractBroken(`${what}(${shown(name)}): there is no timer of that name; the timers are ${TIMER_NAMES.map((t) => `"${t}"`).join(" and ")}.`));
      }
      return name as TimerName;
    };
    const env: NodeEnvironment = {
      id: this.id,
      peers,
      // Read afresh each time: a test may change a node's timing mid-run.
      get timing(): Timing {
        return host.timing;
      },
      now: () => services.now(),
      randomInt(min: number, max: number): number {
        if (typeof min !== "number" || typeof max !== "number" || !Number.isFinite(min) || !Number.isFinite(max)) {
          host.breach(new ContractBroken(`randomInt(${shown(min)}, ${shown(max)}): both bounds must be finite numbers.`));
        }
        const forced = host.forcedDraws.shift();
        return forced ?? host.random.int(min, max);
      },
      send(to: NodeId, message: Message): void {
        if (!alive()) return;
        if (typeof to !== "string" || !peers.includes(to)) {
          const client = typeof to === "string" && services.clients.includes(to) ? ` It is a client: a server answers a client with env.replyToClient(${shown(to)}, reply).` : "";
          host.breach(new ContractBroken(`send(${shown(to)}, …): ${shown(to)} is not one of its peers (${peers.join(", ")}).${client}`));
        }
        let copy: Message;
        try {
          copy = checkOutgoing(message, services.nodes);
        } catch (error) {
          if (error instanceof MalformedMessage) host.breach(new ContractBroken(`it sent ${to} a malformed message: ${error.message}`));
          throw error;
        }
        if (host.crashBefore("send")) return;
        host.countSend();
        services.send(host, to, copy);
        host.crashAfter("send");
      },
      setTimer(name: TimerName, delayMs: number): void {
        const timer = timerName(name, "setTimer");
        if (!alive()) return;
        if (!(typeof delayMs === "number" && Number.isFinite(delayMs) && delayMs > 0)) {
          host.breach(
            new RunawayNode(
              host.id,
              `node ${host.id} set its ${timer} timer with a delay of ${shown(delayMs)} ms at ${services.now()} ms. ` +
                `Timers need a positive delay; a zero or negative one would fire in a loop without time passing.`,
            ),
          );
        }
        const now = services.now();
        const entry: TimerEntry = { kind: "timer", host, timer, generation: ++host.timerGeneration, setAt: now, time: 0, sequence: 0 };
        host.timers.set(timer, entry);
        services.scheduleTimer(entry, now + delayMs);
        host.effect(entry);
      },
      cancelTimer(name: TimerName): void {
        const timer = timerName(name, "cancelTimer");
        if (!alive() || !host.timers.has(timer)) return;
        host.timers.delete(timer);
        host.effect({ kind: "timer-cancel", timer });
      },
      apply(index: number, entry: LogEntry): void {
        if (!alive()) return;
        if (typeof index !== "number" || !Number.isInteger(index) || index < 1) host.breach(new ContractBroken(`apply(${shown(index)}, …): the index must be a whole number, 1 or more.`));
        let copy: LogEntry;
        try {
          copy = checkEntry(entry, `apply(${index}, entry): entry`);
        } catch (error) {
          if (error instanceof MalformedMessage) host.breach(new ContractBroken(error.message));
          throw error;
        }
        host.applied.push({ index, entry: copy });
        host.effect({ kind: "apply", index, entry: copy });
      },
      save(state: PersistentState): void {
        if (!alive()) return;
        if (host.crashBefore("save")) return;
        const copy = host.checkSaved(state);
        host.disk = copy;
        host.effect({ kind: "save", state: copy });
        host.crashAfter("save");
      },
      applySnapshot(snapshot: Snapshot): void {
        if (!alive()) return;
        let copy: Snapshot;
        try {
          copy = checkSnapshot(snapshot, "applySnapshot(snapshot): snapshot");
        } catch (error) {
          if (error instanceof MalformedMessage) host.breach(new ContractBroken(error.message));
          throw error;
        }
        host.appliedSnapshot = copy;
        host.effect({ kind: "apply-snapshot", snapshot: copy });
      },
      replyToClient(to: ClientId, reply: ClientReply): void {
        if (!alive()) return;
        if (typeof to !== "string" || !services.clients.includes(to)) {
          host.breach(new ContractBroken(`replyToClient(${shown(to)}, …): ${shown(to)} is not one of the clients${services.clients.length > 0 ? ` (${services.clients.join(", ")})` : " (this world has none)"}.`));
        }
        let copy: ClientReply;
        try {
          copy = checkClientReply(reply, services.nodes);
        } catch (error) {
          if (error instanceof MalformedMessage) host.breach(new ContractBroken(`it sent client ${to} a malformed reply: ${error.message}`));
          throw error;
        }
        if (host.crashBefore("send")) return;
        services.send(host, to, copy);
        host.crashAfter("send");
      },
      note(text: string): void {
        host.effect({ kind: "note", text: String(text) });
      },
    };
    Object.defineProperty(env, HOST_STATE, { value: () => host.hostState(incarnation) });
    return env;
  }

  /** A save the contract does not allow stops the node's call (no closure: this runs for every save). */
  private badSave(detail: string): never {
    return this.breach(new ContractBroken(`save(): ${detail}`));
  }

  private checkSaved(state: unknown): PersistentState {
    if (typeof state !== "object" || state === null) return this.badSave(`the state is ${state === null ? "null" : typeof state}; it must be { currentTerm, votedFor, log }.`);
    const raw = state as Record<string, unknown>;
    const term = raw.currentTerm;
    if (typeof term !== "number" || !Number.isInteger(term) || term < 0) return this.badSave(`currentTerm is ${shown(term)}; it must be a whole number.`);
    const votedFor = raw.votedFor ?? null;
    if (votedFor !== null && (typeof votedFor !== "string" || !this.services.nodes.includes(votedFor))) return this.badSave(`votedFor is ${shown(votedFor)}; it must be null or a node id.`);
    if (!Array.isArray(raw.log)) return this.badSave(`log is ${typeof raw.log}; it must be an array of entries.`);
    const source: unknown[] = raw.log;
    // Chapter 9: the snapshot, saved with the log it shortened.
    let snapshot: Snapshot | undefined;
    if (raw.snapshot !== undefined) {
      try {
        snapshot = checkSnapshot(raw.snapshot, "snapshot");
      } catch (error) {
        return this.badSave(error instanceof Error ? error.message : String(error));
      }
    }
    return this.diskState(term, votedFor as NodeId | null, source, snapshot);
  }

  /** The log part of checkSaved: the disk's new state, sharing what did not change with the last save. */
  private diskState(term: number, votedFor: NodeId | null, source: unknown[], snapshot: Snapshot | undefined): PersistentState {
    // A snapshot that moved shifts every position of the saved log: compare nothing with the last save then.
    if ((this.disk?.snapshot?.lastIncludedIndex ?? 0) !== (snapshot?.lastIncludedIndex ?? 0)) this.savedEntries = [];
    const measures = this.services.measuresSavedState;
    // A node saves its whole log each time, mostly the same entry objects as
    // last time: those were checked, copied and frozen then, so their copies
    // stand. A save of a long log costs a pass of comparisons and one copy of
    // the disk's array (none when no entry changed), not a check per entry.
    const previous = this.savedEntries.length === 0 ? undefined : this.disk?.log;
    const seen = this.savedEntries;
    const seenLength = seen.length;
    const same = previous === undefined ? 0 : firstDifference(seen, source, Math.min(seenLength, source.length, previous.length));
    // The disk's log is never changed once written: a save that changes no entry keeps it.
    if (previous !== undefined && same === source.length && same === previous.length) {
      seen.length = same;
      return diskOf(term, votedFor, previous, snapshot);
    }
    // The entries from the first change on; the disk's new log is then made in one allocation.
    const tail: LogEntry[] = [];
    // The sizes of the entries before `same` stand (Chapter 9's limit reads their sum).
    if (measures) this.trimSizes(previous === undefined ? 0 : same);
    for (let i = same; i < source.length; i++) {
      const entry = source[i];
      const unchanged = previous !== undefined && i < seenLength && seen[i] === entry && i < previous.length;
      // Kept in place (no copy per save): only this host reads it.
      seen[i] = entry;
      if (unchanged) {
        tail.push(previous[i]!);
        if (measures) this.addSize(previous[i]!);
        continue;
      }
      let copy: LogEntry;
      try {
        copy = checkEntry(entry, "log", i);
      } catch (error) {
        return this.badSave(error instanceof Error ? error.message : String(error));
      }
      tail.push(copy);
      if (measures) this.addSize(copy);
      // Frozen, as the log's entries are (world/log.ts): a saved entry cannot change behind the disk's back.
      this.freeze(entry);
    }
    seen.length = source.length;
    const log = previous === undefined ? tail : same === previous.length ? previous.concat(tail) : previous.slice(0, same).concat(tail);
    return diskOf(term, votedFor, log, snapshot);
  }

  /** The node's own entry objects of its last save, position by position (see checkSaved). */
  private savedEntries: unknown[] = [];

  /**
   * Chapter 9: each saved entry's size as JSON, position by position, and
   * their sum, kept as saves change the log, so that the world's limit on
   * saved state costs what a save changed, not a pass over the whole log.
   */
  private savedEntrySizes: number[] = [];
  private savedEntriesSize = 0;

  private trimSizes(length: number): void {
    const sizes = this.savedEntrySizes;
    for (let i = length; i < sizes.length; i++) this.savedEntriesSize -= sizes[i]!;
    if (length < sizes.length) sizes.length = length;
  }

  private addSize(entry: LogEntry): void {
    // {"term":3,"command":"x"}
    const size = 20 + String(entry.term).length + JSON.stringify(entry.command).length;
    this.savedEntrySizes.push(size);
    this.savedEntriesSize += size;
  }

  /**
   * The size of what is on disk, the snapshot left out: the length of
   * JSON.stringify({ currentTerm, votedFor, log }), without building it
   * (world.ts's savedStateSize builds it; tests/world/persistence.test.ts holds the two equal).
   */
  savedSize(): number {
    const disk = this.disk;
    if (disk === null) return 0;
    const entries = this.savedEntrySizes.length;
    if (entries !== disk.log.length) {
      // Not kept as saves went (a disk from a test's starting state): measure it whole once.
      this.savedEntrySizes = [];
      this.savedEntriesSize = 0;
      for (const entry of disk.log) this.addSize(entry);
    }
    const vote = disk.votedFor === null ? 4 : JSON.stringify(disk.votedFor).length;
    // {"currentTerm":N,"votedFor":V,"log":[e,e]}
    return 35 + String(disk.currentTerm).length + vote + 2 + this.savedEntriesSize + Math.max(0, disk.log.length - 1);
  }

  /** See HostState. */
  hostState(incarnation: number): HostState {
    return {
      nodes: this.services.nodes,
      predictable: this.up && this.incarnation === incarnation && !this.dying && this.crashPoint === undefined,
      messagesPerSecond: this.services.messagesPerNodePerSecond,
      sendWindowStart: this.sendWindowStart,
      sendsInWindow: this.sendsInWindow,
      random: this.random.state(),
      forcedDraws: this.forcedDraws,
    };
  }

  private countSend(): void {
    const now = this.services.now();
    if (now - this.sendWindowStart >= 1000) {
      this.sendWindowStart = now;
      this.sendsInWindow = 0;
    }
    const limit = this.services.messagesPerNodePerSecond;
    if (++this.sendsInWindow > limit) {
      this.breach(
        new RunawayNode(
          this.id,
          `node ${this.id} sent more than ${limit} messages within one simulated second ` +
            `(${this.sendWindowStart} to ${now} ms). Is it answering every message with more messages? ` +
            `A leader of five nodes needs about ${(4 * 1000) / this.services.heartbeatInterval} heartbeats a second.`,
        ),
      );
    }
  }
}

/** What a save puts on disk: the snapshot's key only when there is one (earlier chapters' disks are as they were). */
function diskOf(currentTerm: number, votedFor: NodeId | null, log: readonly LogEntry[], snapshot: Snapshot | undefined): PersistentState {
  return snapshot === undefined ? { currentTerm, votedFor, log } : { currentTerm, votedFor, log, snapshot };
}

const INITIAL: NodeState = { role: "follower", currentTerm: 0, votedFor: null, leaderId: null, commitIndex: 0, lastApplied: 0 };

/** The step a failure happened in, for the trace. */
export const FAILED_STEP: unique symbol = Symbol("the step that failed");

function attachStep<E extends Error>(error: E, step: NodeStep): E {
  Object.defineProperty(error, FAILED_STEP, { value: step, enumerable: false });
  return error;
}

/** The partial step a NodeFailure or RunawayNode happened in, if any. */
export function failedStep(error: unknown): NodeStep | undefined {
  return error instanceof Error ? (error as Error & { [FAILED_STEP]?: NodeStep })[FAILED_STEP] : undefined;
}
