/**
 * Chapter 5: AppendEntries and log replication (50 points).
 *
 * Whole-cluster scenarios (agreement, failures, partitions, Figure 8),
 * the receiver's and the leader's rules with scripted peers, a message
 * budget, and randomized runs on an unreliable network driven by
 * fast-check, which shrinks a failing run to a short fault schedule.
 */
import fc from "fast-check";
import type { CreateNode, LogEntry, NodeId } from "../world/contract.ts";
import { commandsOf, entryAt, lastIndex, sameEntry } from "../world/log.ts";
import { World, type NetworkSettings } from "../world/world.ts";
import { drawing, expectRule, graded, randomizedRuns, seed, seeds, world } from "./harness/graded.ts";
import { checkRandomizedRuns, describeFaults, FAULT, NODES, scheduleFaults, type Fault } from "./harness/randomized.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import {
  appendEntries,
  appendReply,
  appliedCommands,
  awaitCommitted,
  awaitLeader,
  commitOnAll,
  currentLeader,
  describeLeaders,
  lastReceived,
  logEntries,
  nodeAmongScriptedPeers,
  electA,
  proposeEvery,
  received,
  requestVote,
  roleOf,
  showLog,
} from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter5-log-replication");

/** A healthy cluster with a leader; fails the test if none is elected. */
function clusterWithLeader(size: number, s: number): { w: World; leader: NodeId } {
  const w = world({ nodes: size, createNode, seed: s });
  const leader = awaitLeader(w);
  expectRule(leader !== undefined, RULE.liveness, () => `${size} healthy nodes elected no leader within 1 s.`);
  return { w, leader };
}

/** Propose to `id`, which must accept; returns the index. */
function mustAccept(w: World, id: NodeId, command: string): number {
  const result = w.propose(id, command);
  expectRule(result.accepted, RULE.clientToLeader, () => `leader ${id} (${roleOf(w, id)}) refused the command "${command}": ${JSON.stringify(result)}.`);
  return result.index;
}

function logsOf(w: World, ids: readonly NodeId[] = w.runningNodes()): string {
  return ids.map((id) => `${id} ${showLog(w.view(id).log)} commit ${w.view(id).commitIndex}`).join("; ");
}

/** Every running node holds the same log, has committed all of it, and applied it all, in order. */
function expectAllAgree(w: World, rule: string, what: string): void {
  const ids = w.runningNodes();
  const reference = w.view(ids[0]!);
  for (const id of ids) {
    const v = w.view(id);
    expectRule(showLog(logEntries(v)) === showLog(logEntries(reference)), rule, () => `${what}: the logs differ: ${logsOf(w)}.`);
    expectRule(v.commitIndex === lastIndex(reference), rule, () => `${what}: node ${id} has committed ${v.commitIndex} of ${lastIndex(reference)} entries: ${logsOf(w)}.`);
    const applied = appliedCommands(w, id);
    expectRule(applied.join() === commandsOf(reference).join(), RULE.applyInOrder, () => `${what}: node ${id} applied [${applied.join(", ")}], its log is ${showLog(v.log)}.`);
  }
}

const FAST = { electionTimeoutMin: 150, electionTimeoutMax: 151 };
const SLOW = { electionTimeoutMin: 400, electionTimeoutMax: 401 };

/**
 * Figure 8 (a) to (c), with S1..S5 played by A..E. "Crashes" are pauses:
 * the node stops, keeps its memory, and carries on when resumed (there is
 * no persistence until a later chapter). Who stands next is chosen with
 * per-node election timeouts. Returns the world just after (c), with A
 * leading term 4 and index 2 (term 2) on A, B, C and D.
 */
function figure8UpToC(s: number): World {
  const term1 = { currentTerm: 1, votedFor: null, log: [{ term: 1, command: "a" }] };
  const w = world({
    nodes: ["A", "B", "C", "D", "E"],
    createNode,
    seed: s,
    saved: { A: term1, B: term1, C: term1, D: term1, E: term1 },
    nodeTiming: { A: FAST, B: SLOW, C: { electionTimeoutMin: 300, electionTimeoutMax: 301 }, D: { electionTimeoutMin: 300, electionTimeoutMax: 301 }, E: { electionTimeoutMin: 200, electionTimeoutMax: 201 } },
  });
  const state = (id: NodeId) => `${id}: ${roleOf(w, id)}, log ${showLog(w.view(id).log)}, commit ${w.view(id).commitIndex}`;

  // (a) A leads term 2 and replicates index 2 (term 2) to B only.
  w.mark("Figure 8 (a): A should win term 2 and get a new entry to B only");
  w.runUntil(() => w.view("A").role === "leader", 400);
  expectRule(w.view("A").role === "leader" && w.view("A").currentTerm === 2, RULE.majority, () => `Figure 8 (a): A times out first and should lead term 2; ${state("A")}.`);
  w.runFor(20);
  expectRule(w.view("A").commitIndex === 0, RULE.figure8, () => `Figure 8 (a): every node holds index 1, but it is from term 1 and A leads term 2 with no entry of its own yet, so A may not count its copies; A set commitIndex to ${w.view("A").commitIndex}.`);
  for (const id of ["C", "D", "E"]) w.cutOneWay("A", id);
  mustAccept(w, "A", "b");
  const reachedB = w.runUntil(() => lastIndex(w.view("B")) === 2, 200);
  expectRule(reachedB, RULE.replicate, () => `Figure 8 (a): A's new entry never reached B: ${state("B")}.`);
  w.pause("A");
  w.heal();
  // (b) E stands for term 3 and wins with C and D (B's log is ahead of E's), then takes an entry only it will hold.
  w.mark("Figure 8 (b): A stops; E should win term 3 with C and D");
  w.runUntil(() => w.view("E").role === "leader", 600);
  expectRule(w.view("E").role === "leader" && w.view("E").currentTerm === 3, RULE.upToDate, () => `Figure 8 (b): with A stopped, E should win term 3 with votes from C and D; ${state("E")}; ${state("B")}.`);
  mustAccept(w, "E", "c");
  w.pause("E");
  // (c) A comes back, steps down, and wins term 4 (its log is ahead of C's and D's).
  w.mark("Figure 8 (c): E stops; A comes back and should win term 4");
  w.setTiming("A", FAST);
  for (const id of ["B", "C", "D"]) w.setTiming(id, SLOW);
  w.resume("A");
  w.runUntil(() => w.view("A").role === "leader" && w.view("A").currentTerm === 4, 600);
  expectRule(w.view("A").role === "leader" && w.view("A").currentTerm === 4, RULE.newerTerm, () => `Figure 8 (c): A, back, should step down on seeing term 3, then win term 4; ${state("A")}.`);
  const spread = w.runUntil(() => ["B", "C", "D"].every((id) => entryAt(w.view(id), 2)?.command === "b"), 300);
  expectRule(spread, RULE.replicate, () => `Figure 8 (c): A, leader of term 4, should bring B, C and D up to its log; ${["B", "C", "D"].map(state).join("; ")}. (If the followers keep losing entries they already had, look at receiver rule 3: never cut the log without a conflict.)`);
  expectRule(w.view("A").commitIndex === 0, RULE.figure8, () => `Figure 8 (c): index 1 (term 1) and index 2 (term 2) are both on a majority, but A leads term 4 and has no entry of term 4 yet, so it may not count copies of them; A set commitIndex to ${w.view("A").commitIndex}.`);
  return w;
}

