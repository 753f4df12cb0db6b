/**
 * The five guarantees of Figure 3, checked after every event of every run.
 *
 * The world hands the checker every node step (a message handled, a timer,
 * a client's command, a boot): the node's state before and after, how
 * its log changed, and what it sent and applied. The checks are
 * incremental: only what changed in a log is looked at again.
 *
 * Besides Figure 3, two of Figure 2's "only grows" promises are checked
 * too, because breaking them is how the guarantees usually end up broken:
 * currentTerm and commitIndex never go backwards (a restart may go back
 * to what the node saved, nothing else).
 */
import type { AppendEntries, AppendEntriesReply, LogEntry, NodeId } from "./contract.ts";
import { entryAt, sameEntry } from "./log.ts";
import { sentTo, type NodeState, type NodeStep } from "./node-host.ts";

export type Guarantee =
  | "Election Safety"
  | "Leader Append-Only"
  | "Log Matching"
  | "Leader Completeness"
  | "State Machine Safety"
  | "Terms only grow"
  | "Commits only grow"
  | "Apply in order, exactly once"
  | "A successful AppendEntries leaves the logs matching";

/** Each guarantee in the paper's words (Figure 3) or Figure 2's. */
export const GUARANTEE_TEXT: Record<Guarantee, string> = {
  "Election Safety": "at most one leader can be elected in a given term (Figure 3, §5.2).",
  "Leader Append-Only": "a leader never overwrites or deletes entries in its log; it only appends new entries (Figure 3, §5.3).",
  "Log Matching":
    "if two logs contain an entry with the same index and term, then the logs are identical in all entries up through the given index (Figure 3, §5.3).",
  "Leader Completeness":
    "if a log entry is committed in a given term, then that entry will be present in the logs of the leaders for all higher-numbered terms (Figure 3, §5.4).",
  "State Machine Safety":
    "if a server has applied a log entry at a given index to its state machine, no other server will ever apply a different log entry for the same index (Figure 3, §5.4.3).",
  "Terms only grow": "currentTerm is initialized to 0 on first boot and increases monotonically (Figure 2, State).",
  "Commits only grow": "commitIndex is initialized to 0 and increases monotonically (Figure 2, State).",
  "Apply in order, exactly once":
    "if commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state machine (Figure 2, Rules for Servers).",
  "A successful AppendEntries leaves the logs matching":
    "AppendEntries receiver: 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm (Figure 2). So a reply of success says the follower's log now holds that entry and every entry sent after it, and its matchIndex is prevLogIndex + the number of entries sent (world/contract.ts).",
};

export class InvariantViolation extends Error {
  constructor(
    readonly guarantee: Guarantee,
    readonly detail: string,
    readonly time: number,
  ) {
    super(`${guarantee}: ${GUARANTEE_TEXT[guarantee]}\nInstead:     at ${time} ms, ${detail}`);
    this.name = "Guarantee broken";
    // Where in the checker this was noticed helps nobody; the trace does.
    this.stack = `${this.name}: ${this.message}`;
  }
}

interface NodeRecord {
  role: NodeState["role"];
  term: number;
  commitIndex: number;
  /** prefixHash[i] identifies the whole log up to index i + 1. */
  prefixHash: number[];
  lastApplied: number;
  /** The world's copy of the node's log (read, never kept beyond a step). */
  log: readonly LogEntry[];
}

interface CommittedEntry {
  readonly entry: LogEntry;
  /** The term of the node that first saw it committed: leaders of later terms must hold it. */
  readonly committedInTerm: number;
  readonly seenBy: NodeId;
}

const showEntry = (e: LogEntry): string => `"${e.command}" (term ${e.term})`;

function hashStep(previous: number, entry: LogEntry): number {
  let hash = Math.imul(previous ^ entry.term, 0x01000193);
  for (let i = 0; i < entry.command.length; i++) hash = Math.imul(hash ^ entry.command.charCodeAt(i), 0x01000193);
  return Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) | 0;
}

export class InvariantChecker {
  private readonly records = new Map<NodeId, NodeRecord>();
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** `${index}/${term}` -> the hash of the log prefix that holds that entry. */
  private readonly prefixOfEntry = new Map<string, { hash: number; node: NodeId }>();
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly appliedAt = new Map<number, { entry: LogEntry; node: NodeId }>();

