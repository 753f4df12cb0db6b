/**
 * Mutants: copies of a reference solution with one classic mistake
 * planted (the ones learners make, from the list in the project's Raft
 * reference). `npm run check` runs the chosen suites against each mutant
 * and fails if any mutant keeps every point: a mistake no test notices
 * is a hole in the grading.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../shared/chapters.mjs";

export interface Mutant {
  /** A short name, used as the folder name. */
  readonly name: string;
  /** The mistake, in a learner's words. */
  readonly mistake: string;
  /** The solution folder the mutant is made from. */
  readonly from: string;
  /** The suites that must catch it ("chapter1", ...). */
  readonly suites: readonly string[];
  /** When set, the report's first failure must name this (the rule whose breach is the cause). */
  readonly firstFailureNames?: string;
  /** Exact text to find (it must occur once) and what to put instead. */
  readonly edits: readonly (readonly [find: string, replace: string])[];
  /** The file the edits go into: node.ts unless said (Chapter 8's clerk.ts). The chapter's other files are the reference's. */
  readonly file?: string;
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: "timeout-always-150",
    mistake: "waits exactly electionTimeoutMin every time instead of a random timeout",
    from: "chapter1-timers-and-roles",
    suites: ["chapter1"],
    edits: [["this.env.randomInt(electionTimeoutMin, electionTimeoutMax)", "electionTimeoutMin + 0 * electionTimeoutMax"]],
  },
  {
    name: "timeout-drawn-once",
    mistake: "draws the election timeout once at boot and reuses it at every reset",
    from: "chapter1-timers-and-roles",
    suites: ["chapter1"],
    edits: [
      [
        "this.env.setTimer(\"election\", this.env.randomInt(electionTimeoutMin, electionTimeoutMax));",
        "const self = this as unknown as { drawnOnce?: number };\n    self.drawnOnce ??= this.env.randomInt(electionTimeoutMin, electionTimeoutMax);\n    this.env.setTimer(\"election\", self.drawnOnce);",
      ],
    ],
  },
  {
    name: "term-plus-two",
    mistake: "increments currentTerm twice when starting an election",
    from: "chapter1-timers-and-roles",
    suites: ["chapter1"],
    edits: [["this.currentTerm += 1;", "this.currentTerm += 2;"]],
  },
  {
    name: "no-timer-reset-as-candidate",
    mistake: "does not restart the election timer on becoming candidate, so a failed election is never retried",
    from: "chapter1-timers-and-roles",
    suites: ["chapter1"],
    edits: [["    this.leaderId = null;\n    this.resetElectionTimer();\n", "    this.leaderId = null;\n"]],
  },
  {
    name: "duplicate-votes-counted",
    mistake: "counts every granted reply, so a duplicated reply counts twice",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["this.votesReceived.add(from);", "this.votesReceived.add(`${from}#${this.votesReceived.size}`);"]],
  },
  {
    name: "stale-votes-counted",
    mistake: "counts votes granted for an earlier term",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["if (this.role !== \"candidate\" || reply.term !== this.currentTerm || !reply.voteGranted) return;", "if (this.role !== \"candidate\" || !reply.voteGranted) return;"]],
  },
  {
    name: "refusal-resets-timer",
    mistake: "resets the election timer whenever it answers a RequestVote, even with a refusal",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["    if (grant) {\n      this.votedFor = request.candidateId;", "    this.resetElectionTimer();\n    if (grant) {\n      this.votedFor = request.candidateId;"]],
  },
  {
    name: "grant-keeps-timer",
    mistake: "does not reset the election timer when it grants a vote",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["      // timer (the other is hearing from the leader). Refusing is not.\n      this.resetElectionTimer();", "      // timer (the other is hearing from the leader). Refusing is not."]],
  },
  {
    name: "half-is-majority",
    mistake: "treats half of the cluster as a majority (2 of 4)",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["return Math.floor(clusterSize / 2) + 1;", "return Math.ceil(clusterSize / 2);"]],
  },
  {
    name: "vote-kept-across-terms",
    mistake: "keeps votedFor when moving to a newer term",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["      this.currentTerm = term;\n      this.votedFor = null;", "      this.currentTerm = term;"]],
  },
  {
    name: "older-term-granted",
    mistake: "grants votes to candidates from an older term",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["      request.term === this.currentTerm && (this.votedFor", "      request.term <= this.currentTerm && (this.votedFor"]],
  },
  {
    name: "newer-reply-ignored",
    mistake: "a candidate ignores the newer term in a reply instead of stepping down",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    edits: [["    if (reply.term > this.currentTerm) {\n      this.becomeFollower(reply.term);\n      return;\n    }\n", ""]],
  },
  {
    name: "candidates-ignore-newer-requests",
    mistake: "a candidate or leader refuses a RequestVote for a newer term instead of giving up and voting",
    from: "chapter3-split-votes",
    suites: ["chapter3"],
    edits: [["if (message.term > this.currentTerm) this.becomeFollower(message.term);", "if (message.term > this.currentTerm && (message.type !== \"RequestVote\" || this.role === \"follower\")) this.becomeFollower(message.term);"]],
  },
  {
    name: "split-votes-timeout-drawn-once",
    mistake: "draws the election timeout once at boot and reuses it, so tied nodes stay tied",
    from: "chapter3-split-votes",
    suites: ["chapter3"],
    edits: [
      [
        "this.env.setTimer(\"election\", this.env.randomInt(electionTimeoutMin, electionTimeoutMax));",
        "const self = this as unknown as { drawnOnce?: number };\n    self.drawnOnce ??= this.env.randomInt(electionTimeoutMin, electionTimeoutMax);\n    this.env.setTimer(\"election\", self.drawnOnce);",
      ],
    ],
  },
  {
    name: "split-votes-refusal-resets-timer",
    mistake: "resets the election timer on every RequestVote, refusals included",
    from: "chapter3-split-votes",
    suites: ["chapter3"],
    edits: [["    if (grant) {\n      this.votedFor = request.candidateId;", "    this.resetElectionTimer();\n    if (grant) {\n      this.votedFor = request.candidateId;"]],
  },
  {
    name: "first-heartbeat-waits",
    mistake: "a new leader waits for its heartbeat timer instead of announcing itself at once",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["    // would leave the others time to stand against you.\n    this.sendHeartbeats();", "    // would leave the others time to stand against you.\n    this.env.setTimer(\"heartbeat\", this.env.timing.heartbeatInterval);"]],
  },
  {
    name: "stale-leader-obeyed",
    mistake: "accepts AppendEntries from a leader of an older term",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["    if (request.term < this.currentTerm) {\n      // A leader from the past", "    if (request.term < 0) {\n      // A leader from the past"]],
  },
  {
    name: "heartbeat-keeps-timer",
    mistake: "a follower does not reset its election timer when the leader's heartbeat arrives",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["    this.leaderId = request.leaderId;\n    this.resetElectionTimer();", "    this.leaderId = request.leaderId;"]],
  },
  {
    name: "candidate-ignores-leader",
    mistake: "a candidate that hears the leader of its own term stays a candidate",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["    if (this.role !== \"follower\") this.becomeFollower(request.term);\n", ""]],
  },
  {
    name: "deposed-leader-keeps-beating",
    mistake: "a leader that steps down keeps its heartbeat timer running",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["      this.env.cancelTimer(\"heartbeat\");\n", ""]],
  },
  {
    name: "heartbeat-on-every-reply",
    mistake: "a leader answers every heartbeat reply with another round of heartbeats",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["      case \"AppendEntriesReply\":\n", "      case \"AppendEntriesReply\":\n        if (this.role === \"leader\") this.sendHeartbeats();\n"]],
  },
  {
    name: "leader-not-remembered",
    mistake: "a follower does not remember who its leader is",
    from: "chapter4-heartbeats",
    suites: ["chapter4"],
    edits: [["    this.leaderId = request.leaderId;\n", ""]],
  },
  // Chapter 5: one mutant per mistake in the project's list of where
  // learners go wrong, each run against every chapter's suite.
  {
    name: "pitfall-1-heartbeats-unchecked",
    mistake: "treats heartbeats as special: skips the prevLogIndex/prevLogTerm check when there are no entries",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["if (request.prevLogIndex > this.lastLogIndex() || this.termAt(request.prevLogIndex) !== request.prevLogTerm) {", "if (request.entries.length > 0 && (request.prevLogIndex > this.lastLogIndex() || this.termAt(request.prevLogIndex) !== request.prevLogTerm)) {"]],
  },
  {
    name: "pitfall-2-truncate-always",
    mistake: "truncates the log after prevLogIndex on every AppendEntries, conflict or not",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    firstFailureNames: "A follower keeps what it acknowledged",
    edits: [["    request.entries.forEach((entry, offset) => {", "    this.log.length = request.prevLogIndex;\n    request.entries.forEach((entry, offset) => {"]],
  },
  {
    name: "pitfall-3-stale-leader-resets-timer",
    mistake: "resets the election timer on any AppendEntries, even one from an older term",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["  private handleAppendEntries(from: NodeId, request: AppendEntries): void {\n", "  private handleAppendEntries(from: NodeId, request: AppendEntries): void {\n    this.resetElectionTimer();\n"]],
  },
  {
    name: "pitfall-4-candidate-never-retries",
    mistake: "a candidate whose election timer fires again does not start a fresh election",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["if (timer === \"election\" && this.role !== \"leader\") this.startElection();", "if (timer === \"election\" && this.role === \"follower\") this.startElection();"]],
  },
  {
    name: "pitfall-5-term-adopted-after",
    mistake: "handles a message first and only then moves to its newer term",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [
      ["    if (message.term > this.currentTerm) this.becomeFollower(message.term);\n    switch (message.type) {", "    switch (message.type) {"],
      ["        this.handleAppendEntriesReply(from, message);\n        break;\n    }\n", "        this.handleAppendEntriesReply(from, message);\n        break;\n    }\n    if (message.term > this.currentTerm) this.becomeFollower(message.term);\n"],
    ],
  },
  {
    name: "pitfall-6-refusal-falls-through",
    mistake: "replies false on a log mismatch but carries on storing the entries",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["      this.replyToAppend(from, false, 0);\n      return;\n    }\n    request.entries.forEach", "      this.replyToAppend(from, false, 0);\n    }\n    request.entries.forEach"]],
  },
  {
    name: "pitfall-6-past-the-end-matches",
    mistake: "treats a prevLogIndex past the end of the log as a match",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["if (request.prevLogIndex > this.lastLogIndex() || this.termAt(request.prevLogIndex) !== request.prevLogTerm) {", "if (request.prevLogIndex <= this.lastLogIndex() && this.termAt(request.prevLogIndex) !== request.prevLogTerm) {"]],
  },
  {
    name: "pitfall-6-commit-past-new-entries",
    mistake: "sets commitIndex to min(leaderCommit, its own last index) instead of the last new entry's index",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["Math.min(request.leaderCommit, lastNewIndex)", "Math.min(request.leaderCommit, this.lastLogIndex())"]],
  },
  {
    name: "pitfall-6-up-to-date-by-length",
    mistake: "compares only log lengths when deciding whether a candidate is up to date",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["    return (\n      request.lastLogTerm > this.lastLogTerm() ||\n      (request.lastLogTerm === this.lastLogTerm() && request.lastLogIndex >= this.lastLogIndex())\n    );", "    return request.lastLogIndex >= this.lastLogIndex();"]],
  },
  {
    name: "pitfall-7-commit-older-terms",
    mistake: "commits an entry of an older term by counting its replicas (Figure 8)",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["      if (this.termAt(n) !== this.currentTerm) break;\n", ""]],
  },
  {
    name: "pitfall-8-stale-replies-counted",
    mistake: "acts on AppendEntries replies from an older term",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["if (this.role !== \"leader\" || reply.term !== this.currentTerm) return;", "if (this.role !== \"leader\") return;"]],
  },
  {
    name: "pitfall-8-match-from-own-log",
    mistake: "on success, sets matchIndex to its own last index instead of what the reply vouches for",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["const newMatch = Math.max(match, reply.matchIndex);", "const newMatch = this.lastLogIndex();"]],
  },
  {
    name: "pitfall-9-apply-from-the-start",
    mistake: "applies every committed entry again each time commitIndex moves",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["    while (this.lastApplied < this.commitIndex) {\n      this.lastApplied += 1;\n      this.env.apply(this.lastApplied, this.log[this.lastApplied - 1]!);\n    }", "    for (let i = 1; i <= this.commitIndex; i++) this.env.apply(i, this.log[i - 1]!);\n    this.lastApplied = this.commitIndex;"]],
  },
  {
    name: "pitfall-10-timeout-drawn-once",
    mistake: "draws the election timeout once at boot instead of at every reset",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [
      [
        "this.env.setTimer(\"election\", this.env.randomInt(electionTimeoutMin, electionTimeoutMax));",
        "const self = this as unknown as { drawnOnce?: number };\n    self.drawnOnce ??= this.env.randomInt(electionTimeoutMin, electionTimeoutMax);\n    this.env.setTimer(\"election\", self.drawnOnce);",
      ],
    ],
  },
  {
    name: "unbatched-sends",
    mistake: "sends AppendEntries to every follower on every proposal, so entries travel many times",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    edits: [["    this.log.push({ term: this.currentTerm, command });\n", "    this.log.push({ term: this.currentTerm, command });\n    for (const peer of this.env.peers) this.sendAppendEntries(peer);\n"]],
  },
  // The three mistakes a learner fixed from the failure output alone in
  // the trials (issue 9): the first failure printed must name the cause.
  {
    name: "finished-vote-kept-across-terms",
    mistake: "keeps votedFor when moving to a newer term (in a finished node)",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    firstFailureNames: "A vote belongs to one term",
    edits: [["      this.currentTerm = term;\n      this.votedFor = null;", "      this.currentTerm = term;"]],
  },
  {
    name: "match-from-last-sent",
    mistake: "on success, sets matchIndex from what it last sent that follower instead of what the reply vouches for",
    from: "chapter5-log-replication",
    suites: ["chapter1", "chapter2", "chapter3", "chapter4", "chapter5"],
    firstFailureNames: "matchIndex only from replies",
    edits: [
      [
        "      entries: this.log.slice(prevLogIndex),\n      leaderCommit: this.commitIndex,\n    });",
        "      entries: this.log.slice(prevLogIndex),\n      leaderCommit: this.commitIndex,\n    });\n    const sent = this as unknown as { lastSent?: Map<NodeId, number> };\n    (sent.lastSent ??= new Map()).set(peer, this.lastLogIndex());",
      ],
      ["const newMatch = Math.max(match, reply.matchIndex);", "const newMatch = (this as unknown as { lastSent?: Map<NodeId, number> }).lastSent?.get(from) ?? reply.matchIndex;"],
    ],
  },
  {
    name: "votes-twice-in-a-term",
    mistake: "grants every up-to-date candidate of the current term, whoever it voted for already",
    from: "chapter2-request-vote",
    suites: ["chapter2"],
    firstFailureNames: "One vote per term",
    edits: [["(this.votedFor === null || this.votedFor === request.candidateId);", "(this.votedFor !== request.candidateId || this.votedFor === request.candidateId);"]],
  },
  // Two mistakes of Chapter 4's that a finished Chapter 5 node can still
  // make: only Chapter 4's suite notices (grade --with-earlier exists for them).
  {
    name: "late-candidate-ignores-leader",
    mistake: "a candidate that hears the leader of its own term stays a candidate (in a Chapter 5 node)",
    from: "chapter5-log-replication",
    suites: ["chapter4"],
    edits: [["    if (this.role !== \"follower\") this.becomeFollower(request.term);\n", ""]],
  },
  {
    name: "late-first-heartbeat-waits",
    mistake: "a new leader waits for its heartbeat timer instead of announcing itself at once (in a Chapter 5 node)",
    from: "chapter5-log-replication",
    suites: ["chapter4"],
    edits: [["    // would leave the others time to stand against you.\n    this.sendHeartbeats();", "    // would leave the others time to stand against you.\n    this.env.setTimer(\"heartbeat\", this.env.timing.heartbeatInterval);"]],
  },
  {
    name: "commit-index-goes-back",
    mistake: "sets commitIndex to min(leaderCommit, last new index) even when that is lower than before",
    from: "chapter5-log-replication",
    suites: ["chapter5"],
    edits: [["this.commitIndex = Math.max(this.commitIndex, Math.min(request.leaderCommit, lastNewIndex));", "this.commitIndex = Math.min(request.leaderCommit, lastNewIndex);"]],
  },
  // Chapter 6: persistence. Lab-style scenarios alone catch neither an
  // unsaved vote nor a save after sending; the world's persistence checks must.
  {
    name: "forgets-voted-for",
    mistake: "saves currentTerm and the log but never votedFor",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you answer",
    edits: [["this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log });", "this.env.save({ currentTerm: this.currentTerm, votedFor: null, log: this.log });"]],
  },
  {
    name: "saves-vote-after-replying",
    mistake: "saves its vote after sending the reply that grants it",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you answer",
    edits: [
      ["      // that crashed right after sending and forgot it could vote again.\n      this.persist();\n", "      // that crashed right after sending and forgot it could vote again.\n"],
      ["    this.env.send(from, { type: \"RequestVoteReply\", term: this.currentTerm, voteGranted: grant });", "    this.env.send(from, { type: \"RequestVoteReply\", term: this.currentTerm, voteGranted: grant });\n    if (grant) this.persist();"],
    ],
  },
  {
    name: "saves-only-term-and-vote",
    mistake: "saves currentTerm and votedFor, and an empty log",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you acknowledge",
    edits: [["this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log });", "this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: [] });"]],
  },
  {
    name: "candidate-term-not-saved",
    mistake: "a candidate sends its RequestVotes without saving its new term and its vote for itself",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you stand",
    edits: [["    // the old term, or vote for another candidate in the term it stood in.\n    this.persist();\n", "    // the old term, or vote for another candidate in the term it stood in.\n"]],
  },
  {
    name: "follower-entries-not-saved",
    mistake: "a follower acknowledges new entries without saving them",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you acknowledge",
    edits: [["    if (request.entries.length > 0) this.persist();\n", ""]],
  },
  {
    name: "leader-command-not-saved",
    mistake: "a leader appends a client's command and counts its own copy without saving it",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you acknowledge",
    edits: [["    // The leader's own copy counts toward a majority: on disk first.\n    this.persist();\n", ""]],
  },
  {
    name: "leader-saves-after-committing",
    mistake: "a leader saves a client's command only after counting its own copy and committing",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Save before you acknowledge",
    edits: [
      ["    // The leader's own copy counts toward a majority: on disk first.\n    this.persist();\n", ""],
      ["    this.advanceCommitIndex();\n    return { accepted: true, index: this.lastLogIndex(), term: this.currentTerm };", "    this.advanceCommitIndex();\n    this.persist();\n    return { accepted: true, index: this.lastLogIndex(), term: this.currentTerm };"],
    ],
  },
  {
    name: "restores-commit-index",
    mistake: "on restart, takes every saved entry to be committed (commitIndex = the saved log's length)",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Restart from what you saved",
    edits: [["      this.log = [...saved.log];\n", "      this.log = [...saved.log];\n      this.commitIndex = saved.log.length;\n"]],
  },
  {
    name: "restores-last-applied",
    mistake: "on restart, takes the state machine to have survived (lastApplied = the saved log's length), so nothing is applied again",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Restart from what you saved",
    edits: [["      this.log = [...saved.log];\n", "      this.log = [...saved.log];\n      this.lastApplied = saved.log.length;\n"]],
  },
  {
    name: "restores-term-and-vote-only",
    mistake: "on restart, takes back currentTerm and votedFor but starts with an empty log",
    from: "chapter6-persistence",
    suites: ["chapter6"],
    firstFailureNames: "Restart from what you saved",
    edits: [["      this.log = [...saved.log];\n", ""]],
  },
  // Chapter 7: the hint and fast backup.
  {
    name: "conflict-index-one-past",
    mistake: "reports the index after the first entry of the conflicting term",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    firstFailureNames: "A refusal's hint is honest",
    edits: [["this.env.send(to, { ...reply, conflictTerm, conflictIndex });", "this.env.send(to, { ...reply, conflictTerm, conflictIndex: conflictIndex + 1 });"]],
  },
  {
    name: "conflict-index-not-walked-back",
    mistake: "a follower reports prevLogIndex itself as conflictIndex, not walking back to the first entry of the conflicting term",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    firstFailureNames: "A refusal's hint is honest",
    edits: [["    while (conflictIndex > 1 && this.termAt(conflictIndex - 1) === conflictTerm) conflictIndex--;\n", ""]],
  },
  {
    name: "short-log-hint-at-last-entry",
    mistake: "a follower whose log is too short points at its last entry instead of just past it",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    firstFailureNames: "A refusal's hint is honest",
    edits: [["this.env.send(to, { ...reply, conflictIndex: this.lastLogIndex() + 1 });", "this.env.send(to, { ...reply, conflictIndex: Math.max(1, this.lastLogIndex()) });"]],
  },
  {
    name: "skips-term-without-looking",
    mistake: "the leader jumps to conflictIndex without looking for the conflicting term in its own log",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    edits: [["target = last > 0 ? last + 1 : (reply.conflictIndex ?? next - 1);", "target = reply.conflictIndex ?? next - 1;"]],
  },
  {
    name: "stale-refusal-obeyed",
    mistake: "a late refusal takes nextIndex back below what the follower has already confirmed",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    edits: [["this.nextIndex[from] = Math.max(match + 1, Math.min(next - 1, target));", "this.nextIndex[from] = Math.max(1, Math.min(next - 1, target));"]],
  },
  {
    name: "refusal-moves-forward",
    mistake: "a late refusal moves nextIndex forward to its hint, so the back-up starts over",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    edits: [["this.nextIndex[from] = Math.max(match + 1, Math.min(next - 1, target));", "this.nextIndex[from] = Math.max(match + 1, target);"]],
  },
  {
    name: "one-entry-backup",
    mistake: "ignores the hint and backs up one entry per round trip",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    edits: [["    if (reply.conflictTerm !== undefined) {\n      // Do we hold", "    if (reply.conflictTerm !== undefined && this.env.id === \"none\") {\n      // Do we hold"], ["    } else if (reply.conflictIndex !== undefined) {\n      target = reply.conflictIndex;", "    } else if (reply.conflictIndex !== undefined && reply.conflictTerm === undefined) {\n      target = reply.conflictIndex;"]],
  },
  {
    name: "unbounded-batches",
    mistake: "sends the whole rest of the log in every AppendEntries",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    edits: [["    entries = entries.slice(0, MAX_ENTRIES_PER_MESSAGE);\n", ""]],
  },
  {
    name: "batches-wait-for-heartbeat",
    mistake: "a follower far behind gets one batch per heartbeat, never the next one at once",
    from: "chapter7-hostile-network",
    suites: ["chapter7"],
    edits: [["      if (newMatch > match && this.lastLogIndex() - newMatch >= MAX_ENTRIES_PER_MESSAGE) this.sendAppendEntries(from);\n", ""]],
  },
  // Chapter 8: the key-value service and its clerk.
  {
    name: "no-duplicate-detection",
    mistake: "applies every request that comes out of the log, retries included, so a retry that reached the log twice is applied twice",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "Clients assign unique serial numbers",
    edits: [["if (session !== undefined && request.sequence <= session.sequence) answeredBefore = session.value;", ""]],
  },
  {
    name: "one-session-for-all-clients",
    mistake: "keeps one duplicate table for all clients, so one client's request 1 hides another's",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "Clients assign unique serial numbers",
    edits: [
      ["    const session = this.sessions.get(request.clientId);\n    if (session !== undefined && request.sequence <= session.sequence) answeredBefore", "    const session = this.sessions.get(\"every client\");\n    if (session !== undefined && request.sequence <= session.sequence) answeredBefore"],
      ["this.sessions.set(request.clientId, { sequence: request.sequence, value });", "this.sessions.set(\"every client\", { sequence: request.sequence, value });"],
    ],
  },
  {
    name: "get-from-own-store",
    mistake: "a leader answers get at once from its own store, without the log, so a deposed leader that does not know it yet reads stale data",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "reads included",
    edits: [
      [
        "    // Reads go through the log too",
        "    if (request.operation === \"get\") {\n      this.env.replyToClient(from, { type: \"ClientReply\", sequence: request.sequence, success: true, value: this.store.get(request.key) ?? \"\", leaderId: this.env.id });\n      return;\n    }\n    // Reads go through the log too",
      ],
    ],
  },
  {
    name: "acknowledges-before-commit",
    mistake: "answers a client as soon as its request is in the leader's log, before it is committed",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "Once an entry has been committed",
    edits: [
      [
        "    if (proposed.accepted) this.waiting.set(proposed.index, { clientId: request.clientId, sequence: request.sequence });",
        "    if (proposed.accepted) this.env.replyToClient(from, { type: \"ClientReply\", sequence: request.sequence, success: true, value: this.store.get(request.key) ?? \"\", leaderId: this.env.id });",
      ],
    ],
  },
  {
    name: "waits-forever-for-replaced-entry",
    mistake: "a server never gives up on a request it proposed: it stops leading, another entry may take that index, and the client is left waiting",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "A leader that proposed a client's request may never see it committed",
    edits: [["    for (const waiter of this.waiting.values()) {\n      this.env.replyToClient(", "    for (const waiter of [] as { clientId: string; sequence: number }[]) {\n      this.env.replyToClient("]],
  },
  {
    name: "waiters-refused-but-kept",
    mistake: "a leader that steps down refuses its waiting clients but keeps them, so an entry applied later at one of their indexes is answered as theirs",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "A leader that proposed a client's request may never see it committed",
    edits: [["    this.waiting.clear();\n", ""]],
  },
  {
    name: "sessions-outside-state-machine",
    mistake: "records a client's last request when the leader answers it, not as the entry is applied, so a new leader or a restarted node does not know it",
    from: "chapter8-key-value-service",
    suites: ["chapter8"],
    firstFailureNames: "part of the replicated state machine",
    edits: [
      ["    this.sessions.set(request.clientId, { sequence: request.sequence, value });\n", ""],
      [
        "    this.env.replyToClient(waiter.clientId, { type: \"ClientReply\", sequence: waiter.sequence, success: true, value, leaderId: this.env.id });\n",
        "    this.sessions.set(waiter.clientId, { sequence: waiter.sequence, value });\n    this.env.replyToClient(waiter.clientId, { type: \"ClientReply\", sequence: waiter.sequence, success: true, value, leaderId: this.env.id });\n",
      ],
    ],
  },
  {
    name: "clerk-stuck-after-leader-change",
    mistake: "a clerk that keeps asking the same server: it ignores the leader a refusal names and retries where it was",
    from: "chapter8-key-value-service",
    file: "clerk.ts",
    suites: ["chapter8"],
    firstFailureNames: "If the client's first choice is not the leader",
    edits: [
      ["if (reply.leaderId !== null && reply.leaderId !== from) {", "if (reply.leaderId !== null && reply.leaderId === \"nobody\") {"],
      ["const next = clerk.servers[(clerk.servers.indexOf(clerk.leader) + 1) % clerk.servers.length]!;", "const next = clerk.leader;"],
    ],
  },
  // Chapter 9: snapshots.
  {
    name: "snapshot-keeps-its-last-entry",
    mistake: "cuts the log one entry short of the snapshot: the entry at lastIncludedIndex stays in the log, so every index after the snapshot is off by one",
    from: "chapter9-snapshots",
    suites: ["chapter9"],
    firstFailureNames: "A snapshot discards only what it replaces",
    edits: [["this.log = this.log.slice(index - this.lastIncludedIndex);\n    this.lastIncludedIndex = index;\n    this.snapshotState = this.stateMachineState();", "this.log = this.log.slice(index - this.lastIncludedIndex - 1);\n    this.lastIncludedIndex = index;\n    this.snapshotState = this.stateMachineState();"]],
  },
  {
    name: "stale-snapshot-rolls-back",
    mistake: "installs every InstallSnapshot that arrives, so a late or repeated one takes the state machine back to an older state",
    from: "chapter9-snapshots",
    suites: ["chapter9"],
    firstFailureNames: "Apply in order, exactly once",
    edits: [["    if (index <= this.lastApplied) {\n      this.env.send(from, { type: \"InstallSnapshotReply\", term: this.currentTerm, matchIndex: index });\n      return;\n    }\n", ""]],
  },
  {
    name: "forgets-last-included-term",
    mistake: "knows no term at the snapshot's last index, so the consistency check at the boundary and the up-to-date check of RequestVote read 0 there",
    from: "chapter9-snapshots",
    suites: ["chapter9"],
    firstFailureNames: "A refusal's hint is honest",
    edits: [["    if (index === this.lastIncludedIndex) return this.lastIncludedTerm;\n", ""]],
  },
  {
    name: "restarts-with-last-applied-zero",
    mistake: "restarts from its snapshot with lastApplied at 0, as before snapshots, so the entries the snapshot holds would be applied again",
    from: "chapter9-snapshots",
    suites: ["chapter9"],
    firstFailureNames: "Restart from what you saved",
    edits: [["        this.lastApplied = this.lastIncludedIndex;\n", "        this.lastApplied = 0;\n"]],
  },
  {
    name: "sessions-left-out-of-snapshot",
    mistake: "writes only the store into its snapshot, not the clients' sessions, so after a restart or an install a retried request is applied again",
    from: "chapter9-snapshots",
    suites: ["chapter9"],
    firstFailureNames: "part of the replicated state machine",
    edits: [["return JSON.stringify({ store: [...this.store], sessions: [...this.sessions] });", "return JSON.stringify({ store: [...this.store], sessions: [] });"]],
  },
  {
    name: "snapshot-saved-apart",
    mistake: "saves the shortened log first and the snapshot in a second save, so a crash between the two loses committed entries",
    from: "chapter9-snapshots",
    suites: ["chapter9"],
    firstFailureNames: "A save keeps what is committed",
    edits: [
      [
        "    else this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log, snapshot });",
        "    else {\n      this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log });\n      this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: this.log, snapshot });\n    }",
      ],
    ],
  },
];

