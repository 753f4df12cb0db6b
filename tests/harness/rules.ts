/**
 * The rules the graded tests check, in the paper's own words where the
 * paper states them (Figure 2, §5), so a failure points straight at the
 * line of the paper to read again.
 */
export const RULE = {
  startAsFollower: "When servers start up, they begin as followers (§5.2). currentTerm is initialized to 0 on first boot (Figure 2, State).",
  electionTimeoutRange:
    "Election timeouts are chosen randomly from a fixed interval (e.g., 150–300 ms) (§5.2); here: a whole number of ms in [electionTimeoutMin, electionTimeoutMax) from env.randomInt.",
  freshTimeout:
    "Each candidate restarts its randomized election timeout at the start of an election (§5.2): draw a new random timeout every time the timer is reset.",
  followerTimeout:
    "Followers: if election timeout elapses without receiving AppendEntries RPC from current leader or granting vote to candidate: convert to candidate (Figure 2).",
  startElection:
    "On conversion to candidate, start election: increment currentTerm; vote for self; reset election timer; send RequestVote RPCs to all other servers (Figure 2, Candidates).",
  candidateTimeout: "Candidates: if election timeout elapses: start new election (Figure 2).",
  replyFalseOldTerm: "RequestVote receiver: 1. Reply false if term < currentTerm (Figure 2, §5.1).",
  grantVote:
    "RequestVote receiver: 2. If votedFor is null or candidateId, and candidate's log is at least as up-to-date as receiver's log, grant vote (Figure 2, §5.2, §5.4).",
  oneVotePerTerm: "Each server will vote for at most one candidate in a given term, on a first-come-first-served basis (§5.2).",
  newerTerm:
    "All Servers: if RPC request or response contains term T > currentTerm: set currentTerm = T, convert to follower (Figure 2, §5.1).",
  resetOnGrant:
    "Followers: if election timeout elapses without receiving AppendEntries RPC from current leader or granting vote to candidate: convert to candidate (Figure 2). Granting a vote resets the timer; refusing one does not.",
  majority:
    "Candidates: if votes received from majority of servers: become leader (Figure 2). A majority is more than half of the whole cluster, counting the candidate's own vote.",
  countCurrentTerm:
    "A candidate wins an election if it receives votes from a majority of the servers in the full cluster for the same term (§5.2): only replies for its current term count, each voter once.",
  electionSafety: "Election Safety: at most one leader can be elected in a given term (Figure 3, §5.2).",
  liveness:
    "Raft uses randomized election timeouts to ensure that split votes are rare and that they are resolved quickly (§5.2). Raft promises no bound on how long that takes; the bound here is this test's own: on a healthy network, with the timeouts the chapter uses, a leader within the time the test names.",
  heartbeatAtOnce:
    "Leaders: upon election: send initial empty AppendEntries RPCs (heartbeat) to each server (Figure 2).",
  heartbeatsRepeat:
    "Leaders: repeat [heartbeats] during idle periods to prevent election timeouts (Figure 2), once every heartbeat interval, and no more.",
  followerKnowsLeader: "AppendEntries carries leaderId, so followers can redirect clients (Figure 2): a follower remembers the leader of its term.",
  appendReply: "Followers respond to RPCs from candidates and leaders (Figure 2): every AppendEntries gets a reply carrying the follower's currentTerm.",
  appendOldTerm:
    "AppendEntries receiver: 1. Reply false if term < currentTerm (Figure 2, §5.1). A message from an old leader is not from the current leader, so it resets no timer.",
  candidateLoses:
    "Candidates: if AppendEntries RPC received from new leader: convert to follower (Figure 2). If the leader's term is at least as large as the candidate's current term, the candidate recognizes the leader as legitimate (§5.2).",
  clientToLeader:
    "Leaders: if command received from client: append entry to local log (Figure 2). Clients send all their requests to the leader; a server that is not the leader rejects the request and supplies information about the most recent leader it has heard from (§8).",
  replicate:
    "Leaders: if last log index ≥ nextIndex for a follower: send AppendEntries RPC with log entries starting at nextIndex; if successful: update nextIndex and matchIndex for follower; if AppendEntries fails because of log inconsistency: decrement nextIndex and retry (Figure 2).",
  commitMajority:
    "Leaders: if there exists an N such that N > commitIndex, a majority of matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N (Figure 2, §5.3, §5.4).",
  figure8:
    "Raft never commits log entries from previous terms by counting replicas. Only log entries from the leader's current term are committed by counting replicas (§5.4.2, Figure 8).",
  applyInOrder: "All Servers: if commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state machine (Figure 2).",
  prevLogCheck:
    "AppendEntries receiver: 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm (Figure 2). Heartbeats too: an empty AppendEntries is checked like any other.",
  conflictOnly:
    "AppendEntries receiver: 3. If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it. 4. Append any new entries not already in the log (Figure 2). Never truncate when nothing conflicts.",
  leaderCommitMin:
    "AppendEntries receiver: 5. If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry) (Figure 2).",
  upToDate:
    "RequestVote receiver: grant only if the candidate's log is at least as up-to-date as the receiver's: if the logs have last entries with different terms, the log with the later term is more up-to-date; if they end with the same term, the longer log is more up-to-date (§5.4.1).",
  staleReplies:
    "matchIndex[i]: index of highest log entry known to be replicated on server i (Figure 2, State). The Students' Guide to Raft turns that into the rule for replies: a leader acts only on replies of its current term, and sets matchIndex from what the reply vouches for (prevLogIndex + entries sent), never from nextIndex or its own log length, which may have moved since the request left.",
  logsConverge:
    "Log Matching and Leader Completeness (Figure 3): once the network heals and a leader commits an entry of its term, every log agrees with the leader's and every node applies the same commands in the same order.",
  batching:
    "Leaders send each follower the entries it is missing, batched into AppendEntries (Figure 2): each entry travels to each follower about once.",
  commitsGrow: "commitIndex: index of highest log entry known to be committed (initialized to 0, increases monotonically) (Figure 2, State).",
  termsGrow: "currentTerm: latest term server has seen (initialized to 0 on first boot, increases monotonically) (Figure 2, State).",
  restartFromDisk:
    "Persistent state on all servers: currentTerm, votedFor, log[] (Figure 2, State): a server that restarts comes back with exactly what it saved; commitIndex and lastApplied are volatile and start again at 0.",
  replayAfterRestart:
    "All Servers: if commitIndex > lastApplied: increment lastApplied, apply log[lastApplied] to state machine (Figure 2). After a restart the state machine starts empty and lastApplied at 0: committed entries are applied again from index 1, once each, as the leader says they are committed.",
  persistBeforeReply:
    "Persistent state on all servers (updated on stable storage before responding to RPCs): currentTerm, votedFor, log[] (Figure 2, State). What a reply says must be on disk before it leaves.",
  voteSurvivesCrash:
    "Each server will vote for at most one candidate in a given term (§5.2); votedFor is persistent state (Figure 2, State), so a vote cast before a crash is still cast after it.",
  survivesCrashes:
    "Servers are assumed to fail by stopping; they may later recover from state on stable storage and rejoin the cluster, and the system stays available as long as any majority is operational and can communicate (§2). So an entry committed before a crash is still committed after every node restarts, and the cluster goes on committing new commands once a majority is back.",
  conflictHint:
    "AppendEntries receiver: 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm (Figure 2). When rejecting, the follower can include the term of the conflicting entry and the first index it stores for that term (§5.3); a log too short to hold prevLogIndex says so with no conflictTerm and the index just past its end (the Students' Guide to Raft, whose names conflictIndex and conflictTerm these are).",
  fastBackup:
    "If AppendEntries fails because of log inconsistency: decrement nextIndex and retry (Figure 2), with the follower's hint one AppendEntries RPC per term with conflicting entries, rather than one per entry (§5.3); the leader's search for conflictTerm in its own log is the Students' Guide to Raft's. This workbook's own bound: nextIndex never backs up to or below what the follower has confirmed (matchIndex).",
  budget:
    "Raft's messages are few: an election is a round of RequestVote RPCs, and an idle leader sends only heartbeats, once per heartbeat interval (Figure 2). The best-known Raft lab holds a cluster of three to at most 30 RPCs for an election and 60 for an idle second.",
  probe:
    "After a refusal, nextIndex is a guess and the next AppendEntries is a probe the follower may refuse again: it carries at most one batch of entries, never the whole rest of the log.",
  // Chapter 8: clients and the key-value service.
  serveThroughLog:
    "Clients of Raft send all of their requests to the leader; if the client contacts a follower, the follower rejects its request and supplies information about the most recent leader it has heard from (§8). The leader appends the command to its log as a new entry (§5.3): reads included, so that no deposed leader answers from state that may be stale (§8).",
  answerAfterCommit:
    "Once an entry has been committed, the leader applies the entry to its state machine and returns the result of that execution to the client (§5.3). Not before: an entry that is not committed can still be lost, and a get answered before its entry is committed may come from a leader that was already deposed (§8).",
  exactlyOnce:
    "Clients assign unique serial numbers to every command. The state machine tracks the latest serial number processed for each client, along with the associated response. If it receives a command whose serial number has already been executed, it responds immediately without re-executing the request (§8; thesis §6.3).",
  sessionsInStateMachine:
    "The table of each client's latest serial number and response is part of the replicated state machine (thesis §6.3): it changes only as entries are applied, so every server that applies the same log holds the same table, a new leader knows every request its predecessors applied, and a restarted server rebuilds it from its log.",
  tellLostRequest:
    "A leader that proposed a client's request may never see it committed by itself: once it stops leading, the next leader may commit that entry or replace it, and this node will not learn which in time. The client must not be left hanging: the server refuses the request at once, and the clerk tries elsewhere (the guidance of the best-known Raft lab).",
  clerkRetries:
    "If the client's first choice is not the leader, that server rejects the request and supplies information about the most recent leader it has heard from. If the leader crashes, client requests will time out; clients then try again with other servers (§8). A clerk keeps trying, with the same request, until some leader answers it.",
  linearizable:
    "Our goal for Raft is to implement linearizable semantics: each operation appears to execute instantaneously, exactly once, at some point between its invocation and its response (§8). So what the clients saw must fit one order of their operations that respects real time, in which every get reads what the puts and appends before it wrote.",
  // Chapter 9: snapshots.
  takeSnapshot:
    "The entire current system state is written to a snapshot on stable storage, then the entire log up to that point is discarded; the last included index, the index of the last entry in the log that the snapshot replaces, and the last included term, the term of this entry, are preserved to support the AppendEntries consistency check for the first log entry following the snapshot (§7). Log indexes go on counting from 1: after a snapshot through index N, the next entry is still index N + 1.",
  snapshotSavedTogether:
    "A server writes its snapshot and discards its log in a way that a crash cannot separate (§7; thesis, Chapter 5): here, the snapshot and the log after it are saved in one save().",
  restartFromSnapshot:
    "A server that restarts loads its snapshot into the state machine (thesis, Chapter 5): what the snapshot replaces was committed and applied, so commitIndex and lastApplied start at its last included index, and env.applySnapshot tells the world.",
  sendSnapshot:
    "The leader must occasionally send snapshots to followers that lag behind: this happens when the leader has already discarded the next log entry that it needs to send to a follower (§7), that is when nextIndex is at or below its lastIncludedIndex. The follower's reply vouches for the snapshot's last index.",
  installSnapshot:
    "InstallSnapshot receiver: 1. Reply immediately if term < currentTerm. 6. If existing log entry has same index and term as snapshot's last included entry, retain log entries following it and reply. 7. Discard the entire log. 8. Reset state machine using snapshot contents (Figure 13). What the reply vouches for is on disk before it leaves.",
  staleSnapshot:
    "Messages arrive late, twice and out of order: an InstallSnapshot no newer than what the follower has already applied must not take its state machine back (the guidance of the best-known Raft lab); the follower changes nothing and says it holds that much.",
  appendIntoSnapshot:
    "AppendEntries receiver: 2. Reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm (Figure 2). Every entry up to a follower's snapshot is committed, so it matches the leader's: an AppendEntries whose prevLogIndex lies inside the snapshot is checked from the snapshot's last entry on, and the entries the snapshot covers are skipped.",
  boundedState:
    "Raft's log grows during normal operation, but in a practical system it cannot grow without bound (§7): a node asked for a snapshot compacts its log, so what it saves stays near the limit the world sets (the lab's maxraftstate) however long the run.",
  noLostWrites:
    "A write a client saw acknowledged was committed, and a committed entry stays in the log of every future leader (Leader Completeness, Figure 3) and is applied by every server (State Machine Safety): it is never lost.",
} as const;
