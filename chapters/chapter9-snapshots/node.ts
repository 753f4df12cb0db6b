/**
 * Chapter 9: snapshots, a log that does not grow forever.
 *
 * Chapter 8's key-value service, with its log compacted (the paper's §7).
 * When the world says the node's saved state has grown too big, the node
 * writes its state machine (the store and the sessions) into a snapshot,
 * keeps the index and term of the last entry it replaces, throws away the
 * log up to there, and saves state and snapshot in one save. Indexes keep
 * counting from 1 as ever: the log array now begins after the snapshot,
 * and every index goes through lastIncludedIndex. A follower too far
 * behind, whose next entry the leader no longer holds, gets the leader's
 * snapshot instead (InstallSnapshot), and a node that restarts starts its
 * state machine from its snapshot, not from nothing.
 *
 * Your part: each `TODO Step N` below. A step that only acts does nothing
 * until you write it; one that must answer something stops the run. Do
 * them in order, with the chapter's README.md beside you.
 */
import type {
  AppendEntries,
  AppendEntriesReply,
  ClientId,
  ClientRequest,
  CreateNode,
  InstallSnapshot,
  InstallSnapshotReply,
  LogEntry,
  Message,
  NodeEnvironment,
  NodeId,
  NodeView,
  PersistentState,
  ProposeResult,
  RaftNode,
  RequestVote,
  RequestVoteReply,
  Role,
  Snapshot,
  TimerName,
} from "../../world/contract.ts";

export const createNode: CreateNode = (env, saved) => new Node(env, saved);

/**
 * The most entries one AppendEntries carries. A follower far behind gets
 * its entries in batches of this size, one batch per round trip, instead
 * of the whole rest of the log in every message (which, on a lossy
 * network, is sent again and again and mostly lost again).
 */
const MAX_ENTRIES_PER_MESSAGE = 64;

class Node implements RaftNode {
  // Persistent state (Figure 2): saved with env.save before any message
  // that depends on it leaves. On a first boot there is nothing saved, so
  // everything starts from zero; after a crash, the constructor takes back
  // what was saved.
  private currentTerm = 0;
  private votedFor: NodeId | null = null;
  /**
   * The entries after the snapshot: log[0] holds the entry at index
   * lastIncludedIndex + 1 (index 1 while there is no snapshot). Read it
   * only through entryAt, termAt and lastLogIndex.
   */
  private log: LogEntry[] = [];
  /** The snapshot (Chapter 9): the last index and term it replaces (0 and 0: none yet), and the state machine it holds. */
  private lastIncludedIndex = 0;
  private lastIncludedTerm = 0;
  private snapshotState = "";

  // Volatile state on all servers (Figure 2).
  private commitIndex = 0;
  private lastApplied = 0;

  // Which of the three roles this node plays, and the leader it knows of.
  private role: Role = "follower";
  private leaderId: NodeId | null = null;

  // The voters who granted this candidate their vote in currentTerm
  // (itself included). startElection() starts a fresh set every election.
  private votesReceived = new Set<NodeId>();

  // Volatile state on leaders, reset at every election (Figure 2).
  /** For each follower, the index of the next entry to send it. */
  private nextIndex: Record<NodeId, number> = {};
  /** For each follower, the highest index known to be replicated on it. */
  private matchIndex: Record<NodeId, number> = {};

  // The key-value service (Chapter 8). The store and the sessions are the
  // state machine: both change only as entries are applied, so every node
  // that applies the same log holds the same of both, and a node that
  // restarts rebuilds both as it applies its log again.
  /** The key-value store. A key never written reads as "". */
  private store = new Map<string, string>();
  /** For each client, its last request applied and what it answered (thesis §6.3). */
  private sessions = new Map<ClientId, { readonly sequence: number; readonly value: string }>();
  /** Requests this leader proposed and has not answered yet, by the log index it put them at. */
  private waiting = new Map<number, { readonly clientId: ClientId; readonly sequence: number }>();

  constructor(
    private readonly env: NodeEnvironment,
    saved: PersistentState | null,
  ) {
    // Everything Figure 2 calls persistent comes back; nothing else does.
    // Without a snapshot, commitIndex and lastApplied stay 0: the disk does
    // not say what was committed, and the state machine starts empty.
    if (saved !== null) {
      this.currentTerm = saved.currentTerm;
      this.votedFor = saved.votedFor;
      this.log = [...saved.log];
      // TODO Step 2: Restart from your snapshot.
      this.env.note("Chapter 9, step 2 is not written yet: restart from your snapshot");
    }
  }

