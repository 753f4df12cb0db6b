/**
 * Messages as the world handles them: checked when a node sends one,
 * copied so that nobody shares an object with anybody else, described in
 * a few words for traces, and weighed for the message counters.
 *
 * A real network carries bytes, not objects: what one node sends can
 * never be changed by the receiver, and the receiver cannot be handed
 * anything but the fields of the message. The world keeps that true by
 * copying. A node that sends something the contract does not describe
 * (an unknown type, a missing field, a term that is not a whole number,
 * a negative index) is stopped on the spot with the field named, instead
 * of confusing the node that receives it.
 */
import type { LogEntry, Message, MessageType, NodeId, TimerName } from "./contract.ts";

/** The timers of the contract; anything else is a typo. */
export const TIMER_NAMES: readonly TimerName[] = ["election", "heartbeat"];

/** A message the world refused to send, with the field that is wrong. */
export class MalformedMessage extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = "Malformed message";
  }
}

const FIELDS: Readonly<Record<MessageType, readonly string[]>> = {
  RequestVote: ["term", "candidateId", "lastLogIndex", "lastLogTerm"],
  RequestVoteReply: ["term", "voteGranted"],
  AppendEntries: ["term", "leaderId", "prevLogIndex", "prevLogTerm", "entries", "leaderCommit"],
  AppendEntriesReply: ["term", "success", "matchIndex", "lastLogIndex"],
};

const WHOLE = "a whole number, 0 or more";

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

function isWhole(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/** A log entry as the contract has it, copied; throws naming what is wrong. */
export function checkEntry(value: unknown, where: string): LogEntry {
  if (typeof value !== "object" || value === null) throw new MalformedMessage(`${where} is ${show(value)}, not a log entry { term, command }.`);
  const entry = value as { term?: unknown; command?: unknown };
  const term = entry.term;
  const command = entry.command;
  if (!isWhole(term)) throw new MalformedMessage(`${where}.term is ${show(term)}; it must be ${WHOLE}.`);
  if (typeof command !== "string") throw new MalformedMessage(`${where}.command is ${show(command)}; it must be a string.`);
  return { term, command };
}

function whole(raw: Record<string, unknown>, type: string, key: string): number {
  const value = raw[key];
  if (isWhole(value)) return value;
  throw new MalformedMessage(`${type}.${key} is ${value === undefined ? "missing" : show(value)}; it must be ${WHOLE}.`);
}

function flag(raw: Record<string, unknown>, type: string, key: string): boolean {
  const value = raw[key];
  if (typeof value === "boolean") return value;
  throw new MalformedMessage(`${type}.${key} is ${value === undefined ? "missing" : show(value)}; it must be true or false.`);
}

function nodeId(raw: Record<string, unknown>, type: string, key: string, nodes: readonly NodeId[]): NodeId {
  const value = raw[key];
  if (typeof value === "string" && nodes.includes(value)) return value;
  throw new MalformedMessage(`${type}.${key} is ${value === undefined ? "missing" : show(value)}; it must be one of the cluster's nodes (${nodes.join(", ")}).`);
}

/**
 * Check a message a node is sending and return the world's own copy of
 * it. `nodes` are the cluster's ids, for the fields that name a node.
 * (Hand-written per type rather than table-driven: every message of every
 * run comes through here.)
 */
export function checkOutgoing(value: unknown, nodes: readonly NodeId[]): Message {
  if (typeof value !== "object" || value === null) throw new MalformedMessage(`the message is ${show(value)}, not an object with a type.`);
  const raw = value as Record<string, unknown>;
  const type = raw.type;
  if (type !== "RequestVote" && type !== "RequestVoteReply" && type !== "AppendEntries" && type !== "AppendEntriesReply") {
    throw new MalformedMessage(`its type is ${show(type)}; the contract's messages are ${Object.keys(FIELDS).join(", ")} (world/contract.ts).`);
  }
  const fields = FIELDS[type];
  for (const key in raw) {
    if (key !== "type" && !fields.includes(key)) {
      throw new MalformedMessage(`${type} has a field "${key}" that the contract does not have; its fields are ${fields.join(", ")}.`);
    }
  }
  switch (type) {
    case "RequestVote":
      return { type, term: whole(raw, type, "term"), candidateId: nodeId(raw, type, "candidateId", nodes), lastLogIndex: whole(raw, type, "lastLogIndex"), lastLogTerm: whole(raw, type, "lastLogTerm") };
    case "RequestVoteReply":
      return { type, term: whole(raw, type, "term"), voteGranted: flag(raw, type, "voteGranted") };
    case "AppendEntriesReply":
      return { type, term: whole(raw, type, "term"), success: flag(raw, type, "success"), matchIndex: whole(raw, type, "matchIndex"), lastLogIndex: whole(raw, type, "lastLogIndex") };
    case "AppendEntries": {
      const source = raw.entries;
      if (!Array.isArray(source)) throw new MalformedMessage(`AppendEntries.entries is ${source === undefined ? "missing" : show(source)}; it must be an array of log entries { term, command }.`);
      const entries: LogEntry[] = new Array(source.length);
      for (let i = 0; i < entries.length; i++) entries[i] = checkEntry(source[i], `AppendEntries.entries[${i}]`);
      return {
        type,
        term: whole(raw, type, "term"),
        leaderId: nodeId(raw, type, "leaderId", nodes),
        prevLogIndex: whole(raw, type, "prevLogIndex"),
        prevLogTerm: whole(raw, type, "prevLogTerm"),
        entries,
        leaderCommit: whole(raw, type, "leaderCommit"),
      };
    }
  }
}

/** A fresh copy of a message the world already checked: what one receiver is handed. */
export function copyMessage(message: Message): Message {
  if (message.type !== "AppendEntries") return { ...message };
  const source = message.entries;
  const entries: LogEntry[] = new Array(source.length);
  for (let i = 0; i < source.length; i++) entries[i] = { term: source[i]!.term, command: source[i]!.command };
  return { ...message, entries };
}

/**
 * About how many bytes a message would take on a wire: 8 per number, 1
 * per flag, 2 per node id, a command's length plus 8 for its term. Good
 * enough to compare nodes and budgets; not any real encoding.
 */
export function messageBytes(message: Message): number {
  switch (message.type) {
    case "RequestVote":
      return 1 + 8 + 2 + 8 + 8;
    case "RequestVoteReply":
      return 1 + 8 + 1;
    case "AppendEntriesReply":
      return 1 + 8 + 1 + 8 + 8;
    case "AppendEntries": {
      let bytes = 1 + 8 + 2 + 8 + 8 + 8 + 4;
      for (const entry of message.entries) bytes += 8 + entry.command.length;
      return bytes;
    }
  }
}
