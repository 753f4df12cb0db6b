/**
 * The five guarantees of Figure 3, checked after every event of every run.
 *
 * The world hands the checker every node step (a message handled, a timer,
 * a client's command, a boot): the node's state before and after, how
 * its log changed, and what it sent and applied. The checks are
 * incremental: only what changed in a log is looked at again.
 *
 * Besides Figure 3, the rules of Figure 2 whose breach is the usual root
 * cause of a broken guarantee are checked at the node that breaks them,
 * when it breaks them (a failure then names the mistake, not its far
 * consequence): terms and commit indexes never go back; a vote belongs to
 * one term; one vote per term; a follower that says success really
 * matches, and keeps what it acknowledged; a leader commits only what a
 * majority acknowledged, of its own term, and its matchIndex never claims
 * more than the replies said; entries are applied in order, exactly once.
 */
import type { AppendEntries, AppendEntriesReply, LogEntry, Message, NodeId, PersistentState, Snapshot } from "./contract.ts";
import { entriesFrom, entryAt, lastIndex, sameEntry, savedLog, showLog, snapshotIndex, termAt, type HasLog, type LogChange } from "./log.ts";
import { describeInput, sentTo, type NodeState, type NodeStep } from "./node-host.ts";
import type { WireMessage } from "./messages.ts";

/** "while handling AppendEntries(...) from B" */
function describeStepInput(step: NodeStep): string {
  return `while ${describeInput(step.input)}`;
}

export type Guarantee =
  | "Election Safety"
  | "Leader Append-Only"
  | "Log Matching"
  | "Leader Completeness"
  | "State Machine Safety"
  | "Terms only grow"
  | "Commits only grow"
  | "Commit only entries you hold"
  | "Apply only what is committed"
  | "Apply in order, exactly once"
  | "A successful AppendEntries leaves the logs matching"
  | "A vote belongs to one term"
  | "One vote per term"
  | "A follower keeps what it acknowledged"
  | "Commit only what a majority holds, of your own term"
  | "matchIndex only from replies"
  | "Restart from what you saved"
  | "Save before you answer"
  | "Save before you stand"
  | "Save before you acknowledge"
  | "A refusal's hint is honest"
  | "A snapshot holds only what is applied"
  | "A save keeps what is committed"
  | "A snapshot discards only what it replaces";

/** The rules a single node breaks on its own (the rest need two nodes to disagree). */
export const NODE_RULES: ReadonlySet<Guarantee> = new Set<Guarantee>([
  "A snapshot holds only what is applied",
  "A save keeps what is committed",
  "A snapshot discards only what it replaces",
  "Terms only grow",
  "Commits only grow",
  "Commit only entries you hold",
  "Apply only what is committed",
  "Apply in order, exactly once",
  "A successful AppendEntries leaves the logs matching",
  "A vote belongs to one term",
  "One vote per term",
  "A follower keeps what it acknowledged",
  "Commit only what a majority holds, of your own term",
  "matchIndex only from replies",
  "Restart from what you saved",
  "Save before you answer",
  "Save before you stand",
  "Save before you acknowledge",
  "A refusal's hint is honest",
]);

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
  "Commit only entries you hold":
    "AppendEntries receiver: 5. If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry) (Figure 2); a leader's N is an index of its own log (Figure 2, Leaders). commitIndex never runs past the end of the node's log: it would commit entries the node does not have.",
  "Apply only what is committed":
    "All Servers: if commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state machine (Figure 2). Only entries up to commitIndex are applied: an entry applied before it is committed may still be replaced.",
  "Apply in order, exactly once":
    "if commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state machine (Figure 2, Rules for Servers).",
  "A successful AppendEntries leaves the logs matching":
    "AppendEntries receiver: 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm (Figure 2). So a reply of success says the follower's log now holds that entry and every entry sent after it, and its matchIndex is prevLogIndex + the number of entries sent (world/contract.ts).",
  "A vote belongs to one term":
    "votedFor is the candidate that received the vote in the current term, or null if none (Figure 2, State). On moving to a newer term (All Servers: if RPC request or response contains term T > currentTerm: set currentTerm = T), the vote of the old term is gone.",
  "One vote per term": "each server will vote for at most one candidate in a given term, on a first-come-first-served basis (§5.2); the vote it grants is the one it remembers in votedFor (Figure 2).",
  "A follower keeps what it acknowledged":
    "AppendEntries receiver: 3. If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it (Figure 2). A leader never sends an entry that conflicts with one a follower already acknowledged in its term, so a follower that loses acknowledged entries in the same term truncated without a conflict.",
  "Commit only what a majority holds, of your own term":
    "Leaders: if there exists an N such that N > commitIndex, a majority of matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N (Figure 2, §5.4.2). matchIndex[i] comes from the followers' replies, so a majority means a majority of replies (counting the leader itself).",
  "matchIndex only from replies":
    "matchIndex[i]: index of highest log entry known to be replicated on server i (Figure 2, State). Known means a follower said so: a leader raises matchIndex only from a successful reply of its own term, to the index that reply vouches for.",
  "Save before you answer":
    "Persistent state on all servers (updated on stable storage before responding to RPCs): currentTerm, votedFor, log[] (Figure 2, State); each server persists its current term and vote to prevent it from voting twice in the same term or replacing log entries from a newer leader with those from a deposed leader (thesis §3.8). A reply carries its sender's term, and a granted vote is a promise for that whole term: both must be on disk when the reply leaves, because a crash may come right after any send.",
  "Save before you stand":
    "On conversion to candidate: increment currentTerm, vote for self (Figure 2, Candidates). A RequestVote is a request, not a reply, but it carries the new term and is the candidate's vote for itself: this workbook asks for both on disk before it leaves (and for a leader's term before its AppendEntries), as etcd's raft saves before it sends, a rule stricter than Figure 2's; a candidate that crashed right after asking could otherwise come back in an old term and vote for another candidate in the term it stood in (thesis §3.8: term and vote are persisted to prevent voting twice in the same term).",
  "Save before you acknowledge":
    "Each server persists new log entries before they are counted towards the entries' commitment; this prevents committed entries from being lost or 'uncommitted' when servers restart (thesis §3.8). A follower's successful AppendEntries reply is counted: the entries it vouches for, in place of any they replaced, must be on its disk when it leaves. A leader counts its own copy: here it must be on its disk before the leader commits it (raises commitIndex, applies it, or sends it as leaderCommit), even where the thesis (§10.2.1) would let followers alone make the majority.",
  "A refusal's hint is honest":
    "AppendEntries receiver: 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm (Figure 2). When rejecting, the follower can include the term of the conflicting entry and the first index it stores for that term (§5.3): conflictTerm is the term of its entry at prevLogIndex and conflictIndex the first index of that term in its log; a log too short to hold prevLogIndex gives no conflictTerm, and conflictIndex just past its last entry (the Students' Guide to Raft's rule and names).",
  "A snapshot discards only what it replaces":
    "The entire current system state is written to a snapshot, then the entire log up to that point is discarded (§7): the entries up through the last included index go, every entry after it stays as it was, and indexes go on counting from 1, so the log array then begins with the entry at lastIncludedIndex + 1 and the last index does not move.",
  "A save keeps what is committed":
    "Each server persists new log entries before they are counted towards the entries' commitment, so that committed entries are never lost when servers restart (thesis §3.8); a server writes its snapshot before it discards the log entries the snapshot replaces (§7, thesis §5.1). So every save holds, in its log or its snapshot, every entry the server knows committed: a shortened log saved without its snapshot would lose them in a crash before the next save.",
  "A snapshot holds only what is applied":
    "a snapshot replaces the entries up through its last included index with the state machine as it stands after applying them (§7): a server snapshots only committed, applied entries, its lastIncludedTerm is the term of the entry at lastIncludedIndex, and every server's snapshot through an index holds the same state.",
  "Restart from what you saved":
    "Persistent state on all servers: currentTerm, votedFor, log[] (Figure 2, State): a server that restarts comes back with exactly what it saved. commitIndex and lastApplied are volatile state (Figure 2): they start again at 0, and the state machine is rebuilt by applying the log again as the leader says it is committed. With a snapshot (Chapter 9), both start at its last included index, and the state machine at the snapshot.",
};

