/**
 * Building blocks the chapter suites share: one real node among scripted
 * peers, message builders, and ways to read what a node sent.
 */
import type { AppendEntries, AppendEntriesReply, CreateNode, LogEntry, Message, NodeId, PersistentState, RequestVote, RequestVoteReply } from "../../world/contract.ts";
import { entriesFrom, type HasLog } from "../../world/log.ts";
import { nodeIds, type World, type WorldOptions } from "../../world/world.ts";
import { world } from "./graded.ts";
import { commitOnAll, currentLeader, proposeEvery } from "../../scenarios/fault-scenarios.ts";

export { commitOnAll, currentLeader, proposeEvery };

/**
 * Node A is real; the other `size - 1` nodes are played by the test.
 * `saved` gives A a starting disk (e.g. to begin in term 3).
 */
export function nodeAmongScriptedPeers(createNode: CreateNode, size: number, seed: number, saved?: PersistentState, extra: Partial<WorldOptions> = {}): World {
  const nodes = nodeIds(size);
  return world({ nodes, scripted: nodes.slice(1), createNode, seed, ...(saved ? { saved: { A: saved } } : {}), ...extra });
}

export function requestVote(term: number, candidateId: NodeId, lastLogIndex = 0, lastLogTerm = 0): RequestVote {
  return { type: "RequestVote", term, candidateId, lastLogIndex, lastLogTerm };
}

export function vote(term: number, voteGranted: boolean): RequestVoteReply {
  return { type: "RequestVoteReply", term, voteGranted };
}

export function appendEntries(term: number, leaderId: NodeId, fields: Partial<Omit<AppendEntries, "type" | "term" | "leaderId">> = {}): AppendEntries {
  return { type: "AppendEntries", term, leaderId, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ...fields };
}

export function appendReply(term: number, success: boolean, matchIndex = 0, lastLogIndex = 0): AppendEntriesReply {
  return { type: "AppendEntriesReply", term, success, matchIndex, lastLogIndex };
}

/** Messages of one type a scripted peer has received, oldest first. */
export function received<T extends Message["type"]>(w: World, peer: NodeId, type: T): Extract<Message, { type: T }>[] {
  return w
    .inbox(peer)
    .map((m) => m.message)
    .filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/** The last message of a type a scripted peer received, if any. */
export function lastReceived<T extends Message["type"]>(w: World, peer: NodeId, type: T): Extract<Message, { type: T }> | undefined {
  return received(w, peer, type).at(-1);
}

/** Run until node A stands for election (it must within the longest timeout). */
export function untilCandidate(w: World, id: NodeId = "A"): boolean {
  return w.runUntil(() => w.view(id).role === "candidate", w.timing.electionTimeoutMax + 1);
}

/** "candidate in term 3": a node's role and term, for failure messages. */
export function roleOf(w: World, id: NodeId): string {
  const v = w.view(id);
  return `${v.role} in term ${v.currentTerm}`;
}

/** Make node A (among scripted peers) win an election with just enough scripted votes; returns its term. */
export function electA(w: World): number {
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  const needed = Math.floor(w.nodes.length / 2) + 1;
  for (const voter of w.nodes.slice(1, needed)) w.sendAs(voter, "A", vote(term, true));
  return term;
}

/** "the leader A", "no leader", "two leaders (A, C)" */
export function describeLeaders(w: World): string {
  const leaders = w.leaders();
  if (leaders.length === 0) return "no leader";
  return leaders.map((id) => `${id} (term ${w.view(id).currentTerm})`).join(" and ");
}

/** Whether the node ever held the given role, judging by the trace. */
export function everBecame(w: World, id: NodeId, role: "leader" | "candidate" | "follower"): boolean {
  return w.traceOf("role").some((e) => e.node === id && e.to === role);
}

/** Run until there is a current leader (among `among`, within `withinMs`); return it. */
export function awaitLeader(w: World, withinMs = 1000, among: readonly NodeId[] = w.nodes): NodeId | undefined {
  w.runUntil(() => currentLeader(w, among) !== undefined, withinMs);
  return currentLeader(w, among);
}

/** Run until every listed node has committed `index` (within `withinMs`). */
export function awaitCommitted(w: World, index: number, ids: readonly NodeId[] = w.runningNodes(), withinMs = 1000): boolean {
  return w.runUntil(() => ids.every((id) => w.view(id).commitIndex >= index), withinMs);
}

/** The commands a node has applied since it booted, in order. */
export function appliedCommands(w: World, id: NodeId): string[] {
  return w.applied(id).map((a) => a.entry.command);
}

/** A log in a few words: [1:a 1:b 2:x]. The world's own, so tests and traces write logs alike. */
export { showLog } from "../../world/log.ts";

/**
 * A node's whole log as a list of entries, index 1 first: what a test
 * compares, with another node's log or with the log it expects
 * (`showLog(logEntries(v)) === "[1:a 2:x]"`). It goes through world/log.ts
 * like every other read of a log, because from the snapshot chapter on a
 * log array may begin after a snapshot and only those helpers will know.
 * Compare the list whole; to look up an index, use entryAt or termAt.
 */
export function logEntries(view: HasLog): readonly LogEntry[] {
  return entriesFrom(view, 1);
}
