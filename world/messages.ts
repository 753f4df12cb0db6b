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
import type { AppendEntriesReply, ClientId, ClientReply, ClientRequest, KeyValueOperation, LogEntry, Message, MessageType, NodeId, Snapshot, TimerName } from "./contract.ts";

/** Everything the network carries: the nodes' messages, and (Chapter 8 on) clients' requests and servers' replies. */
export type WireMessage = Message | ClientRequest | ClientReply;

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
  InstallSnapshot: ["term", "leaderId", "lastIncludedIndex", "lastIncludedTerm", "data"],
  InstallSnapshotReply: ["term", "matchIndex"],
};

/** Fields a later chapter added (world/contract.ts): a message may leave them out. */
const OPTIONAL_FIELDS: Readonly<Record<MessageType, readonly string[]>> = {
  RequestVote: [],
  RequestVoteReply: [],
  AppendEntries: [],
  AppendEntriesReply: ["conflictTerm", "conflictIndex"],
  InstallSnapshot: [],
  InstallSnapshotReply: [],
};

const WHOLE = "a whole number, 0 or more";

const NO_ENTRIES: readonly LogEntry[] = Object.freeze([]);

/**
 * A value a node handed the world, in a few words, for a failure that
 * names it. Never by calling the value's own toString or toJSON: what the
 * world says of a node's value is the world's, whatever the node's code
 * would make of it (a huge string, a trap, an error).
 */
export function shown(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    case "object":
      if (value === null) return "null";
      return Array.isArray(value) ? `an array of ${value.length}` : "an object";
  }
}

const show = shown;

