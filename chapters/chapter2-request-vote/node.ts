/**
 * Chapter 2: RequestVote and majority.
 *
 * Chapter 1's node, now voting: followers answer RequestVote, candidates
 * count the answers, and a majority makes a leader. Only followers vote
 * in this chapter; candidates and leaders that are asked refuse (Chapter
 * 3 is about what they should really do).
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
    // TODO Step 3: Count the votes.
    this.env.note("Chapter 2, step 3 is not written yet: count the votes");
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

  /** A message has arrived: hand it to the code for its type. */
  receive(from: NodeId, message: Message): void {
    switch (message.type) {
      case "RequestVote":
        // Only followers vote in this chapter. A candidate has voted for
        // itself and a leader has won; both refuse (Chapter 3 revisits
        // this). A newer term still makes them followers of that term first
        // (Figure 2, All Servers), and the reply says so.
        if (this.role === "follower") this.handleRequestVote(from, message);
        else {
          if (message.term > this.currentTerm) this.becomeFollower(message.term);
          this.env.send(from, { type: "RequestVoteReply", term: this.currentTerm, voteGranted: false });
        }
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
    // TODO Step 1: A newer term makes you a follower.
    this.env.note("Chapter 2, step 1 is not written yet: a newer term makes you a follower");
  }

  /** Figure 2, RequestVote RPC, receiver implementation (as a follower). */
  private handleRequestVote(from: NodeId, request: RequestVote): void {
    // TODO Step 2: Answer a RequestVote.
    this.env.note("Chapter 2, step 2 is not written yet: answer a RequestVote");
  }

  /** More than half of the whole cluster, this node included. */
  private majority(): number {
    // TODO Step 3: Count the votes.
    throw new Error("Chapter 2, step 3 is not written yet: count the votes. Read step 3 in chapters/chapter2-request-vote/README.md (a hint: npm run hint -- chapter2 3).");
  }

  /** Figure 2, Candidates: "If votes received from majority of servers: become leader". */
  private handleRequestVoteReply(from: NodeId, reply: RequestVoteReply): void {
    // TODO Step 3: Count the votes.
    this.env.note("Chapter 2, step 3 is not written yet: count the votes");
  }

  /** The candidate has won its term. */
  private becomeLeader(): void {
    // TODO Step 4: Become leader.
    this.env.note("Chapter 2, step 4 is not written yet: become leader");
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
