/**
 * Chapter 3: split votes (30 points).
 *
 * The first test is the story of the chapter's reading, forced step by
 * step: four nodes in term 3, A and B stand for term 4 at the same
 * moment, each gets two votes, nobody wins, and D wins term 5.
 */
import type { CreateNode, NodeId } from "../world/contract.ts";
import type { World } from "../world/world.ts";
import { expectRule, graded, seed, seeds, world } from "./harness/graded.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { describeLeaders, lastReceived, nodeAmongScriptedPeers, requestVote, roleOf, untilCandidate, vote } from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter3-split-votes");

const GIVE_UP = `${RULE.newerTerm} A candidate or leader that hears of a newer term gives up its own candidacy or leadership.`;

/** Who granted `candidate` a vote in `term`, from the replies it received. */
function votesFor(w: World, candidate: NodeId, term: number): NodeId[] {
  return w
    .traceOf("deliver")
    .filter((e) => e.to === candidate && e.message.type === "RequestVoteReply" && e.message.term === term && e.message.voteGranted)
    .map((e) => e.from);
}

graded(6, "the split vote of the reading: A and B both stand for term 4, two votes each, then D wins term 5", () => {
  const term3 = { currentTerm: 3, votedFor: null, log: [] };
  const w = world({
    nodes: ["A", "B", "C", "D"],
    createNode,
    seed: seed(4),
    saved: { A: term3, B: term3, C: term3, D: term3 },
    network: { latency: [3, 4] },
    // The timeouts that make the story: A and B wake together at 150 ms;
    // C and D would wake at 200 ms, but each grants a vote first and draws
    // again; D's new timeout (150 ms) is the shortest, so D stands next.
    randomDraws: { A: [150, 250], B: [150, 250], C: [200, 280], D: [200, 150] },
  });
  // A's request reaches C first and B's reaches D first.
  w.setLinkLatency("A", "C", [2, 3]);
  w.setLinkLatency("B", "C", [5, 6]);
  w.setLinkLatency("A", "D", [5, 6]);
  w.setLinkLatency("B", "D", [2, 3]);

  w.runUntilTime(150);
  for (const id of ["A", "B"]) {
    expectRule(w.view(id).role === "candidate" && w.view(id).currentTerm === 4, RULE.startElection, () => `at 150 ms node ${id}'s election timer fired; node ${id} is a ${roleOf(w, id)} (the story needs a candidate in term 4).`);
  }
  w.runUntilTime(160);
  expectRule(w.view("C").votedFor === "A" && w.view("C").currentTerm === 4, RULE.grantVote, () => `C heard A first and should have voted for A in term 4; C is a ${roleOf(w, "C")} with votedFor ${JSON.stringify(w.view("C").votedFor)}.`);
  expectRule(w.view("D").votedFor === "B" && w.view("D").currentTerm === 4, RULE.grantVote, () => `D heard B first and should have voted for B in term 4; D is a ${roleOf(w, "D")} with votedFor ${JSON.stringify(w.view("D").votedFor)}.`);
  const forA = votesFor(w, "A", 4);
  const forB = votesFor(w, "B", 4);
  expectRule(forA.join() === "C" && forB.join() === "D", RULE.oneVotePerTerm, () => `in term 4, A received yes from [${forA.join(", ")}] and B from [${forB.join(", ")}]; each should have exactly one yes (C for A, D for B): A and B refuse each other, having voted for themselves.`);
  for (const id of ["A", "B"]) {
    expectRule(w.view(id).role === "candidate", RULE.majority, () => `with 2 votes of 4, node ${id} is a ${roleOf(w, id)}; 2 of 4 is not a majority, so nobody wins term 4.`);
  }

  const won = w.runUntil(() => w.leaders().length > 0, 300);
  expectRule(won, RULE.liveness, () => `nobody was leader 300 ms after the split vote; node states: ${w.nodes.map((id) => `${id} ${roleOf(w, id)}`).join(", ")}.`);
  expectRule(!w.traceOf("role").some((e) => e.to === "leader" && e.term === 4), RULE.majority, () => "someone became leader of term 4, where the votes were split two and two.");
  const d = w.view("D");
  expectRule(w.leaders().join() === "D" && d.currentTerm === 5, GIVE_UP, () => `the next election should be D's, in term 5 (its timer was the shortest); instead the leader is ${describeLeaders(w)}. When D asked for term 5, A and B, still candidates of term 4, had to give up and vote.`);
  for (const id of ["A", "B", "C"]) {
    expectRule(w.view(id).currentTerm === 5 && w.view(id).role === "follower", GIVE_UP, () => `after D's election for term 5, node ${id} is a ${roleOf(w, id)}.`);
  }
});

