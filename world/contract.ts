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

// ---------------------------------------------------------------------------
// Clients (Chapter 8 on): a key-value service on top of the log
// ---------------------------------------------------------------------------

/** A client is named "c1", "c2"...: lower case, so it never looks like a node. */
export type ClientId = string;

/** What a client asks of the key-value service (Chapter 8). */
export type KeyValueOperation = "put" | "append" | "get";

/**
 * Sent by a client's clerk to a server (Chapter 8): run one operation of
 * the key-value service. A clerk numbers its requests 1, 2, 3... and
 * sends the same number again when it retries, so that a server can tell
 * a retry from a new request (exactly once; thesis §6.3).
 */
export interface ClientRequest {
  readonly type: "ClientRequest";
  /** Who is asking. */
  readonly clientId: ClientId;
  /** The clerk's number for this request: the same on every retry of it. */
  readonly sequence: number;
  readonly operation: KeyValueOperation;
  readonly key: string;
  /** What put writes or append adds; "" for get. */
  readonly value: string;
}

/** A server's answer to {@link ClientRequest} (Chapter 8). */
export interface ClientReply {
  readonly type: "ClientReply";
  /** The request this answers (a late reply to an older request can arrive). */
  readonly sequence: number;
  /**
   * True: the operation is committed and applied, and `value` is its
   * result. False: this server could not do it (it is not the leader, or
   * lost its leadership before the request was committed); try another.
   */
  readonly success: boolean;
  /** On success, what get read ("" for a key never written); "" for put and append. */
  readonly value: string;
  /** On a refusal, the leader this server knows of, if any: try it next. */
  readonly leaderId: NodeId | null;
}

// ---------------------------------------------------------------------------
// Snapshots (Chapter 9 on): the log compacted (the paper's §7)
// ---------------------------------------------------------------------------

/**
 * A snapshot (Chapter 9): the state machine as it stood once every entry
 * up to `lastIncludedIndex` was applied, standing in for those entries.
 */
export interface Snapshot {
  /** The index of the last entry the snapshot replaces. */
  readonly lastIncludedIndex: number;
  /** The term of that entry. */
  readonly lastIncludedTerm: number;
  /** The service's state, written by the service (JSON, say): what `state` holds is its own business. */
  readonly state: string;
}

/**
 * Sent by a leader to a follower too far behind (Chapter 9, the paper's
 * Figure 13): the entries it needs are gone from the leader's log, so it
 * gets the leader's snapshot instead. The whole snapshot travels in one
 * message (no offset or done: the paper's chunks are left out, as in most
 * teaching labs).
 */
export interface InstallSnapshot {
  readonly type: "InstallSnapshot";
  /** The leader's term. */
  readonly term: number;
  /** So the follower can tell clients who the leader is. */
  readonly leaderId: NodeId;
  /** The snapshot replaces all entries up through and including this index. */
  readonly lastIncludedIndex: number;
  /** Term of lastIncludedIndex. */
  readonly lastIncludedTerm: number;
  /** The service's state as of lastIncludedIndex (the snapshot's `state`). */
  readonly data: string;
}

/** A follower's answer to {@link InstallSnapshot}. */
export interface InstallSnapshotReply {
  readonly type: "InstallSnapshotReply";
  /** The follower's currentTerm, for the leader to update itself. */
  readonly term: number;
  /**
   * The lastIncludedIndex of the snapshot this answers: the follower now
   * holds everything up to it (installed now, or already held). Like an
   * AppendEntriesReply's matchIndex, it says what the reply vouches for,
   * so a late or doubled reply never misleads the leader. 0 when the
   * follower refused (its term is newer than the leader's).
   */
  readonly matchIndex: number;
}