export class InvariantViolation extends Error {
  constructor(
    readonly guarantee: Guarantee,
    readonly detail: string,
    readonly time: number,
  ) {
    super(`${guarantee}: ${GUARANTEE_TEXT[guarantee]}\nInstead:     at ${time} ms, ${detail}`);
    // The five guarantees of Figure 3, and the node-level rules whose
    // breach usually lies behind them (named for what they are).
    this.name = NODE_RULES.has(guarantee) ? "Rule broken" : "Guarantee broken";
    // Where in the checker this was noticed helps nobody; the trace does.
    this.stack = `${this.name}: ${this.message}`;
  }
}

interface NodeRecord {
  /** The candidate this node granted its vote to, per term (in this life of the node). */
  grants: Map<number, NodeId>;
  /** What this node acknowledged to its leader in its current term: up to `index`, the prefix with hash `hash`. */
  acknowledged: { term: number; index: number; hash: number } | undefined;
  /** As leader of `term`: for each follower, the highest index its successful replies vouched for. */
  vouched: { term: number; byFollower: Map<NodeId, number> } | undefined;
  role: NodeState["role"];
  term: number;
  commitIndex: number;
  /** prefixHash[i] identifies the whole log up to index hashBase + i + 1. */
  prefixHash: number[];
  /** The snapshot's last index the hashes start after (Chapter 9; 0 without one), and the hash of the log up to it. */
  hashBase: number;
  baseHash: number;
  lastApplied: number;
  /** The world's copy of the node's log (read, never kept beyond a step). */
  log: HasLog;
}

/** The hash of a node's log up to `index`; undefined for an index inside its snapshot. */
function hashAt(record: NodeRecord, index: number): number | undefined {
  if (index === record.hashBase) return record.baseHash;
  return index < record.hashBase ? undefined : record.prefixHash[index - record.hashBase - 1];
}

interface CommittedEntry {
  readonly entry: LogEntry;
  /** The term of the node that first saw it committed: leaders of later terms must hold it. */
  readonly committedInTerm: number;
  readonly seenBy: NodeId;
}

const showEntry = (e: LogEntry): string => `"${e.command}" (term ${e.term})`;

function violated(rule: Guarantee, detail: string, time: number): never {
  throw new InvariantViolation(rule, detail, time);
}

const CRASH_NOW = "had it crashed right after sending";

/** An empty log, for a node with nothing on its disk. */
const NO_LOG: HasLog = Object.freeze({ log: Object.freeze([]) as readonly LogEntry[] });

/** "its disk says votedFor B in term 3", or that nothing is saved yet. */
function diskSays(disk: PersistentState | null, what: "vote" | "term"): string {
  if (disk === null) return "its disk is empty (nothing saved yet)";
  return what === "vote" ? `its disk says votedFor ${disk.votedFor ?? "null"} in term ${disk.currentTerm}` : `its disk says term ${disk.currentTerm}`;
}

/**
 * What is wrong with a disk that should hold `expected` at `index` (or an
 * entry of `term` there, for a prevLogIndex), or undefined if it does.
 * Up to the snapshot on the disk (Chapter 9) everything is saved; at its
 * index, the snapshot's term stands for the entry's.
 */
function missingOnDisk(saved: HasLog, index: number, expected: LogEntry | undefined, term: number): string | undefined {
  const base = snapshotIndex(saved);
  if (index < base || (index === base && (expected !== undefined || termAt(saved, base) === term))) return undefined;
  const held = entryAt(saved, index);
  if (held === undefined) return `its disk holds only ${lastIndex(saved)} entr${lastIndex(saved) === 1 ? "y" : "ies"}, nothing at index ${index}`;
  if (expected !== undefined ? !sameEntry(held, expected) : held.term !== term) return `its disk holds ${showEntry(held)} at index ${index}`;
  return undefined;
}

function hashStep(previous: number, entry: LogEntry): number {
  let hash = Math.imul(previous ^ entry.term, 0x01000193);
  for (let i = 0; i < entry.command.length; i++) hash = Math.imul(hash ^ entry.command.charCodeAt(i), 0x01000193);
  return Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) | 0;
}

/**
 * The hash of the log prefix that ends with the entry of `term` at one
 * index, and the node that first held it. Most indexes only ever hold
 * entries of one term: that one is kept in place, any other in `others`.
 */
interface PrefixAt {
  readonly term: number;
  readonly hash: number;
  readonly node: NodeId;
  others?: Map<number, { readonly hash: number; readonly node: NodeId }>;
}

/** The prefix hash known for (index, term), if any. */
function prefixFor(at: PrefixAt | undefined, term: number): { readonly hash: number; readonly node: NodeId } | undefined {
  if (at === undefined) return undefined;
  return at.term === term ? at : at.others?.get(term);
}

/** What the checker keeps of each node across its restarts, when persistence is checked. */
interface DurableRecord {
  /** What is on its disk, as the world saw it written. */
  disk: PersistentState | null;
  /** Who it voted for in each term, as its messages said (a RequestVote is a vote for itself), in every life. */
  votes: Map<number, { readonly candidate: NodeId; readonly incarnation: number }>;
}

export class InvariantChecker {
  /** More than half of the cluster. */
  private readonly majority: number;
  /** Set when persistence is checked (Chapter 6 on): each node's disk and votes, across restarts. */
  private readonly durable: Map<NodeId, DurableRecord> | undefined;