  /**
   * Everything a node may have changed in one step. `log` is the world's
   * copy of the node's log after the step.
   */
  afterStep(step: NodeStep, log: readonly LogEntry[]): void {
    const node = step.node;
    const time = step.time;
    const view = step.after;
    let record = this.records.get(node);
    if (step.input.kind === "boot" || record === undefined) {
      // A node (re)boots: its volatile state starts over, its saved state carries on.
      // Its role starts as follower: a node that boots claiming to lead has become leader, and is checked as one.
      record = { role: "follower", term: view.currentTerm, commitIndex: 0, prefixHash: [], lastApplied: 0, log };
      this.records.set(node, record);
    }
    record.log = log;

    // Apply in order, exactly once; and nobody applies something else at an index.
    const applied: number[] = [];
    for (const effect of step.effects) {
      if (effect.kind !== "apply") continue;
      const index = effect.index;
      if (index !== record.lastApplied + 1) {
        throw new InvariantViolation(
          "Apply in order, exactly once",
          index <= record.lastApplied
            ? `node ${node} applied index ${index} again (it had already applied up to ${record.lastApplied}).`
            : `node ${node} applied index ${index} but had only applied up to ${record.lastApplied}; index ${record.lastApplied + 1} was skipped.`,
          time,
        );
      }
      record.lastApplied = index;
      applied.push(index);
      const earlier = this.appliedAt.get(index);
      if (earlier && !sameEntry(earlier.entry, effect.entry)) {
        throw new InvariantViolation(
          "State Machine Safety",
          `node ${node} applied ${showEntry(effect.entry)} at index ${index}, but node ${earlier.node} had applied ${showEntry(earlier.entry)} there.`,
          time,
        );
      }
      if (!earlier) this.appliedAt.set(index, { entry: effect.entry, node });
    }

    // Terms only grow.
    if (view.currentTerm < record.term) {
      throw new InvariantViolation("Terms only grow", `node ${node} went from term ${record.term} back to term ${view.currentTerm}.`, time);
    }

    // Election Safety.
    const becameLeader = view.role === "leader" && (record.role !== "leader" || record.term !== view.currentTerm);
    if (becameLeader) {
      const other = this.leaderOfTerm.get(view.currentTerm);
      if (other !== undefined && other !== node) {
        throw new InvariantViolation("Election Safety", `nodes ${other} and ${node} were both leader in term ${view.currentTerm}.`, time);
      }
      this.leaderOfTerm.set(view.currentTerm, node);
    }

    // Log changes: Leader Append-Only and Log Matching.
    const change = step.log;
    if (change !== undefined) {
      const firstChange = change.from - 1;
      const wasSameLeader = record.role === "leader" && view.role === "leader" && record.term === view.currentTerm;
      if (wasSameLeader && firstChange < change.oldLength) {
        const index = change.from;
        const replaced = change.removed[0]!;
        throw new InvariantViolation(
          "Leader Append-Only",
          firstChange < log.length
            ? `leader ${node} (term ${view.currentTerm}) replaced its entry at index ${index}: ${showEntry(replaced)} became ${showEntry(log[firstChange]!)}.`
            : `leader ${node} (term ${view.currentTerm}) deleted its entries from index ${index} on (its log shrank from ${change.oldLength} to ${log.length}).`,
          time,
        );
      }
      record.prefixHash.length = Math.min(record.prefixHash.length, firstChange);
      let hash = firstChange === 0 ? 0 : record.prefixHash[firstChange - 1]!;
      for (let i = firstChange; i < log.length; i++) {
        const entry = log[i]!;
        hash = hashStep(hash, entry);
        record.prefixHash.push(hash);
        const key = `${i + 1}/${entry.term}`;
        const known = this.prefixOfEntry.get(key);
        if (known === undefined) this.prefixOfEntry.set(key, { hash, node });
        else if (known.hash !== hash) {
          throw new InvariantViolation(
            "Log Matching",
            `node ${node} and node ${known.node} both hold an entry at index ${i + 1} with term ${entry.term}, but their logs differ at or before that index (node ${node} holds ${showEntry(entry)} there).`,
            time,
          );
        }
      }
    }

    // Commits only grow, and what is committed is recorded once.
    if (view.commitIndex < record.commitIndex) {
      throw new InvariantViolation("Commits only grow", `node ${node} moved commitIndex back from ${record.commitIndex} to ${view.commitIndex}.`, time);
    }
    const newlyCommitted: number[] = [];
    if (view.commitIndex > record.commitIndex) {
      if (view.commitIndex > log.length) {
        throw new InvariantViolation("Commits only grow", `node ${node} set commitIndex to ${view.commitIndex} but its log has only ${log.length} entries.`, time);
      }
      for (let index = record.commitIndex + 1; index <= view.commitIndex; index++) {
        const entry = log[index - 1]!;
        const known = this.committed.get(index);
        if (known && !sameEntry(known.entry, entry)) {
          throw new InvariantViolation(
            "State Machine Safety",
            `node ${node} committed ${showEntry(entry)} at index ${index}, but node ${known.seenBy} had committed ${showEntry(known.entry)} there.`,
            time,
          );
        }
        if (!known) {
          this.committed.set(index, { entry, committedInTerm: view.currentTerm, seenBy: node });
          newlyCommitted.push(index);
        }
      }
      record.commitIndex = view.commitIndex;
    }

    // Applied entries must be committed and match this node's own log.
    for (const index of applied) {
      if (index > view.commitIndex) {
        throw new InvariantViolation(
          "State Machine Safety",
          `node ${node} applied index ${index} while its commitIndex was ${view.commitIndex}: only committed entries may be applied.`,
          time,
        );
      }
      const own = log[index - 1];
      const appliedEntry = this.appliedAt.get(index);
      if (own && appliedEntry && appliedEntry.node === node && !sameEntry(own, appliedEntry.entry)) {
        throw new InvariantViolation(
          "State Machine Safety",
          `node ${node} applied ${showEntry(appliedEntry.entry)} at index ${index}, but its own log holds ${showEntry(own)} there.`,
          time,
        );
      }
    }

    record.role = view.role;
    record.term = view.currentTerm;

    // A follower that says yes to AppendEntries must really match.
    if (step.input.kind === "deliver" && step.input.message.type === "AppendEntries") {
      const request = step.input.message;
      const leader = step.input.from;
      for (const effect of step.effects) {
        const sent = sentTo(effect);
        if (sent !== undefined && sent.to === leader && sent.message.type === "AppendEntriesReply" && sent.message.success) {
          this.successfulAppend(node, request, sent.message, log, time);
        }
      }
    }

    // Leader Completeness: check a new leader against everything committed,
    // and every leader whenever something new is committed.
    if (becameLeader) this.checkLeaderCompleteness(node, record, this.committed.keys(), time);
    if (newlyCommitted.length > 0) {
      for (const [other, otherRecord] of this.records) {
        if (otherRecord.role === "leader") this.checkLeaderCompleteness(other, otherRecord, newlyCommitted, time);
      }
    }
  }