function isWhole(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * A log entry as the contract has it, copied; throws naming what is wrong
 * (`where`, and `position` if given: "AppendEntries.entries", 3 gives
 * "AppendEntries.entries[3]", built only when something is wrong).
 */
export function checkEntry(value: unknown, where: string, position?: number): LogEntry {
  if (typeof value === "object" && value !== null) {
    const term = (value as { term?: unknown }).term;
    const command = (value as { command?: unknown }).command;
    if (isWhole(term) && typeof command === "string") return { term, command };
  }
  const at = position === undefined ? where : `${where}[${position}]`;
  if (typeof value !== "object" || value === null) throw new MalformedMessage(`${at} is ${show(value)}, not a log entry { term, command }.`);
  const entry = value as { term?: unknown; command?: unknown };
  if (!isWhole(entry.term)) throw new MalformedMessage(`${at}.term is ${show(entry.term)}; it must be ${WHOLE}.`);
  throw new MalformedMessage(`${at}.command is ${show(entry.command)}; it must be a string.`);
}

function whole(value: unknown, type: string, key: string): number {
  if (isWhole(value)) return value;
  throw new MalformedMessage(`${type}.${key} is ${value === undefined ? "missing" : show(value)}; it must be ${WHOLE}.`);
}

function flag(value: unknown, type: string, key: string): boolean {
  if (typeof value === "boolean") return value;
  throw new MalformedMessage(`${type}.${key} is ${value === undefined ? "missing" : show(value)}; it must be true or false.`);
}

function nodeId(value: unknown, type: string, key: string, nodes: readonly NodeId[]): NodeId {
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
  if (type !== "RequestVote" && type !== "RequestVoteReply" && type !== "AppendEntries" && type !== "AppendEntriesReply" && type !== "InstallSnapshot" && type !== "InstallSnapshotReply") {
    throw new MalformedMessage(`its type is ${show(type)}; the contract's messages are ${Object.keys(FIELDS).join(", ")} (world/contract.ts).`);
  }
  // Count the fields (cheap), and look for the stranger only when there are too many.
  const fields = FIELDS[type];
  let count = 0;
  for (const _key in raw) count++;
  if (count !== fields.length + 1) {
    const optional = OPTIONAL_FIELDS[type];
    for (const key in raw) {
      if (key !== "type" && !fields.includes(key) && !optional.includes(key)) {
        throw new MalformedMessage(`${type} has a field "${key}" that the contract does not have; its fields are ${[...fields, ...optional.map((f) => `${f} (optional)`)].join(", ")}.`);
      }
    }
  }
  // Plain property reads per type (not raw[key]): every message of every run comes through here.
  switch (type) {
    case "RequestVote":
      return {
        type,
        term: whole(raw.term, type, "term"),
        candidateId: nodeId(raw.candidateId, type, "candidateId", nodes),
        lastLogIndex: whole(raw.lastLogIndex, type, "lastLogIndex"),
        lastLogTerm: whole(raw.lastLogTerm, type, "lastLogTerm"),
      };
    case "RequestVoteReply":
      return { type, term: whole(raw.term, type, "term"), voteGranted: flag(raw.voteGranted, type, "voteGranted") };
    case "AppendEntriesReply": {
      const reply: { -readonly [K in keyof AppendEntriesReply]: AppendEntriesReply[K] } = {
        type,
        term: whole(raw.term, type, "term"),
        success: flag(raw.success, type, "success"),
        matchIndex: whole(raw.matchIndex, type, "matchIndex"),
        lastLogIndex: whole(raw.lastLogIndex, type, "lastLogIndex"),
      };
      // Chapter 7's hints, when a node gives them.
      if (raw.conflictTerm !== undefined) reply.conflictTerm = whole(raw.conflictTerm, type, "conflictTerm");
      if (raw.conflictIndex !== undefined) reply.conflictIndex = whole(raw.conflictIndex, type, "conflictIndex");
      return reply;
    }
    case "InstallSnapshot":
      return {
        type,
        term: whole(raw.term, type, "term"),
        leaderId: nodeId(raw.leaderId, type, "leaderId", nodes),
        lastIncludedIndex: whole(raw.lastIncludedIndex, type, "lastIncludedIndex"),
        lastIncludedTerm: whole(raw.lastIncludedTerm, type, "lastIncludedTerm"),
        data: text(raw.data, type, "data"),
      };
    case "InstallSnapshotReply":
      return { type, term: whole(raw.term, type, "term"), matchIndex: whole(raw.matchIndex, type, "matchIndex") };
    case "AppendEntries": {
      const source = raw.entries;
      if (!Array.isArray(source)) throw new MalformedMessage(`AppendEntries.entries is ${source === undefined ? "missing" : show(source)}; it must be an array of log entries { term, command }.`);
      // The world never changes its copies, so every heartbeat can share one
      // empty list. (A loop, not source.map: the node's own array methods are
      // the node's to replace, and the world never calls them.)
      let entries: readonly LogEntry[] = NO_ENTRIES;
      if (source.length > 0) {
        const copies: LogEntry[] = new Array(source.length);
        for (let i = 0; i < copies.length; i++) copies[i] = checkEntry(source[i], "AppendEntries.entries", i);
        entries = copies;
      }
      return {
        type,
        term: whole(raw.term, type, "term"),
        leaderId: nodeId(raw.leaderId, type, "leaderId", nodes),
        prevLogIndex: whole(raw.prevLogIndex, type, "prevLogIndex"),
        prevLogTerm: whole(raw.prevLogTerm, type, "prevLogTerm"),
        entries,
        leaderCommit: whole(raw.leaderCommit, type, "leaderCommit"),
      };
    }
  }
}

const OPERATIONS: readonly KeyValueOperation[] = ["put", "append", "get"];
const CLIENT_REQUEST_FIELDS = ["clientId", "sequence", "operation", "key", "value"];
const CLIENT_REPLY_FIELDS = ["sequence", "success", "value", "leaderId"];

function text(value: unknown, type: string, key: string): string {
  if (typeof value === "string") return value;
  throw new MalformedMessage(`${type}.${key} is ${value === undefined ? "missing" : show(value)}; it must be a string.`);
}

function onlyFields(raw: Record<string, unknown>, type: string, fields: readonly string[]): void {
  for (const key in raw) {
    if (key !== "type" && !fields.includes(key)) throw new MalformedMessage(`${type} has a field "${key}" that the contract does not have; its fields are ${fields.join(", ")}.`);
  }
}

/**
 * Check a request a clerk asks the world to send (Chapter 8) and return the
 * world's own copy: its fields as the contract has them, from the client it
 * says it is from.
 */
export function checkClientRequest(value: unknown, clientId: ClientId): ClientRequest {
  const type = "ClientRequest";
  if (typeof value !== "object" || value === null) throw new MalformedMessage(`the request is ${show(value)}, not an object { type: "ClientRequest", clientId, sequence, operation, key, value }.`);
  const raw = value as Record<string, unknown>;
  if (raw.type !== type) throw new MalformedMessage(`its type is ${show(raw.type)}; a clerk sends "ClientRequest".`);
  onlyFields(raw, type, CLIENT_REQUEST_FIELDS);
  const from = text(raw.clientId, type, "clientId");
  if (from !== clientId) throw new MalformedMessage(`ClientRequest.clientId is ${show(from)}, but this clerk is client ${clientId}'s.`);
  const operation = raw.operation;
  if (typeof operation !== "string" || !OPERATIONS.includes(operation as KeyValueOperation)) {
    throw new MalformedMessage(`ClientRequest.operation is ${operation === undefined ? "missing" : show(operation)}; it must be "put", "append" or "get".`);
  }
  return { type, clientId: from, sequence: whole(raw.sequence, type, "sequence"), operation: operation as KeyValueOperation, key: text(raw.key, type, "key"), value: text(raw.value, type, "value") };
}

/** Check a reply a server sends a client (Chapter 8) and return the world's own copy. */
export function checkClientReply(value: unknown, nodes: readonly NodeId[]): ClientReply {
  const type = "ClientReply";
  if (typeof value !== "object" || value === null) throw new MalformedMessage(`the reply is ${show(value)}, not an object { type: "ClientReply", sequence, success, value, leaderId }.`);
  const raw = value as Record<string, unknown>;
  if (raw.type !== type) throw new MalformedMessage(`its type is ${show(raw.type)}; a server answers a client with "ClientReply".`);
  onlyFields(raw, type, CLIENT_REPLY_FIELDS);
  const leaderId = raw.leaderId === null ? null : nodeId(raw.leaderId, type, "leaderId", nodes);
  return { type, sequence: whole(raw.sequence, type, "sequence"), success: flag(raw.success, type, "success"), value: text(raw.value, type, "value"), leaderId };
}

/**
 * Check a snapshot a node hands the world (Chapter 9: saved, or loaded into
 * its state machine) and return the world's own copy; `where` names it.
 */
export function checkSnapshot(value: unknown, where: string): Snapshot {
  if (typeof value !== "object" || value === null) throw new MalformedMessage(`${where} is ${show(value)}, not a snapshot { lastIncludedIndex, lastIncludedTerm, state }.`);
  const raw = value as Record<string, unknown>;
  const index = raw.lastIncludedIndex;
  const term = raw.lastIncludedTerm;
  const state = raw.state;
  if (!isWhole(index) || index < 1) throw new MalformedMessage(`${where}.lastIncludedIndex is ${index === undefined ? "missing" : show(index)}; it must be a whole number, 1 or more.`);
  if (!isWhole(term)) throw new MalformedMessage(`${where}.lastIncludedTerm is ${term === undefined ? "missing" : show(term)}; it must be ${WHOLE}.`);
  if (typeof state !== "string") throw new MalformedMessage(`${where}.state is ${state === undefined ? "missing" : show(state)}; it must be a string (the service's state, written as JSON, say).`);
  return { lastIncludedIndex: index, lastIncludedTerm: term, state };
}

/** A fresh copy of a message the world already checked: what one receiver is handed. */
export function copyMessage<M extends WireMessage>(message: M): M;
export function copyMessage(message: WireMessage): WireMessage {
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
export function messageBytes(message: WireMessage): number {
  switch (message.type) {
    case "ClientRequest":
      return 1 + 2 + 8 + 1 + message.key.length + message.value.length;
    case "ClientReply":
      return 1 + 8 + 1 + message.value.length + 2;
    case "RequestVote":
      return 1 + 8 + 2 + 8 + 8;
    case "RequestVoteReply":
      return 1 + 8 + 1;
    case "AppendEntriesReply":
      return 1 + 8 + 1 + 8 + 8 + (message.conflictTerm === undefined ? 0 : 8) + (message.conflictIndex === undefined ? 0 : 8);
    case "InstallSnapshot":
      return 1 + 8 + 2 + 8 + 8 + message.data.length;
    case "InstallSnapshotReply":
      return 1 + 8 + 8;
    case "AppendEntries": {
      let bytes = 1 + 8 + 2 + 8 + 8 + 8 + 4;
      for (const entry of message.entries) bytes += 8 + entry.command.length;
      return bytes;
    }
  }
}

/** Messages and bytes one node has sent, per message type. */
export interface TrafficCounts {
  readonly messages: number;
  readonly bytes: number;
  readonly byType: Readonly<Record<MessageType, { readonly messages: number; readonly bytes: number }>>;
}

/** One node's traffic, counted as it sends (a few additions per message). */
export class Traffic {
  private requestVotes = 0;
  private requestVoteBytes = 0;
  private voteReplies = 0;
  private voteReplyBytes = 0;
  private appends = 0;
  private appendBytes = 0;
  private appendReplies = 0;
  private appendReplyBytes = 0;
  private installs = 0;
  private installBytes = 0;
  private installReplies = 0;
  private installReplyBytes = 0;

  count(message: WireMessage): void {
    const bytes = messageBytes(message);
    switch (message.type) {
      case "RequestVote":
        this.requestVotes++;
        this.requestVoteBytes += bytes;
        return;
      case "RequestVoteReply":
        this.voteReplies++;
        this.voteReplyBytes += bytes;
        return;
      case "AppendEntries":
        this.appends++;
        this.appendBytes += bytes;
        return;
      case "AppendEntriesReply":
        this.appendReplies++;
        this.appendReplyBytes += bytes;
        return;
      case "InstallSnapshot":
        this.installs++;
        this.installBytes += bytes;
        return;
      case "InstallSnapshotReply":
        this.installReplies++;
        this.installReplyBytes += bytes;
        return;
    }
  }

  counts(): TrafficCounts {
    return {
      messages: this.requestVotes + this.voteReplies + this.appends + this.appendReplies + this.installs + this.installReplies,
      bytes: this.requestVoteBytes + this.voteReplyBytes + this.appendBytes + this.appendReplyBytes + this.installBytes + this.installReplyBytes,
      byType: {
        RequestVote: { messages: this.requestVotes, bytes: this.requestVoteBytes },
        RequestVoteReply: { messages: this.voteReplies, bytes: this.voteReplyBytes },
        AppendEntries: { messages: this.appends, bytes: this.appendBytes },
        AppendEntriesReply: { messages: this.appendReplies, bytes: this.appendReplyBytes },
        InstallSnapshot: { messages: this.installs, bytes: this.installBytes },
        InstallSnapshotReply: { messages: this.installReplies, bytes: this.installReplyBytes },
      },
    };
  }
}