graded(4, "a candidate that hears a RequestVote for a newer term gives up its candidacy and votes", () => {
  const w = nodeAmongScriptedPeers(createNode, 5, seed(11));
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  w.sendAs("B", "A", requestVote(term + 1, "B"));
  const a = w.view("A");
  const reply = lastReceived(w, "B", "RequestVoteReply");
  expectRule(a.role === "follower" && a.currentTerm === term + 1, GIVE_UP, () => `node A, candidate in term ${term}, received B's RequestVote for term ${term + 1} and is now a ${roleOf(w, "A")}.`);
  expectRule(reply?.voteGranted === true && reply.term === term + 1 && a.votedFor === "B", RULE.grantVote, () => `node A answered B's request for term ${term + 1} with ${reply ? `term ${reply.term}, ${reply.voteGranted ? "granted" : "refused"}` : "nothing"}; having given up its candidacy it has not voted in term ${term + 1}, so it should grant.`);
  const timer = w.timer("A", "election");
  expectRule(timer?.setAt === w.now, RULE.resetOnGrant, () => `node A granted a vote at ${w.now} ms but its election timer was ${timer ? `set at ${timer.setAt} ms` : "not running"}.`);
  w.sendAs("C", "A", vote(term, true));
  w.sendAs("D", "A", vote(term, true));
  expectRule(w.view("A").role === "follower", RULE.countCurrentTerm, () => `late votes for its abandoned term ${term} made node A a ${roleOf(w, "A")}.`);
});

graded(2, "a leader that hears a RequestVote for a newer term steps down, votes, and starts its election timer", () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(12));
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  w.sendAs("B", "A", vote(term, true));
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had 2 votes of 3 and is a ${roleOf(w, "A")}.`);
  w.runFor(30);
  w.sendAs("C", "A", requestVote(term + 1, "C"));
  const a = w.view("A");
  expectRule(a.role === "follower" && a.currentTerm === term + 1 && a.votedFor === "C", GIVE_UP, () => `node A, leader of term ${term}, received C's RequestVote for term ${term + 1} and is a ${roleOf(w, "A")} with votedFor ${JSON.stringify(a.votedFor)}.`);
  expectRule(w.timer("A", "election") !== undefined, RULE.followerTimeout, () => "node A stepped down from leader but has no election timer running, so it would never stand again.");
});

graded(4, "a candidate refuses a rival of its own term, and its election timer keeps running", () => {
  const w = nodeAmongScriptedPeers(createNode, 5, seed(13));
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  const timer = w.timer("A", "election")!;
  w.runFor(20);
  w.sendAs("B", "A", requestVote(term, "B"));
  const reply = lastReceived(w, "B", "RequestVoteReply");
  expectRule(reply !== undefined && !reply.voteGranted && reply.term === term, RULE.oneVotePerTerm, () => `node A, candidate in term ${term} (it voted for itself), answered rival B of the same term with ${reply ? `term ${reply.term}, ${reply.voteGranted ? "granted" : "refused"}` : "nothing"}.`);
  expectRule(w.view("A").role === "candidate" && w.view("A").votedFor === "A", RULE.oneVotePerTerm, () => `after refusing B, node A is a ${roleOf(w, "A")} with votedFor ${JSON.stringify(w.view("A").votedFor)}.`);
  const after = w.timer("A", "election");
  expectRule(after?.setAt === timer.setAt, RULE.resetOnGrant, () => `node A refused B at ${w.now} ms and its election timer was ${after ? `reset (now set at ${after.setAt} ms)` : "stopped"}; only a granted vote resets it.`);
  const next = w.runUntil(() => w.view("A").currentTerm === term + 1, timer.dueAt - w.now);
  expectRule(next && w.now === timer.dueAt, RULE.candidateTimeout, () => `node A's election timer was due at ${timer.dueAt} ms; its next election began ${next ? `at ${w.now} ms` : "later"}.`);
});

