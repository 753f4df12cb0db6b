/**
 * The trace: every event of a run, in order, and two ways to draw it.
 *
 * A failing test prints the end of the trace; `npm run replay` prints the
 * whole run as a timeline with one column per node, and can write it as a
 * Mermaid sequence diagram.
 */
import type { LogEntry, NodeId, PersistentState, ProposeResult, Role, TimerName } from "./contract.ts";
import type { WireMessage } from "./messages.ts";
import { describeMessage, shortMessage, timelineLegend } from "./message-text.ts";
import type { DropReason } from "./network.ts";
import type { Effect, NodeStep } from "./node-host.ts";
import { lastIndex, savedLog } from "./log.ts";

export type { DropReason };

export type TraceEvent =
  | { readonly time: number; readonly kind: "boot"; readonly node: NodeId; readonly restart: boolean; readonly term: number; readonly logLength: number; readonly lastLogTerm?: number; readonly votedFor?: NodeId | null; readonly snapshotIndex?: number }
  | { readonly time: number; readonly kind: "crash"; readonly node: NodeId; readonly during?: string }
  | {
      readonly time: number;
      readonly kind: "send";
      readonly from: NodeId;
      readonly to: NodeId;
      readonly message: WireMessage;
      readonly messageId: number;
      /** When the network will hand it over; absent when it was lost on the way. */
      readonly arrivesAt?: number;
      readonly duplicated?: boolean;
    }
  | {
      readonly time: number;
      readonly kind: "deliver";
      readonly from: NodeId;
      readonly to: NodeId;
      readonly message: WireMessage;
      readonly messageId: number;
      /** Handed straight to a node the test plays (its send says the same, so text traces skip it). */
      readonly toScripted?: boolean;
    }
  | {
      readonly time: number;
      readonly kind: "drop";
      readonly from: NodeId;
      readonly to: NodeId;
      readonly message: WireMessage;
      readonly messageId: number;
      readonly reason: DropReason;
    }
  | { readonly time: number; readonly kind: "timer-set"; readonly node: NodeId; readonly timer: TimerName; readonly delay: number }
  | { readonly time: number; readonly kind: "timer-cancel"; readonly node: NodeId; readonly timer: TimerName }
  | { readonly time: number; readonly kind: "timer-fire"; readonly node: NodeId; readonly timer: TimerName }
  | { readonly time: number; readonly kind: "role"; readonly node: NodeId; readonly from: Role; readonly to: Role; readonly term: number }
  | { readonly time: number; readonly kind: "term"; readonly node: NodeId; readonly from: number; readonly to: number }
  | { readonly time: number; readonly kind: "vote"; readonly node: NodeId; readonly votedFor: NodeId; readonly term: number }
  | { readonly time: number; readonly kind: "propose"; readonly node: NodeId; readonly command: string; readonly result: ProposeResult }
  | { readonly time: number; readonly kind: "commit"; readonly node: NodeId; readonly commitIndex: number }
  | {
      readonly time: number;
      readonly kind: "log";
      readonly node: NodeId;
      /** The first index that changed. */
      readonly from: number;
      readonly oldLength: number;
      readonly newLength: number;
      /** The term of the last entry after the change (0: empty). */
      readonly lastTerm?: number;
      /** Chapter 9: where the snapshot ends now, when it moved in this change (the log begins after it). */
      readonly snapshotIndex?: number;
    }
  | { readonly time: number; readonly kind: "apply"; readonly node: NodeId; readonly index: number; readonly entry: LogEntry }
  | { readonly time: number; readonly kind: "save"; readonly node: NodeId; readonly term?: number; readonly votedFor?: NodeId | null; readonly logLength?: number; readonly snapshotIndex?: number }
  /** Chapter 9: the world asks a node for a snapshot through `index`. */
  | { readonly time: number; readonly kind: "take-snapshot"; readonly node: NodeId; readonly index: number }
  /** Chapter 9: a node's state machine was loaded from a snapshot. */
  | { readonly time: number; readonly kind: "apply-snapshot"; readonly node: NodeId; readonly index: number; readonly term: number }
  | { readonly time: number; readonly kind: "network"; readonly description: string }
  | { readonly time: number; readonly kind: "note"; readonly node: NodeId; readonly text: string };

export type TraceKind = TraceEvent["kind"];

/** Where the world writes what happens. */
export interface TraceSink {
  record(event: TraceEvent): void;
  /** A whole node step; sinks that do not keep steps get its events (see recordStep). */
  recordStep?(step: NodeStep): void;
}

type Kept = TraceEvent | NodeStep;

const isStep = (kept: Kept): kept is NodeStep => "input" in kept;