  constructor(
    readonly clusterSize: number,
    persistence?: { readonly saved: Readonly<Record<NodeId, PersistentState>> },
    /** The nodes a test plays itself: what they say was committed is the test's word (a scripted leader's snapshot, say). */
    private readonly scripted: ReadonlySet<NodeId> = new Set(),
  ) {
    this.majority = Math.floor(clusterSize / 2) + 1;
    if (persistence !== undefined) {
      this.durable = new Map();
      for (const [node, state] of Object.entries(persistence.saved)) this.durable.set(node, { disk: state, votes: new Map() });
    }
  }

  private readonly records = new Map<NodeId, NodeRecord>();
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** By index, then term: the hash of the log prefix that holds that entry (an array: indexes are dense, and this is read for every entry every node holds). */
  private readonly prefixOfEntry: (PrefixAt | undefined)[] = [];
  /** What was committed at each index (an array: indexes are dense, and this is read for every commit). */
  private readonly committed: (CommittedEntry | undefined)[] = [];
  /** The highest index anyone has committed. */
  private maxCommitted = 0;
  /** A snapshot's state through an index, as the first node to make or load it had it (Chapter 9): the same for everyone. */
  private readonly snapshotStates = new Map<number, { readonly state: string; readonly node: NodeId }>();
  /** What was applied at each index, and by whom first (an array, as committed). */
  private readonly appliedAt: ({ entry: LogEntry; node: NodeId } | undefined)[] = [];

  /**
   * Everything a node may have changed in one step. `log` is the world's
   * copy of the node's log after the step.
   */
  afterStep(step: NodeStep, log: HasLog): void {
    const node = step.node;
    const time = step.time;
    const view = step.after;
    let record = this.records.get(node);
    if (step.input.kind === "boot" || record === undefined) {
      // A node (re)boots: its volatile state starts over, its saved state carries on.
      // Its role starts as follower: a node that boots claiming to lead has become leader, and is checked as one.
      record = { role: "follower", term: view.currentTerm, commitIndex: 0, prefixHash: [], hashBase: 0, baseHash: 0, lastApplied: 0, log, grants: new Map(), acknowledged: undefined, vouched: undefined };
      this.records.set(node, record);
    }
    record.log = log;
    if (this.durable !== undefined) this.checkPersistence(step, log, this.durable, record.commitIndex);

    // Apply in order, exactly once; and nobody applies something else at an index.
    this.checkApplies(step, record);
    const firstApplied = this.firstAppliedInStep;
    const lastAppliedHere = this.lastAppliedInStep;

    // Terms only grow.
    if (view.currentTerm < record.term) {
      throw new InvariantViolation("Terms only grow", `node ${node} went from term ${record.term} back to term ${view.currentTerm}.`, time);
    }

    // A vote belongs to one term, and one vote per term.
    this.checkVotes(step, record);

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
      // Chapter 9: taking a snapshot moves where the log begins, and nothing else.
      if (step.input.kind === "snapshot" && (change.newLength !== change.oldLength || change.from <= change.newLength)) this.snapshotCutWrong(node, change, log, step);
      const firstChange = change.from - 1;
      const wasSameLeader = record.role === "leader" && view.role === "leader" && record.term === view.currentTerm;
      if (wasSameLeader && firstChange < change.oldLength && change.removed.length > 0) {
        const index = change.from;
        const replaced = change.removed[0]!;
        throw new InvariantViolation(
          "Leader Append-Only",
          (index <= lastIndex(log)
            ? `leader ${node} (term ${view.currentTerm}) replaced its entry at index ${index}: ${showEntry(replaced)} became ${showEntry(entryAt(log, index)!)}.`
            : `leader ${node} (term ${view.currentTerm}) deleted its entries from index ${index} on (its log shrank from ${change.oldLength} to ${lastIndex(log)}).`),
          time,
        );
      }
      let start = firstChange;
      if (change.newSnapshotIndex !== change.oldSnapshotIndex || change.newSnapshotIndex !== record.hashBase) {
        // The snapshot moved (Chapter 9): hash again everything after it, from the hash of the log up to it.
        start = this.snapshotMoved(node, record, step);
      }
      record.prefixHash.length = Math.min(record.prefixHash.length, start - record.hashBase);
      let hash = hashAt(record, start)!;
      let mismatch: { index: number; other: NodeId; entry: LogEntry } | undefined;
      const last = lastIndex(log);
      for (let i = start; i < last; i++) {
        // Raft index i + 1; prefixHash[i - hashBase] identifies the log up to it.
        const entry = entryAt(log, i + 1)!;
        hash = hashStep(hash, entry);
        record.prefixHash.push(hash);
        const at = this.prefixOfEntry[i + 1];
        const known = prefixFor(at, entry.term);
        if (known === undefined) {
          if (at === undefined) this.prefixOfEntry[i + 1] = { term: entry.term, hash, node };
          else (at.others ??= new Map()).set(entry.term, { hash, node });
        } else if (known.hash !== hash && mismatch === undefined) mismatch = { index: i + 1, other: known.node, entry };
      }
      // The node's own mistake first: entries it acknowledged in this term, gone.
      const acked = record.acknowledged;
      if (acked !== undefined && acked.term === view.currentTerm && change.from <= acked.index && acked.index >= record.hashBase && hashAt(record, acked.index) !== acked.hash) {
        throw new InvariantViolation(
          "A follower keeps what it acknowledged",
          `node ${node} acknowledged its log up to index ${acked.index} in term ${acked.term}, then (still in term ${acked.term}, ${describeStepInput(step)}) its log went from ${change.oldLength} to ${change.newLength} entries, changed from index ${change.from}: it lost entries it had acknowledged.`,
          time,
        );
      }
      if (mismatch !== undefined) {
        throw new InvariantViolation(
          "Log Matching",
          `node ${node} and node ${mismatch.other} both hold an entry at index ${mismatch.index} with term ${mismatch.entry.term}, but their logs differ at or before that index (node ${node} holds ${showEntry(mismatch.entry)} there).`,
          time,
        );
      }
    }
    // A term change ends what was acknowledged to the old term's leader.
    if (record.acknowledged !== undefined && record.acknowledged.term !== view.currentTerm) record.acknowledged = undefined;

    // A leader commits only what a majority vouched for, of its own term.
    this.checkLeaderCommit(step, record, log);