const entry = (term: number, command: string): LogEntry => ({ term, command });

/** Node A as leader among scripted followers B..E, with `commands` proposed and sent. */
function scriptedLeader(s: number, commands: readonly string[]): { w: World; term: number } {
  const w = nodeAmongScriptedPeers(createNode, 5, s);
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had 3 votes of 5 and is a ${roleOf(w, "A")}.`);
  for (const command of commands) mustAccept(w, "A", command);
  w.clearInboxes();
  w.runFor(w.timing.heartbeatInterval);
  return { w, term };
}

interface RandomCase {
  readonly seed: number;
  readonly dropPercent: number;
  readonly duplicatePercent: number;
  readonly reorderPercent: number;
  readonly faults: readonly Fault[];
}

const faultArb: fc.Arbitrary<Fault> = fc.oneof(FAULT.partition, FAULT.isolate, FAULT.cut, FAULT.heal);
const caseArb: fc.Arbitrary<RandomCase> = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  dropPercent: fc.integer({ min: 0, max: 20 }),
  duplicatePercent: fc.integer({ min: 0, max: 20 }),
  reorderPercent: fc.integer({ min: 0, max: 20 }),
  faults: fc.array(faultArb, { maxLength: 8 }),
});

function describeCase(c: RandomCase): string {
  return `world seed ${c.seed}; network: ${c.dropPercent}% lost, ${c.duplicatePercent}% duplicated, ${c.reorderPercent}% held back; faults: ${describeFaults(c.faults)}; then at 3500 ms everything heals.`;
}

/** One randomized run. Throws on any broken guarantee or disagreement. */
function runCase(c: RandomCase, build: (options: ConstructorParameters<typeof World>[0]) => World): void {
  const network: Partial<NetworkSettings> = { dropRate: c.dropPercent / 100, duplicateRate: c.duplicatePercent / 100, reorderRate: c.reorderPercent / 100 };
  // Keep only the end of the trace in bulk runs; a replay draws all of it.
  const w = build({ nodes: [...NODES], createNode, seed: c.seed, network, ...(drawing() ? {} : { traceLimit: 400 }) });
  scheduleFaults(w, c.faults);
  // A client proposes a new command every 50 ms to whichever node leads.
  proposeEvery(w, { from: 100, everyMs: 50, through: 3000 });
  w.at(3500, "heal and steady the network", () => {
    w.heal();
    w.setNetwork({ dropRate: 0, duplicateRate: 0, reorderRate: 0 });
  });
  w.runUntilTime(3500);
  // Once healed, a leader emerges and commits one more command of its own
  // term, which commits everything before it.
  const finalIndex = commitOnAll(w, "final", 3000);
  expectRule(finalIndex !== undefined, RULE.logsConverge, () => `3 s after the network healed, a last command was not committed on every node: ${describeLeaders(w)}; ${w.nodes.map((id) => `${id} commit ${w.view(id).commitIndex}/${lastIndex(w.view(id))}`).join(", ")}.`);
  w.runFor(200);
  const reference = showLog(logEntries(w.view("A")));
  for (const id of w.nodes) {
    expectRule(showLog(logEntries(w.view(id))) === reference, RULE.logsConverge, () => `after healing, node ${id}'s log differs from A's: ${id} ${showLog(w.view(id).log)} vs A ${reference}.`);
    const applied = appliedCommands(w, id).join();
    expectRule(applied === commandsOf(w.view(id)).join(), RULE.applyInOrder, () => `node ${id} applied [${applied}] but its log is ${showLog(w.view(id).log)}.`);
  }
}

const RANDOMIZED = randomizedRuns(20261126, 50);

// ---------------------------------------------------------------------------
// Step 1: Vote only for a candidate whose log is at least as up-to-date
// ---------------------------------------------------------------------------

graded(4, "a voter refuses a candidate whose log is behind: later last term first, then length, never length alone", { step: 1 }, () => {
  const cases: { lastLogIndex: number; lastLogTerm: number; grant: boolean; why: string }[] = [
    { lastLogIndex: 1, lastLogTerm: 3, grant: true, why: "its last entry has a later term (3 > 2), although its log is shorter" },
    { lastLogIndex: 3, lastLogTerm: 2, grant: true, why: "its log ends with the same term and is as long" },
    { lastLogIndex: 2, lastLogTerm: 2, grant: false, why: "its log ends with the same term but is shorter" },
    { lastLogIndex: 9, lastLogTerm: 1, grant: false, why: "its last entry has an older term (1 < 2), although its log is longer" },
    { lastLogIndex: 0, lastLogTerm: 0, grant: false, why: "its log is empty" },
  ];
  cases.forEach((c, i) => {
    const w = nodeAmongScriptedPeers(createNode, 3, seed(15), { currentTerm: 2, votedFor: null, log: [entry(1, "a"), entry(2, "b"), entry(2, "c")] });
    w.runFor(20);
    const timerBefore = w.timer("A", "election");
    w.sendAs("B", "A", requestVote(3, "B", c.lastLogIndex, c.lastLogTerm));
    const reply = lastReceived(w, "B", "RequestVoteReply");
    expectRule(reply?.voteGranted === c.grant, RULE.upToDate, () => `case ${i + 1}: voter A's log is [1 2 2] (last term 2, length 3); candidate B's last entry is ${c.lastLogIndex}/${c.lastLogTerm}: ${c.why}, so A should ${c.grant ? "grant" : "refuse"}; it answered ${reply ? (reply.voteGranted ? "granted" : "refused") : "nothing"}.`);
    expectRule(w.view("A").currentTerm === 3, RULE.newerTerm, () => `case ${i + 1}: the request's term 3 is newer, and A should move to it whatever its answer; A is in term ${w.view("A").currentTerm}.`);
    if (!c.grant) {
      const timerAfter = w.timer("A", "election");
      expectRule(timerAfter?.setAt === timerBefore?.setAt, RULE.resetOnGrant, () => `case ${i + 1}: node A refused the vote but reset its election timer.`);
    }
  });
});