/**
 * The trace of a run, in memory. With a limit it keeps only the last
 * `limit` entries (bulk runs need only the end, for a failure).
 *
 * It keeps node steps whole and turns them into events only when someone
 * reads the trace: most runs are never read, and an event object per line
 * costs more than the node's own work.
 */
export class Trace implements TraceSink {
  private kept: Kept[] = [];
  /** With a limit, `kept` is a ring: the next entry overwrites position `next`. */
  private next = 0;
  /** The events of kept[0 .. expandedUpTo), in order. */
  private expanded: TraceEvent[] | null = null;

  constructor(private readonly limit = 0) {}

  record(event: TraceEvent): void {
    this.keep(event);
  }

  recordStep(step: NodeStep): void {
    this.keep(step);
  }

  private keep(entry: Kept): void {
    if (this.limit <= 0 || this.kept.length < this.limit) {
      this.kept.push(entry);
      return;
    }
    this.expanded = null;
    this.kept[this.next] = entry;
    this.next = (this.next + 1) % this.limit;
  }

  get events(): readonly TraceEvent[] {
    if (this.next !== 0) {
      // A full ring: put it in order and expand it all (only long, limited runs get here).
      const ordered = [...this.kept.slice(this.next), ...this.kept.slice(0, this.next)];
      this.expanded = [];
      this.expandedUpTo = 0;
      return expand(ordered, 0, this.expanded);
    }
    // Otherwise expand only what was kept since the last reading.
    this.expanded ??= [];
    if (this.expandedUpTo > this.kept.length) {
      this.expanded = [];
      this.expandedUpTo = 0;
    }
    expand(this.kept, this.expandedUpTo, this.expanded);
    this.expandedUpTo = this.kept.length;
    return this.expanded;
  }

  private expandedUpTo = 0;
}

function expand(entries: readonly Kept[], from: number, into: TraceEvent[]): TraceEvent[] {
  const sink: TraceSink = { record: (event) => void into.push(event) };
  for (let i = from; i < entries.length; i++) {
    const entry = entries[i]!;
    if (isStep(entry)) stepEvents(sink, entry);
    else into.push(entry);
  }
  return into;
}

/** Write a node step to a sink: whole, if it keeps steps, or as its events. */
export function recordStep(sink: TraceSink, step: NodeStep): void {
  if (sink.recordStep) sink.recordStep(step);
  else stepEvents(sink, step);
}

/**
 * The trace events of one node step, in the order they happened: what came
 * in, then how the node's state changed and what it did. The world sees
 * the state only after the call, but a save shows when part of it changed:
 * a new term or vote comes just before the first save that holds it (the
 * vote before the role it leads to), new entries just before the first
 * save that holds them or the first entry applied, whichever is earlier,
 * and a commit just before the first entry applied, after its entries. What no save or apply places comes first (a
 * node without a disk, before Chapter 6).
 */
