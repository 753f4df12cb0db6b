/**
 * Chapter 1: timers and roles (20 points).
 *
 * Most tests put one real node (A) among scripted peers (B to E) that
 * never answer, so the node's own behaviour is all there is to see.
 */
import type { CreateNode } from "../world/contract.ts";
import type { World } from "../world/world.ts";
import { expectRule, graded, replayingOneSeed, seed, seeds, world } from "./harness/graded.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { received } from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter1-timers-and-roles");

const PEERS = ["B", "C", "D", "E"];

/** Node A is real; B to E are played by the test and stay silent. */
function aloneWithSilentPeers(seedValue: number): World {
  return world({ nodes: ["A", ...PEERS], scripted: PEERS, createNode, seed: seedValue });
}

/** The election timeouts node `id` drew, in order. */
function electionTimeouts(w: World, id: string): number[] {
  return w.traceOf("timer-set").filter((e) => e.node === id && e.timer === "election").map((e) => e.delay);
}

// ---------------------------------------------------------------------------
// Step 1: Draw a fresh election timeout and start the timer
// ---------------------------------------------------------------------------

graded(2, "a node boots as a follower in term 0, has voted for no one, and starts its election timer", { step: 1 }, () => {
  const w = aloneWithSilentPeers(seed(1));
  const a = w.view("A");
  expectRule(a.role === "follower", RULE.startAsFollower, () => `node A booted as a ${a.role}.`);
  expectRule(a.currentTerm === 0, RULE.startAsFollower, () => `node A booted in term ${a.currentTerm}.`);
  expectRule(a.votedFor === null, RULE.startAsFollower, () => `node A booted having voted for ${a.votedFor}.`);
  expectRule(w.timer("A", "election") !== undefined, RULE.followerTimeout, () => "node A booted without starting its election timer, so it would wait forever.");
});

graded(2, "no node times out before 150 ms", { step: 1 }, () => {
  for (const s of seeds(50)) {
    const w = world({ nodes: 5, createNode, seed: s });
    w.runUntilTime(149);
    for (const id of w.nodes) {
      const v = w.view(id);
      expectRule(v.role === "follower" && v.currentTerm === 0, RULE.electionTimeoutRange, () => {
        const fired = w.traceOf("timer-fire").find((e) => e.node === id);
        return `node ${id} was a ${v.role} in term ${v.currentTerm} at 149 ms${fired ? `; its election timer fired at ${fired.time} ms` : ""}.`;
      });
      expectRule(w.timer(id, "election") !== undefined, RULE.followerTimeout, () => `node ${id} had no election timer running at 149 ms.`);
    }
  }
});

graded(3, "election timeouts are random: they differ across nodes and seeds and cover 150 to 300 ms", { step: 1 }, () => {
  const drawn: number[] = [];
  for (const s of seeds(40)) {
    const w = world({ nodes: 5, createNode, seed: s });
    const firsts = w.nodes.map((id) => electionTimeouts(w, id)[0]);
    for (const [i, t] of firsts.entries()) {
      expectRule(t !== undefined, RULE.followerTimeout, () => `node ${w.nodes[i]} started no election timer when it booted.`);
      expectRule(t >= 150 && t < 300 && Number.isInteger(t), RULE.electionTimeoutRange, () => `node ${w.nodes[i]} drew an election timeout of ${t} ms.`);
      drawn.push(t);
    }
    if (!replayingOneSeed()) {
      expectRule(new Set(firsts).size > 1, RULE.electionTimeoutRange, () => `all five nodes drew the same timeout, ${firsts[0]} ms; are they using env.randomInt?`);
    }
  }
  if (replayingOneSeed()) return; // One seed is too few draws to judge the spread.
  const buckets = [150, 175, 200, 225, 250, 275].map((low) => drawn.filter((t) => t >= low && t < low + 25).length);
  const empty = buckets.findIndex((n) => n === 0);
  expectRule(empty === -1, RULE.electionTimeoutRange, () => `of ${drawn.length} timeouts drawn (5 nodes × 40 seeds), none fell in [${150 + 25 * empty}, ${175 + 25 * empty}) ms; counts per 25 ms: ${buckets.join(", ")}.`);
  const distinct = new Set(drawn).size;
  expectRule(distinct >= 60, RULE.electionTimeoutRange, () => `${drawn.length} draws gave only ${distinct} different timeouts.`);
});

// ---------------------------------------------------------------------------
// Step 2: When the election timer fires, become a candidate
// ---------------------------------------------------------------------------

graded(2, "every node that hears nothing becomes a candidate by 300 ms", { step: 2 }, () => {
  for (const s of seeds(50)) {
    const w = world({ nodes: 5, createNode, seed: s });
    for (const id of w.nodes) w.isolate(id);
    w.runUntilTime(299);
    for (const id of w.nodes) {
      const v = w.view(id);
      const first = electionTimeouts(w, id)[0];
      expectRule(first === undefined || first < 300, RULE.electionTimeoutRange, () => `node ${id} drew a first election timeout of ${first} ms; the range is [150, 300): 300 itself is excluded.`);
      expectRule(v.role === "candidate" && v.currentTerm >= 1, RULE.followerTimeout, () =>
        first === undefined
          ? `node ${id} heard nothing for 299 ms and was still a ${v.role} in term ${v.currentTerm}: it never set an election timer.`
          : `node ${id} heard nothing for 299 ms; its election timer (${first} ms) fired, yet it is a ${v.role} in term ${v.currentTerm}.`,
      );
    }
  }
});