  /**
   * Figure 2, State: "Persistent state on all servers (updated on stable
   * storage before responding to RPCs)". Call it after currentTerm,
   * votedFor or log change, before any message that depends on them is
   * sent: the world may crash the node right after any send.
   */
  private persist(): void {
    // The world writes a copy: later changes to the array do not reach the disk.
    let snapshot: Snapshot | undefined;
    // TODO Step 1: Take a snapshot when the world asks.
    this.env.note("Chapter 9, step 1 is not written yet: take a snapshot when the world asks");
    if (snapshot === undefined) this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log });
    else this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log, snapshot });
  }

  /** The node boots: Figure 2 says servers begin as followers. */
  start(): void {
    this.role = "follower";
    // TODO Step 2: Restart from your snapshot.
    this.env.note("Chapter 9, step 2 is not written yet: restart from your snapshot");
    this.resetElectionTimer();
  }

  // -------------------------------------------------------------------------
  // Snapshots (Chapter 9)
  // -------------------------------------------------------------------------

  /**
   * The world asks for a snapshot (only the world starts one): the saved
   * state has grown past its limit. `index` is lastApplied: the state
   * machine as it stands now is the state after applying every entry up to
   * there, so it can stand in for all of them.
   */
  takeSnapshot(index: number): void {
    // TODO Step 1: Take a snapshot when the world asks.
    this.env.note("Chapter 9, step 1 is not written yet: take a snapshot when the world asks");
  }

  /** The state machine (store and sessions) as one string: what a snapshot holds. */
  private stateMachineState(): string {
    // Maps keep the order keys were first written, the same on every node
    // that applied the same entries: the same state gives the same string.
    return JSON.stringify({ store: [...this.store], sessions: [...this.sessions] });
  }

  /** The state machine, as a snapshot holds it. */
  private loadStateMachine(state: string): void {
    const parsed = JSON.parse(state) as { store: [string, string][]; sessions: [ClientId, { sequence: number; value: string }][] };
    this.store = new Map(parsed.store);
    this.sessions = new Map(parsed.sessions);
  }

  /**
   * The paper's Figure 13: a leader whose follower needs entries it has
   * compacted away sends its snapshot instead.
   */
  private sendInstallSnapshot(peer: NodeId): void {
    // TODO Step 3: Send a snapshot to a follower too far behind.
    this.env.note("Chapter 9, step 3 is not written yet: send a snapshot to a follower too far behind");
  }

  /** Figure 13, InstallSnapshot RPC, receiver implementation. receive() has already caught up with a newer term. */
  private handleInstallSnapshot(from: NodeId, request: InstallSnapshot): void {
    // TODO Step 4: Install a snapshot from the leader.
    this.env.note("Chapter 9, step 4 is not written yet: install a snapshot from the leader");
  }

  /** The follower holds everything up to the snapshot it answers for. */
  private handleInstallSnapshotReply(from: NodeId, reply: InstallSnapshotReply): void {
    // TODO Step 3: Send a snapshot to a follower too far behind.
    this.env.note("Chapter 9, step 3 is not written yet: send a snapshot to a follower too far behind");
  }

  /**
   * Start (or restart) the election timer with a fresh random timeout.
   * Drawing afresh every time is what breaks ties between nodes: two
   * nodes that timed out together this time will most likely not next time.
   */
  private resetElectionTimer(): void {
    const { electionTimeoutMin, electionTimeoutMax } = this.env.timing;
    this.env.setTimer("election", this.env.randomInt(electionTimeoutMin, electionTimeoutMax));
  }

  /** A timer set with env.setTimer has gone off. */
  timerFired(timer: TimerName): void {
    // Followers and candidates alike: a candidate whose election went
    // nowhere simply tries again in the next term.
    if (timer === "election" && this.role !== "leader") this.startElection();
    // Only a leader runs the heartbeat timer (becomeFollower stops it).
    if (timer === "heartbeat") this.sendHeartbeats();
  }

  /** Figure 2, Rules for Servers, Candidates: "On conversion to candidate, start election". */
  private startElection(): void {
    this.role = "candidate";
    this.currentTerm += 1;
    this.votedFor = this.env.id;
    this.votesReceived = new Set([this.env.id]);
    this.leaderId = null;
    // The new term and the vote for itself, on disk before any RequestVote
    // leaves: a candidate that crashed and forgot them could come back in
    // the old term, or vote for another candidate in the term it stood in.
    this.persist();
    this.resetElectionTimer();
    this.requestVotes();
    // In a cluster of one, the candidate's own vote is already a majority.
    if (this.votesReceived.size >= this.majority()) this.becomeLeader();
  }

  /** Figure 2, Candidates: "send RequestVote RPCs to all other servers". */
  private requestVotes(): void {
    for (const peer of this.env.peers) {
      this.env.send(peer, {
        type: "RequestVote",
        term: this.currentTerm,
        candidateId: this.env.id,
        lastLogIndex: this.lastLogIndex(),
        lastLogTerm: this.lastLogTerm(),
      });
    }
  }

  /** A message has arrived: catch up with its term, then hand it to the code for its type. */
  receive(from: NodeId, message: Message): void {
    // Figure 2, All Servers: whatever the message and whatever your role,
    // a newer term means you are out of date. Catch up before anything else.
    if (message.term > this.currentTerm) this.becomeFollower(message.term);
    switch (message.type) {
      case "RequestVote":
        this.handleRequestVote(from, message);
        break;
      case "RequestVoteReply":
        this.handleRequestVoteReply(from, message);
        break;
      case "AppendEntries":
        this.handleAppendEntries(from, message);
        break;
      case "AppendEntriesReply":
        this.handleAppendEntriesReply(from, message);
        break;
      case "InstallSnapshot":
        this.handleInstallSnapshot(from, message);
        break;
      case "InstallSnapshotReply":
        this.handleInstallSnapshotReply(from, message);
        break;
    }
  }

  // -------------------------------------------------------------------------
  // The replicated log (Chapter 5)
  // -------------------------------------------------------------------------

  /**
   * Figure 2, RequestVote RPC: "candidate's log is at least as up-to-date
   * as receiver's log". A voter that holds an entry the candidate lacks
   * must not help it win: that entry might be committed.
   */
  private candidateIsUpToDate(request: RequestVote): boolean {
    // §5.4.1: the later last term wins; with equal last terms, the longer
    // log wins. Never compare lengths alone.
    return (
      request.lastLogTerm > this.lastLogTerm() ||
      (request.lastLogTerm === this.lastLogTerm() && request.lastLogIndex >= this.lastLogIndex())
    );
  }

  /** Figure 2, RequestVote RPC, receiver implementation. receive() has already caught up with a newer term. */
  private handleRequestVote(from: NodeId, request: RequestVote): void {
    const grant =
      request.term === this.currentTerm &&
      (this.votedFor === null || this.votedFor === request.candidateId) &&
      this.candidateIsUpToDate(request);
    if (grant) {
      this.votedFor = request.candidateId;
      // The vote is on disk before the reply that grants it leaves: a node
      // that crashed right after sending and forgot it could vote again.
      this.persist();
      // Granting a vote is one of the two things that reset a follower's
      // timer (the other is hearing from the leader). Refusing is not.
      this.resetElectionTimer();
    }
    this.env.send(from, { type: "RequestVoteReply", term: this.currentTerm, voteGranted: grant });
  }

  /**
   * Figure 2, Leaders: "If command received from client: append entry to
   * local log". It travels to the followers with the next heartbeat, so
   * commands that arrive together travel together.
   */
  propose(command: string): ProposeResult {
    if (this.role !== "leader") return { accepted: false, leaderId: this.leaderId };
    this.log.push({ term: this.currentTerm, command });
    // The leader's own copy counts toward a majority: on disk first.
    this.persist();
    // With followers, commitment waits for their replies (advanceCommitIndex); alone,
    // the leader's own copy is a majority.
    this.advanceCommitIndex();
    return { accepted: true, index: this.lastLogIndex(), term: this.currentTerm };
  }

  /** The candidate has won its term. */
  private becomeLeader(): void {
    this.role = "leader";
    this.leaderId = this.env.id;
    // A leader does not wait for a leader.
    this.env.cancelTimer("election");
    // Figure 2: nextIndex starts just past the leader's last entry (hope
    // for the best), matchIndex at 0 (nothing is known yet).
    this.nextIndex = Object.fromEntries(this.env.peers.map((peer) => [peer, this.lastLogIndex() + 1]));
    this.matchIndex = Object.fromEntries(this.env.peers.map((peer) => [peer, 0]));
    // Figure 2, Leaders: "Upon election: send initial empty AppendEntries
    // RPCs (heartbeat) to each server". Waiting for the heartbeat timer
    // would leave the others time to stand against you.
    this.sendHeartbeats();
  }

  /** Figure 2, Leaders: "repeat during idle periods to prevent election timeouts". */
  private sendHeartbeats(): void {
    for (const peer of this.env.peers) this.sendAppendEntries(peer);
    this.env.setTimer("heartbeat", this.env.timing.heartbeatInterval);
  }

  /**
   * Figure 2, Leaders: "If last log index >= nextIndex for a follower:
   * send AppendEntries RPC with log entries starting at nextIndex".
   * With nothing to send, it is a heartbeat, and still carries
   * prevLogIndex and prevLogTerm for the follower to check.
   */
  private sendAppendEntries(peer: NodeId): void {
    const next = this.nextIndex[peer] ?? this.lastLogIndex() + 1;
    // TODO Step 3: Send a snapshot to a follower too far behind.
    this.env.note("Chapter 9, step 3 is not written yet: send a snapshot to a follower too far behind");
    const prevLogIndex = next - 1;
    let entries = this.entriesFrom(next);
    // At most one batch: after a refusal, nextIndex is a guess, and a
    // probe the follower refuses again wastes what it carried; on a lossy
    // network, a huge message is mostly sent to be lost. (A probe still
    // carries its batch: a follower whose log was merely short accepts it
    // at once, which saves a round trip.)
    entries = entries.slice(0, MAX_ENTRIES_PER_MESSAGE);
    this.env.send(peer, {
      type: "AppendEntries",
      term: this.currentTerm,
      leaderId: this.env.id,
      prevLogIndex,
      prevLogTerm: this.termAt(prevLogIndex),
      entries,
      leaderCommit: this.commitIndex,
    });
  }

  /** Figure 2, AppendEntries RPC, receiver implementation. */
  private handleAppendEntries(from: NodeId, request: AppendEntries): void {
    // receive() has already caught up with a newer term.
    if (request.term < this.currentTerm) {
      // 1. A leader from the past: refuse, and tell it the current term.
      // This is not the current leader, so the timer keeps running.
      this.replyToAppend(from, false, 0);
      return;
    }
    // The leader of this very term: a candidate has lost, and gives up.
    if (this.role !== "follower") this.becomeFollower(request.term);
    this.leaderId = request.leaderId;
    this.resetElectionTimer();
    // 2. No entry at prevLogIndex with term prevLogTerm: the logs differ
    // somewhere before the new entries. Refuse, and stop right here;
    // heartbeats are checked like any other AppendEntries.
    // 3 and 4. Then walk the new entries: skip those already here, and at
    // the first real conflict (same index, other term) cut the log there.
    // Never cut when nothing conflicts: a late, shorter AppendEntries from
    // this same leader must not take back entries it sent since.
    let prevLogIndex = request.prevLogIndex;
    let entries = request.entries;
    // TODO Step 5: Follow an AppendEntries that reaches into your snapshot.
    this.env.note("Chapter 9, step 5 is not written yet: follow an AppendEntries that reaches into your snapshot");
    const prevLogTerm = prevLogIndex === request.prevLogIndex ? request.prevLogTerm : this.lastIncludedTerm;
    if (prevLogIndex > this.lastLogIndex() || this.termAt(prevLogIndex) !== prevLogTerm) {
      this.refuse(from, request);
      return;
    }
    entries.forEach((entry, offset) => {
      const index = prevLogIndex + 1 + offset;
      if (index <= this.lastLogIndex() && this.termAt(index) === entry.term) return;
      if (index <= this.lastLogIndex()) this.log.length = index - this.lastIncludedIndex - 1;
      this.log.push(entry);
    });
    // The reply below vouches for these entries: on disk before it leaves.
    // (Only when something changed: a heartbeat writes nothing.)
    if (entries.length > 0) this.persist();

    const lastNewIndex = request.prevLogIndex + request.entries.length;
    // 5. Only up to the last entry this message vouched for: anything
    // after it in this log has not been checked against the leader's.
    // And never lower than before: a late message may vouch for less.
    if (request.leaderCommit > this.commitIndex) {
      this.commitIndex = Math.max(this.commitIndex, Math.min(request.leaderCommit, lastNewIndex));
      this.applyCommitted();
    }
    this.replyToAppend(from, true, lastNewIndex);
  }

  /**
   * AppendEntries receiver, rule 2 (Figure 2): reply false; and say where
   * the conflict is, so the leader can skip a whole term at once (§5.3:
   * "the follower can include the term of the conflicting entry and the
   * first index it stores for that term").
   */
  private refuse(to: NodeId, request: AppendEntries): void {
    const reply = { type: "AppendEntriesReply", term: this.currentTerm, success: false, matchIndex: 0, lastLogIndex: this.lastLogIndex() } as const;
    if (request.prevLogIndex > this.lastLogIndex()) {
      // Too short to hold prevLogIndex: the leader should try just past our end.
      this.env.send(to, { ...reply, conflictIndex: this.lastLogIndex() + 1 });
      return;
    }
    // Our entry at prevLogIndex has another term: every entry of that term
    // from its first on is suspect, so point at the first.
    const conflictTerm = this.termAt(request.prevLogIndex);
    let conflictIndex = request.prevLogIndex;
    // (Not into the snapshot: its entries' terms are gone, and all of them are committed anyway.)
    while (conflictIndex > this.lastIncludedIndex + 1 && this.termAt(conflictIndex - 1) === conflictTerm) conflictIndex--;
    this.env.send(to, { ...reply, conflictTerm, conflictIndex });
  }

  private replyToAppend(to: NodeId, success: boolean, matchIndex: number): void {
    this.env.send(to, { type: "AppendEntriesReply", term: this.currentTerm, success, matchIndex, lastLogIndex: this.lastLogIndex() });
  }

  /**
   * Figure 2, Leaders: "If successful: update nextIndex and matchIndex
   * for follower. If AppendEntries fails because of log inconsistency:
   * decrement nextIndex and retry."
   */
  private handleAppendEntriesReply(from: NodeId, reply: AppendEntriesReply): void {
    // A newer term was handled in receive(). A reply from an older term
    // answers a request this node sent as the leader of another term.
    if (this.role !== "leader" || reply.term !== this.currentTerm) return;
    const match = this.matchIndex[from] ?? 0;
    if (reply.success) {
      // The reply says which index it vouches for, so late or repeated
      // replies can only confirm what is known; matchIndex never goes back.
      const newMatch = Math.max(match, reply.matchIndex);
      this.matchIndex[from] = newMatch;
      this.nextIndex[from] = Math.max(this.nextIndex[from] ?? 1, newMatch + 1);
      this.advanceCommitIndex();
      // A follower still a full batch or more behind gets its next batch at
      // once, not a heartbeat later; only a reply that moved matchIndex
      // sends one, so a repeated reply sends nothing more.
      if (newMatch > match && this.lastLogIndex() - newMatch >= MAX_ENTRIES_PER_MESSAGE) this.sendAppendEntries(from);
    } else {
      this.backUp(from, reply);
    }
  }

  /**
   * A follower refused: its log does not match at prevLogIndex. Use its
   * hint to skip a whole term per round trip, and probe again at once.
   */
  private backUp(from: NodeId, reply: AppendEntriesReply): void {
    const match = this.matchIndex[from] ?? 0;
    const next = this.nextIndex[from] ?? this.lastLogIndex() + 1;
    let target: number;
    if (reply.conflictTerm !== undefined) {
      // Do we hold entries of that term? Then the follower holds ours up to
      // our last one (Log Matching: one leader made them all): try just after it.
      // If not, none of its entries of that term can be right: skip them all.
      // (Down to the snapshot at most: below it this leader knows no terms.)
      let last = this.lastLogIndex();
      while (last > this.lastIncludedIndex && this.termAt(last) !== reply.conflictTerm) last--;
      target = last > this.lastIncludedIndex ? last + 1 : (reply.conflictIndex ?? next - 1);
    } else if (reply.conflictIndex !== undefined) {
      target = reply.conflictIndex;
    } else {
      // A follower without hints (an earlier chapter's node): one entry back,
      // or straight to the end of its log.
      target = Math.min(next - 1, reply.lastLogIndex + 1);
    }
    // A late or repeated refusal must not undo what is known: never back
    // up to or below what the follower has confirmed, and never move
    // forward on a refusal.
    this.nextIndex[from] = Math.max(match + 1, Math.min(next - 1, target));
    this.sendAppendEntries(from);
  }

  /**
   * Figure 2, Leaders: "If there exists an N such that N > commitIndex, a
   * majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
   * commitIndex = N."
   */
  private advanceCommitIndex(): void {
    for (let n = this.lastLogIndex(); n > this.commitIndex; n--) {
      // Figure 8: an entry of an earlier term can be on a majority and
      // still be overwritten. Only an entry of this term is safe to count;
      // committing it commits everything before it.
      if (this.termAt(n) !== this.currentTerm) break;
      let copies = 1; // this leader's own
      for (const peer of this.env.peers) if ((this.matchIndex[peer] ?? 0) >= n) copies++;
      if (copies >= this.majority()) {
        this.commitIndex = n;
        this.applyCommitted();
        return;
      }
    }
  }

  /** Figure 2, All Servers: "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]". */
  private applyCommitted(): void {
    while (this.lastApplied < this.commitIndex) {
      this.lastApplied += 1;
      const entry = this.entryAt(this.lastApplied)!;
      this.env.apply(this.lastApplied, entry);
      // The service's state machine takes the same entry, in the same order.
      const request = clientRequestIn(entry);
      if (request === undefined) continue;
      const value = this.runOnStore(request);
      this.answerWaitingClient(this.lastApplied, value);
    }
  }

  // -------------------------------------------------------------------------
  // The key-value service (Chapter 8)
  // -------------------------------------------------------------------------

  /**
   * A client's request arrives. Only the leader can put it in the log; the
   * answer waits until the entry comes out of the log, committed.
   */
  clientRequest(from: ClientId, request: ClientRequest): void {
    if (this.role !== "leader") {
      // Not the leader: say who is, if this node knows, and the clerk tries there.
      this.env.replyToClient(from, { type: "ClientReply", sequence: request.sequence, success: false, value: "", leaderId: this.leaderId });
      return;
    }
    // A retry of the last request already applied: answer it again, from
    // the session, without a second entry in the log.
    const session = this.sessions.get(request.clientId);
    if (session !== undefined && request.sequence <= session.sequence) {
      if (request.sequence === session.sequence) {
        this.env.replyToClient(from, { type: "ClientReply", sequence: request.sequence, success: true, value: session.value, leaderId: this.env.id });
      }
      // An older one: the client has moved on and is not waiting for it.
      return;
    }
    // Reads go through the log too: only an entry committed in this
    // leader's term proves this node is still the leader (see the reading).
    const proposed = this.propose(JSON.stringify(request));
    if (proposed.accepted) this.waiting.set(proposed.index, { clientId: request.clientId, sequence: request.sequence });
  }

  /**
   * The state machine: run one applied request on the store and return
   * its result ("" for put and append, the value read for get).
   */
  private runOnStore(request: ClientRequest): string {
    // Exactly once: a request this client's session has already seen was
    // applied when its first copy came out of the log. Its later copies
    // (a retry proposed again) change nothing and answer as the first did.
    const session = this.sessions.get(request.clientId);
    if (session !== undefined && request.sequence <= session.sequence) return session.value;
    const current = this.store.get(request.key) ?? "";
    let value = "";
    if (request.operation === "put") this.store.set(request.key, request.value);
    else if (request.operation === "append") this.store.set(request.key, current + request.value);
    else value = current;
    this.sessions.set(request.clientId, { sequence: request.sequence, value });
    return value;
  }

  /**
   * The entry at `index` is applied: if this node proposed a client's
   * request there, the client is waiting for an answer.
   */
  private answerWaitingClient(index: number, value: string): void {
    const waiter = this.waiting.get(index);
    if (waiter === undefined) return;
    this.waiting.delete(index);
    // While this node leads, the entry at an index it proposed at is the
    // one it put there (a leader never overwrites its log), and it stops
    // waiting for anything once it stops leading (refuseEveryWaitingClient).
    // So the entry applied here is the waiter's own.
    this.env.replyToClient(waiter.clientId, { type: "ClientReply", sequence: waiter.sequence, success: true, value, leaderId: this.env.id });
  }

  /**
   * This node stopped leading: nothing it proposed and has not answered
   * can be answered by it now. Its entries may still be committed by the
   * next leader, or replaced by other entries at the same indexes; either
   * way this node cannot tell its clients, so it says so at once.
   */
  private refuseEveryWaitingClient(): void {
    // No leader to name yet: it has only just heard of a newer term.
    for (const waiter of this.waiting.values()) {
      this.env.replyToClient(waiter.clientId, { type: "ClientReply", sequence: waiter.sequence, success: false, value: "", leaderId: null });
    }
    this.waiting.clear();
  }

  // -------------------------------------------------------------------------
  // Elections (Chapters 2 to 4)
  // -------------------------------------------------------------------------

  /** More than half of the whole cluster, this node included. */
  private majority(): number {
    const clusterSize = this.env.peers.length + 1;
    return Math.floor(clusterSize / 2) + 1;
  }

  /** Figure 2, Candidates: "If votes received from majority of servers: become leader". */
  private handleRequestVoteReply(from: NodeId, reply: RequestVoteReply): void {
    // A reply from an earlier election, or to a node that is no longer
    // standing, counts for nothing.
    if (this.role !== "candidate" || reply.term !== this.currentTerm || !reply.voteGranted) return;
    // A set, so a duplicated reply cannot count twice.
    this.votesReceived.add(from);
    if (this.votesReceived.size >= this.majority()) this.becomeLeader();
  }

  /**
   * Figure 2, All Servers: "If RPC request or response contains term
   * T > currentTerm: set currentTerm = T, convert to follower".
   */
  private becomeFollower(term: number): void {
    // A new term means a new election: any vote cast in the old one is void.
    if (term > this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = null;
      // Whatever this node sends next carries the new term: save it first.
      this.persist();
    }
    // A leader runs a heartbeat timer and no election timer; a node that
    // stops leading swaps them.
    if (this.role === "leader") {
      this.env.cancelTimer("heartbeat");
      this.resetElectionTimer();
    }
    const wasLeader = this.role === "leader";
    this.role = "follower";
    this.leaderId = null;
    if (wasLeader) this.refuseEveryWaitingClient();
  }

  inspect(): NodeView {
    return {
      role: this.role,
      currentTerm: this.currentTerm,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      log: this.log,
      // The world reads the log through these (Chapter 9): where it begins.
      lastIncludedIndex: this.lastIncludedIndex,
      lastIncludedTerm: this.lastIncludedTerm,
      commitIndex: this.commitIndex,
      lastApplied: this.lastApplied,
      // A leader shows what it knows of each follower: the world checks it
      // against the replies, and a failure can name the follower.
      matchIndex: this.role === "leader" ? this.matchIndex : undefined,
      nextIndex: this.role === "leader" ? this.nextIndex : undefined,
    };
  }

  // Every index goes through these: the log array begins after the snapshot.

  /** The index of the last entry (the snapshot's last index when no entry follows it). */
  private lastLogIndex(): number {
    return this.lastIncludedIndex + this.log.length;
  }

  private lastLogTerm(): number {
    return this.termAt(this.lastLogIndex());
  }

  /** The entry at `index`, if the log holds it (not inside the snapshot, not past the end). */
  private entryAt(index: number): LogEntry | undefined {
    return index > this.lastIncludedIndex ? this.log[index - this.lastIncludedIndex - 1] : undefined;
  }

  /** The term of the entry at `index`: the snapshot's term at its last index; 0 at index 0 and where there is none. */
  private termAt(index: number): number {
    if (index === this.lastIncludedIndex) return this.lastIncludedTerm;
    return this.entryAt(index)?.term ?? 0;
  }

  /** The entries from `index` to the end (index is past the snapshot). */
  private entriesFrom(index: number): LogEntry[] {
    return this.log.slice(Math.max(0, index - this.lastIncludedIndex - 1));
  }
}

/**
 * The request an entry carries, if it is a client's (the service writes a
 * ClientRequest into the log as JSON). Commands of other kinds (the tests
 * of earlier chapters propose plain words) leave the store alone.
 */
function clientRequestIn(entry: LogEntry): ClientRequest | undefined {
  if (!entry.command.startsWith("{")) return undefined;
  try {
    const request = JSON.parse(entry.command) as ClientRequest;
    return request.type === "ClientRequest" ? request : undefined;
  } catch {
    return undefined;
  }
}