export function stepEvents(sink: TraceSink, step: NodeStep): void {
  const { node, time, input, before, after } = step;
  switch (input.kind) {
    case "deliver":
      sink.record({ time, kind: "deliver", from: input.from, to: node, message: input.message, messageId: input.messageId });
      break;
    case "timer":
      sink.record({ time, kind: "timer-fire", node, timer: input.timer });
      break;
    case "propose":
      sink.record({ time, kind: "propose", node, command: input.command, result: step.result ?? { accepted: false, leaderId: null } });
      break;
    case "snapshot":
      sink.record({ time, kind: "take-snapshot", node, index: input.index });
      break;
    case "boot":
      break;
  }
  // The state's changes, each with the position (in the effects) it goes before.
  const effects = step.effects;
  const firstSave = (holds: (state: PersistentState) => boolean): number => {
    for (let i = 0; i < effects.length; i++) {
      const effect = effects[i]!;
      if (effect.kind === "save" && holds(effect.state)) return i;
    }
    return 0;
  };
  const changes: { at: number; event: TraceEvent }[] = [];
  if (before !== null) {
    const termChanged = after.currentTerm !== before.currentTerm;
    const termAt = termChanged ? firstSave((s) => s.currentTerm === after.currentTerm) : 0;
    if (termChanged) changes.push({ at: termAt, event: { time, kind: "term", node, from: before.currentTerm, to: after.currentTerm } });
    // A vote comes with its term, before the role it leads to (a candidate votes for itself, then may win at once).
    if (after.votedFor !== null && (after.votedFor !== before.votedFor || after.currentTerm !== before.currentTerm)) {
      const voteAt = firstSave((s) => s.currentTerm === after.currentTerm && s.votedFor === after.votedFor);
      changes.push({ at: Math.max(voteAt, termAt), event: { time, kind: "vote", node, votedFor: after.votedFor, term: after.currentTerm } });
    }
    // A role changes with its term (a newer term makes a follower, a candidate takes a new one); a leader's win saves nothing.
    if (after.role !== before.role) changes.push({ at: termAt, event: { time, kind: "role", node, from: before.role, to: after.role, term: after.currentTerm } });
  }
  // New entries come before the first save that holds them, and before
  // anything applied: a node that saves late still had the entries first.
  const firstApply = effects.findIndex((e) => e.kind === "apply");
  const log = step.log;
  let logAt = 0;
  if (log !== undefined && (before !== null || log.oldLength > 0)) {
    logAt = firstSave((s) => lastIndex(savedLog(s)) === log.newLength);
    if (firstApply !== -1) logAt = Math.min(logAt, firstApply);
    const moved = log.newSnapshotIndex !== log.oldSnapshotIndex ? { snapshotIndex: log.newSnapshotIndex } : {};
    changes.push({ at: logAt, event: { time, kind: "log", node, from: log.from, oldLength: log.oldLength, newLength: log.newLength, lastTerm: log.lastTerm, ...moved } });
  }
  // A commit comes just before the first entry applied, and never before the entries it commits.
  if (before !== null && after.commitIndex !== before.commitIndex) {
    changes.push({ at: Math.max(firstApply === -1 ? 0 : firstApply, logAt), event: { time, kind: "commit", node, commitIndex: after.commitIndex } });
  }
  changes.sort((a, b) => a.at - b.at);
  let next = 0;
  for (let i = 0; i < effects.length; i++) {
    while (next < changes.length && changes[next]!.at <= i) sink.record(changes[next++]!.event);
    effectEvents(sink, node, time, effects[i]!);
  }
  while (next < changes.length) sink.record(changes[next++]!.event);
}

/** The trace events of one thing a node did at `time`. */
export function effectEvents(sink: TraceSink, node: NodeId, time: number, effect: Effect): void {
  switch (effect.kind) {
    case "deliver":
      sink.record({ time, kind: "send", from: effect.from, to: effect.to, message: effect.message, messageId: effect.messageId, arrivesAt: effect.time, ...(effect.copies === 2 ? { duplicated: true } : {}) });
      return;
    case "lost":
      sink.record({ time, kind: "send", from: node, to: effect.to, message: effect.message, messageId: effect.messageId });
      sink.record({ time, kind: "drop", from: node, to: effect.to, message: effect.message, messageId: effect.messageId, reason: effect.reason });
      return;
    case "to-scripted":
      sink.record({ time, kind: "send", from: node, to: effect.to, message: effect.message, messageId: effect.messageId, arrivesAt: time });
      sink.record({ time, kind: "deliver", from: node, to: effect.to, message: effect.message, messageId: effect.messageId, toScripted: true });
      return;
    case "timer":
      sink.record({ time, kind: "timer-set", node, timer: effect.timer, delay: effect.time - effect.setAt });
      return;
    case "timer-cancel":
      sink.record({ time, kind: "timer-cancel", node, timer: effect.timer });
      return;
    case "apply":
      sink.record({ time, kind: "apply", node, index: effect.index, entry: effect.entry });
      return;
    case "save": {
      const snapshot = effect.state.snapshot;
      sink.record({ time, kind: "save", node, term: effect.state.currentTerm, votedFor: effect.state.votedFor, logLength: effect.state.log.length, ...(snapshot === undefined ? {} : { snapshotIndex: snapshot.lastIncludedIndex }) });
      return;
    }
    case "apply-snapshot":
      sink.record({ time, kind: "apply-snapshot", node, index: effect.snapshot.lastIncludedIndex, term: effect.snapshot.lastIncludedTerm });
      return;
    case "note":
      sink.record({ time, kind: "note", node, text: effect.text });
      return;
  }
}

