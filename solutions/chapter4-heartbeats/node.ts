/**
 * Chapter 4: heartbeats.
 *
 * Chapter 3's node, now a leader that keeps its followers: it sends an
 * empty AppendEntries to everyone the moment it wins, then every
 * heartbeat interval. Followers that hear from the current leader reset
 * their election timers and remember who leads; messages from a leader
 * of an older term are refused and change nothing.
 *
 * The lines between `@step N` and `@end` are this chapter's exercise; in
 * the skeleton in chapters/ each is a stub until written.
 */
import type {
  AppendEntries,
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
  private log: LogEntry[];

  // Volatile state (Figure 2). Nothing is committed or applied until Chapter 5.
  private commitIndex = 0;
  private lastApplied = 0;

  // Which of the three roles this node plays, and the leader it knows of.
  private role: Role = "follower";
  private leaderId: NodeId | null = null;

  // The voters who granted this candidate their vote in currentTerm
  // (itself included). startElection() starts a fresh set every election.
  private votesReceived = new Set<NodeId>();

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
        // Candidates and leaders too: in their own term they have voted for
        // themselves, so the rules refuse a rival, and refusing resets nothing.
        this.handleRequestVote(from, message);
        break;
      case "RequestVoteReply":
        this.handleRequestVoteReply(from, message);
        break;
      case "AppendEntries":
        this.handleAppendEntries(from, message);
        break;
      case "AppendEntriesReply":
        // Nothing to do yet: a newer term in the reply has already made
        // this node a follower, above. Chapter 5 reads the rest.
        break;
    }
  }

  /** Figure 2, RequestVote RPC, receiver implementation. receive() has already caught up with a newer term. */
  private handleRequestVote(from: NodeId, request: RequestVote): void {
    const grant =
      request.term === this.currentTerm && (this.votedFor === null || this.votedFor === request.candidateId);
    if (grant) {
      this.votedFor = request.candidateId;
      // Granting a vote is one of the two things that reset a follower's
      // timer (the other is hearing from the leader). Refusing is not.
      this.resetElectionTimer();
    }
    this.env.send(from, { type: "RequestVoteReply", term: this.currentTerm, voteGranted: grant });
  }

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

  /** The candidate has won its term. */
  private becomeLeader(): void {
    this.role = "leader";
    this.leaderId = this.env.id;
    // A leader does not wait for a leader.
    this.env.cancelTimer("election");
    // @step 1
    // Figure 2, Leaders: "Upon election: send initial empty AppendEntries
    // RPCs (heartbeat) to each server". Waiting for the heartbeat timer
    // would leave the others time to stand against you.
    this.sendHeartbeats();
    // @end
  }

  /** Figure 2, Leaders: "repeat during idle periods to prevent election timeouts". */
  private sendHeartbeats(): void {
    // @step 1
    for (const peer of this.env.peers) {
      this.env.send(peer, {
        type: "AppendEntries",
        term: this.currentTerm,
        leaderId: this.env.id,
        prevLogIndex: 0,
        prevLogTerm: 0,
        entries: [],
        leaderCommit: this.commitIndex,
      });
    }
    this.env.setTimer("heartbeat", this.env.timing.heartbeatInterval);
    // @end
  }

  /** Figure 2, AppendEntries RPC, receiver implementation (heartbeats only, for now). */
  private handleAppendEntries(from: NodeId, request: AppendEntries): void {
    // @step 2
    // receive() has already caught up with a newer term.
    if (request.term < this.currentTerm) {
      // A leader from the past: refuse, and tell it the current term.
      // This is not the current leader, so the timer keeps running.
      this.env.send(from, { type: "AppendEntriesReply", term: this.currentTerm, success: false, matchIndex: 0, lastLogIndex: this.lastLogIndex() });
      return;
    }
    // @end
    // @step 3
    // The leader of this very term: a candidate has lost, and gives up.
    if (this.role !== "follower") this.becomeFollower(request.term);
    this.leaderId = request.leaderId;
    this.resetElectionTimer();
    this.env.send(from, {
      type: "AppendEntriesReply",
      term: this.currentTerm,
      success: true,
      matchIndex: request.prevLogIndex + request.entries.length,
      lastLogIndex: this.lastLogIndex(),
    });
    // @end
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


  /** Clients come in Chapter 5. */
  propose(_command: string): ProposeResult {
    return { accepted: false, leaderId: this.leaderId };
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
    };
  }

  private lastLogIndex(): number {
    return this.log.length;
  }

  private lastLogTerm(): number {
    return this.log.at(-1)?.term ?? 0;
  }
}
