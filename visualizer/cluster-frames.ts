/**
 * What the page draws, made from a running world: a Frame is the whole
 * cluster at one moment (every node's role, term, log and timers, the
 * messages on their way, the links that are cut), in plain data that
 * crosses from a Web Worker to the page, or into a file a replayed test
 * writes. Nothing here touches the page: the same code makes the frames
 * of a live run (visualizer/run-worker.ts) and of a recorded test run
 * (tests/harness/recording.ts), and runs in Node.js for the tests.
 *
 * A live run is a pure function of its RunDescription (the chapter's
 * world, the seed, and the actions a person took, each pinned to the
 * event after which it was taken): going back in time is running it
 * again from the start, and a shared link is that description.
 */
import type { ClientCall, ClientId, LogEntry, NodeId, Role, TimerName } from "../world/contract.ts";
import { clientIds, clientsIn, describeCall, SimulatedClient, type ClerkProgram } from "../world/clients.ts";
import { checkLinearizability, decidingPart, describeVerdict, historySvg, keyValueModel } from "../world/linearizability.ts";
import { describeMessage } from "../world/message-text.ts";
import type { WireMessage } from "../world/messages.ts";
import { describeEvent, eventNode, type TraceEvent } from "../world/trace.ts";
import { World, worldOfFailedBoot, type WorldOptions } from "../world/world.ts";
import type { CreateNode } from "../world/contract.ts";

/** Which node ids a page's cluster has. */
export const PAGE_NODES: readonly NodeId[] = ["A", "B", "C", "D", "E"];

export interface TimerFrame {
  readonly setAt: number;
  readonly dueAt: number;
}

export interface NodeFrame {
  readonly id: NodeId;
  /** "scripted": a node a test plays itself, with no state of its own. */
  readonly status: "up" | "paused" | "crashed" | "scripted";
  readonly role: Role | null;
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  /** The index of the last entry the snapshot replaces (0: none); `log` holds the entries after it. */
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly log: readonly LogEntry[];
  readonly nextIndex?: Readonly<Record<NodeId, number>>;
  readonly matchIndex?: Readonly<Record<NodeId, number>>;
  readonly election?: TimerFrame;
  readonly heartbeat?: TimerFrame;
}

export interface MessageFrame {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly sentAt: number;
  readonly arrivesAt: number;
  readonly type: WireMessage["type"];
  /** The message in the contract's notation: `RequestVote(term 4, last log 0/0)`. */
  readonly text: string;
  /** Its fields under the contract's names, as the page shows them on hover. */
  readonly fields: WireMessage;
}

/** One call of a client of the key-value service (Chapter 8 on), as the page draws it: a bar from its call to its answer. */
export interface CallFrame {
  readonly client: ClientId;
  readonly operation: ClientCall["operation"];
  /** put("x", "1"), get("x") */
  readonly text: string;
  readonly calledAt: number;
  /** null: not answered (yet). */
  readonly returnedAt: number | null;
  readonly result: string | null;
}

/** What the linearizability checker says of the clients' history so far (Chapter 8 on). */
export interface HistoryVerdict {
  readonly verdict: "linearizable" | "not linearizable" | "unknown";
  /** When it is not: which calls cannot be put in one order, in words, and as a picture (SVG). */
  readonly text?: string;
  readonly svg?: string;
}

/** One line of the recent events: "170 ms  B  ←C RV t1 l0/0". */
export interface RecentEvent {
  readonly time: number;
  readonly node?: NodeId;
  readonly text: string;
}

export interface Frame {
  readonly time: number;
  /** How many events the world has run. */
  readonly events: number;
  readonly nodes: readonly NodeFrame[];
  readonly messages: readonly MessageFrame[];
  /** Links that do not carry messages now, as [from, to]. */
  readonly cutLinks: readonly (readonly [string, string])[];
  /** The last events, newest last: when, at which node (if one), and what, in the words of the replay's trace. */
  readonly recent: readonly RecentEvent[];
  /** The world stopped the run: a broken guarantee, node code that threw. */
  readonly failure?: string;
  /** The servers that failure names, which the page rings in red. */
  readonly failureNodes?: readonly NodeId[];
  /**
   * The steps a skeleton's stubs said are not written yet (they note it in
   * the trace and let the run go on), each once, with when it was first said.
   */
  readonly stepsNotWritten: readonly { readonly node: NodeId; readonly time: number; readonly text: string }[];
  /** Chapter 8 on: every call the clients made so far (absent in a recording's frames: the recording holds them once). */
  readonly calls?: readonly CallFrame[];
  /** Chapter 8 on: whether those calls can be put in one order. */
  readonly history?: HistoryVerdict;
}