// ---------------------------------------------------------------------------
// Step 2: Accept a client's command
// ---------------------------------------------------------------------------

graded(3, "a leader appends a client's command to its own log, in its term; a follower refuses and names its leader", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(16), { currentTerm: 1, votedFor: null, log: [entry(1, "old")] });
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had 2 votes of 3 and is a ${roleOf(w, "A")}.`);
  const first = w.propose("A", "x");
  expectRule(first.accepted && first.index === 2 && first.term === term, RULE.clientToLeader, () => `leader A of term ${term}, whose log holds one entry, answered the command "x" with ${JSON.stringify(first)}; it should accept it at index 2, in term ${term}.`);
  const second = w.propose("A", "y");
  expectRule(second.accepted && second.index === 3, RULE.clientToLeader, () => `the next command "y" got ${JSON.stringify(second)}; it goes at index 3.`);
  expectRule(showLog(logEntries(w.view("A"))) === `[1:old ${term}:x ${term}:y]`, RULE.clientToLeader, () => `leader A's log is ${showLog(w.view("A").log)}; the commands go at the end, each with the leader's term ${term}.`);
  // B wins a later term and tells A: A is a follower now, and knows who leads.
  w.sendAs("B", "A", appendEntries(term + 1, "B", { prevLogIndex: 0, prevLogTerm: 0 }));
  expectRule(w.view("A").role === "follower", RULE.newerTerm, () => `after an AppendEntries of term ${term + 1} from B, node A is a ${roleOf(w, "A")}.`);
  const before = showLog(logEntries(w.view("A")));
  const refused = w.propose("A", "z");
  expectRule(!refused.accepted && refused.leaderId === "B", RULE.clientToLeader, () => `follower A, whose leader is B, answered a client with ${JSON.stringify(refused)}; it should refuse and name B.`);
  expectRule(showLog(logEntries(w.view("A"))) === before, RULE.clientToLeader, () => `follower A put the refused command in its log: ${showLog(w.view("A").log)}.`);
});

// ---------------------------------------------------------------------------
// Step 3: Send each follower the entries it is missing
// ---------------------------------------------------------------------------

graded(3, "a leader sends each follower the entries from its nextIndex on, after the entry before them (prevLogIndex, prevLogTerm)", { step: 3 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(17), { currentTerm: 1, votedFor: null, log: [entry(1, "a"), entry(1, "b")] });
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had 2 votes of 3 and is a ${roleOf(w, "A")}.`);
  // (Whether the first heartbeat goes out at once is Chapter 4's business.)
  w.runUntil(() => ["B", "C"].every((peer) => received(w, peer, "AppendEntries").length > 0), w.timing.heartbeatInterval);
  for (const peer of ["B", "C"]) {
    const first = received(w, peer, "AppendEntries")[0];
    expectRule(first !== undefined, RULE.heartbeatsRepeat, () => `leader A sent ${peer} nothing in the ${w.timing.heartbeatInterval} ms after it won.`);
    expectRule(first.prevLogIndex === 2 && first.prevLogTerm === 1 && first.entries.length === 0, RULE.replicate, () => `a new leader hopes each follower already holds its whole log: nextIndex starts at its last index + 1 (3), so the first heartbeat says prevLogIndex 2, prevLogTerm 1, no entries. To ${peer} it sent ${JSON.stringify(first)}.`);
  }
  mustAccept(w, "A", "c");
  w.clearInboxes();
  w.runFor(w.timing.heartbeatInterval);
  const next = received(w, "B", "AppendEntries")[0];
  expectRule(next !== undefined, RULE.heartbeatsRepeat, () => `leader A sent B nothing in the ${w.timing.heartbeatInterval} ms after the command arrived.`);
  expectRule(next.prevLogIndex === 2 && next.prevLogTerm === 1 && showLog(next.entries) === `[${term}:c]`, RULE.replicate, () => `B's nextIndex is 3 and A's log is ${showLog(w.view("A").log)}: the next AppendEntries to B should carry prevLogIndex 2, prevLogTerm 1 and the entry at index 3; it was ${JSON.stringify(next)}.`);
  expectRule(next.term === term && next.leaderId === "A", RULE.replicate, () => `the AppendEntries carried term ${next.term} and leaderId ${JSON.stringify(next.leaderId)}.`);
});

// ---------------------------------------------------------------------------
// Step 4: Check that your log matches the leader's, then store the entries
// ---------------------------------------------------------------------------