/** One event in one line, as the node it happened on would tell it. */
export function describeEvent(event: TraceEvent, short = false): string {
  const message = short ? shortMessage : describeMessage;
  switch (event.kind) {
    case "boot": {
      const after = event.snapshotIndex === undefined ? "" : ` after a snapshot through ${event.snapshotIndex}`;
      const disk = event.term > 0 || event.logLength > 0 ? ` (term ${event.term}, ${event.logLength} log entr${event.logLength === 1 ? "y" : "ies"}${after})` : "";
      if (!event.restart) return `boots${disk}`;
      return `restarts; its disk holds ${event.term > 0 || event.logLength > 0 || after !== "" ? `term ${event.term}, votedFor ${event.votedFor ?? "null"}, ${event.logLength} log entr${event.logLength === 1 ? "y" : "ies"}${after}` : "nothing saved yet"}`;
    }
    case "crash":
      return event.during === undefined ? "crashes" : `crashes (${event.during}, in the middle of this step)`;
    case "send":
      return `→${event.to} ${message(event.message)}${event.arrivesAt === undefined ? " (lost)" : ""}${event.duplicated ? " (x2)" : ""}`;
    case "deliver":
      return `←${event.from} ${message(event.message)}`;
    case "drop":
      return `✗ ${event.from}→${event.to} ${message(event.message)} (${event.reason})`;
    case "timer-set":
      return `${event.timer} timer: ${event.delay} ms`;
    case "timer-cancel":
      return `cancels ${event.timer} timer`;
    case "timer-fire":
      return `⏰ ${event.timer} timer fires`;
    case "role":
      return `becomes ${event.to.toUpperCase()} (t${event.term})`;
    case "term":
      return `term ${event.from} → ${event.to}`;
    case "vote":
      return `votes for ${event.votedFor} (t${event.term})`;
    case "propose":
      return `client proposes "${event.command}": ${event.result.accepted ? `accepted at index ${event.result.index}` : `refused (leader: ${event.result.leaderId ?? "unknown"})`}`;
    case "commit":
      return `commitIndex → ${event.commitIndex}`;
    case "log":
      return describeLogChange(event, short);
    case "apply":
      return `applies ${event.index}: "${event.entry.command}" (term ${event.entry.term})`;
    case "save":
      return event.term === undefined
        ? "saves state"
        : `saves term ${event.term}, votedFor ${event.votedFor ?? "null"}, ${event.logLength} log entr${event.logLength === 1 ? "y" : "ies"}${event.snapshotIndex === undefined ? "" : ` after a snapshot through ${event.snapshotIndex}`}`;
    case "take-snapshot":
      return `world asks for a snapshot through ${event.index}`;
    case "apply-snapshot":
      return `state machine loaded from the snapshot through ${event.index} (term ${event.term})`;
    case "network":
      return event.description;
    case "note":
      return `note: ${event.text}`;
  }
}

/** "log 3 → 1, cut at 2", "log 2 → 3 (+1)", "log 5 → 4, cut at 3, +2" */
function describeLogChange(event: Extract<TraceEvent, { kind: "log" }>, short: boolean): string {
  const { from, oldLength, newLength } = event;
  const arrow = short ? "→" : " → ";
  // Chapter 9: the log now begins after a snapshot (lengths are last indexes).
  if (event.snapshotIndex !== undefined) {
    const changed = from <= newLength ? `, new from ${from}` : "";
    return `log ${oldLength}${arrow}${newLength}, snapshot through ${event.snapshotIndex}${changed}`;
  }
  const added = newLength - (from - 1);
  const cut = oldLength >= from;
  if (!cut) return `log ${oldLength}${arrow}${newLength} (+${added})`;
  return `log ${oldLength}${arrow}${newLength}, cut at ${from}${added > 0 ? `, +${added}` : ""}`;
}

/** The node an event belongs to in the timeline (deliveries belong to the receiver). */
export function eventNode(event: TraceEvent): NodeId | undefined {
  switch (event.kind) {
    case "send":
      return event.from;
    case "deliver":
      return event.to;
    case "drop":
      return event.to;
    case "network":
      return undefined;
    default:
      return event.node;
  }
}

function formatTime(time: number): string {
  return `${Number.isInteger(time) ? time : time.toFixed(1)}`.padStart(7) + " ms";
}

/** The trace as a list of lines: `   163 ms  A  ⏰ election timer fires`. */
export function formatTrace(events: readonly TraceEvent[]): string {
  return events
    .filter((event) => !(event.kind === "deliver" && event.toScripted))
    .map((event) => `${formatTime(event.time)}  ${(eventNode(event) ?? "*").padEnd(2)} ${describeEvent(event)}`)
    .join("\n");
}

/**
 * The run as a timeline: one column per node, time running down the page.
 * Timer settings are left out unless asked for; they are many and rarely
 * the story.
 */
