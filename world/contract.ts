/**
 * The node contract: read this file first.
 *
 * Every chapter's node speaks this one contract. It only grows: what a
 * later chapter adds is optional and additive (a field a node may leave
 * out, a message an earlier node never sends), so a node written for an
 * earlier chapter keeps working unchanged when a later one extends it.
 * Two rules are fixed for every chapter, because the suites depend on
 * them: a new leader does not append a no-op entry when it wins (so the
 * log indexes the tests expect stay true for every later node), and only
 * the world starts a snapshot (Chapter 9), never a node on its own.
 *
 * A Raft node is a small state machine:
 *
 *   it is told about       a message arriving, a timer firing, a client's command
 *   it acts by             sending messages, setting timers, applying committed
 *                          entries, saving the state it must not forget
 *
 * The node never reads the clock, never calls `setTimeout`, never calls
 * `Math.random`, and never talks to the network itself. The simulated
 * world hands it everything through its {@link NodeEnvironment}. That is
 * what makes every run repeatable: the same seed gives the same run,
 * event for event.
 *
 * The names follow Figure 2 of the Raft paper ("In Search of an
 * Understandable Consensus Algorithm", Ongaro and Ousterhout), so you can
 * hold your code next to the paper: `currentTerm`, `votedFor`, `log`,
 * `commitIndex`, `lastApplied`, `nextIndex`, `matchIndex`, `prevLogIndex`...
 *
 * This file holds types only. Your `node.ts` imports them with
 * `import type`, so a node file depends on nothing at run time.
 */

/** Nodes are named by letters, as in the pictures: "A", "B", "C"... */
export type NodeId = string;

/** The three roles of Figure 2. Everyone starts as a follower. */
export type Role = "follower" | "candidate" | "leader";

/**
 * One entry of the replicated log: a client's command, and the term of
 * the leader that first received it. Log indexes start at 1, so
 * `log[0]` in your array holds the entry at index 1.
 */
export interface LogEntry {
  readonly term: number;
  readonly command: string;
}

// ---------------------------------------------------------------------------
// Messages (Figure 2's two RPCs, each as a request and a reply)
// ---------------------------------------------------------------------------

/** Sent by a candidate to ask for a vote (Figure 2, RequestVote RPC). */
export interface RequestVote {
  readonly type: "RequestVote";
  /** The candidate's term. */
  readonly term: number;
  /** The candidate asking for the vote. */
  readonly candidateId: NodeId;
  /** Index of the candidate's last log entry (0 for an empty log). */
  readonly lastLogIndex: number;
  /** Term of the candidate's last log entry (0 for an empty log). */
  readonly lastLogTerm: number;
}

/** A voter's answer to {@link RequestVote}. */
export interface RequestVoteReply {
  readonly type: "RequestVoteReply";
  /** The voter's currentTerm, so a candidate from the past learns it is behind. */
  readonly term: number;
  /** True means the voter gave this candidate its vote for `term`. */
  readonly voteGranted: boolean;
}

/**
 * Sent by the leader to replicate log entries, and (with no entries) as
 * a heartbeat that says "I am still the leader" (Figure 2, AppendEntries RPC).
 */
export interface AppendEntries {
  readonly type: "AppendEntries";
  /** The leader's term. */
  readonly term: number;
  /** So followers can tell clients who the leader is. */
  readonly leaderId: NodeId;
  /** Index of the log entry just before the new ones (0 if they start at index 1). */
  readonly prevLogIndex: number;
  /** Term of the entry at prevLogIndex (0 when prevLogIndex is 0). */
  readonly prevLogTerm: number;
  /** Entries to store, starting at index prevLogIndex + 1. Empty for a heartbeat. */
  readonly entries: readonly LogEntry[];
  /** The leader's commitIndex. */
  readonly leaderCommit: number;
}

/** A follower's answer to {@link AppendEntries}. */
export interface AppendEntriesReply {
  readonly type: "AppendEntriesReply";
  /** The follower's currentTerm, so a leader from the past learns it is behind. */
  readonly term: number;
  /** True if the follower had an entry matching prevLogIndex and prevLogTerm. */
  readonly success: boolean;
  /**
   * On success: prevLogIndex + entries.length, the last index at which the
   * follower's log is now known to match the leader's. On failure: 0.
   * Replies can arrive late, twice, or out of order; on a success this
   * number says what the reply vouches for, so the leader never has to
   * guess which request it answers. A refusal says no such thing (it
   * carries no request number), which is why a leader bounds what a
   * refusal may do to nextIndex.
   */
  readonly matchIndex: number;
  /**
   * The follower's last log index when it answered. A leader whose
   * nextIndex is far past the end of a short log can jump back at once
   * instead of one entry per round trip.
   */
  readonly lastLogIndex: number;
  /**
   * Optional, on a refusal (Chapter 7 on): the term of the follower's entry
   * at prevLogIndex, the one that conflicts with the leader's. Absent when
   * the follower's log is too short to hold an entry at prevLogIndex.
   */
  readonly conflictTerm?: number;
  /**
   * Optional, on a refusal (Chapter 7 on): a place in the follower's log.
   * With conflictTerm, the first index the follower holds of that term
   * (where its run of conflictTerm entries begins); without it, the index
   * just past the follower's last entry (where its log ends). The leader
   * uses it as its next nextIndex when its own log has no entry of
   * conflictTerm, or when there is no conflictTerm; when it does have
   * entries of conflictTerm it goes to just past its own last one and
   * does not use conflictIndex at all (the Students' Guide to Raft's
   * search). The world checks that a hint is honest.
   */
  readonly conflictIndex?: number;
}

