/**
 * Chapter 2: RequestVote and majority (30 points).
 *
 * The voting rules are tested with node A among scripted peers; elections
 * are tested on whole clusters, with Election Safety checked by the world
 * after every event.
 */
import type { CreateNode } from "../world/contract.ts";
import { expectRule, graded, seed, seeds, world } from "./harness/graded.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { describeLeaders, everBecame, lastReceived, nodeAmongScriptedPeers, received, requestVote, roleOf, untilCandidate, vote } from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter2-request-vote");

const inTerm = (currentTerm: number, votedFor: string | null = null) => ({ currentTerm, votedFor, log: [] });

// ---------------------------------------------------------------------------
// Step 1: A newer term makes you a follower
// ---------------------------------------------------------------------------

graded(2, "a candidate asked to vote in a newer term becomes a follower of that term, its own vote forgotten", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(8));
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  // In this chapter a candidate refuses every vote (it voted for itself);
  // what matters here is that the newer term makes it a follower first.
  w.sendAs("B", "A", requestVote(term + 2, "B"));
  const a = w.view("A");
  expectRule(a.currentTerm === term + 2, RULE.newerTerm, () => `node A, candidate in term ${term}, was asked to vote in term ${term + 2} and is still in term ${a.currentTerm}.`);
  expectRule(a.role === "follower", RULE.newerTerm, () => `node A moved to term ${term + 2} but is a ${a.role}: a newer term makes any node a follower.`);
  expectRule(a.votedFor !== "A", RULE.newerTerm, () => `node A moved to term ${term + 2} but kept its vote for itself, cast in term ${term}. A vote belongs to the term it was cast in.`);
  const timer = w.timer("A", "election");
  expectRule(timer !== undefined, RULE.followerTimeout, () => "node A became a follower with no election timer running, so it would never stand again.");
});

// ---------------------------------------------------------------------------
// Step 2: Answer a RequestVote
// ---------------------------------------------------------------------------

graded(3, "a voter refuses a candidate from an older term, and tells it the newer term", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(1), inTerm(3));
  w.runFor(50);
  w.sendAs("B", "A", requestVote(2, "B"));
  const reply = lastReceived(w, "B", "RequestVoteReply");
  expectRule(reply !== undefined, RULE.replyFalseOldTerm, () => "node A did not answer the RequestVote at all.");
  expectRule(!reply.voteGranted, RULE.replyFalseOldTerm, () => "node A (term 3) granted its vote to B for term 2.");
  expectRule(reply.term === 3, RULE.replyFalseOldTerm, () => `node A's reply said term ${reply.term}; it should carry A's currentTerm, 3, so B learns it is behind.`);
  const a = w.view("A");
  expectRule(a.currentTerm === 3 && a.votedFor === null, RULE.replyFalseOldTerm, () => `after refusing, node A is in term ${a.currentTerm} with votedFor ${JSON.stringify(a.votedFor)}.`);
});

graded(3, "a newer term comes first: the voter moves to it, forgets its old vote, then grants", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(2), inTerm(3, "C"));
  w.runFor(50);
  w.sendAs("B", "A", requestVote(5, "B"));
  const a = w.view("A");
  const reply = lastReceived(w, "B", "RequestVoteReply");
  expectRule(a.currentTerm === 5, RULE.newerTerm, () => `node A (term 3) received a RequestVote for term 5 and is now in term ${a.currentTerm}.`);
  expectRule(reply?.voteGranted === true && a.votedFor === "B", RULE.newerTerm, () => `node A had voted for C in term 3; asked by B for term 5 it answered ${reply ? (reply.voteGranted ? "yes" : "no") : "nothing"} and has votedFor ${JSON.stringify(a.votedFor)}. A vote in term 3 says nothing about term 5.`);
  expectRule(reply.term === 5, RULE.newerTerm, () => `node A's reply carried term ${reply.term}, not its new term 5.`);
});