graded(3, "AppendEntries, heartbeats included, is refused unless the log holds prevLogIndex with prevLogTerm", { step: 4 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(11), { currentTerm: 2, votedFor: null, log: [entry(1, "a"), entry(1, "b"), entry(2, "x")] });
  w.runFor(20);
  const before = showLog(logEntries(w.view("A")));
  w.sendAs("B", "A", appendEntries(3, "B", { prevLogIndex: 3, prevLogTerm: 3, leaderCommit: 3 }));
  let reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply?.success === false, RULE.prevLogCheck, () => `node A's entry 3 has term 2, the heartbeat said prevLogTerm 3, and A answered ${JSON.stringify(reply)}.`);
  expectRule(w.view("A").commitIndex === 0, RULE.prevLogCheck, () => `after refusing the heartbeat, node A set commitIndex to ${w.view("A").commitIndex}: nothing in its log was vouched for.`);
  w.sendAs("B", "A", appendEntries(3, "B", { prevLogIndex: 5, prevLogTerm: 3, entries: [entry(3, "e")], leaderCommit: 0 }));
  reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply?.success === false && showLog(logEntries(w.view("A"))) === before, RULE.prevLogCheck, () => `node A has 3 entries; AppendEntries with prevLogIndex 5 got ${JSON.stringify(reply)} and left the log ${showLog(w.view("A").log)}. An index past the end is a mismatch: refuse and change nothing.`);
  w.sendAs("B", "A", appendEntries(3, "B", { prevLogIndex: 2, prevLogTerm: 1, entries: [entry(3, "c")], leaderCommit: 3 }));
  reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply?.success === true && reply.matchIndex === 3, RULE.conflictOnly, () => `AppendEntries with prevLogIndex 2, prevLogTerm 1 (which A holds) and one entry got ${JSON.stringify(reply)}; it should succeed with matchIndex 3.`);
  expectRule(showLog(logEntries(w.view("A"))) === "[1:a 1:b 3:c]", RULE.conflictOnly, () => `entry 3 (term 2) conflicted with the leader's (term 3) and should have been replaced: A's log is ${showLog(w.view("A").log)}.`);
});

graded(3, "a late AppendEntries never takes back entries: the log is cut only at a real conflict", { step: 4 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(12));
  w.runFor(20);
  w.sendAs("B", "A", appendEntries(1, "B", { prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, "p"), entry(1, "q"), entry(1, "r")] }));
  expectRule(lastIndex(w.view("A")) === 3, RULE.conflictOnly, () => `node A's log after 3 new entries: ${showLog(w.view("A").log)}.`);
  // An older, shorter message from the same leader arrives late.
  w.sendAs("B", "A", appendEntries(1, "B", { prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, "p")] }));
  const reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(showLog(logEntries(w.view("A"))) === "[1:p 1:q 1:r]", RULE.conflictOnly, () => `a late AppendEntries carrying only entry 1 (which matches) left node A with ${showLog(w.view("A").log)}; entries 2 and 3 were already acknowledged and must stay.`);
  expectRule(reply?.success === true && reply.matchIndex === 1, RULE.staleReplies, () => `the reply to the late message was ${JSON.stringify(reply)}; it vouches for index 1 only (prevLogIndex 0 + 1 entry).`);
  w.sendAs("B", "A", appendEntries(1, "B", { prevLogIndex: 1, prevLogTerm: 1, entries: [entry(1, "q")] }));
  expectRule(lastIndex(w.view("A")) === 3, RULE.conflictOnly, () => `an AppendEntries repeating entry 2 left node A with ${showLog(w.view("A").log)}.`);
});

// ---------------------------------------------------------------------------
// Step 5: Learn what the leader has committed
// ---------------------------------------------------------------------------

graded(3, "commitIndex follows the leader only up to the last entry the message vouched for, and never goes back", { step: 5 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(13), { currentTerm: 1, votedFor: null, log: [entry(1, "a"), entry(1, "b"), entry(1, "z")] });
  w.runFor(20);
  // A leader of term 2 whose index 3 differs from A's; this message only covers index 1.
  w.sendAs("B", "A", appendEntries(2, "B", { prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, "a")], leaderCommit: 3 }));
  const v = w.view("A");
  expectRule(v.commitIndex === 1, RULE.leaderCommitMin, () => `the message vouched for index 1 only and said leaderCommit 3; node A set commitIndex to ${v.commitIndex}. Its entry 3 ("z") was never checked against the leader's log.`);
  // The leader brings A up to date and commits index 3...
  w.sendAs("B", "A", appendEntries(2, "B", { prevLogIndex: 2, prevLogTerm: 1, entries: [entry(2, "c")], leaderCommit: 3 }));
  expectRule(w.view("A").commitIndex === 3, RULE.leaderCommitMin, () => `after an AppendEntries that vouched for index 3 with leaderCommit 3, node A's commitIndex is ${w.view("A").commitIndex}.`);
  // ...then a late copy of an older message arrives: it must not move commitIndex back.
  w.sendAs("B", "A", appendEntries(2, "B", { prevLogIndex: 0, prevLogTerm: 0, entries: [entry(1, "a")], leaderCommit: 4 }));
  expectRule(w.view("A").commitIndex === 3, RULE.commitsGrow, () => `a late AppendEntries (one entry, leaderCommit 4) moved node A's commitIndex from 3 to ${w.view("A").commitIndex}; min(leaderCommit, last new index) is 1 here, but commitIndex never goes back.`);
});

// ---------------------------------------------------------------------------
// Step 6: Track what each follower holds
// ---------------------------------------------------------------------------