  /**
   * A follower answered an AppendEntries with success: its log (as it is
   * after handling the request) must hold the entry at prevLogIndex with
   * prevLogTerm and every entry sent, and the reply must vouch for exactly
   * prevLogIndex + entries.length. Checked here, at the follower, so a
   * follower that says yes too easily is caught where the mistake is,
   * not later at the leader.
   */
  private successfulAppend(node: NodeId, request: AppendEntries, reply: AppendEntriesReply, log: readonly LogEntry[], time: number): void {
    const fail = (detail: string): never => {
      throw new InvariantViolation("A successful AppendEntries leaves the logs matching", `node ${node} answered success to AppendEntries(prevLogIndex ${request.prevLogIndex}, prevLogTerm ${request.prevLogTerm}, ${request.entries.length} entries) from ${request.leaderId}, but ${detail}`, time);
    };
    const view = { log };
    if (request.prevLogIndex > 0) {
      const prev = entryAt(view, request.prevLogIndex);
      if (!prev) fail(`its log has only ${log.length} entr${log.length === 1 ? "y" : "ies"}, so nothing at index ${request.prevLogIndex} could match.`);
      else if (prev.term !== request.prevLogTerm) fail(`its entry at index ${request.prevLogIndex} has term ${prev.term}, not ${request.prevLogTerm}.`);
    }
    request.entries.forEach((sent, offset) => {
      const index = request.prevLogIndex + 1 + offset;
      const held = entryAt(view, index);
      if (!held || !sameEntry(held, sent)) fail(`afterwards its log holds ${held ? showEntry(held) : "nothing"} at index ${index}, where the leader sent ${showEntry(sent)}.`);
    });
    const expected = request.prevLogIndex + request.entries.length;
    if (reply.matchIndex !== expected) fail(`its reply said matchIndex ${reply.matchIndex}; this request vouches for exactly prevLogIndex + entries = ${expected}.`);
  }

  /** A crashed node is out of the checks until it boots again. */
  crashed(node: NodeId): void {
    const record = this.records.get(node);
    if (record) record.role = "follower";
  }

  /** Leaders only append while they lead, so each leader needs checking once per committed index. */
  private checkLeaderCompleteness(node: NodeId, record: NodeRecord, indexes: Iterable<number>, time: number): void {
    for (const index of indexes) {
      const committed = this.committed.get(index)!;
      if (committed.committedInTerm >= record.term) continue;
      const held = entryAt(record, index);
      if (!held || !sameEntry(held, committed.entry)) {
        throw new InvariantViolation(
          "Leader Completeness",
          `node ${node} is leader of term ${record.term} but ${held ? `holds ${showEntry(held)}` : "has nothing"} at index ${index}, where ${showEntry(committed.entry)} was committed in term ${committed.committedInTerm} (seen by node ${committed.seenBy}).`,
          time,
        );
      }
    }
  }
}