graded(3, "one vote per term: the same candidate asking again gets yes again, another candidate gets no", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(3));
  w.runFor(50);
  w.sendAs("B", "A", requestVote(1, "B"));
  w.sendAs("B", "A", requestVote(1, "B"));
  w.sendAs("C", "A", requestVote(1, "C"));
  const toB = received(w, "B", "RequestVoteReply").map((r) => r.voteGranted);
  const toC = received(w, "C", "RequestVoteReply").map((r) => r.voteGranted);
  expectRule(toB.length === 2 && toB[0] === true, RULE.grantVote, () => `node A answered B's two requests with [${toB.join(", ")}].`);
  expectRule(toB[1] === true, RULE.grantVote, () => "node A granted B its vote, then refused B when B asked again (the first reply may have been lost): votedFor is B, so the answer is yes again.");
  expectRule(toC.length === 1 && toC[0] === false, RULE.oneVotePerTerm, () => `having voted for B in term 1, node A answered C (term 1) with [${toC.join(", ")}].`);
  expectRule(w.view("A").votedFor === "B", RULE.oneVotePerTerm, () => `node A's votedFor is ${JSON.stringify(w.view("A").votedFor)}.`);
});

graded(3, "granting a vote resets the election timer; refusing one does not", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(4), inTerm(2));
  w.runFor(100);
  w.sendAs("B", "A", requestVote(3, "B"));
  const afterGrant = w.timer("A", "election");
  expectRule(afterGrant?.setAt === 100, RULE.resetOnGrant, () => `node A granted B its vote at 100 ms but its election timer was ${afterGrant ? `last set at ${afterGrant.setAt} ms` : "not running"}.`);
  const drawn = afterGrant.delay;
  expectRule(drawn >= 150 && drawn < 300, RULE.electionTimeoutRange, () => `after granting, node A's timer was set to ${drawn} ms.`);
  w.runFor(40);
  w.sendAs("C", "A", requestVote(3, "C"));
  w.sendAs("C", "A", requestVote(1, "C"));
  const afterRefusals = w.timer("A", "election");
  expectRule(afterRefusals?.setAt === 100, RULE.resetOnGrant, () => `node A refused C twice at 140 ms (already voted; stale term) and its election timer was ${afterRefusals ? `reset at ${afterRefusals.setAt} ms` : "stopped"}. Only a granted vote resets it.`);
});

// ---------------------------------------------------------------------------
// Step 3: Count the votes
// ---------------------------------------------------------------------------

graded(2, "a reply carrying a newer term makes a candidate step down", { step: 3 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(7));
  untilCandidate(w);
  w.sendAs("B", "A", vote(4, false));
  const a = w.view("A");
  expectRule(a.role === "follower" && a.currentTerm === 4, RULE.newerTerm, () => `after a reply carrying term 4, node A is a ${a.role} in term ${a.currentTerm}.`);
  expectRule(a.votedFor === null, RULE.newerTerm, () => `node A moved to term 4 but kept votedFor ${JSON.stringify(a.votedFor)} from its old term.`);
  w.sendAs("C", "A", vote(4, true));
  expectRule(w.view("A").role === "follower", RULE.countCurrentTerm, () => `node A, a follower, became ${w.view("A").role} on a vote it never asked for.`);
});

// ---------------------------------------------------------------------------
// Step 4: Become leader
// ---------------------------------------------------------------------------

graded(3, "a candidate counts only votes for its current term, and each voter once", { step: 4 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 5, seed(5));
  untilCandidate(w);
  // Let the first election time out, so there is an old term whose votes are stale.
  w.runUntil(() => w.view("A").currentTerm === 2, 300);
  expectRule(w.view("A").currentTerm === 2 && w.view("A").role === "candidate", RULE.candidateTimeout, () => `node A should be a candidate in its second election; it is a ${w.view("A").role} in term ${w.view("A").currentTerm}.`);
  w.sendAs("B", "A", vote(1, true));
  w.sendAs("C", "A", vote(1, true));
  expectRule(w.view("A").role === "candidate", RULE.countCurrentTerm, () => "node A, candidate in term 2, became leader on two votes granted for term 1 (a finished election).");
  w.sendAs("B", "A", vote(2, true));
  w.sendAs("B", "A", vote(2, true));
  expectRule(w.view("A").role === "candidate", RULE.countCurrentTerm, () => "node A became leader of 5 nodes with its own vote and B's counted twice: a duplicated reply is still one voter.");
  w.sendAs("D", "A", vote(2, false));
  expectRule(w.view("A").role === "candidate", RULE.countCurrentTerm, () => "node A became leader after D refused its vote.");
  w.sendAs("C", "A", vote(2, true));
  expectRule(w.view("A").role === "leader", RULE.majority, () => `with votes from A, B and C (3 of 5) in term 2, node A is a ${w.view("A").role}.`);
  expectRule(w.view("A").currentTerm === 2, RULE.majority, () => `node A leads in term ${w.view("A").currentTerm}, not 2.`);
});