/** How a skeleton's stub says so (scripts/shared/skeletons.ts writes it; tests/harness/graded.ts reads it too). */
const NOT_WRITTEN = /^Chapter \d+, step \d+ is not written yet\b/;

/** What a person can do to a live run. */
export type ActionKind =
  | { readonly kind: "crash" | "restart" | "pause" | "resume" | "timeout" | "isolate" | "reconnect"; readonly node: NodeId }
  | { readonly kind: "partition"; readonly groups: readonly (readonly NodeId[])[] }
  | { readonly kind: "heal" }
  /** The link between two servers stops carrying messages, both ways (`cut`), or carries them again. */
  | { readonly kind: "cut" | "restore"; readonly between: readonly [NodeId, NodeId] }
  /** The network loses, duplicates and reorders messages (`unreliable`), or carries every one in order again. */
  | { readonly kind: "network"; readonly unreliable: boolean }
  | { readonly kind: "propose"; readonly node: NodeId; readonly command: string }
  /** Chapter 8 on: a client calls the key-value service through its clerk. */
  | { readonly kind: "call"; readonly client: ClientId; readonly call: ClientCall };

/**
 * An action as a run records it: taken after event number `after`, at
 * simulated time `at` (the clock may have moved on past that event, with
 * nothing due in between: a restart's timers count from `at`).
 */
export type Action = ActionKind & { readonly after: number; readonly at: number };

/** A live run, whole: what a link shares. */
export interface RunDescription {
  /** The chapter number, which decides what the world checks (persistence from 6, snapshots from 9). */
  readonly chapter: number;
  readonly seed: number;
  readonly actions: readonly Action[];
}

/** What the page's "unreliable network" does: the lab's unreliable network, as Chapter 7's tests have it. */
export const UNRELIABLE_NETWORK = { dropRate: 0.1, duplicateRate: 0.05, reorderRate: 0.2, reorderDelay: [20, 100] } as const;

/** The clients of a page's key-value service (Chapter 8 on). */
export const PAGE_CLIENTS: readonly ClientId[] = clientIds(3);

/** The world a chapter's page runs: the chapter's own checks, as its suite and the speed runs use them, and clients from Chapter 8 on. */
export function pageWorldOptions(chapter: number): Partial<WorldOptions> {
  return {
    ...(chapter >= 6 ? { checkPersistence: true } : {}),
    ...(chapter >= 8 ? { clients: [...PAGE_CLIENTS] } : {}),
    ...(chapter >= 9 ? { savedStateLimit: 1000 } : {}),
  };
}

/** Every call of the clients made in `world`, as the page draws them. */
export function callsIn(world: World): CallFrame[] {
  return clientsIn(world).flatMap((client) =>
    client.history.map((h) => ({
      client: client.id,
      operation: h.call.operation,
      text: describeCall(h.call),
      calledAt: h.calledAt,
      returnedAt: Number.isFinite(h.returnedAt) ? h.returnedAt : null,
      result: h.result ?? null,
    })),
  );
}

/** What the checker says of the clients' calls in `world` so far; a picture when they cannot be ordered. */
export function historyVerdict(world: World): HistoryVerdict {
  const operations = clientsIn(world).flatMap((c) => c.operations());
  const result = checkLinearizability(keyValueModel, operations);
  if (result.verdict === "linearizable") return { verdict: "linearizable" };
  const part = decidingPart(result);
  if (result.verdict === "unknown" || part === undefined) return { verdict: "unknown" };
  return { verdict: "not linearizable", text: describeVerdict(keyValueModel, part), svg: historySvg(keyValueModel, part) };
}

/** How many of the last events a frame lists. */
export const RECENT_EVENTS = 12;

/** Follows a world's trace as it grows: the messages on their way, the last events. */
export class FrameRecorder {
  private readonly inFlight = new Map<number, MessageFrame>();
  private readonly recent: RecentEvent[] = [];
  /** Each node's log as the last frame showed it, while no event has changed it (a long run's frames share them). */
  private readonly logs = new Map<NodeId, readonly LogEntry[]>();
  private readonly notWritten = new Map<string, { readonly node: NodeId; readonly time: number; readonly text: string }>();
  private read = 0;

