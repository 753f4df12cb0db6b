/**
 * Chapter 4: heartbeats (30 points).
 */
import type { CreateNode } from "../world/contract.ts";
import type { World } from "../world/world.ts";
import { expectRule, graded, seed, seeds, world } from "./harness/graded.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { appendEntries, appendReply, describeLeaders, electA, lastReceived, nodeAmongScriptedPeers, received, roleOf, untilCandidate } from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter4-heartbeats");

const HEARTBEAT = 50;

/** Run until some node leads, then return it. */
function firstLeader(w: World, withinMs = 1000): string | undefined {
  w.runUntil(() => w.leaders().length > 0, withinMs);
  return w.leaders()[0];
}

// ---------------------------------------------------------------------------
// Step 1: Send heartbeats at once, and again every heartbeat interval
// ---------------------------------------------------------------------------

graded(4, "a new leader sends a heartbeat to every node at once, then one every heartbeat interval", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 5, seed(1));
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had a majority of votes and is a ${roleOf(w, "A")}.`);
  const wonAt = w.now;
  for (const peer of w.nodes.slice(1)) {
    const first = received(w, peer, "AppendEntries");
    expectRule(first.length === 1, RULE.heartbeatAtOnce, () => `when A won at ${wonAt} ms, node ${peer} received ${first.length} AppendEntries at once.`);
    const h = first[0]!;
    expectRule(h.term === term && h.leaderId === "A" && h.entries.length === 0, RULE.heartbeatAtOnce, () => `the first heartbeat to ${peer} was ${JSON.stringify(h)}; it should carry term ${term}, leaderId "A" and no entries.`);
    expectRule(h.prevLogIndex === 0 && h.prevLogTerm === 0 && h.leaderCommit === 0, RULE.heartbeatAtOnce, () => `with an empty log the heartbeat should say prevLogIndex 0, prevLogTerm 0, leaderCommit 0; it said ${h.prevLogIndex}, ${h.prevLogTerm}, ${h.leaderCommit}.`);
  }
  w.runFor(500);
  for (const peer of w.nodes.slice(1)) {
    const times = w.inbox(peer).filter((m) => m.message.type === "AppendEntries").map((m) => m.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expectRule(times.length === 11, RULE.heartbeatsRepeat, () => `over the 500 ms after winning, node ${peer} received ${times.length} heartbeats (at ${times.join(", ")} ms); one at once and one every ${HEARTBEAT} ms makes 11.`);
    expectRule(gaps.every((g) => g === HEARTBEAT), RULE.heartbeatsRepeat, () => `the gaps between heartbeats to ${peer} were ${gaps.join(", ")} ms; the interval is ${HEARTBEAT} ms.`);
  }
});

graded(3, "a leader that sees a newer term in a reply steps down and stops sending heartbeats", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(6));
  const term = electA(w);
  w.runFor(120);
  const whileLeading = received(w, "B", "AppendEntries").length;
  expectRule(whileLeading >= 3, RULE.heartbeatsRepeat, () => `node A led term ${term} for 120 ms and sent B ${whileLeading} AppendEntries; at once and every ${HEARTBEAT} ms makes 3.`);
  w.sendAs("B", "A", appendReply(term + 3, false));
  expectRule(w.view("A").role === "follower" && w.view("A").currentTerm === term + 3, RULE.newerTerm, () => `node A, leader of term ${term}, got a reply carrying term ${term + 3} and is a ${roleOf(w, "A")}.`);
  const steppedDownAt = w.now;
  w.runFor(140);
  const late = w.nodes.slice(1).flatMap((peer) => w.inbox(peer).filter((m) => m.message.type === "AppendEntries" && m.time > steppedDownAt));
  expectRule(late.length === 0, RULE.newerTerm, () => `node A stepped down at ${steppedDownAt} ms but sent ${late.length} more AppendEntries (at ${late.map((m) => m.time).join(", ")} ms).`);
  expectRule(w.timer("A", "election") !== undefined, RULE.followerTimeout, () => "node A stepped down but has no election timer running.");
});

// ---------------------------------------------------------------------------
// Step 2: Refuse a leader from an older term
// ---------------------------------------------------------------------------

graded(4, "a heartbeat from an older term is refused, and resets nothing", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(3), { currentTerm: 3, votedFor: null, log: [] });
  w.runFor(100);
  const before = w.timer("A", "election");
  w.sendAs("B", "A", appendEntries(2, "B"));
  const reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply !== undefined && !reply.success && reply.term === 3, RULE.appendOldTerm, () => `node A (term 3) answered a heartbeat of term 2 with ${JSON.stringify(reply)}; it should refuse, with term 3.`);
  const after = w.timer("A", "election");
  expectRule(after?.setAt === before?.setAt, RULE.appendOldTerm, () => `node A's election timer was reset (at ${after?.setAt} ms) by a leader from an older term.`);
  expectRule(w.view("A").leaderId !== "B", RULE.appendOldTerm, () => "node A took B, a leader of an older term, as its leader.");
});

