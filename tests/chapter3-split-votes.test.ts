/**
 * Chapter 3: split votes (30 points).
 *
 * The first test is the story of the chapter's reading, forced step by
 * step: four nodes in term 3, A and B stand for term 4 at the same
 * moment, each gets two votes, nobody wins, and D wins term 5.
 *
 * The last tests grade the experiment (experiment.ts): its trial() on
 * clusters whose election the test scripts, so the answer is known, and
 * its summarize() on lists of trials made up for the purpose.
 */
import type { CreateNode, NodeId, NodeView, RaftNode } from "../world/contract.ts";
import { hostLab, type ClusterOptions, type TrialResult, type TrialSummary } from "../world/lab.ts";
import type { World } from "../world/world.ts";
import { expectRule, graded, seed, seeds, world } from "./harness/graded.ts";
import { useExperimentUnderTest, useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { appendEntries, describeLeaders, electA, lastReceived, nodeAmongScriptedPeers, requestVote, roleOf, untilCandidate, vote } from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter3-split-votes");
const experiment = useExperimentUnderTest("chapter3-split-votes", ["trial", "summarize"]);

const GIVE_UP = `${RULE.newerTerm} A candidate or leader that hears of a newer term gives up its own candidacy or leadership.`;

/** Who granted `candidate` a vote in `term`, from the replies it received. */
function votesFor(w: World, candidate: NodeId, term: number): NodeId[] {
  return w
    .traceOf("deliver")
    .filter((e) => e.to === candidate && e.message.type === "RequestVoteReply" && e.message.term === term && e.message.voteGranted)
    .map((e) => e.from);
}

/**
 * A stand-in node for grading trial(): it runs no Raft at all. The node
 * named in `script` becomes leader of `script.term` at `script.at` ms;
 * the others stay followers. So the right answer of a trial is known.
 */
function scriptedElection(script: { readonly leader: NodeId; readonly term: number; readonly at: number } | undefined): CreateNode {
  return (env) => {
    let view: NodeView = { role: "follower", currentTerm: 0, votedFor: null, leaderId: null, log: [], commitIndex: 0, lastApplied: 0 };
    const node: RaftNode = {
      start: () => {
        if (script?.leader === env.id) env.setTimer("election", script.at);
      },
      receive: () => {},
      timerFired: () => {
        if (script) view = { ...view, role: "leader", currentTerm: script.term, votedFor: env.id, leaderId: env.id };
      },
      propose: () => ({ accepted: false, leaderId: null }),
      inspect: () => view,
    };
    return node;
  };
}

/** Run the learner's trial() on a lab of scripted clusters; returns its result and what it booted. */
function runTrial(script: Parameters<typeof scriptedElection>[0], s: number, range: readonly [number, number]): { result: TrialResult; boots: ClusterOptions[]; ranUntil: number[] } {
  const boots: ClusterOptions[] = [];
  const clusters: World[] = [];
  const lab = hostLab(scriptedElection(script), {
    onBoot: (cluster, options) => {
      boots.push(options);
      clusters.push(cluster);
    },
  });
  const result = experiment.call("trial", [s, range], lab) as TrialResult;
  return { result, boots, ranUntil: clusters.map((c) => c.now) };
}

const TRIAL = "A trial boots five nodes together with the seed and timeout range it is given, and runs them until the first moment a leader exists (or 10 s pass): downtime is that moment in ms (null if none), and the first election split if the first leader's term is not 1 (or there is none).";

const SUMMARY = "Each row of the table sums up the trials of one timeout range: runs, first elections that split, trials with no leader, and the median, 99th percentile and worst downtime by nearest rank (the q-th is the smallest downtime that at least a fraction q of the trials stayed at or under: rank ceil(q × runs), counting from 1, shortest first), a trial with no leader counting as longer than any other and shown as null.";

function summarize(trials: readonly TrialResult[]): TrialSummary {
  return experiment.call("summarize", [trials]) as TrialSummary;
}

/** A deterministic shuffle, so order in the input never helps. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  let x = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---------------------------------------------------------------------------
// Step 1: A newer term in any message makes you a follower first
// ---------------------------------------------------------------------------

graded(2, "a newer term in any message makes a candidate or a leader a follower first, even in a message this chapter ignores", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(14));
  untilCandidate(w);
  const term = w.view("A").currentTerm;
  // AppendEntries is Chapter 4's; its term counts already.
  w.sendAs("B", "A", appendEntries(term + 2, "B"));
  const a = w.view("A");
  expectRule(a.role === "follower" && a.currentTerm === term + 2, GIVE_UP, () => `node A, candidate in term ${term}, received an AppendEntries of term ${term + 2} and is a ${roleOf(w, "A")}.`);
  expectRule(a.votedFor !== "A", RULE.newerTerm, () => `node A moved to term ${term + 2} but kept its vote for itself from term ${term}.`);
  const l = nodeAmongScriptedPeers(createNode, 3, seed(15));
  const led = electA(l);
  expectRule(l.view("A").role === "leader", RULE.majority, () => `node A had 2 votes of 3 and is a ${roleOf(l, "A")}.`);
  l.runFor(20);
  l.sendAs("C", "A", appendEntries(led + 1, "C"));
  expectRule(l.view("A").role === "follower" && l.view("A").currentTerm === led + 1, GIVE_UP, () => `node A, leader of term ${led}, received an AppendEntries of term ${led + 1} and is a ${roleOf(l, "A")}.`);
  expectRule(l.timer("A", "election") !== undefined, RULE.followerTimeout, () => "node A stopped leading but has no election timer running, so it would never stand again.");
});

// ---------------------------------------------------------------------------
// Step 2: Every node answers RequestVote by the same rules
// ---------------------------------------------------------------------------

graded(4, "the split vote of the reading: A and B both stand for term 4, two votes each, then D wins term 5", { step: 2 }, () => {
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

graded(3, "a candidate that hears a RequestVote for a newer term gives up its candidacy and votes", { step: 2 }, () => {
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

graded(2, "a leader that hears a RequestVote for a newer term steps down, votes, and starts its election timer", { step: 2 }, () => {
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

graded(3, "a candidate refuses a rival of its own term, and its election timer keeps running", { step: 2 }, () => {
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

graded(2, "when every node draws the same first timeout, fresh draws break the tie within 2 seconds", { step: 2 }, () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 4, createNode, seed: s, randomDraws: { A: [150], B: [150], C: [150], D: [150] } });
    const elected = w.runUntil(() => w.leaders().length > 0, 2000);
    if (elected) continue;
    // Which rule broke: stale timeouts, or (when every draw was fresh) something else that kept a leader from winning.
    const timeouts = w.traceOf("timer-set").filter((e) => e.timer === "election" && e.node === "A").map((e) => e.delay);
    const fresh = new Set(timeouts).size >= Math.ceil(timeouts.length * 0.6);
    const listed = `${timeouts.slice(0, 12).join(", ")}${timeouts.length > 12 ? ", ..." : ""}`;
    expectRule(fresh, RULE.freshTimeout, () => `four nodes that all woke at 150 ms had no leader after 2 s: ${w.traceOf("term").filter((e) => e.node === "A").length} split elections. Node A's election timeouts were ${listed} ms: the same again and again; with a fresh random draw at each reset, one node soon wakes first.`);
    expectRule(false, RULE.liveness, () => `four nodes that all woke at 150 ms had no leader after 2 s, though their timeouts were fresh draws (node A's: ${listed} ms). Does a candidate that hears a newer term give up and vote?`);
  }
});

graded(4, "clusters of 1, 3, 5 and 7 elect a leader within 1 second, over 301 seeds", { step: 2 }, () => {
  for (const size of [1, 3, 5, 7]) {
    for (const s of seeds(size === 1 ? 1 : 100)) {
      const w = world({ nodes: size, createNode, seed: s });
      const elected = w.runUntil(() => w.leaders().length > 0, 1000);
      expectRule(elected, RULE.liveness, () => `${size} healthy nodes had no leader after 1000 ms (${w.nodes.map((id) => `${id}: ${roleOf(w, id)}`).join(", ")}). Do candidates give up when they hear of a newer term?`);
      expectRule(w.leaders().length === 1, RULE.electionSafety, () => `when the first leader appeared there were ${describeLeaders(w)}.`);
    }
  }
});

graded(1, "a node cut off for a while comes back with a high term; everyone moves to it and one leader emerges", { step: 2 }, () => {
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

graded(1, "terms never go backwards on any node, on a lossy network with partitions", { step: 2 }, () => {
  for (const s of seeds(20)) {
    const w = world({ nodes: 5, createNode, seed: s, network: { dropRate: 0.1, duplicateRate: 0.2, reorderRate: 0.2 } });
    w.at(500, "partition", () => w.partition(["A", "B"], ["C", "D", "E"]));
    w.at(1500, "heal", () => w.heal());
    w.runFor(3000);
    // The rule this test is named for first; then that the cluster still works.
    for (const id of w.nodes) {
      const changes = w.traceOf("term").filter((e) => e.node === id);
      const back = changes.find((e) => e.to < e.from);
      expectRule(back === undefined, RULE.termsGrow, () => `node ${id} went from term ${back!.from} back to ${back!.to} at ${back!.time} ms.`);
      expectRule(changes.length > 0, RULE.candidateTimeout, () => `node ${id} never changed term in 3 s.`);
    }
    // The network still loses messages, but a majority can talk: someone leads.
    const led = w.runUntil(() => w.leaders().length > 0, 2000);
    expectRule(led, RULE.liveness, () => `1.5 s after the partition healed and 2 s more, there was no leader; terms: ${w.nodes.map((id) => `${id} ${w.view(id).currentTerm}`).join(", ")}.`);
  }
});

// ---------------------------------------------------------------------------
// Step 3: One trial: boot five nodes and time the first leader
// ---------------------------------------------------------------------------

graded(2, "a trial boots five nodes with its seed and timeouts, and reports when the first leader appeared and whether term 1 split", { step: 3, grades: "experiment.ts" }, () => {
  const first = runTrial({ leader: "C", term: 1, at: 237 }, 42, [150, 300]);
  expectRule(first.boots.length === 1, TRIAL, () => `trial() booted ${first.boots.length} clusters; one trial is one cluster.`);
  const boot = first.boots[0]!;
  expectRule(boot.nodes === 5 && boot.seed === 42 && boot.electionTimeout.join() === "150,300", TRIAL, () => `trial(lab, 42, [150, 300]) booted ${JSON.stringify(boot)}; it should boot 5 nodes with seed 42 and electionTimeout [150, 300].`);
  expectRule(first.result.downtime === 237 && first.result.firstElectionSplit === false, TRIAL, () => `node C became leader of term 1 at 237 ms and nobody led before; trial() reported ${JSON.stringify(first.result)} (expected downtime 237, firstElectionSplit false).`);
  const later = runTrial({ leader: "B", term: 3, at: 612 }, 7, [150, 175]);
  expectRule(later.result.downtime === 612 && later.result.firstElectionSplit === true, TRIAL, () => `node B became leader of term 3 at 612 ms, so terms 1 and 2 elected nobody; trial() reported ${JSON.stringify(later.result)} (expected downtime 612, firstElectionSplit true).`);
  expectRule(later.boots[0]?.seed === 7 && later.boots[0].electionTimeout.join() === "150,175", TRIAL, () => `trial(lab, 7, [150, 175]) booted ${JSON.stringify(later.boots[0])}.`);
});

graded(2, "a trial gives up after 10 simulated seconds with no leader, and a leader just before the limit still counts", { step: 3, grades: "experiment.ts" }, () => {
  const none = runTrial(undefined, 3, [150, 300]);
  expectRule(none.result.downtime === null && none.result.firstElectionSplit === true, TRIAL, () => `no node ever became leader; trial() reported ${JSON.stringify(none.result)} (expected downtime null, firstElectionSplit true).`);
  const ran = none.ranUntil[0] ?? 0;
  expectRule(ran >= 9_990 && ran <= 10_000, TRIAL, () => `with no leader, trial() ran the cluster for ${ran} ms; it should give up at 10 000 ms, no sooner and no later.`);
  const late = runTrial({ leader: "E", term: 2, at: 9_990 }, 4, [150, 300]);
  expectRule(late.result.downtime === 9_990 && late.result.firstElectionSplit === true, TRIAL, () => `node E became leader of term 2 at 9 990 ms, inside the 10 s; trial() reported ${JSON.stringify(late.result)}.`);
  const tooLate = runTrial({ leader: "A", term: 1, at: 10_050 }, 5, [150, 300]);
  expectRule(tooLate.result.downtime === null, TRIAL, () => `node A became leader only at 10 050 ms, after the trial should have given up; trial() reported ${JSON.stringify(tooLate.result)}.`);
});

// ---------------------------------------------------------------------------
// Step 4: Sum up the trials of one range: a row of the table
// ---------------------------------------------------------------------------

graded(2, "a summary counts the runs, the split first elections and the trials with no leader", { step: 4, grades: "experiment.ts" }, () => {
  const trials: TrialResult[] = [
    { downtime: 180, firstElectionSplit: false },
    { downtime: 455, firstElectionSplit: true },
    { downtime: null, firstElectionSplit: true },
    { downtime: 163, firstElectionSplit: false },
    { downtime: 702, firstElectionSplit: true },
    { downtime: null, firstElectionSplit: true },
    { downtime: 151, firstElectionSplit: false },
  ];
  const row = summarize(trials);
  expectRule(row.runs === 7, SUMMARY, () => `7 trials; the summary says runs ${row.runs}.`);
  expectRule(row.firstElectionSplits === 4, SUMMARY, () => `4 of the 7 trials had a split first election (two of them never elected anyone); the summary says ${row.firstElectionSplits}.`);
  expectRule(row.noLeader === 2, SUMMARY, () => `2 of the 7 trials had no leader; the summary says ${row.noLeader}.`);
});

graded(2, "a summary's median, 99th percentile and worst downtime are by nearest rank, a trial with no leader counting as the longest", { step: 4, grades: "experiment.ts" }, () => {
  const cases: { what: string; trials: TrialResult[]; median: number | null; p99: number | null; worst: number | null }[] = [
    { what: "200 trials with downtimes 1 to 200 ms", trials: shuffled(Array.from({ length: 200 }, (_, i) => ({ downtime: i + 1, firstElectionSplit: false }))), median: 100, p99: 198, worst: 200 },
    { what: "3 trials of 5, 1 and 3 ms", trials: [5, 1, 3].map((d) => ({ downtime: d, firstElectionSplit: false })), median: 3, p99: 5, worst: 5 },
    {
      what: "100 trials: 97 with downtimes 1 to 97 ms, 3 with no leader",
      trials: shuffled([...Array.from({ length: 97 }, (_, i) => ({ downtime: i + 1, firstElectionSplit: false })), ...Array.from({ length: 3 }, () => ({ downtime: null, firstElectionSplit: true }))]),
      median: 50,
      p99: null,
      worst: null,
    },
    {
      what: "100 trials: 99 with downtimes 1 to 99 ms, 1 with no leader",
      trials: shuffled([...Array.from({ length: 99 }, (_, i) => ({ downtime: i + 1, firstElectionSplit: false })), { downtime: null, firstElectionSplit: true }]),
      median: 50,
      p99: 99,
      worst: null,
    },
  ];
  for (const c of cases) {
    const row = summarize(c.trials);
    const got = { median: row.medianDowntime, p99: row.p99Downtime, worst: row.worstDowntime };
    expectRule(got.median === c.median && got.p99 === c.p99 && got.worst === c.worst, SUMMARY, () => `for ${c.what}, the summary gave median ${got.median}, 99th percentile ${got.p99}, worst ${got.worst}; by nearest rank they are ${c.median}, ${c.p99}, ${c.worst}.`);
  }
});