/** Every message a node can send or receive. */
export type Message = RequestVote | RequestVoteReply | AppendEntries | AppendEntriesReply;

/** The `type` field of each message, for switches and for traces. */
export type MessageType = Message["type"];

// ---------------------------------------------------------------------------
// The environment: everything a node may do to the world
// ---------------------------------------------------------------------------

/** The timers a node can set. Setting one that is pending replaces it. */
export type TimerName = "election" | "heartbeat";

/** The cluster's timing settings, in milliseconds of simulated time. */
export interface Timing {
  /** Lowest election timeout (inclusive). The paper's example: 150. */
  readonly electionTimeoutMin: number;
  /** Highest election timeout (exclusive). The paper's example: 300. */
  readonly electionTimeoutMax: number;
  /** How often a leader sends heartbeats; well below electionTimeoutMin. */
  readonly heartbeatInterval: number;
}

/** The state Figure 2 calls persistent: it must survive a crash. */
export interface PersistentState {
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  readonly log: readonly LogEntry[];
}

/** What a node is given by the world. */
export interface NodeEnvironment {
  /** This node's id. */
  readonly id: NodeId;
  /** The ids of all the other nodes in the cluster (not including this one). */
  readonly peers: readonly NodeId[];
  /**
   * The cluster's timing settings. Draw election timeouts from this range.
   * Read it each time you need it: a test may change it during a run.
   */
  readonly timing: Timing;

  /** The current simulated time in milliseconds. */
  now(): number;
  /**
   * A whole number drawn from this node's own seeded random source,
   * uniformly from [min, max): min included, max excluded. A range of
   * zero width (max <= min) gives min. Each node has its own stream, so
   * one node's draws never change another's.
   */
  randomInt(min: number, max: number): number;

  /** Send a message to another node. It may arrive late, twice, or never. */
  send(to: NodeId, message: Message): void;

  /**
   * Start the named timer: `timerFired(name)` is called after `delayMs`.
   * Setting a timer that is already pending replaces it, so "reset the
   * election timer" is simply `setTimer("election", newTimeout)`.
   * The delay must be a positive number.
   */
  setTimer(name: TimerName, delayMs: number): void;
  /** Stop the named timer if it is pending. */
  cancelTimer(name: TimerName): void;

  /**
   * Hand a committed entry to the state machine. Call it for index
   * lastApplied + 1, then the next, in order, each exactly once.
   */
  apply(index: number, entry: LogEntry): void;

  /**
   * Write the persistent state to this node's disk. After a crash the
   * world restarts the node with the last state it saved.
   */
  save(state: PersistentState): void;

  /** A note of your own in the run's trace (handy when debugging). */
  note(text: string): void;
}

// ---------------------------------------------------------------------------
// The node: what the world asks of your code
// ---------------------------------------------------------------------------

/** The answer to a client's command. */
export type ProposeResult =
  /** Accepted: the leader appended the command at `index` in `term`. */
  | { readonly accepted: true; readonly index: number; readonly term: number }
  /** Refused: this node is not the leader; `leaderId` is the leader it knows, if any. */
  | { readonly accepted: false; readonly leaderId: NodeId | null };

/** A read-only view of a node's state, for tests, traces and the invariant checks. */
export interface NodeView {
  readonly role: Role;
  readonly currentTerm: number;
  readonly votedFor: NodeId | null;
  /** The leader this node believes in for currentTerm, or null. */
  readonly leaderId: NodeId | null;
  readonly log: readonly LogEntry[];
  readonly commitIndex: number;
  readonly lastApplied: number;
  /**
   * Optional, for a leader (Chapter 5 on): for each follower, the index of
   * the highest log entry known to be replicated on it (Figure 2). When a
   * view shows it, the world checks that no reply was over-read.
   */
  readonly matchIndex?: Readonly<Record<NodeId, number>>;
  /** Optional, for a leader (Chapter 5 on): for each follower, the index of the next entry to send it. */
  readonly nextIndex?: Readonly<Record<NodeId, number>>;
}

/** A Raft node. The world calls these; the node answers through its environment. */
export interface RaftNode {
  /** Called once when the node boots (at time 0, or when it restarts after a crash). */
  start(): void;
  /** A message from another node has arrived. */
  receive(from: NodeId, message: Message): void;
  /** A timer set with `env.setTimer` has fired. */
  timerFired(timer: TimerName): void;
  /** A client asks this node to add a command to the replicated log. */
  propose(command: string): ProposeResult;
  /** Your state, as the tests and the trace see it. Must not change anything. */
  inspect(): NodeView;
}

/**
 * What every `node.ts` exports as `createNode`. `saved` is the state the
 * node last saved to disk (or a test's starting state), or null on a
 * node's very first boot.
 */
export type CreateNode = (env: NodeEnvironment, saved: PersistentState | null) => RaftNode;