  constructor(private readonly world: World) {}

  /** How many trace events have been read: a frame made after more of them shows something new. */
  get eventsRead(): number {
    return this.read;
  }

  /** Read what the trace gained since the last call (call it after every event, or before a frame). */
  follow(): void {
    const trace = this.world.trace;
    for (; this.read < trace.length; this.read++) this.take(trace[this.read]!);
  }

  private take(event: TraceEvent): void {
    switch (event.kind) {
      case "send":
        if (event.arrivesAt !== undefined) {
          this.inFlight.set(event.messageId, {
            id: event.messageId,
            from: event.from,
            to: event.to,
            sentAt: event.time,
            arrivesAt: event.arrivesAt,
            type: event.message.type,
            text: describeMessage(event.message),
            fields: event.message,
          });
        }
        break;
      case "deliver":
      case "drop":
        this.inFlight.delete(event.messageId);
        break;
      case "timer-set":
      case "timer-cancel":
        return;
      case "log":
      case "boot":
      case "crash":
        // The log a frame shows changes only with one of these: until then, frames share one array.
        this.logs.delete(event.node);
        break;
      case "note":
        if (NOT_WRITTEN.test(event.text) && !this.notWritten.has(event.text)) this.notWritten.set(event.text, { node: event.node, time: event.time, text: event.text });
        break;
      default:
        break;
    }
    // As the replay's timeline has it, with the node it happened at ("170 ms  B  ←C RV t1 l0/0").
    const node = eventNode(event);
    this.recent.push({ time: event.time, ...(node === undefined ? {} : { node }), text: describeEvent(event, true) });
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
  }

  /** The cluster now; with `withCalls`, the clients' calls and the checker's verdict on them too (a live run's frames). */
  frame(events: number, failure?: string, withCalls = false): Frame {
    this.follow();
    const w = this.world;
    const nodes = w.nodes.map((id) => {
      const shown = nodeFrame(w, id, this.logs.get(id));
      this.logs.set(id, shown.log);
      return shown;
    });
    const cutLinks: [string, string][] = [];
    for (const from of w.nodes) for (const to of w.nodes) if (from !== to && !w.canReach(from, to)) cutLinks.push([from, to]);
    const messages = [...this.inFlight.values()].filter((m) => m.arrivesAt >= w.now);
    const named = failure === undefined ? [] : nodesNamed(failure, w.nodes);
    const frame: Frame = {
      time: w.now,
      events,
      nodes,
      messages,
      cutLinks,
      recent: [...this.recent],
      stepsNotWritten: [...this.notWritten.values()],
      ...(failure === undefined ? {} : { failure }),
      ...(named.length === 0 ? {} : { failureNodes: named }),
    };
    if (!withCalls || clientsIn(w).length === 0) return frame;
    const calls = callsIn(w);
    // The checker runs again only when a call was made or answered since it last ran.
    const key = `${calls.length}/${calls.filter((c) => c.returnedAt !== null).length}`;
    if (key !== this.verdictKey) {
      this.verdictKey = key;
      this.verdict = historyVerdict(w);
    }
    return { ...frame, calls, ...(this.verdict === undefined ? {} : { history: this.verdict }) };
  }

  private verdictKey = "";
  private verdict: HistoryVerdict | undefined;
}

function timerFrame(w: World, id: NodeId, name: TimerName): TimerFrame | undefined {
  const t = w.timer(id, name);
  return t === undefined ? undefined : { setAt: t.setAt, dueAt: t.dueAt };
}