/** Every message a node sends another node (Figure 2's RPCs, and from Chapter 9 Figure 13's). */
export type Message = RequestVote | RequestVoteReply | AppendEntries | AppendEntriesReply | InstallSnapshot | InstallSnapshotReply;

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
  /** With a snapshot, the entries after it (from lastIncludedIndex + 1 on); without one, the whole log. */
  readonly log: readonly LogEntry[];
  /**
   * Optional, Chapter 9 on: the node's latest snapshot. Saved in the same
   * save() as the log it shortened, so that a crash can never leave a
   * disk whose log and snapshot disagree (the thesis's §5.1: a server
   * writes its snapshot, then discards the log; here the two are one write).
   */
  readonly snapshot?: Snapshot;
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
   * Optional to use, Chapter 8 on: answer a client that sent this node a
   * ClientRequest. Like a message, the reply may arrive late, twice, or never.
   */
  replyToClient(to: ClientId, reply: ClientReply): void;

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

  /**
   * Optional to use, Chapter 9 on: tell the world your state machine has
   * just been loaded from this snapshot (one a leader sent you, or your
   * own from disk when you restart). lastApplied becomes its
   * lastIncludedIndex, and apply() goes on from the index after it. A
   * state machine only moves forward: an older snapshot than what you have
   * applied is a mistake.
   */
  applySnapshot(snapshot: Snapshot): void;

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
  /** With a snapshot (Chapter 9), the entries after it; read it through world/log.ts's index helpers. */
  readonly log: readonly LogEntry[];
  /** Optional, Chapter 9 on: the index of the last entry the node's snapshot replaces (absent or 0: no snapshot). */
  readonly lastIncludedIndex?: number;
  /** Optional, Chapter 9 on: the term of that entry. */
  readonly lastIncludedTerm?: number;
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
  /**
   * Optional, Chapter 8 on: a client's request has arrived (a server of the
   * key-value service answers it with env.replyToClient, now or later).
   */
  clientRequest?(from: ClientId, request: ClientRequest): void;
  /** A timer set with `env.setTimer` has fired. */
  timerFired(timer: TimerName): void;
  /**
   * Optional, Chapter 9 on: the world asks for a snapshot because the
   * node's saved state has grown too big (only the world starts one).
   * `index` is the node's lastApplied: snapshot the state machine as it
   * stands, keep lastIncludedIndex = index and its term, discard the log
   * through index, and save the state and the snapshot together.
   */
  takeSnapshot?(index: number): void;
  /** A client asks this node to add a command to the replicated log. */
  propose(command: string): ProposeResult;
  /** Your state, as the tests and the trace see it. Must not change anything. */
  inspect(): NodeView;
}

// ---------------------------------------------------------------------------
// The clerk (Chapter 8 on): the client's side of the service, in clerk.ts
// ---------------------------------------------------------------------------

/** One call a client makes through its clerk. */
export interface ClientCall {
  readonly operation: KeyValueOperation;
  readonly key: string;
  /** What put writes or append adds; "" for get. */
  readonly value: string;
}

/**
 * What a clerk function returns: the clerk's new state (plain data: the
 * world keeps it and hands it back next time), and what the world should
 * do for it. A clerk never acts itself; it says what to do, and the world
 * does it, so a clerk is a pure function of its state and what happened.
 */
export interface ClerkStep<Clerk> {
  /** The clerk's state from now on. */
  readonly clerk: Clerk;
  /** A request to send, if any. */
  readonly send?: { readonly to: NodeId; readonly request: ClientRequest };
  /**
   * (Re)start the clerk's retry timer: `clerkTimeout` is called after this
   * many ms unless a later step sets the timer again or the call finishes.
   */
  readonly retryAfterMs?: number;
  /**
   * The call is finished: its result ("" for put and append, the value read
   * for get). The world answers the client, stops the retry timer, and
   * the client may make its next call.
   */
  readonly result?: string;
}

/**
 * What every `clerk.ts` exports (Chapter 8 on). The world keeps each
 * client's clerk state and calls these with it; everything goes in and
 * out as plain data (JSON).
 */
export interface ClerkFunctions<Clerk> {
  /** A new clerk for a client, knowing the servers' ids. */
  newClerk(clientId: ClientId, servers: readonly NodeId[]): Clerk;
  /** The client calls an operation (only when its previous call has finished). */
  clerkCall(clerk: Clerk, call: ClientCall): ClerkStep<Clerk>;
  /** A server's reply has arrived. */
  clerkReceive(clerk: Clerk, from: NodeId, reply: ClientReply): ClerkStep<Clerk>;
  /** The retry timer fired. */
  clerkTimeout(clerk: Clerk): ClerkStep<Clerk>;
}

/**
 * What every `node.ts` exports as `createNode`. `saved` is the state the
 * node last saved to disk (or a test's starting state), or null on a
 * node's very first boot.
 */
export type CreateNode = (env: NodeEnvironment, saved: PersistentState | null) => RaftNode;