graded(4, "when every node draws the same first timeout, fresh draws break the tie within 2 seconds", () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 4, createNode, seed: s, randomDraws: { A: [150], B: [150], C: [150], D: [150] } });
    const elected = w.runUntil(() => w.leaders().length > 0, 2000);
    expectRule(elected, RULE.freshTimeout, () => {
      const timeouts = w.traceOf("timer-set").filter((e) => e.timer === "election" && e.node === "A").map((e) => e.delay);
      return `four nodes that all woke at 150 ms had no leader after 2 s: ${w.traceOf("term").filter((e) => e.node === "A").length} split elections. Node A's election timeouts were ${timeouts.slice(0, 12).join(", ")}${timeouts.length > 12 ? ", ..." : ""} ms; with a fresh random draw at each reset, one node soon wakes first.`;
    });
  }
});

graded(6, "clusters of 3, 5 and 7 elect a leader within 1 second, over 300 seeds", () => {
  for (const size of [3, 5, 7]) {
    for (const s of seeds(100)) {
      const w = world({ nodes: size, createNode, seed: s });
      const elected = w.runUntil(() => w.leaders().length > 0, 1000);
      expectRule(elected, RULE.liveness, () => `${size} healthy nodes had no leader after 1000 ms (${w.nodes.map((id) => `${id}: ${roleOf(w, id)}`).join(", ")}). Do candidates give up when they hear of a newer term?`);
      expectRule(w.leaders().length === 1, RULE.electionSafety, () => `when the first leader appeared there were ${describeLeaders(w)}.`);
    }
  }
});

graded(2, "a node cut off for a while comes back with a high term; everyone moves to it and one leader emerges", () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 5, createNode, seed: s });
    w.isolate("E");
    w.runFor(2000);
    const returningTerm = w.view("E").currentTerm;
    expectRule(returningTerm >= 5, RULE.candidateTimeout, () => `node E, cut off for 2 s, only reached term ${returningTerm}; it should have stood again and again.`);
    w.reconnect("E");
    const settled = w.runUntil(() => w.leaders().some((id) => w.view(id).currentTerm >= returningTerm), 1000);
    expectRule(settled, GIVE_UP, () => `1 s after E came back in term ${returningTerm}, there is ${describeLeaders(w)} and the terms are ${w.nodes.map((id) => `${id} ${w.view(id).currentTerm}`).join(", ")}.`);
  }
});

graded(2, "terms never go backwards on any node, on a lossy network with partitions", () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 5, createNode, seed: s, network: { dropRate: 0.1, duplicateRate: 0.2, reorderRate: 0.2 } });
    w.at(500, "partition", () => w.partition(["A", "B"], ["C", "D", "E"]));
    w.at(1500, "heal", () => w.heal());
    w.runFor(3000);
    for (const id of w.nodes) {
      const changes = w.traceOf("term").filter((e) => e.node === id);
      const back = changes.find((e) => e.to < e.from);
      expectRule(back === undefined, RULE.termsGrow, () => `node ${id} went from term ${back!.from} back to ${back!.to} at ${back!.time} ms.`);
      expectRule(changes.length > 0, RULE.candidateTimeout, () => `node ${id} never changed term in 3 s.`);
    }
  }
});