graded(3, "a leader tracks each follower: matchIndex from what a reply vouches for, nextIndex backs up after a refusal", { step: 6 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(18), { currentTerm: 1, votedFor: null, log: [entry(1, "a"), entry(1, "b"), entry(1, "c")] });
  const term = electA(w);
  const indexes = () => {
    const v = w.view("A");
    return { match: v.matchIndex?.B, next: v.nextIndex?.B };
  };
  const start = indexes();
  expectRule(start.next === 4 && start.match === 0, RULE.replicate, () => `a new leader with 3 entries starts B at nextIndex 4 and matchIndex 0; leader A's view shows nextIndex ${start.next}, matchIndex ${start.match}.`);
  // B's log is empty: it refuses.
  w.clearInboxes();
  w.sendAs("B", "A", appendReply(term, false, 0, 0));
  const backed = indexes();
  const backedNext = backed.next ?? 0;
  expectRule(backedNext < 4 && backedNext >= 1, RULE.replicate, () => `B refused (its log is empty); leader A's nextIndex for B is ${backed.next}. It should go back (at least by one) and try again.`);
  w.runUntil(() => received(w, "B", "AppendEntries").length > 0, w.timing.heartbeatInterval);
  const retry = received(w, "B", "AppendEntries")[0];
  expectRule(retry !== undefined && retry.prevLogIndex === backedNext - 1, RULE.replicate, () => `after backing nextIndex up to ${backedNext}, leader A's next AppendEntries to B was ${retry ? JSON.stringify(retry) : "never sent"}; it should start at index ${backedNext} (prevLogIndex ${backedNext - 1}).`);
  expectRule(retry.entries.length === 3 - retry.prevLogIndex, RULE.replicate, () => `the retry to B carried ${retry.entries.length} entries after prevLogIndex ${retry.prevLogIndex}; A's log has 3, so ${3 - retry.prevLogIndex} were due.`);
  // Pretend B's log held everything before the retry: it answers success for what the retry carried.
  const vouched = retry.prevLogIndex + retry.entries.length;
  w.sendAs("B", "A", appendReply(term, true, vouched, vouched));
  const after = indexes();
  expectRule(after.match === vouched && after.next === vouched + 1, RULE.staleReplies, () => `B answered success, vouching for index ${vouched}; leader A's view shows matchIndex ${after.match}, nextIndex ${after.next} for B (expected ${vouched} and ${vouched + 1}).`);
});

graded(3, "a leader that sends twice and hears back only about the older message counts only what that reply vouches for", { step: 6 }, () => {
  const { w, term } = scriptedLeader(seed(19), ["p1", "p2"]);
  const first = received(w, "B", "AppendEntries").at(-1);
  expectRule(first !== undefined && first.entries.length === 2, RULE.replicate, () => `leader A, with 2 new entries, sent B ${first ? JSON.stringify(first) : "nothing"} on its next heartbeat.`);
  // A third command, and another heartbeat: this one carries entries 1 to 3.
  mustAccept(w, "A", "p3");
  w.clearInboxes();
  w.runFor(w.timing.heartbeatInterval);
  const second = received(w, "B", "AppendEntries").at(-1);
  expectRule(second !== undefined && second.prevLogIndex + second.entries.length === 3, RULE.replicate, () => `leader A's next AppendEntries to B should reach index 3; it was ${second ? JSON.stringify(second) : "nothing"}.`);
  // Only the reply to the first message comes back: B vouches for index 2.
  w.sendAs("B", "A", appendReply(term, true, 2, 2));
  const v = w.view("A");
  expectRule(v.matchIndex?.B === 2, RULE.staleReplies, () => `B's only reply answered the first AppendEntries and vouches for index 2, yet leader A's matchIndex for B is ${v.matchIndex?.B}. matchIndex comes from the reply, never from what was last sent: the second message may still be lost.`);
  expectRule(v.commitIndex < 3, RULE.staleReplies, () => `leader A committed index 3 (commitIndex ${v.commitIndex}) though no follower has said it holds it.`);
});

// ---------------------------------------------------------------------------
// Step 7: Commit what a majority holds, counting only entries of your own term
// ---------------------------------------------------------------------------

graded(2, "no commit without a majority; commits resume when the majority returns", { step: 7 }, () => {
  for (const s of seeds(10)) {
    const { w, leader } = clusterWithLeader(5, s);
    mustAccept(w, leader, "before");
    awaitCommitted(w, 1, w.nodes, 500);
    const others = w.nodes.filter((id) => id !== leader);
    // Three followers each cut off alone: none of them can win, and the leader has one follower left.
    for (const id of others.slice(1)) w.isolate(id);
    for (let i = 1; i <= 3; i++) mustAccept(w, leader, `no-majority-${i}`);
    w.runFor(1000);
    for (const id of [leader, others[0]!]) {
      const v = w.view(id);
      expectRule(v.commitIndex <= 1, RULE.commitMajority, () => `with only 2 of 5 nodes holding the new commands, node ${id} committed up to index ${v.commitIndex}: ${logsOf(w, [leader, others[0]!])}.`);
      expectRule(v.commitIndex === 1, RULE.commitMajority, () => `"before" (index 1) was committed by all five nodes before the others were cut off, yet node ${id}'s commitIndex is ${v.commitIndex}: ${logsOf(w, [leader, others[0]!])}.`);
    }
    for (const id of others.slice(1)) w.reconnect(id);
    const index = commitOnAll(w, "after", 3000);
    expectRule(index !== undefined, RULE.commitMajority, () => `after the majority returned, a new command was not committed everywhere within 3 s: ${logsOf(w)}.`);
  }
});

graded(3, "Figure 8, (a) to (d): an entry of an older term on a majority is not committed, because it can still be overwritten", { step: 7 }, () => {
  const w = figure8UpToC(seed(8));
  mustAccept(w, "A", "d");
  w.pause("A");
  // (d) A stops before sending its term-4 entry; E comes back and can win term 5 with B, C and D.
  w.mark("Figure 8 (d): A stops before sending its term-4 entry; E comes back and can win term 5");
  w.setTiming("E", FAST);
  for (const id of ["B", "C", "D"]) w.setTiming(id, SLOW);
  w.resume("E");
  w.runUntil(() => w.view("E").role === "leader" && w.view("E").currentTerm === 5, 800);
  expectRule(w.view("E").role === "leader" && w.view("E").currentTerm === 5, RULE.upToDate, () => `Figure 8 (d): E's last entry has term 3, newer than B's, C's and D's (term 2), so E can win term 5; E is a ${roleOf(w, "E")}.`);
  const overwritten = w.runUntil(() => ["B", "C", "D"].every((id) => entryAt(w.view(id), 2)?.command === "c"), 300);
  expectRule(overwritten, RULE.conflictOnly, () => `Figure 8 (d): E, leader of term 5, should overwrite index 2 on B, C and D with its term-3 entry; ${["B", "C", "D"].map((id) => `${id} ${showLog(w.view(id).log)}`).join("; ")}.`);
  // And once an entry of E's own term is on a majority, E commits, and the term-3 entry with it.
  mustAccept(w, "E", "e");
  const committed = w.runUntil(() => w.view("E").commitIndex === 3, 300);
  expectRule(committed, RULE.commitMajority, () => `Figure 8 (d): E's term-5 entry at index 3 reached ${["B", "C", "D"].filter((id) => lastIndex(w.view(id)) >= 3).join(", ") || "nobody"}; once a majority holds it E commits it, and index 2 with it. E's commitIndex is ${w.view("E").commitIndex}.`);
});