    // Commits only grow, only over entries the node holds, and what is committed is recorded once.
    if (view.commitIndex < record.commitIndex) {
      throw new InvariantViolation("Commits only grow", `node ${node} moved commitIndex back from ${record.commitIndex} to ${view.commitIndex}.`, time);
    }
    // Newly committed indexes: those past what anyone had committed, a range too.
    let newlyFrom = 0;
    let newlyTo = -1;
    if (view.commitIndex > record.commitIndex) {
      if (view.commitIndex > lastIndex(log)) {
        throw new InvariantViolation("Commit only entries you hold", `node ${node} set commitIndex to ${view.commitIndex} but its log has only ${lastIndex(log)} entries.`, time);
      }
      const base = snapshotIndex(log);
      for (let index = record.commitIndex + 1; index <= view.commitIndex; index++) {
        const entry = entryAt(log, index);
        const known = this.committed[index];
        // Inside its snapshot (Chapter 9): checked to be committed when the snapshot moved there.
        if (entry === undefined) {
          if (known === undefined && index <= base && this.maxCommitted > 0) {
            throw new InvariantViolation("Commit only entries you hold", `node ${node} set commitIndex to ${view.commitIndex}, but index ${index} lies inside its snapshot (through ${base}) and nobody has committed it.`, time);
          }
          continue;
        }
        if (known && !sameEntry(known.entry, entry)) {
          throw new InvariantViolation(
            "State Machine Safety",
            `node ${node} committed ${showEntry(entry)} at index ${index}, but node ${known.seenBy} had committed ${showEntry(known.entry)} there.`,
            time,
          );
        }
        if (!known) {
          this.committed[index] = { entry, committedInTerm: view.currentTerm, seenBy: node };
          if (index > this.maxCommitted) this.maxCommitted = index;
          if (newlyFrom === 0) newlyFrom = index;
          newlyTo = index;
        }
      }
      record.commitIndex = view.commitIndex;
    }