export function formatTimeline(
  events: readonly TraceEvent[],
  nodes: readonly NodeId[],
  options: { columnWidth?: number; showTimerSets?: boolean; maxLines?: number; keepFrom?: number } = {},
): string {
  // About 110 characters in all: a column of its own each for five nodes, wide lines for one or two.
  const width = options.columnWidth ?? Math.max(24, Math.min(72, Math.floor(110 / Math.max(1, nodes.length)) - 1));
  const header = `${"time".padStart(10)}  ${nodes.map((n) => n.padEnd(width)).join(" ")}`.trimEnd();
  const types = new Set<WireMessage["type"]>();
  for (const event of events) if (event.kind === "send" || event.kind === "deliver" || event.kind === "drop") types.add(event.message.type);
  const legend = timelineLegend(types);
  const lines = [...(legend === "" ? [] : [legend, ""]), header, "-".repeat(header.length)];
  /** The first line at or after options.keepFrom: a long run cut short keeps the moment that matters. */
  let keepLine: number | undefined;
  for (const event of events) {
    if (keepLine === undefined && options.keepFrom !== undefined && event.time >= options.keepFrom) keepLine = lines.length;
    if (!options.showTimerSets && (event.kind === "timer-set" || event.kind === "timer-cancel")) continue;
    if (event.kind === "deliver" && event.toScripted) continue;
    const owner = eventNode(event);
    const text = describeEvent(event, true);
    if (owner === undefined) {
      lines.push(`${formatTime(event.time)}  ==== ${text} ====`);
      continue;
    }
    const column = nodes.indexOf(owner);
    // A node with no column is one the test plays: what it sends shows up
    // as a delivery (←X) in the receiver's column.
    if (column === -1) continue;
    const cells = nodes.map((n, i) => (i === column ? clip(text, width) : "").padEnd(width));
    lines.push(`${formatTime(event.time)}  ${cells.join(" ").trimEnd()}`);
  }
  const limit = options.maxLines ?? 4000;
  if (lines.length > limit) {
    const head = lines.slice(0, 300);
    if (keepLine !== undefined && keepLine > 300 && keepLine < lines.length - (limit - 300)) {
      // Keep the moment that matters (where a runaway began), then the end.
      const from = Math.max(300, keepLine - 100);
      const middle = lines.slice(from, from + 1500);
      const tail = lines.slice(-(limit - 1800));
      return [
        ...head,
        `   ... ${from - 300} lines left out; what follows is where the repeating exchange began ...`,
        ...middle,
        `   ... ${lines.length - from - 1500 - tail.length} lines of the same left out; the end is where it failed ...`,
        ...tail,
      ].join("\n");
    }
    const tail = lines.slice(-(limit - 300));
    return [...head, `   ... ${lines.length - limit} lines of the middle left out (the run is long; the end is where it failed) ...`, ...tail].join("\n");
  }
  return lines.join("\n");
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** The run as a Mermaid sequence diagram, for `npm run replay -- ... --mermaid run.mmd`. */
export function formatMermaid(events: readonly TraceEvent[], nodes: readonly NodeId[]): string {
  // Clients (Chapter 8) after the nodes, in the order they first appear.
  const clients: string[] = [];
  for (const event of events) {
    if (event.kind !== "deliver" && event.kind !== "drop") continue;
    for (const id of [event.from, event.to]) if (!nodes.includes(id) && !clients.includes(id)) clients.push(id);
  }
  const lines = ["sequenceDiagram", ...[...nodes, ...clients].map((n) => `  participant ${n}`)];
  for (const event of events) {
    const at = `${event.time} ms`;
    switch (event.kind) {
      case "deliver":
        lines.push(`  ${event.from}->>${event.to}: ${mermaidText(describeMessage(event.message))} @${at}`);
        break;
      case "drop":
        lines.push(`  ${event.from}-x${event.to}: ${mermaidText(describeMessage(event.message))} lost (${event.reason}) @${at}`);
        break;
      case "role":
      case "crash":
      case "boot":
      case "timer-fire":
      case "apply":
      case "propose":
      case "vote":
      case "take-snapshot":
      case "apply-snapshot":
        lines.push(`  Note right of ${event.node}: ${mermaidText(describeEvent(event))} @${at}`);
        break;
      case "timer-set":
        // Election timeouts are the story of the early chapters; heartbeat timers would drown it.
        if (event.timer === "election") lines.push(`  Note right of ${event.node}: ${mermaidText(describeEvent(event))} @${at}`);
        break;
      case "network":
        lines.push(`  Note over ${nodes[0]},${nodes[nodes.length - 1]}: ${mermaidText(event.description)} @${at}`);
        break;
      default:
        break;
    }
  }
  return `${lines.join("\n")}\n`;
}

function mermaidText(text: string): string {
  // Mermaid treats ; and # specially inside messages: written as its entity codes, they show as themselves.
  // The alarm clock has no glyph in the diagrams' font.
  return text.replace(/[;#]/g, (c) => (c === ";" ? "#59;" : "#35;")).replace(/⏰ /g, "");
}