// ---------------------------------------------------------------------------
// Step 3: Follow the leader of your term
// ---------------------------------------------------------------------------

graded(4, "a heartbeat from the current leader resets the election timer, and the follower learns who leads", { step: 3 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(2));
  w.runFor(100);
  w.sendAs("B", "A", appendEntries(1, "B"));
  const a = w.view("A");
  expectRule(a.currentTerm === 1 && a.role === "follower", RULE.newerTerm, () => `after a heartbeat of term 1, node A is a ${roleOf(w, "A")}.`);
  expectRule(a.leaderId === "B", RULE.followerKnowsLeader, () => `node A heard from leader B but its leaderId is ${JSON.stringify(a.leaderId)}.`);
  const timer = w.timer("A", "election");
  expectRule(timer?.setAt === 100, RULE.followerTimeout, () => `node A heard from its leader at 100 ms but its election timer was ${timer ? `last set at ${timer.setAt} ms` : "not running"}.`);
  const reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply?.success === true && reply.term === 1, RULE.appendReply, () => `node A answered the heartbeat with ${JSON.stringify(reply)}; it should succeed, in term 1.`);
  for (let t = 1; t <= 40; t++) {
    w.runFor(HEARTBEAT);
    w.sendAs("B", "A", appendEntries(1, "B"));
  }
  expectRule(!w.traceOf("role").some((e) => e.node === "A" && e.to === "candidate"), RULE.followerTimeout, () => "node A heard a heartbeat every 50 ms for 2 s and still stood for election.");
});

graded(3, "a candidate that hears AppendEntries from a leader of its term, or a newer one, becomes follower", { step: 3 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 5, seed(4));
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  w.sendAs("C", "A", appendEntries(term, "C"));
  const a = w.view("A");
  expectRule(a.role === "follower" && a.currentTerm === term && a.leaderId === "C", RULE.candidateLoses, () => `node A, candidate in term ${term}, heard leader C of the same term and is a ${roleOf(w, "A")} with leaderId ${JSON.stringify(a.leaderId)}.`);
  expectRule(a.votedFor === "A", RULE.oneVotePerTerm, () => `node A voted for itself in term ${term}; after losing it has votedFor ${JSON.stringify(a.votedFor)} (a vote is never taken back within a term).`);

  const w2 = nodeAmongScriptedPeers(createNode, 5, seed(5));
  untilCandidate(w2);
  const term2 = w2.view("A").currentTerm;
  w2.sendAs("D", "A", appendEntries(term2 + 2, "D"));
  const a2 = w2.view("A");
  expectRule(a2.role === "follower" && a2.currentTerm === term2 + 2 && a2.leaderId === "D", RULE.candidateLoses, () => `node A, candidate in term ${term2}, heard leader D of term ${term2 + 2} and is a ${roleOf(w2, "A")} with leaderId ${JSON.stringify(a2.leaderId)}.`);
});

graded(4, "a healthy cluster, of five nodes or of one, keeps one leader and one term for ten simulated minutes", { step: 3 }, () => {
  for (const size of [5, 1]) {
    const w = world({ nodes: size, createNode, seed: seed(1), traceLimit: 5000 });
    const leader = firstLeader(w);
    expectRule(leader !== undefined, RULE.liveness, () => `${size === 1 ? "a cluster of one node" : `${size} healthy nodes`} elected no leader within 1 s.`);
    const term = w.view(leader).currentTerm;
    w.runUntil(() => w.nodes.every((id) => w.view(id).currentTerm === term && w.view(id).leaderId === leader), 200);
    const settledAt = w.now;
    w.runFor(10 * 60 * 1000);
    const moved = w.nodes.filter((id) => w.view(id).currentTerm !== term || (id !== leader && w.view(id).leaderId !== leader));
    expectRule(w.leaders().join() === leader, RULE.heartbeatsRepeat, () => `${leader} led term ${term} at ${settledAt} ms; ten minutes later there is ${describeLeaders(w)}.`);
    expectRule(moved.length === 0, RULE.heartbeatsRepeat, () => `ten minutes after ${leader} won term ${term}, ${moved.map((id) => `${id} is a ${roleOf(w, id)} following ${w.view(id).leaderId}`).join(", ")}. With heartbeats every ${HEARTBEAT} ms nobody's election timer should ever run out.`);
  }
});