graded(2, "Figure 8 (e): once the leader commits an entry of its own term, the older entries are safe and E cannot win", { step: 7 }, () => {
  const w = figure8UpToC(seed(9));
  mustAccept(w, "A", "d");
  const committed = w.runUntil(() => w.view("A").commitIndex === 3, 300);
  expectRule(committed, RULE.commitMajority, () => `Figure 8 (e): A's term-4 entry at index 3 should commit once B, C and D hold it; A's commitIndex is ${w.view("A").commitIndex}, logs ${logsOf(w, ["A", "B", "C", "D"])}.`);
  w.pause("A");
  w.mark("Figure 8 (e): A committed its term-4 entry, then stopped; E comes back and must not win");
  w.setTiming("E", FAST);
  for (const id of ["B", "C", "D"]) w.setTiming(id, { electionTimeoutMin: 250, electionTimeoutMax: 300 });
  w.resume("E");
  w.runFor(1500);
  expectRule(!w.traceOf("role").some((e) => e.node === "E" && e.to === "leader" && e.term > 3), RULE.upToDate, () => "Figure 8 (e): E, whose last entry is from term 3, became leader although B, C and D hold an entry of term 4.");
  const leader = currentLeader(w);
  expectRule(leader !== undefined && ["B", "C", "D"].includes(leader), RULE.liveness, () => `Figure 8 (e): one of B, C, D should lead after A stopped; there is ${describeLeaders(w)}.`);
  // Indexes 1 to 3 must hold exactly a, b, d (what follows them does not matter).
  const committedEntries = [entry(1, "a"), entry(2, "b"), entry(4, "d")];
  const kept = committedEntries.every((want, i) => {
    const held = entryAt(w.view(leader), i + 1);
    return held !== undefined && sameEntry(held, want);
  });
  expectRule(kept, RULE.figure8, () => `Figure 8 (e): the new leader's log starts ${showLog(w.view(leader).log)}; the committed entries a, b, d must all be there.`);
});

graded(2, "message budget: entries are batched, and each reaches each follower about once", { step: 7 }, () => {
  const { w, leader } = clusterWithLeader(3, seed(10));
  w.runFor(200);
  const countFrom = (since: number) => {
    const sent = w.traceOf("send").filter((e) => e.time >= since && e.from === leader && e.message.type === "AppendEntries");
    return { messages: sent.length, entries: sent.reduce((n, e) => n + (e.message.type === "AppendEntries" ? e.message.entries.length : 0), 0) };
  };
  // Twelve commands at once.
  let since = w.now;
  for (let i = 1; i <= 12; i++) mustAccept(w, leader, `burst-${i}`);
  expectRule(awaitCommitted(w, 12, w.nodes, 500), RULE.commitMajority, () => `12 commands were not committed everywhere within 500 ms: ${logsOf(w)}.`);
  let used = countFrom(since);
  expectRule(used.entries <= 2 * 12 + 4, RULE.batching, () => `to get 12 commands to 2 followers, leader ${leader} sent ${used.entries} entries in ${used.messages} AppendEntries; about ${2 * 12} entries are needed.`);
  // A steady trickle: one command every 10 ms for a second.
  w.runFor(100);
  since = w.now;
  for (let i = 1; i <= 100; i++) {
    mustAccept(w, leader, `steady-${i}`);
    w.runFor(10);
  }
  expectRule(awaitCommitted(w, 112, w.nodes, 500), RULE.commitMajority, () => `a steady trickle of 100 commands was not committed everywhere: ${w.nodes.map((id) => `${id} commit ${w.view(id).commitIndex}`).join(", ")}.`);
  used = countFrom(since);
  expectRule(used.entries <= Math.ceil(2 * 100 * 1.1), RULE.batching, () => `to get 100 commands to 2 followers, leader ${leader} sent ${used.entries} entries; each entry should reach each follower about once (at most ${Math.ceil(2 * 100 * 1.1)}).`);
  expectRule(used.messages <= 2 * (1000 / 50) + 12, RULE.batching, () => `over about one second of steady traffic, leader ${leader} sent ${used.messages} AppendEntries to 2 followers; batching commands into the heartbeats needs about ${2 * (1000 / 50)}.`);
});

graded(2, "a leader counts only replies of its own term, and only what each reply vouches for", { step: 7 }, () => {
  const { w, term } = scriptedLeader(seed(14), ["p1", "p2"]);
  const sent = received(w, "B", "AppendEntries").at(-1);
  expectRule(sent !== undefined && sent.entries.length === 2 && sent.prevLogIndex === 0, RULE.replicate, () => `leader A, with 2 new entries, sent B ${sent ? JSON.stringify(sent) : "nothing"} on its next heartbeat.`);
  w.sendAs("B", "A", appendReply(term, true, 2, 2));
  w.sendAs("C", "A", appendReply(term, true, 2, 2));
  expectRule(w.view("A").commitIndex === 2, RULE.commitMajority, () => `A, B and C hold entries 1 and 2 (3 of 5) but A's commitIndex is ${w.view("A").commitIndex}.`);
  mustAccept(w, "A", "p3");
  // Late copies of the replies above, and replies from an older term, arrive now.
  w.sendAs("B", "A", appendReply(term, true, 2, 2));
  w.sendAs("D", "A", appendReply(term, true, 2, 2));
  w.sendAs("D", "A", appendReply(term - 1, true, 3, 3));
  w.sendAs("E", "A", appendReply(term - 1, true, 3, 3));
  expectRule(w.view("A").commitIndex === 2, RULE.staleReplies, () => `entry 3 was appended after the last AppendEntries went out, so no follower can hold it, yet leader A set commitIndex to ${w.view("A").commitIndex} on late replies vouching for index 2 and replies from term ${term - 1}.`);
  w.sendAs("D", "A", appendReply(term, false, 0, 0));
  w.sendAs("D", "A", appendReply(term, false, 0, 0));
  const retry = received(w, "D", "AppendEntries").at(-1);
  expectRule(retry !== undefined && retry.prevLogIndex >= 0 && retry.prevLogIndex <= 2, RULE.replicate, () => `after D refused, the leader's retry to D was ${retry ? JSON.stringify(retry) : "nothing"}.`);
  expectRule(w.view("A").role === "leader" && w.view("A").currentTerm === term, RULE.staleReplies, () => `replies of the leader's own or older terms made leader A a ${roleOf(w, "A")}.`);
});