    // Applied entries must be committed and match this node's own log.
    for (let index = firstApplied; index <= lastAppliedHere; index++) {
      if (index > view.commitIndex) {
        throw new InvariantViolation(
          "Apply only what is committed",
          `node ${node} applied index ${index} while its commitIndex was ${view.commitIndex}: only committed entries may be applied.`,
          time,
        );
      }
      const own = entryAt(log, index);
      const appliedEntry = this.appliedAt[index];
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
        if (sent !== undefined && sent.to === leader && sent.message.type === "AppendEntriesReply" && !sent.message.success) {
          if (sent.message.conflictIndex !== undefined || sent.message.conflictTerm !== undefined) this.honestHint(node, request, sent.message, log, time);
          continue;
        }
        if (sent !== undefined && sent.to === leader && sent.message.type === "AppendEntriesReply" && sent.message.success) {
          this.successfulAppend(node, request, sent.message, log, time);
          // Remember what it vouched for, to hold it to it while the term lasts.
          const index = sent.message.matchIndex;
          const term = sent.message.term;
          const before = record.acknowledged;
          if (index > 0 && (before === undefined || before.term !== term || before.index <= index)) {
            const hash = hashAt(record, index);
            if (hash !== undefined) record.acknowledged = { term, index, hash };
          }
        }
      }
    }

    // Leader Completeness: check a new leader against everything committed,
    // and every leader whenever something new is committed.
    if (becameLeader) this.checkLeaderCompleteness(node, record, snapshotIndex(log) + 1, this.maxCommitted, time);
    if (newlyTo >= newlyFrom) {
      for (const [other, otherRecord] of this.records) {
        if (otherRecord.role === "leader") this.checkLeaderCompleteness(other, otherRecord, newlyFrom, newlyTo, time);
      }
    }
  }

  /**
   * Apply in order, exactly once, and nobody applies something else at an
   * index; a snapshot loaded or saved is checked on the way (Chapter 9).
   * Leaves the range of indexes applied in this step in firstAppliedInStep
   * and lastAppliedInStep (fields, not a returned pair: this runs for every step).
   */
  private checkApplies(step: NodeStep, record: NodeRecord): void {
    const node = step.node;
    const time = step.time;
    // The indexes applied in this step, firstApplied to lastAppliedHere: in order, so a range (nothing allocated per step).
    let firstApplied = 0;
    let lastAppliedHere = -1;
    for (const effect of step.effects) {
      if (effect.kind === "apply-snapshot") {
        this.appliedSnapshot(node, record, effect.snapshot, step);
        continue;
      }
      if (effect.kind === "save" && effect.state.snapshot !== undefined) {
        // Chapter 9: a snapshot saved holds applied entries only, and the same state as everyone's through that index.
        const snapshot = effect.state.snapshot;
        if (snapshot.lastIncludedIndex > record.lastApplied) {
          throw new InvariantViolation(
            "A snapshot holds only what is applied",
            `node ${node} saved a snapshot through index ${snapshot.lastIncludedIndex} (${describeStepInput(step)}), but its state machine had applied only up to ${record.lastApplied}.`,
            time,
          );
        }
        this.sameSnapshotState(node, snapshot, step);
        continue;
      }
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
      if (firstApplied === 0) firstApplied = index;
      lastAppliedHere = index;
      const earlier = this.appliedAt[index];
      if (earlier && !sameEntry(earlier.entry, effect.entry)) {
        throw new InvariantViolation(
          "State Machine Safety",
          `node ${node} applied ${showEntry(effect.entry)} at index ${index}, but node ${earlier.node} had applied ${showEntry(earlier.entry)} there.`,
          time,
        );
      }
      if (!earlier) this.appliedAt[index] = { entry: effect.entry, node };
    }

    this.firstAppliedInStep = firstApplied;
    this.lastAppliedInStep = lastAppliedHere;
  }

  private firstAppliedInStep = 0;
  private lastAppliedInStep = -1;

  /**
   * A step whose node code failed (threw, or broke the contract) still did
   * what it did before failing: when what it applied already breaks the
   * order (a state machine taken back by an old snapshot, then an entry
   * applied that the node no longer holds), that is the cause to report,
   * not the error it led to.
   */
  afterFailedStep(step: NodeStep): void {
    const record = this.records.get(step.node);
    if (record === undefined || step.input.kind === "boot") return;
    this.checkApplies(step, record);
  }

  /** Chapter 9: a snapshot taken through index N changed the log after N, or its last index. */
  private snapshotCutWrong(node: NodeId, change: LogChange, log: HasLog, step: NodeStep): never {
    const base = snapshotIndex(log);
    const moved = change.newLength - change.oldLength;
    const how =
      moved > 0
        ? `its last index went from ${change.oldLength} to ${change.newLength}: its log array begins ${moved} entr${moved === 1 ? "y" : "ies"} too early, with ${log.log[0] === undefined ? "nothing" : showEntry(log.log[0])} at log[0], which the world reads as index ${base + 1}${this.committed[base] !== undefined && log.log[0] !== undefined && sameEntry(log.log[0], this.committed[base]!.entry) ? `, but it is the entry at index ${base}, the one the snapshot replaces` : ""}`
        : moved < 0
          ? `its last index went from ${change.oldLength} to ${change.newLength}: it discarded ${-moved} entr${moved === -1 ? "y" : "ies"} after index ${base} as well`
          : `its entries after index ${base} changed from index ${change.from} on`;
    violated(
      "A snapshot discards only what it replaces",
      `node ${node}, ${describeStepInput(step)}: ${how}. The log array begins with the entry at index lastIncludedIndex + 1: cutting it keeps log.slice(index - lastIncludedIndex), counted before lastIncludedIndex moves.`,
      step.time,
    );
  }

  /**
   * Chapter 9: a node's log now begins after a snapshot through another
   * index. What the snapshot replaces must be committed, with the term it
   * says, and the hash of the log up to it is everyone's hash of that
   * committed prefix. Returns where hashing starts again (the snapshot's
   * index: everything after it is hashed anew, once per snapshot).
   */
  private snapshotMoved(node: NodeId, record: NodeRecord, step: NodeStep): number {
    const log = record.log;
    const base = snapshotIndex(log);
    const term = log.lastIncludedTerm ?? 0;
    if (base > 0) {
      const known = this.committed[base];
      // A snapshot a test put on a disk before the run, or a scripted leader sent, can be of nothing the world saw committed.
      const input = step.input;
      const fromTest = known === undefined && this.maxCommitted < base && (input.kind === "boot" || (input.kind === "deliver" && this.scripted.has(input.from)));
      if (!fromTest) {
        if (known === undefined) {
          throw new InvariantViolation(
            "A snapshot holds only what is applied",
            `node ${node}'s log now begins after a snapshot through index ${base} (${describeStepInput(step)}), but ${this.maxCommitted === 0 ? "nothing is committed yet" : `only up to index ${this.maxCommitted} is committed`}: a snapshot stands for entries already applied.`,
            step.time,
          );
        }
        if (known.entry.term !== term) {
          throw new InvariantViolation(
            "A snapshot holds only what is applied",
            `node ${node}'s snapshot through index ${base} says lastIncludedTerm ${term} (${describeStepInput(step)}), but the entry committed at index ${base} is ${showEntry(known.entry)}.`,
            step.time,
          );
        }
      }
    }
    record.hashBase = base;
    record.prefixHash = [];
    record.baseHash = base === 0 ? 0 : (prefixFor(this.prefixOfEntry[base], term)?.hash ?? hashStep(0, { term, command: `snapshot through ${base}` }));
    return base;
  }

  /**
   * Chapter 9: a node's state machine was loaded from a snapshot. It only
   * moves forward, stands where the committed log says, and holds what
   * every other snapshot through that index holds.
   */
  private appliedSnapshot(node: NodeId, record: NodeRecord, snapshot: Snapshot, step: NodeStep): void {
    const index = snapshot.lastIncludedIndex;
    if (index < record.lastApplied) {
      throw new InvariantViolation(
        "Apply in order, exactly once",
        `node ${node} loaded its state machine from a snapshot through index ${index} (${describeStepInput(step)}), but it had already applied up to ${record.lastApplied}: its state machine went back in time, and the entries after ${index} would be applied a second time.`,
        step.time,
      );
    }
    const known = this.committed[index];
    if (known !== undefined && known.entry.term !== snapshot.lastIncludedTerm) {
      throw new InvariantViolation(
        "A snapshot holds only what is applied",
        `node ${node} loaded a snapshot through index ${index} with lastIncludedTerm ${snapshot.lastIncludedTerm} (${describeStepInput(step)}), but the entry committed at index ${index} is ${showEntry(known.entry)}.`,
        step.time,
      );
    }
    this.sameSnapshotState(node, snapshot, step);
    record.lastApplied = index;
  }

  /** Every snapshot through one index holds one state: the state machines are deterministic. */
  private sameSnapshotState(node: NodeId, snapshot: Snapshot, step: NodeStep): void {
    const index = snapshot.lastIncludedIndex;
    const earlier = this.snapshotStates.get(index);
    if (earlier === undefined) {
      this.snapshotStates.set(index, { state: snapshot.state, node });
      return;
    }
    if (earlier.state === snapshot.state) return;
    const cut = (text: string): string => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
    throw new InvariantViolation(
      "A snapshot holds only what is applied",
      `node ${node}'s snapshot through index ${index} (${describeStepInput(step)}) holds the state ${cut(snapshot.state)}, but node ${earlier.node}'s snapshot through index ${index} holds ${cut(earlier.state)}: applying the same entries gives the same state.`,
      step.time,
    );
  }


  /**
   * A vote belongs to one term; one vote per term; the vote granted is the
   * one remembered. Checked from what the node sent (its replies) and its
   * state after the step.
   */
  private checkVotes(step: NodeStep, record: NodeRecord): void {
    const node = step.node;
    const before = step.before;
    const after = step.after;
    let grantedTo: NodeId | undefined;
    for (const effect of step.effects) {
      const sent = sentTo(effect);
      if (sent === undefined || sent.message.type !== "RequestVoteReply" || !sent.message.voteGranted) continue;
      const term = sent.message.term;
      if (term === after.currentTerm) grantedTo = sent.to;
      const earlier = record.grants.get(term);
      if (earlier !== undefined && earlier !== sent.to) {
        throw new InvariantViolation("One vote per term", `node ${node} granted its vote in term ${term} to ${earlier}, and then to ${sent.to} as well.`, step.time);
      }
      record.grants.set(term, sent.to);
      if (term === after.currentTerm && after.votedFor !== sent.to && !step.interrupted) {
        throw new InvariantViolation("One vote per term", `node ${node} granted ${sent.to} its vote in term ${term} but remembers votedFor ${JSON.stringify(after.votedFor)}: the next candidate of term ${term} could get its vote too.`, step.time);
      }
    }
    // A node that crashed mid-step may have voted in memory without its reply leaving: that vote was never cast.
    if (step.interrupted) return;
    if (before === null || after.currentTerm <= before.currentTerm || after.votedFor === null) return;
    // A newer term: any vote now must be one cast in it, during this step.
    const stoodItself = after.votedFor === node && after.role !== "follower";
    if (stoodItself || after.votedFor === grantedTo) return;
    throw new InvariantViolation(
      "A vote belongs to one term",
      after.votedFor === before.votedFor
        ? `node ${node} moved from term ${before.currentTerm} to term ${after.currentTerm} (${describeStepInput(step)}) but kept votedFor ${after.votedFor} from term ${before.currentTerm}: in term ${after.currentTerm} it has voted for nobody yet.`
        : `node ${node} moved to term ${after.currentTerm} (${describeStepInput(step)}) with votedFor ${after.votedFor}, but it granted nobody a vote in term ${after.currentTerm}.`,
      step.time,
    );
  }

  /**
   * A leader raises commitIndex only to an entry of its own term that a
   * majority acknowledged (its own copy included), and its matchIndex (when
   * its view shows it) never claims more than the replies vouched for.
   */
  private checkLeaderCommit(step: NodeStep, record: NodeRecord, log: HasLog): void {
    const node = step.node;
    const after = step.after;
    if (after.role !== "leader") {
      record.vouched = undefined;
      return;
    }
    if (record.vouched === undefined || record.vouched.term !== after.currentTerm) record.vouched = { term: after.currentTerm, byFollower: new Map() };
    const vouched = record.vouched.byFollower;
    const input = step.input;
    if (input.kind === "deliver" && input.message.type === "AppendEntriesReply" && input.message.success && input.message.term === after.currentTerm) {
      vouched.set(input.from, Math.max(vouched.get(input.from) ?? 0, input.message.matchIndex));
    }
    // Chapter 9: a follower that installed (or already held) the leader's snapshot vouches for it.
    if (input.kind === "deliver" && input.message.type === "InstallSnapshotReply" && input.message.term === after.currentTerm) {
      vouched.set(input.from, Math.max(vouched.get(input.from) ?? 0, input.message.matchIndex));
    }
    const before = step.before;
    const ledBefore = before !== null && before.role === "leader" && before.currentTerm === after.currentTerm;
    if (ledBefore && after.commitIndex > before.commitIndex) {
      const n = after.commitIndex;
      const term = entryAt(log, n)?.term;
      if (term !== after.currentTerm) {
        throw new InvariantViolation(
          "Commit only what a majority holds, of your own term",
          `leader ${node} of term ${after.currentTerm} set commitIndex to ${n}, an entry of term ${term}: only an entry of the leader's own term is committed by counting copies (Figure 8); older ones are committed with it.`,
          step.time,
        );
      }
      let copies = 1;
      for (const index of vouched.values()) if (index >= n) copies++;
      if (copies < this.majority) {
        const said = [...vouched].map(([f, i]) => `${f} up to ${i}`).join(", ") || "nothing yet";
        throw new InvariantViolation(
          "Commit only what a majority holds, of your own term",
          `leader ${node} of term ${after.currentTerm} set commitIndex to ${n}, but only ${copies} of the ${this.clusterSize} nodes (itself included) are known to hold index ${n}; the successful replies of this term vouched for: ${said}. A majority is ${this.majority}.`,
          step.time,
        );
      }
    }
    const matchIndex = step.matchIndex;
    if (matchIndex !== undefined) {
      for (const follower in matchIndex) {
        const index = matchIndex[follower]!;
        const known = vouched.get(follower) ?? 0;
        if (index > known) {
          throw new InvariantViolation(
            "matchIndex only from replies",
            `leader ${node} of term ${after.currentTerm} says matchIndex[${follower}] = ${index} (${describeStepInput(step)}), but ${follower}'s successful replies in term ${after.currentTerm} vouched for ${known === 0 ? "nothing yet" : `index ${known} at most`}.`,
            step.time,
          );
        }
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
  private successfulAppend(node: NodeId, request: AppendEntries, reply: AppendEntriesReply, view: HasLog, time: number): void {
    // Runs for every acknowledged heartbeat: no closures, nothing allocated unless it fails.
    const prevLogIndex = request.prevLogIndex;
    // Chapter 9: entries up to its snapshot are committed ones; at the snapshot's index its term stands in.
    const base = snapshotIndex(view);
    if (prevLogIndex > 0 && prevLogIndex === base) {
      if (termAt(view, base) !== request.prevLogTerm) this.unmatched(node, request, time, `its snapshot ends at index ${prevLogIndex} with term ${termAt(view, base)}, not ${request.prevLogTerm}.`);
    } else if (prevLogIndex > base) {
      const prev = entryAt(view, prevLogIndex);
      const last = lastIndex(view);
      if (prev === undefined) this.unmatched(node, request, time, `its log has only ${last} entr${last === 1 ? "y" : "ies"}, so nothing at index ${prevLogIndex} could match.`);
      else if (prev.term !== request.prevLogTerm) this.unmatched(node, request, time, `its entry at index ${prevLogIndex} has term ${prev.term}, not ${request.prevLogTerm}.`);
    }
    const entries = request.entries;
    for (let offset = 0; offset < entries.length; offset++) {
      const sent = entries[offset]!;
      const index = prevLogIndex + 1 + offset;
      if (index <= base) continue;
      const held = entryAt(view, index);
      if (!held || !sameEntry(held, sent)) this.unmatched(node, request, time, `afterwards its log holds ${held ? showEntry(held) : "nothing"} at index ${index}, where the leader sent ${showEntry(sent)}.`);
    }
    const expected = prevLogIndex + entries.length;
    if (reply.matchIndex !== expected) this.unmatched(node, request, time, `its reply said matchIndex ${reply.matchIndex}; this request vouches for exactly prevLogIndex + entries = ${expected}.`);
  }

  private unmatched(node: NodeId, request: AppendEntries, time: number, detail: string): never {
    throw new InvariantViolation("A successful AppendEntries leaves the logs matching", `node ${node} answered success to AppendEntries(prevLogIndex ${request.prevLogIndex}, prevLogTerm ${request.prevLogTerm}, ${request.entries.length} entries) from ${request.leaderId}, but ${detail}`, time);
  }


  /**
   * Persistence (Chapter 6 on): a node comes back exactly as it saved
   * itself; everything a message says is on disk when it leaves; one vote
   * per term, in every life; a leader counts its own copy only once saved.
   */
  private checkPersistence(step: NodeStep, log: HasLog, durable: Map<NodeId, DurableRecord>, committedBefore: number): void {
    const node = step.node;
    const time = step.time;
    let mine = durable.get(node);
    if (mine === undefined) {
      mine = { disk: null, votes: new Map() };
      durable.set(node, mine);
    }
    const after = step.after;
    if (step.input.kind === "boot") {
      const disk = mine.disk;
      const term = disk?.currentTerm ?? 0;
      const votedFor = disk?.votedFor ?? null;
      const kept: HasLog = disk === null ? { log: [] } : savedLog(disk);
      const base = snapshotIndex(kept);
      const snapshotText = base === 0 ? "" : ` after a snapshot through ${base} (term ${kept.lastIncludedTerm ?? 0})`;
      const what = disk === null ? "nothing on its disk (term 0, no vote, an empty log)" : `term ${term}, votedFor ${votedFor ?? "null"}, log ${showLog(kept.log)}${snapshotText} on its disk`;
      const wrong: string[] = [];
      // start() may already stand for election (a newer term, its own vote); nothing else changes at boot.
      // Every field that differs from the disk, not only the first.
      if (after.currentTerm < term) wrong.push(`currentTerm ${after.currentTerm}`);
      if (after.currentTerm <= term && after.votedFor !== votedFor) wrong.push(`votedFor ${after.votedFor ?? "null"}`);
      const came = log;
      const cameBase = snapshotIndex(came);
      if (cameBase !== base || termAt(came, cameBase) !== termAt(kept, base)) wrong.push(cameBase === 0 ? "no snapshot" : `a snapshot through ${cameBase} (term ${termAt(came, cameBase)})`);
      let same = lastIndex(came) === lastIndex(kept);
      for (let index = Math.max(base, cameBase) + 1; same && index <= lastIndex(came); index++) same = sameEntry(entryAt(came, index)!, entryAt(kept, index)!);
      if (!same) wrong.push(`log ${showLog(came.log)}`);
      // With a snapshot, what it holds is committed and applied: commitIndex and lastApplied start there (Chapter 9).
      if (after.commitIndex !== base) wrong.push(`commitIndex ${after.commitIndex} (${base === 0 ? "the disk does not say what was committed" : `its snapshot says index ${base} is committed, and no more`})`);
      if (after.lastApplied !== base) wrong.push(`lastApplied ${after.lastApplied} (${base === 0 ? "its state machine starts empty" : `its state machine starts from its snapshot through ${base}`})`);
      else if (base > 0 && !step.effects.some((e) => e.kind === "apply-snapshot" && e.snapshot.lastIncludedIndex === base)) wrong.push(`its state machine not loaded from its snapshot (env.applySnapshot was not called)`);
      if (wrong.length > 0) {
        throw new InvariantViolation(
          "Restart from what you saved",
          `node ${node} ${step.input.restart ? "restarted" : "booted"} with ${what}, but came back with ${wrong.join(", ")}.`,
          time,
        );
      }
    }
    const leading = after.role === "leader";
    for (const effect of step.effects) {
      // A leader's commit is seen when it applies an entry or tells followers its leaderCommit:
      // by then, what it counted as its own copy must be on its disk (not later in the step).
      if (leading && effect.kind === "apply") this.leaderCopyOnDisk(node, after.currentTerm, effect.index, effect.entry, "applied", step, mine);
      if (effect.kind === "save") {
        const before = mine.disk;
        const state = effect.state;
        if (before !== null && state.currentTerm < before.currentTerm) {
          throw new InvariantViolation("Terms only grow", `node ${node} saved term ${state.currentTerm} over term ${before.currentTerm} on its disk (${describeStepInput(step)}): after a crash it would come back in the past.`, time);
        }
        // Whatever it saves still holds everything it knew committed, in its log or its snapshot.
        if (committedBefore > 0) {
          const saved = savedLog(state);
          if (lastIndex(saved) < committedBefore) {
            const base = snapshotIndex(saved);
            violated(
              "A save keeps what is committed",
              `node ${node} had committed up to index ${committedBefore}, then saved ${base === 0 ? "no snapshot" : `a snapshot through ${base}`} and a log of ${state.log.length} entr${state.log.length === 1 ? "y" : "ies"}${base === 0 ? "" : " after it"} (${describeStepInput(step)}): its disk now ends at index ${lastIndex(saved)}, and had it crashed right then it would come back without committed entries.`,
              time,
            );
          }
        }
        mine.disk = state;
        continue;
      }
      const sent = sentTo(effect);
      if (sent === undefined) continue;
      this.checkSavedBeforeSending(node, sent.to, sent.message, step, mine);
      if (leading && sent.message.type === "AppendEntries" && sent.message.leaderCommit > 0) {
        const n = sent.message.leaderCommit;
        const own = entryAt(log, n);
        if (own !== undefined) this.leaderCopyOnDisk(node, after.currentTerm, n, own, `told ${sent.to} leaderCommit ${n}`, step, mine);
      }
    }
    // A leader's own copy counts toward a majority only once it is on disk.
    const before = step.before;
    if (after.role === "leader" && before !== null && after.commitIndex > before.commitIndex) {
      const n = after.commitIndex;
      const own = entryAt(log, n);
      const disk = mine.disk === null ? null : savedLog(mine.disk);
      const onDisk = disk === null ? undefined : entryAt(disk, n);
      const inSnapshot = disk !== null && n <= snapshotIndex(disk);
      if (own !== undefined && !inSnapshot && (onDisk === undefined || !sameEntry(onDisk, own))) {
        violated(
          "Save before you acknowledge",
          `leader ${node} of term ${after.currentTerm} set commitIndex to ${n} (${describeStepInput(step)}), counting its own copy of ${showEntry(own)}, but its disk holds ${onDisk === undefined ? `only ${disk === null ? 0 : lastIndex(disk)} entries` : showEntry(onDisk)} there: had it crashed now, it would come back without an entry it counted as stored.`,
          step.time,
        );
      }
    }
  }

  /** A leader that shows a commit of index n (applies it, or sends leaderCommit n) holds n on its disk by then. */
  private leaderCopyOnDisk(node: NodeId, term: number, n: number, own: LogEntry, what: string, step: NodeStep, mine: DurableRecord): void {
    const disk = mine.disk === null ? null : savedLog(mine.disk);
    const onDisk = disk === null ? undefined : entryAt(disk, n);
    if (onDisk !== undefined && sameEntry(onDisk, own)) return;
    // In the snapshot on its disk (Chapter 9): saved, as part of the committed state.
    if (disk !== null && n <= snapshotIndex(disk)) return;
    violated(
      "Save before you acknowledge",
      `leader ${node} of term ${term} ${what === "applied" ? `applied index ${n} (${showEntry(own)})` : what} ${describeStepInput(step)}, before that entry was on its disk (${onDisk === undefined ? `it holds ${disk === null ? "nothing" : `only ${lastIndex(disk)} entries`}` : `it holds ${showEntry(onDisk)} there`}): it counted its own copy toward the majority that committed index ${n}, and had it crashed right then, it would come back without it.`,
      step.time,
    );
  }

  /** What one message says must already be on the sender's disk. */
  private checkSavedBeforeSending(node: NodeId, to: NodeId, message: WireMessage, step: NodeStep, mine: DurableRecord): void {
    // A reply to a client carries no term: nothing of it must be on disk first.
    if (message.type === "ClientReply" || message.type === "ClientRequest") return;
    // (No closures here: this runs for every message every node sends.)
    const disk = mine.disk;
    const diskTerm = disk?.currentTerm ?? 0;
    const diskVote = disk?.votedFor ?? null;
    if (message.type === "RequestVote") {
      if (diskTerm === message.term && diskVote !== node) {
        violated("Save before you stand", `node ${node} asked ${to} for its vote in term ${message.term} (${describeStepInput(step)}), but ${diskSays(disk, "vote")}: ${CRASH_NOW}, it could vote for another candidate in the term it stands in.`, step.time);
      }
      this.castVote(node, mine, step, message.term, node);
    } else if (message.type === "RequestVoteReply" && message.voteGranted) {
      if (diskTerm !== message.term || diskVote !== to) {
        violated("Save before you answer", `node ${node} granted ${to} its vote in term ${message.term} (${describeStepInput(step)}), but ${diskSays(disk, "vote")}: ${CRASH_NOW}, it would come back free to vote for another candidate in term ${message.term}.`, step.time);
      }
      this.castVote(node, mine, step, message.term, to);
    } else if (message.type === "AppendEntriesReply" && message.success && step.input.kind === "deliver" && step.input.message.type === "AppendEntries") {
      const request = step.input.message;
      const saved: HasLog = disk === null ? NO_LOG : savedLog(disk);
      let problem = request.prevLogIndex > 0 ? missingOnDisk(saved, request.prevLogIndex, undefined, request.prevLogTerm) : undefined;
      for (let offset = 0; problem === undefined && offset < request.entries.length; offset++) {
        problem = missingOnDisk(saved, request.prevLogIndex + 1 + offset, request.entries[offset], 0);
      }
      if (problem !== undefined) {
        violated("Save before you acknowledge", `node ${node} acknowledged its log up to index ${message.matchIndex} to leader ${to} (term ${message.term}), but ${problem}: ${CRASH_NOW}, it would come back without entries the leader counts as stored on ${node}.`, step.time);
      }
    } else if (message.type === "InstallSnapshotReply" && message.matchIndex > 0) {
      // Chapter 9: a follower vouches for a snapshot only once what it installed is on its disk.
      const saved: HasLog = disk === null ? NO_LOG : savedLog(disk);
      if (lastIndex(saved) < message.matchIndex) {
        violated("Save before you acknowledge", `node ${node} answered leader ${to}'s InstallSnapshot vouching for index ${message.matchIndex} (term ${message.term}), but its disk holds ${snapshotIndex(saved) === 0 ? "no snapshot" : `a snapshot through ${snapshotIndex(saved)}`} and ${saved.log.length} entr${saved.log.length === 1 ? "y" : "ies"} after it: ${CRASH_NOW}, it would come back without what the leader counts as stored on ${node}.`, step.time);
      }
    }
    // Whatever the message, its term must be on disk.
    if (message.term > diskTerm) {
      // A candidate's or a leader's term comes from standing; any other message's from a term it heard of.
      const stood = message.type === "RequestVote" || message.type === "AppendEntries";
      violated(stood ? "Save before you stand" : "Save before you answer", `node ${node} sent ${to} ${/^[AEIOU]/.test(message.type) ? "an" : "a"} ${message.type} of term ${message.term} (${describeStepInput(step)}), but ${diskSays(disk, "term")}: ${CRASH_NOW}, it would come back in term ${diskTerm}, the term it had already left behind.`, step.time);
    }
  }

  /** A vote cast in `term` (a RequestVote is one for itself), held against every other in that term, in every life. */
  private castVote(node: NodeId, mine: DurableRecord, step: NodeStep, term: number, candidate: NodeId): void {
    const earlier = mine.votes.get(term);
    if (earlier !== undefined && earlier.candidate !== candidate) {
      const who = earlier.candidate === node ? "itself (it stood as a candidate)" : earlier.candidate;
      const between = earlier.incarnation !== step.incarnation ? ", crashed, restarted," : "";
      throw new InvariantViolation(
        "One vote per term",
        `node ${node} voted for ${who} in term ${term}${between} and then (${describeStepInput(step)}) voted for ${candidate === node ? "itself" : candidate} in term ${term} as well${between === "" ? "" : ": it came back without the vote it had cast"}.`,
        step.time,
      );
    }
    mine.votes.set(term, { candidate, incarnation: step.incarnation });
  }

  /**
   * A follower refused an AppendEntries and said where the conflict is
   * (Chapter 7's hint): the hint must be true of its log, or the leader
   * would skip entries that match, or probe where nothing can.
   */
  private honestHint(node: NodeId, request: AppendEntries, reply: AppendEntriesReply, view: HasLog, time: number): void {
    // A refusal for an old term says nothing about the logs.
    if (reply.term !== request.term) return;
    const last = lastIndex(view);
    // Chapter 9: below its snapshot a node holds no terms to report; a hint about them says nothing checkable.
    const base = snapshotIndex(view);
    if (request.prevLogIndex < base) return;
    const from = Math.max(base + 1, last - 11);
    const shown = showLog(entriesFrom(view, from));
    const { conflictTerm, conflictIndex } = reply;
    const said = `conflictTerm ${conflictTerm ?? "(none)"}, conflictIndex ${conflictIndex ?? "(none)"}`;
    const fail = (why: string): never => {
      throw new InvariantViolation(
        "A refusal's hint is honest",
        `node ${node} refused AppendEntries(prevLogIndex ${request.prevLogIndex}, prevLogTerm ${request.prevLogTerm}) from ${request.leaderId} with ${said}, but ${why} (its log, as term:command from index ${from}: ${shown}${last - from >= 12 || from > 1 ? `, the last ${last - from + 1} of ${last}` : ""}${base > 0 ? `, after a snapshot through ${base} (term ${termAt(view, base)})` : ""}).`,
        time,
      );
    };
    if (request.prevLogIndex > last) {
      if (conflictTerm !== undefined) fail(`its log has only ${last} entries, so there is no entry at ${request.prevLogIndex} to have a term: leave conflictTerm out`);
      if (conflictIndex !== last + 1) fail(`its log is too short (${last} entries), so the leader should try next just past its end, at ${last + 1}`);
      return;
    }
    const held = termAt(view, request.prevLogIndex);
    if (conflictTerm === undefined) fail(`it holds an entry at ${request.prevLogIndex}, of term ${held}: that is the conflicting term to report`);
    // At the snapshot's last index (Chapter 9) the term is the snapshot's: the entry itself is gone.
    const atBoundary = request.prevLogIndex === base && base > 0 ? `: index ${base} is where its snapshot ends, and the term there is its lastIncludedTerm, ${held}` : "";
    if (conflictTerm !== held) fail(`its entry at ${request.prevLogIndex} has term ${held}, not ${conflictTerm}${atBoundary}`);
    let first = request.prevLogIndex;
    while (first > base + 1 && termAt(view, first - 1) === held) first--;
    if (conflictIndex !== first) fail(`the first entry of term ${held} in its log is at index ${first}`);
  }

  /** A crashed node is out of the checks until it boots again. */
  crashed(node: NodeId): void {
    const record = this.records.get(node);
    if (record) record.role = "follower";
  }

  /** Leaders only append while they lead, so each leader needs checking once per committed index. */
  private checkLeaderCompleteness(node: NodeId, record: NodeRecord, from: number, to: number, time: number): void {
    for (let index = from; index <= to; index++) {
      const committed = this.committed[index];
      if (committed === undefined) continue;
      if (committed.committedInTerm >= record.term) continue;
      // Inside its snapshot: checked to be the committed prefix when the snapshot moved there.
      if (index <= snapshotIndex(record.log)) continue;
      const held = entryAt(record.log, index);
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