graded(3, "when the leader crashes, a new one is elected within a second, and the old one follows it on return", { step: 3 }, () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 5, createNode, seed: s });
    const old = firstLeader(w);
    expectRule(old !== undefined, RULE.liveness, () => "five healthy nodes elected no leader within 1 s.");
    w.runFor(200);
    w.crash(old);
    const replaced = w.runUntil(() => w.leaders().length > 0, 1000);
    expectRule(replaced, RULE.liveness, () => `after leader ${old} crashed at ${w.now - 1000} ms, the other four had no leader 1 s later.`);
    const next = w.leaders()[0]!;
    w.runFor(300);
    w.restart(old);
    const caughtUp = w.runUntil(() => w.view(old).leaderId === next && w.view(old).currentTerm === w.view(next).currentTerm, 300);
    expectRule(caughtUp && w.leaders().join() === next, RULE.followerKnowsLeader, () => `${old} came back; 300 ms later it is a ${roleOf(w, old)} with leaderId ${JSON.stringify(w.view(old).leaderId)}, and the leaders are ${describeLeaders(w)} (expected ${next} alone).`);
  }
});

graded(3, "a leader cut off in a minority is replaced by the majority; after healing everyone follows the newer leader", { step: 3 }, () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 5, createNode, seed: s });
    const old = firstLeader(w);
    expectRule(old !== undefined, RULE.liveness, () => "five healthy nodes elected no leader within 1 s.");
    const oldTerm = w.view(old).currentTerm;
    const buddy = w.nodes.find((id) => id !== old)!;
    const majority = w.nodes.filter((id) => id !== old && id !== buddy);
    w.partition([old, buddy], majority);
    const replaced = w.runUntil(() => majority.some((id) => w.view(id).role === "leader"), 1000);
    expectRule(replaced, RULE.liveness, () => `three nodes (${majority.join(", ")}) cut off from leader ${old} elected no leader within 1 s.`);
    const next = majority.find((id) => w.view(id).role === "leader")!;
    expectRule(w.view(old).role === "leader" && w.view(old).currentTerm === oldTerm, RULE.newerTerm, () => `cut off from the majority, ${old} should still believe it leads term ${oldTerm} (nobody told it otherwise); it is a ${roleOf(w, old)}.`);
    w.runFor(300);
    w.heal();
    const agreed = w.runUntil(() => w.leaders().join() === next && w.nodes.every((id) => w.view(id).currentTerm === w.view(next).currentTerm && w.view(id).leaderId === next), 500);
    expectRule(agreed, RULE.newerTerm, () => `500 ms after healing: leaders ${describeLeaders(w)}; ${w.nodes.map((id) => `${id} ${roleOf(w, id)} following ${w.view(id).leaderId}`).join(", ")}. The old leader must step down when it sees the newer term.`);
  }
});

graded(2, "message budget: an idle second costs only the heartbeats it needs", { step: 3 }, () => {
  const w = world({ nodes: 3, createNode, seed: seed(9) });
  const leader = firstLeader(w);
  expectRule(leader !== undefined, RULE.liveness, () => "three healthy nodes elected no leader within 1 s.");
  w.runFor(500);
  const from = w.now;
  w.runFor(1000);
  const sent = w.traceOf("send").filter((e) => e.time > from);
  const requests = sent.filter((e) => e.message.type === "AppendEntries");
  const votes = sent.filter((e) => e.message.type === "RequestVote");
  const expected = 2 * (1000 / HEARTBEAT);
  expectRule(votes.length === 0, RULE.heartbeatsRepeat, () => `in an idle second with a healthy leader, ${votes.length} RequestVote messages were sent.`);
  expectRule(requests.length <= expected + 2 && requests.length >= expected - 2, RULE.heartbeatsRepeat, () => `leader ${leader} sent ${requests.length} AppendEntries in one idle second to two followers; a heartbeat every ${HEARTBEAT} ms is ${expected}.`);
  expectRule(sent.length <= 2 * (expected + 2), RULE.heartbeatsRepeat, () => `${sent.length} messages were sent in one idle second (${expected} heartbeats and their replies would be ${2 * expected}).`);
});