graded(3, "a leader commits what a majority holds, counting copies only of entries of its own term", { step: 7 }, () => {
  // A's first entry is from term 1: on every node, and still not countable.
  const w = nodeAmongScriptedPeers(createNode, 5, seed(20), { currentTerm: 1, votedFor: null, log: [entry(1, "old")] });
  const term = electA(w);
  for (const peer of ["B", "C", "D", "E"]) w.sendAs(peer, "A", appendReply(term, true, 1, 1));
  expectRule(w.view("A").commitIndex === 0, RULE.figure8, () => `every follower holds index 1, but it is from term 1 and A leads term ${term}: A may not count its copies; A set commitIndex to ${w.view("A").commitIndex}.`);
  mustAccept(w, "A", "new");
  w.sendAs("B", "A", appendReply(term, true, 2, 2));
  expectRule(w.view("A").commitIndex === 0, RULE.commitMajority, () => `only A and B hold index 2 (2 of 5), yet A set commitIndex to ${w.view("A").commitIndex}.`);
  w.sendAs("C", "A", appendReply(term, true, 2, 2));
  expectRule(w.view("A").commitIndex === 2, RULE.commitMajority, () => `A, B and C hold index 2 (3 of 5), an entry of A's term ${term}: committing it commits index 1 too. A's commitIndex is ${w.view("A").commitIndex}.`);
  // Alone, a node is its own majority.
  const alone = world({ nodes: 1, createNode, seed: seed(20) });
  alone.runUntil(() => alone.leaders().length > 0, 400);
  expectRule(alone.leaders().join() === "A", RULE.majority, () => `a cluster of one node had no leader after 400 ms; A is a ${roleOf(alone, "A")}.`);
  mustAccept(alone, "A", "solo");
  expectRule(alone.view("A").commitIndex === 1, RULE.commitMajority, () => `in a cluster of one, the leader's own copy is a majority: "solo" should be committed as soon as it is in the log; commitIndex is ${alone.view("A").commitIndex}.`);
});

// ---------------------------------------------------------------------------
// Step 8: Apply committed entries, in order, exactly once
// ---------------------------------------------------------------------------

graded(2, "basic agreement: on 3 and 5 nodes, every command is committed and applied by all, in order", { step: 8 }, () => {
  for (const size of [3, 5]) {
    for (const s of seeds(5)) {
      const { w, leader } = clusterWithLeader(size, s);
      for (let i = 1; i <= 8; i++) {
        const index = mustAccept(w, leader, `cmd${i}`);
        expectRule(index === i, RULE.clientToLeader, () => `the ${i}th command was placed at index ${index}.`);
        const committed = awaitCommitted(w, i, w.nodes, 500);
        expectRule(committed, RULE.commitMajority, () => `500 ms after "cmd${i}" was proposed to leader ${leader} of a healthy cluster of ${size}, not every node had committed index ${i}: ${logsOf(w)}.`);
      }
      w.runFor(100);
      expectAllAgree(w, RULE.commitMajority, `a healthy cluster of ${size} after 8 commands`);
    }
  }
});

graded(1, "a follower that was away catches up when it returns", { step: 8 }, () => {
  for (const s of seeds(10)) {
    const { w, leader } = clusterWithLeader(3, s);
    const away = w.nodes.find((id) => id !== leader)!;
    w.isolate(away);
    for (let i = 1; i <= 5; i++) mustAccept(w, leader, `while-away-${i}`);
    const committed = awaitCommitted(w, 5, w.nodes.filter((id) => id !== away), 500);
    expectRule(committed, RULE.commitMajority, () => `with 2 of 3 nodes connected, 5 commands were not committed within 500 ms: ${logsOf(w)}.`);
    w.reconnect(away);
    const index = commitOnAll(w, "after-return", 2000);
    expectRule(index !== undefined, RULE.replicate, () => `2 s after ${away} returned, a new command was not committed everywhere: ${logsOf(w)}.`);
    w.runFor(100);
    expectAllAgree(w, RULE.replicate, `after ${away} returned`);
  }
});

graded(1, "a partitioned old leader's uncommitted entries are thrown away when it rejoins", { step: 8 }, () => {
  for (const s of seeds(10)) {
    const { w, leader: old } = clusterWithLeader(5, s);
    mustAccept(w, old, "shared");
    awaitCommitted(w, 1, w.nodes, 500);
    w.isolate(old);
    for (let i = 1; i <= 3; i++) mustAccept(w, old, `lost-${i}`);
    const rest = w.nodes.filter((id) => id !== old);
    const next = awaitLeader(w, 1500, rest);
    expectRule(next !== undefined, RULE.liveness, () => `four connected nodes elected no leader within 1.5 s of losing ${old}.`);
    for (let i = 1; i <= 2; i++) mustAccept(w, next, `kept-${i}`);
    awaitCommitted(w, 3, rest, 1000);
    w.reconnect(old);
    const converged = commitOnAll(w, "final", 2000);
    expectRule(converged !== undefined, RULE.conflictOnly, () => `2 s after ${old} rejoined, the cluster had not converged: ${logsOf(w)}.`);
    w.runFor(100);
    expectAllAgree(w, RULE.conflictOnly, `after old leader ${old} rejoined`);
    const lost = commandsOf(w.view(old)).filter((command) => command.startsWith("lost-"));
    expectRule(lost.length === 0, RULE.conflictOnly, () => `old leader ${old} still holds its uncommitted entries: ${showLog(w.view(old).log)}.`);
  }
});

