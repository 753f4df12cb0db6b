/**
 * Chapter 3: split votes.
 *
 * Chapter 2's node, now able to get out of a split vote: every node,
 * whatever its role, catches up with a newer term before anything else,
 * and every node answers RequestVote by the same rules. A candidate that
 * hears of a newer election gives up its own and votes; a rival in its
 * own term is refused, and its timer keeps running.
 *
 * Your part: each `TODO Step N` below. A step that only acts does nothing
 * until you write it; one that must answer something stops the run. Do
 * them in order, with the chapter's README.md beside you.
 */
import type {
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
    // TODO Step 1: A newer term in any message makes you a follower first.
    this.env.note("Chapter 3, step 1 is not written yet: a newer term in any message makes you a follower first");
    switch (message.type) {
      case "RequestVote":
        // TODO Step 2: Every node answers RequestVote by the same rules.
        this.env.note("Chapter 3, step 2 is not written yet: every node answers RequestVote by the same rules");
        break;
      case "RequestVoteReply":
        this.handleRequestVoteReply(from, message);
        break;
      default:
        // AppendEntries and its replies: Chapter 4.
        break;
    }
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
    // A leader runs no election timer; a node that stops leading needs one.
    if (this.role === "leader") this.resetElectionTimer();
    this.role = "follower";
    this.leaderId = null;
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