/** The file a mutant's edits go into. */
function mutatedFile(mutant: Mutant): string {
  return mutant.file ?? "node.ts";
}

/** The mutated file's text: the reference with the mistake planted. */
export function mutantSource(mutant: Mutant): string {
  const name = mutatedFile(mutant);
  let text = readFileSync(path.join(PROJECT_ROOT, "solutions", mutant.from, name), "utf8");
  for (const [find, replace] of mutant.edits) {
    const count = text.split(find).length - 1;
    if (count !== 1) throw new Error(`mutant ${mutant.name}: expected to find this text once in solutions/${mutant.from}/${name}, found it ${count} times:\n${find}`);
    text = text.replace(find, replace);
  }
  return `// Mutant "${mutant.name}": ${mutant.mistake}.\n${text}`;
}

/**
 * Write the mutant under `root` and return the path of its node.ts. The
 * chapter's other files (Chapter 8's clerk.ts) are written beside it, as
 * the reference has them unless they are what the mutant changes, so
 * they are graded with it as a learner's would be.
 */
export function writeMutant(mutant: Mutant, root: string): string {
  const dir = path.join(root, mutant.name);
  mkdirSync(dir, { recursive: true });
  const mutated = mutatedFile(mutant);
  for (const name of readdirSync(path.join(PROJECT_ROOT, "solutions", mutant.from))) {
    if (!name.endsWith(".ts") || name === "experiment.ts") continue;
    const target = path.join(dir, name);
    if (name === mutated) writeFileSync(target, mutantSource(mutant));
    else copyFileSync(path.join(PROJECT_ROOT, "solutions", mutant.from, name), target);
  }
  return path.join(dir, "node.ts");
}