graded(3, "every reset draws a fresh timeout (not one drawn once at boot)", { step: 2 }, () => {
  for (const s of seeds(10)) {
    const w = aloneWithSilentPeers(s);
    w.runFor(3000);
    const timeouts = electionTimeouts(w, "A");
    expectRule(timeouts.length >= 10, RULE.candidateTimeout, () => `in 3 s of silence node A started its election timer only ${timeouts.length === 1 ? "once" : `${timeouts.length} times`} (${timeouts.join(", ")} ms). Each election should restart the timer, so a lone candidate stands again and again.`);
    const distinct = new Set(timeouts).size;
    expectRule(distinct >= Math.ceil(timeouts.length * 0.6), RULE.freshTimeout, () => `node A's ${timeouts.length} election timeouts were ${timeouts.join(", ")} ms: only ${distinct} distinct value${distinct === 1 ? "" : "s"}. Is it drawing once and reusing the number?`);
  }
});

// ---------------------------------------------------------------------------
// Step 3: Ask every other node for its vote
// ---------------------------------------------------------------------------

graded(3, "on timeout a follower becomes candidate: term + 1, votes for itself, one RequestVote to each peer", { step: 3 }, () => {
  const w = aloneWithSilentPeers(seed(7));
  const becameCandidate = w.runUntil(() => w.view("A").role === "candidate", 300);
  const a = w.view("A");
  expectRule(becameCandidate, RULE.followerTimeout, () => `node A was still a ${a.role} after 300 ms of silence.`);
  expectRule(a.currentTerm === 1, RULE.startElection, () => `node A's term went from 0 to ${a.currentTerm}.`);
  expectRule(a.votedFor === "A", RULE.startElection, () => `node A, candidate in term 1, has votedFor = ${JSON.stringify(a.votedFor)}.`);
  const timer = w.timer("A", "election");
  // Restarting the timer as the election begins is step 2's code (startElection), though this test is aimed at step 3.
  expectRule(timer !== undefined && timer.setAt === w.now, RULE.startElection, () => (timer ? `node A's election timer was last set at ${timer.setAt} ms, not when the election began (${w.now} ms).` : "node A has no election timer running after starting its election."), { step: 2 });
  for (const peer of PEERS) {
    const requests = received(w, peer, "RequestVote");
    expectRule(requests.length === 1, RULE.startElection, () => `node ${peer} received ${requests.length} RequestVote messages from A.`);
    const r = requests[0]!;
    expectRule(r.term === 1 && r.candidateId === "A", RULE.startElection, () => `the RequestVote to ${peer} carried term ${r.term} and candidateId ${JSON.stringify(r.candidateId)}.`);
    expectRule(r.lastLogIndex === 0 && r.lastLogTerm === 0, RULE.startElection, () => `with an empty log, the RequestVote to ${peer} said lastLogIndex ${r.lastLogIndex}, lastLogTerm ${r.lastLogTerm} (both should be 0).`);
  }
  const others = PEERS.flatMap((p) => w.inbox(p).filter((m) => m.message.type !== "RequestVote"));
  expectRule(others.length === 0, RULE.startElection, () => `node A also sent ${others.map((m) => m.message.type).join(", ")}.`);
});

graded(2, "a candidate whose election timer fires again starts a new election in the next term", { step: 3 }, () => {
  const w = aloneWithSilentPeers(seed(8));
  w.runUntil(() => w.view("A").role === "candidate", 300);
  const firstElection = w.now;
  const wait = w.timer("A", "election")?.delay;
  w.clearInboxes();
  const again = w.runUntil(() => w.view("A").currentTerm >= 2, 300);
  const a = w.view("A");
  expectRule(again && a.role === "candidate", RULE.candidateTimeout, () => `300 ms after its first election node A was a ${a.role} in term ${a.currentTerm}.`);
  expectRule(a.currentTerm === 2 && a.votedFor === "A", RULE.startElection, () => `node A's second election is in term ${a.currentTerm} with votedFor ${JSON.stringify(a.votedFor)}.`);
  expectRule(wait !== undefined && w.now === firstElection + wait, RULE.candidateTimeout, () => `the first election began at ${firstElection} ms with a ${wait} ms timer, but the second began at ${w.now} ms.`);
  for (const peer of PEERS) {
    const requests = received(w, peer, "RequestVote");
    expectRule(requests.length === 1 && requests[0]!.term === 2, RULE.startElection, () => `for the second election node ${peer} received ${requests.map((r) => `RequestVote(term ${r.term})`).join(", ") || "nothing"}.`);
  }
});

graded(3, "one timeout, one election: over 3 quiet seconds each timer firing starts exactly one election, one term later", { step: 3 }, () => {
  for (const s of seeds(5, 20)) {
    const w = aloneWithSilentPeers(s);
    w.runFor(3000);
    const fires = w.traceOf("timer-fire").filter((e) => e.node === "A" && e.timer === "election");
    const terms = w.traceOf("term").filter((e) => e.node === "A");
    expectRule(fires.length >= 10, RULE.candidateTimeout, () => `node A's election timer fired only ${fires.length === 1 ? "once" : `${fires.length} times`} in 3 s; each election should restart it.`);
    expectRule(terms.length === fires.length, RULE.startElection, () => `node A's election timer fired ${fires.length} times but its term changed ${terms.length} times.`);
    terms.forEach((change, i) => {
      expectRule(change.time === fires[i]!.time && change.from === i && change.to === i + 1, RULE.startElection, () => `election ${i + 1}: the timer fired at ${fires[i]!.time} ms, and the term went ${change.from} → ${change.to} at ${change.time} ms.`);
    });
    for (const peer of PEERS) {
      const requests = received(w, peer, "RequestVote").map((r) => r.term);
      const expected = terms.map((t) => t.to);
      expectRule(requests.join(",") === expected.join(","), RULE.startElection, () => `node ${peer} received RequestVote for terms [${requests.join(", ")}], expected one for each of [${expected.join(", ")}].`);
    }
  }
});