/** One node as the page draws it. A crashed node shows what its disk holds. `log`: its log, when known not to have changed. */
export function nodeFrame(w: World, id: NodeId, log?: readonly LogEntry[]): NodeFrame {
  const blank = { role: null, currentTerm: 0, votedFor: null, leaderId: null, commitIndex: 0, lastApplied: 0, snapshotIndex: 0, snapshotTerm: 0, log: [] };
  if (w.scripted.includes(id)) return { id, status: "scripted", ...blank };
  if (w.isCrashed(id)) {
    const disk = w.disk(id);
    if (disk === null) return { id, status: "crashed", ...blank };
    return {
      id,
      status: "crashed",
      ...blank,
      currentTerm: disk.currentTerm,
      votedFor: disk.votedFor,
      snapshotIndex: disk.snapshot?.lastIncludedIndex ?? 0,
      snapshotTerm: disk.snapshot?.lastIncludedTerm ?? 0,
      log: log ?? disk.log.map((e) => ({ term: e.term, command: e.command })),
    };
  }
  const v = w.view(id);
  const election = timerFrame(w, id, "election");
  const heartbeat = timerFrame(w, id, "heartbeat");
  return {
    id,
    status: w.isPaused(id) ? "paused" : "up",
    role: v.role,
    currentTerm: v.currentTerm,
    votedFor: v.votedFor,
    leaderId: v.leaderId,
    commitIndex: v.commitIndex,
    lastApplied: v.lastApplied,
    snapshotIndex: v.lastIncludedIndex ?? 0,
    snapshotTerm: v.lastIncludedTerm ?? 0,
    log: log ?? v.log.map((e) => ({ term: e.term, command: e.command })),
    ...(v.nextIndex ? { nextIndex: { ...v.nextIndex } } : {}),
    ...(v.matchIndex ? { matchIndex: { ...v.matchIndex } } : {}),
    ...(election ? { election } : {}),
    ...(heartbeat ? { heartbeat } : {}),
  };
}

/**
 * The servers a failure's text names ("node C", "leader A", "nodes B and
 * D"), among those of the run, in the order named: what the page rings in
 * red. The text is the terminal's, so the page and the report agree.
 */
export function nodesNamed(text: string, ids: readonly NodeId[]): NodeId[] {
  const named: NodeId[] = [];
  for (const match of text.matchAll(/\b(?:node|leader|follower|candidate|server)s? ((?:[A-Z](?:, | and | or )?)+)\b/g)) {
    for (const id of match[1]!.split(/, | and | or /)) if (ids.includes(id) && !named.includes(id)) named.push(id);
  }
  return named;
}

/** What a failure says, as the terminal's report heads it. */
export function failureText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * A live run: the world of a RunDescription, played event by event.
 * `after` counts events: an action taken after event k is taken after
 * event k again when the run is played from the start.
 */
export class ClusterRun {
  readonly world: World;
  private readonly recorder: FrameRecorder;
  private eventCount = 0;
  private failure: string | undefined;
  private readonly pending: Action[];
  /** What an action said it could not do (a time-out with no timer set), for the page to show. */
  notice: string | undefined;

  /** Chapter 8 on, with a clerk: the service's clients, by id. */
  private readonly clients = new Map<ClientId, SimulatedClient>();

  constructor(
    createNode: CreateNode,
    readonly description: RunDescription,
    clerk?: ClerkProgram,
  ) {
    this.pending = [...description.actions].sort((a, b) => a.after - b.after || a.at - b.at);
    let world: World | undefined;
    try {
      world = new World({ nodes: [...PAGE_NODES], createNode, seed: description.seed, ...pageWorldOptions(description.chapter) });
    } catch (error) {
      // A node that fails as it boots: the world it failed in, stopped, with the failure beside it.
      world = worldOfFailedBoot(error);
      if (world === undefined) throw error;
      this.failure = failureText(error);
    }
    this.world = world;
    if (clerk !== undefined && this.failure === undefined) {
      try {
        for (const id of world.clients) this.clients.set(id, new SimulatedClient(world, id, clerk));
      } catch (error) {
        this.failure = failureText(error);
      }
    }
    this.recorder = new FrameRecorder(this.world);
    this.takeActionsDue();
  }

