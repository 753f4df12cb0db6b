/**
 * Chapter 1: timers and roles.
 *
 * A node that starts as a follower, waits a random election timeout, and
 * when it hears nothing becomes a candidate and asks everyone for a vote.
 * Nobody answers yet: votes are Chapter 2.
 *
 * The lines between `@step N` and `@end` are this chapter's exercise; in
 * the skeleton in chapters/ each is a stub until written.
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

  constructor(
    private readonly env: NodeEnvironment,
    saved: PersistentState | null,
  ) {
    this.currentTerm = saved?.currentTerm ?? 0;
    this.votedFor = saved?.votedFor ?? null;
    this.log = saved ? [...saved.log] : [];
  }

  /** The node boots: Figure 2 says servers begin as followers, and a follower waits for a leader. */
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
    // @step 1
    const { electionTimeoutMin, electionTimeoutMax } = this.env.timing;
    this.env.setTimer("election", this.env.randomInt(electionTimeoutMin, electionTimeoutMax));
    // @end
  }

  /** A timer set with env.setTimer has gone off. */
  timerFired(timer: TimerName): void {
    // Followers and candidates alike: a candidate whose election went
    // nowhere simply tries again in the next term.
    if (timer === "election" && this.role !== "leader") this.startElection();
  }

  /** Figure 2, Rules for Servers, Candidates: "On conversion to candidate, start election". */
  private startElection(): void {
    // @step 2
    this.role = "candidate";
    this.currentTerm += 1;
    this.votedFor = this.env.id;
    this.leaderId = null;
    this.resetElectionTimer();
    // @end
    this.requestVotes();
  }

  /** Figure 2, Candidates: "send RequestVote RPCs to all other servers". */
  private requestVotes(): void {
    // @step 3
    for (const peer of this.env.peers) {
      this.env.send(peer, {
        type: "RequestVote",
        term: this.currentTerm,
        candidateId: this.env.id,
        lastLogIndex: this.lastLogIndex(),
        lastLogTerm: this.lastLogTerm(),
      });
    }
    // @end
  }

  /** Messages are ignored until Chapter 2 teaches voting. */
  receive(_from: NodeId, _message: Message): void {}

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