graded(2, "the leader repairs followers whose logs diverge by 50 entries, in two rounds", { step: 8 }, () => {
  for (const s of seeds(5)) {
    const { w, leader: first } = clusterWithLeader(5, s);
    mustAccept(w, first, "common");
    awaitCommitted(w, 1, w.nodes, 500);
    const [, second, third, fourth, fifth] = [first, ...w.nodes.filter((id) => id !== first)] as [NodeId, NodeId, NodeId, NodeId, NodeId];
    // Round 1: the leader and one follower, cut off, collect 50 entries nobody else will keep.
    w.partition([first, second], [third, fourth, fifth]);
    for (let i = 1; i <= 50; i++) mustAccept(w, first, `stale-a${i}`);
    const leader2 = awaitLeader(w, 1500, [third, fourth, fifth]);
    expectRule(leader2 !== undefined, RULE.liveness, () => "the three-node majority elected no leader within 1.5 s.");
    for (let i = 1; i <= 50; i++) mustAccept(w, leader2, `kept-b${i}`);
    expectRule(awaitCommitted(w, 51, [third, fourth, fifth], 1000), RULE.commitMajority, () => `the majority did not commit its 50 entries: ${logsOf(w)}.`);
    // Round 2: the new leader and one follower, cut off, collect 50 more nobody else will keep.
    const otherTwo = [third, fourth, fifth].filter((id) => id !== leader2) as [NodeId, NodeId];
    w.partition([leader2, otherTwo[0]], [otherTwo[1]], [first, second]);
    for (let i = 1; i <= 50; i++) mustAccept(w, leader2, `stale-c${i}`);
    // The old minority comes back with the follower that has the committed entries.
    w.partition([leader2, otherTwo[0]], [first, second, otherTwo[1]]);
    const leader3 = awaitLeader(w, 2000, [first, second, otherTwo[1]]);
    expectRule(leader3 === otherTwo[1], RULE.upToDate, () => `of ${first}, ${second} and ${otherTwo[1]}, only ${otherTwo[1]} holds the committed entries and may win; the leader is ${leader3 ?? "nobody"}.`);
    for (let i = 1; i <= 50; i++) mustAccept(w, leader3, `kept-d${i}`);
    expectRule(awaitCommitted(w, 101, [first, second, otherTwo[1]], 2000), RULE.replicate, () => `the leader did not repair the two followers 50 entries behind within 2 s: ${logsOf(w, [first, second, otherTwo[1]])}.`);
    // Everyone together again.
    w.heal();
    const index = commitOnAll(w, "everyone", 3000);
    expectRule(index !== undefined, RULE.replicate, () => `after healing, a final command was not committed everywhere within 3 s: ${w.nodes.map((id) => `${id} commit ${w.view(id).commitIndex}/${lastIndex(w.view(id))}`).join(", ")}.`);
    w.runFor(100);
    expectAllAgree(w, RULE.replicate, "after two rounds of divergence");
  }
});

graded(1, "concurrent proposals all commit, in the same order everywhere", { step: 8 }, () => {
  for (const size of [3, 5]) {
    for (const s of seeds(5)) {
      const { w, leader } = clusterWithLeader(size, s);
      const indexes = Array.from({ length: 20 }, (_, i) => mustAccept(w, leader, `together-${i + 1}`));
      expectRule(indexes.join() === Array.from({ length: 20 }, (_, i) => i + 1).join(), RULE.clientToLeader, () => `20 commands proposed at the same instant got indexes ${indexes.join(", ")}.`);
      expectRule(awaitCommitted(w, 20, w.nodes, 500), RULE.commitMajority, () => `20 concurrent commands were not all committed everywhere within 500 ms: ${logsOf(w)}.`);
      w.runFor(100);
      expectAllAgree(w, RULE.commitMajority, `${size} nodes after 20 concurrent commands`);
    }
  }
});

graded(2, "committed entries are applied in order, exactly once, on the leader, on followers, and alone", { step: 8 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(21), { currentTerm: 1, votedFor: null, log: [] });
  w.runFor(20);
  w.sendAs("B", "A", appendEntries(1, "B", { entries: [entry(1, "a"), entry(1, "b"), entry(1, "c")], leaderCommit: 2 }));
  expectRule(appliedCommands(w, "A").join() === "a,b", RULE.applyInOrder, () => `follower A learned that index 2 is committed and applied [${appliedCommands(w, "A").join(", ")}]; a, b in order.`);
  w.sendAs("B", "A", appendEntries(1, "B", { prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 3 }));
  w.sendAs("B", "A", appendEntries(1, "B", { prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 3 }));
  expectRule(appliedCommands(w, "A").join() === "a,b,c" && w.view("A").lastApplied === 3, RULE.applyInOrder, () => `after leaderCommit 3 (twice), follower A applied [${appliedCommands(w, "A").join(", ")}] with lastApplied ${w.view("A").lastApplied}; each entry once, in order.`);
  const { w: lw, term } = scriptedLeader(seed(22), ["p1", "p2"]);
  lw.sendAs("B", "A", appendReply(term, true, 2, 2));
  lw.sendAs("C", "A", appendReply(term, true, 2, 2));
  expectRule(appliedCommands(lw, "A").join() === "p1,p2", RULE.applyInOrder, () => `leader A committed index 2 and applied [${appliedCommands(lw, "A").join(", ")}].`);
  const alone = world({ nodes: 1, createNode, seed: seed(22) });
  alone.runUntil(() => alone.leaders().length > 0, 400);
  for (const command of ["s1", "s2", "s3"]) mustAccept(alone, "A", command);
  expectRule(appliedCommands(alone, "A").join() === "s1,s2,s3", RULE.applyInOrder, () => `a cluster of one commits each command at once; it applied [${appliedCommands(alone, "A").join(", ")}].`);
});

// Each run takes a few milliseconds; the check makes a thousand of them.
graded(2, "randomized: drops, duplicates, reordering and partitions never break a guarantee, and all logs agree after healing", { step: 8 }, () => {
  checkRandomizedRuns(RANDOMIZED, caseArb, describeCase, runCase);
});