  get events(): number {
    return this.eventCount;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Run one event. False when the run has stopped (a failure) or nothing is left to run. */
  stepOnce(): boolean {
    if (this.failure !== undefined) return false;
    try {
      if (!this.world.step()) return false;
    } catch (error) {
      this.failure = failureText(error);
      this.eventCount++;
      return false;
    }
    this.eventCount++;
    this.takeActionsDue();
    return this.failure === undefined;
  }

  /** Run every event due up to `time` (the clock ends there), or up to a failure. */
  runUntilTime(time: number): void {
    for (;;) {
      if (this.failure !== undefined) return;
      const next = this.world.nextEventTime;
      if (next === undefined || next > time) break;
      this.stepOnce();
    }
    if (this.failure === undefined) this.world.runUntilTime(time);
  }

  /** Run until `events` events have run (scrubbing to an event), or a failure. */
  runUntilEvent(events: number): void {
    while (this.eventCount < events && this.stepOnce());
  }

  /** The actions taken with act() so far, as a description records them. */
  private readonly taken: Action[] = [];

  /** The run as it stands: its description with the actions taken since, what a link to it holds. */
  get descriptionNow(): RunDescription {
    return this.taken.length === 0 ? this.description : { ...this.description, actions: [...this.description.actions, ...this.taken] };
  }

  /** Take an action now (after the events run so far); returns it as the description records it. */
  act(action: ActionKind): Action {
    const taken: Action = { ...action, after: this.eventCount, at: this.world.now };
    this.taken.push(taken);
    this.apply(taken);
    return taken;
  }

  frame(): Frame {
    return this.recorder.frame(this.eventCount, this.failure, true);
  }

  private takeActionsDue(): void {
    while (this.pending.length > 0 && this.pending[0]!.after <= this.eventCount) {
      const action = this.pending.shift()!;
      // Nothing was due between that event and the action's time when it was taken: this only moves the clock.
      if (action.at > this.world.now) this.world.runUntilTime(action.at);
      this.apply(action);
    }
  }

  private apply(action: Action): void {
    if (this.failure !== undefined) return;
    const w = this.world;
    this.notice = undefined;
    try {
      switch (action.kind) {
        case "crash":
          w.crash(action.node);
          break;
        case "restart":
          if (w.isCrashed(action.node)) w.restart(action.node);
          break;
        case "pause":
          w.pause(action.node);
          break;
        case "resume":
          w.resume(action.node);
          break;
        case "timeout":
          if (!w.timeOut(action.node)) this.notice = `${action.node} has no election timer set (a leader's timer is its heartbeat), or is not running: nothing to time out.`;
          break;
        case "isolate":
          w.isolate(action.node);
          break;
        case "reconnect":
          w.reconnect(action.node);
          break;
        case "partition":
          w.partition(...action.groups);
          break;
        case "heal":
          w.heal();
          break;
        case "cut":
          w.cutOneWay(action.between[0], action.between[1]);
          w.cutOneWay(action.between[1], action.between[0]);
          break;
        case "restore": {
          const [a, b] = action.between;
          w.restoreOneWay(a, b);
          w.restoreOneWay(b, a);
          if (!w.canReach(a, b) || !w.canReach(b, a)) this.notice = `the link ${a}–${b} is still cut by a partition or an isolated server: Heal (or Reconnect) mends those.`;
          break;
        }
        case "network":
          w.setNetwork(action.unreliable ? UNRELIABLE_NETWORK : { dropRate: 0, duplicateRate: 0, reorderRate: 0 });
          break;
        case "call": {
          const client = this.clients.get(action.client);
          if (client === undefined) this.notice = `there is no client ${action.client} in this run (clients call from Chapter 8 on, with a clerk).`;
          else if (client.busy) this.notice = `${action.client} is still waiting for ${describeCall(client.callInProgress!)}: a client makes one call at a time.`;
          else client.call(action.call);
          break;
        }
        case "propose": {
          if (!w.isRunning(action.node)) {
            this.notice = `${action.node} is not running: no one to take the command.`;
            break;
          }
          const result = w.propose(action.node, action.command);
          if (!result.accepted) this.notice = `${action.node} refused ${JSON.stringify(action.command)}: it is not the leader.`;
          break;
        }
      }
    } catch (error) {
      this.failure = failureText(error);
    }
  }
}

/** A RunDescription in a link's fragment, and back (base64url of its JSON). */
export function encodeRun(run: RunDescription): string {
  const json = JSON.stringify(run);
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeRun(text: string): RunDescription | undefined {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return asRunDescription(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return undefined;
  }
}

/** A value read from a link or a file, if it has a run's shape (each action after an event, at a time). */
export function asRunDescription(value: unknown): RunDescription | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const run = value as Partial<RunDescription>;
  if (typeof run.seed !== "number" || typeof run.chapter !== "number" || !Array.isArray(run.actions)) return undefined;
  const actionsOk = run.actions.every((a: unknown) => typeof a === "object" && a !== null && typeof (a as Action).kind === "string" && typeof (a as Action).after === "number" && typeof (a as Action).at === "number");
  return actionsOk ? { chapter: run.chapter, seed: run.seed, actions: run.actions } : undefined;
}
