/**
 * Chapter 5: AppendEntries and log replication.
 *
 * Chapter 4's node, now keeping a replicated log: the complete Raft node
 * of the paper's Figure 2 (without persistence, which comes later).
 * Clients propose commands to the leader; the leader appends them to its
 * log and sends each follower the entries it is missing; followers check
 * that their log matches the leader's before storing anything; an entry
 * of the leader's own term on a majority is committed, and with it
 * everything before it; every node applies committed entries in order,
 * exactly once. Voters refuse candidates whose log is behind theirs.
 *
 * Your part: each `TODO Step N` below. A step that only acts does nothing
 * until you write it; one that must answer something stops the run. Do
 * them in order, with the chapter's README.md beside you.
 */
import type {
  AppendEntries,
  AppendEntriesReply,
  CreateNode,
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
  TimerName,
} from "../../world/contract.ts";

export const createNode: CreateNode = (env, saved) => new Node(env, saved);

class Node implements RaftNode {
  // Persistent state (Figure 2). The world hands back what was saved;
  // on a first boot there is nothing, so everything starts from zero.
  private currentTerm: number;
  private votedFor: NodeId | null;
  /** log[0] holds the entry at index 1: Raft's indexes start at 1. */
  private log: LogEntry[];

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

  constructor(
    private readonly env: NodeEnvironment,
    saved: PersistentState | null,
  ) {
    this.currentTerm = saved?.currentTerm ?? 0;
    this.votedFor = saved?.votedFor ?? null;
    this.log = saved ? [...saved.log] : [];
  }

  /** The node boots: Figure 2 says servers begin as followers. */
  start(): void {
    this.role = "follower";
    this.resetElectionTimer();
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
    }
  }

  // -------------------------------------------------------------------------
  // Chapter 5: the replicated log
  // -------------------------------------------------------------------------

  /**
   * Figure 2, RequestVote RPC: "candidate's log is at least as up-to-date
   * as receiver's log". A voter that holds an entry the candidate lacks
   * must not help it win: that entry might be committed.
   */
  private candidateIsUpToDate(request: RequestVote): boolean {
    // TODO Step 1: Vote only for a candidate whose log is at least as up-to-date.
    throw new Error("Chapter 5, step 1 is not written yet: vote only for a candidate whose log is at least as up-to-date. Read step 1 in chapters/chapter5-log-replication/README.md (a hint: npm run hint -- chapter5 1).");
  }

  /** Figure 2, RequestVote RPC, receiver implementation. receive() has already caught up with a newer term. */
  private handleRequestVote(from: NodeId, request: RequestVote): void {
    const grant =
      request.term === this.currentTerm &&
      (this.votedFor === null || this.votedFor === request.candidateId) &&
      this.candidateIsUpToDate(request);
    if (grant) {
      this.votedFor = request.candidateId;
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
    // TODO Step 2: Accept a client's command.
    throw new Error("Chapter 5, step 2 is not written yet: accept a client's command. Read step 2 in chapters/chapter5-log-replication/README.md (a hint: npm run hint -- chapter5 2).");
  }

  /** The candidate has won its term. */
  private becomeLeader(): void {
    this.role = "leader";
    this.leaderId = this.env.id;
    // A leader does not wait for a leader.
    this.env.cancelTimer("election");
    // TODO Step 3: Send each follower the entries it is missing.
    this.env.note("Chapter 5, step 3 is not written yet: send each follower the entries it is missing");
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
    // TODO Step 3: Send each follower the entries it is missing.
    this.env.note("Chapter 5, step 3 is not written yet: send each follower the entries it is missing");
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

    // TODO Step 4: Check that your log matches the leader's, then store the entries.
    this.env.note("Chapter 5, step 4 is not written yet: check that your log matches the leader's, then store the entries");

    const lastNewIndex = request.prevLogIndex + request.entries.length;
    // TODO Step 5: Learn what the leader has committed.
    this.env.note("Chapter 5, step 5 is not written yet: learn what the leader has committed");
    this.replyToAppend(from, true, lastNewIndex);
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
    // TODO Step 6: Track what each follower holds.
    this.env.note("Chapter 5, step 6 is not written yet: track what each follower holds");
  }

  /**
   * Figure 2, Leaders: "If there exists an N such that N > commitIndex, a
   * majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
   * commitIndex = N."
   */
  private advanceCommitIndex(): void {
    // TODO Step 7: Commit what a majority holds, counting only entries of your own term.
    this.env.note("Chapter 5, step 7 is not written yet: commit what a majority holds, counting only entries of your own term");
  }

  /** Figure 2, All Servers: "If commitIndex > lastApplied: increment lastApplied, apply log[lastApplied]". */
  private applyCommitted(): void {
    // TODO Step 8: Apply committed entries, in order, exactly once.
    this.env.note("Chapter 5, step 8 is not written yet: apply committed entries, in order, exactly once");
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
    }
    // A leader runs a heartbeat timer and no election timer; a node that
    // stops leading swaps them.
    if (this.role === "leader") {
      this.env.cancelTimer("heartbeat");
      this.resetElectionTimer();
    }
    this.role = "follower";
    this.leaderId = null;
  }

  inspect(): NodeView {
    return {
      role: this.role,
      currentTerm: this.currentTerm,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      log: this.log,
      commitIndex: this.commitIndex,
      lastApplied: this.lastApplied,
      // A leader shows what it knows of each follower: the world checks it
      // against the replies, and a failure can name the follower.
      ...(this.role === "leader" ? { matchIndex: this.matchIndex, nextIndex: this.nextIndex } : {}),
    };
  }

  private lastLogIndex(): number {
    return this.log.length;
  }

  private lastLogTerm(): number {
    return this.log.at(-1)?.term ?? 0;
  }

  /** The term of the entry at `index`; 0 for index 0, before the first entry. */
  private termAt(index: number): number {
    return index === 0 ? 0 : (this.log[index - 1]?.term ?? 0);
  }
}