graded(3, "a strict majority of the whole cluster makes a leader: 2 of 3, 3 of 4, 3 of 5, 4 of 7", { step: 4 }, () => {
  for (const size of [3, 4, 5, 7]) {
    const needed = Math.floor(size / 2) + 1;
    const w = nodeAmongScriptedPeers(createNode, size, seed(6));
    untilCandidate(w);
    const term = w.view("A").currentTerm;
    const voters = w.nodes.slice(1);
    for (let votes = 1; votes < needed; votes++) {
      expectRule(w.view("A").role === "candidate", RULE.majority, () => `in a cluster of ${size}, node A became leader with only ${votes} of ${size} votes (its own included); it needs ${needed}.`);
      w.sendAs(voters[votes - 1]!, "A", vote(term, true));
    }
    expectRule(w.view("A").role === "leader", RULE.majority, () => `in a cluster of ${size}, node A had ${needed} of ${size} votes (its own included) and is still a ${w.view("A").role}.`);
  }
});

graded(2, "a cluster of one elects itself: its own vote is already a majority", { step: 4 }, () => {
  for (const s of seeds(5)) {
    const w = world({ nodes: 1, createNode, seed: s });
    const elected = w.runUntil(() => w.leaders().length > 0, 300);
    expectRule(elected, RULE.majority, () => `a cluster of one node had no leader after 300 ms; node A is a ${roleOf(w, "A")}. It has 1 vote of 1 the moment it stands, and no reply will ever come to count.`);
    const a = w.view("A");
    expectRule(a.currentTerm === 1, RULE.startElection, () => `node A became leader in term ${a.currentTerm}; alone, it should win its first election, term 1.`);
    w.runFor(2000);
    expectRule(w.leaders().join() === "A" && w.view("A").currentTerm === 1, RULE.majority, () => `2 s later node A is a ${roleOf(w, "A")}; a leader alone has no reason to stand again.`);
  }
});

graded(3, "clusters of 3 and 5 elect exactly one leader within 5 seconds, over 100 seeds", { step: 4 }, () => {
  // Most elections take one round (under 300 ms). A few take seconds in
  // this chapter, because candidates do not yet vote for each other:
  // Chapter 3 is about that, and tightens this bound to 1 second.
  for (const size of [3, 5]) {
    for (const s of seeds(50)) {
      const w = world({ nodes: size, createNode, seed: s });
      const elected = w.runUntil(() => w.leaders().length > 0, 5000);
      expectRule(elected, RULE.liveness, () => `${size} healthy nodes had no leader after 5000 ms (terms: ${w.nodes.map((id) => `${id} ${w.view(id).currentTerm}`).join(", ")}).`);
      expectRule(w.leaders().length === 1, RULE.electionSafety, () => `when the first leader appeared, there were ${describeLeaders(w)}.`);
    }
  }
});

graded(2, "a minority cut off from the rest never elects a leader; the majority does", { step: 4 }, () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 5, createNode, seed: s });
    w.partition(["A", "B"], ["C", "D", "E"]);
    // Three of five must all vote for the same candidate, and in this chapter
    // candidates refuse each other: it can take several rounds (Chapter 3
    // makes it quick). Over 5000 seeds the reference never needed 13 s.
    const majorityElected = w.runUntil(() => w.leaders().some((id) => ["C", "D", "E"].includes(id)), 20_000);
    w.runFor(3000);
    for (const id of ["A", "B"]) {
      expectRule(!everBecame(w, id, "leader"), RULE.majority, () => `node ${id}, cut off with only one other node, became leader; 2 votes of 5 are not a majority.`);
    }
    expectRule(majorityElected, RULE.liveness, () => "the three connected nodes C, D and E elected no leader within 20 s.");
  }
});

graded(1, "Election Safety holds on a network that loses, duplicates and reorders messages", { step: 4 }, () => {
  let leadersSeen = 0;
  for (const s of seeds(40)) {
    const w = world({ nodes: 5, createNode, seed: s, network: { dropRate: 0.1, duplicateRate: 0.3, reorderRate: 0.2 } });
    w.runFor(4000);
    leadersSeen += w.traceOf("role").filter((e) => e.to === "leader").length;
  }
  expectRule(leadersSeen > 0, RULE.liveness, () => "no leader was elected in any of the runs.");
});
