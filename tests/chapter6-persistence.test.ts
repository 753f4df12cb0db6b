/**
 * Chapter 6: persistence and crash recovery (40 points).
 *
 * Every world here checks persistence after every event (WorldOptions
 * checkPersistence): a restarted node comes back exactly as it saved
 * itself, and everything a message says (its term, a vote, acknowledged
 * entries) is on the sender's disk when it leaves. Lab-style scenarios
 * alone would not catch a vote saved after its reply: a crash would have
 * to fall between the two. These checks catch it where it happens, and
 * the crash points of `world.crashAt` show what it costs.
 */
import fc from "fast-check";
import type { CreateNode, NodeId, PersistentState } from "../world/contract.ts";
import { commandsOf, entriesFrom, lastIndex, showLog } from "../world/log.ts";
import { RandomStream } from "../world/random.ts";
import { World, type NetworkSettings, type WorldOptions } from "../world/world.ts";
import { drawing, expectRule, graded, randomizedRuns, seed, seeds, world } from "./harness/graded.ts";
import { checkRandomizedRuns, describeFaults, FAULT, NODES, scheduleFaults, type Fault } from "./harness/randomized.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import {
  appendEntries,
  appliedCommands,
  awaitCommitted,
  awaitLeader,
  commitOnAll,
  currentLeader,
  describeLeaders,
  lastReceived,
  nodeAmongScriptedPeers,
  proposeEvery,
  requestVote,
  roleOf,
  untilCandidate,
} from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter6-persistence");

/** Every world of this chapter checks persistence. */
const PERSISTENCE = { checkPersistence: true } as const;

function persistentWorld(options: Omit<WorldOptions, "createNode">): World {
  return world({ createNode, ...options, ...PERSISTENCE });
}

/** Node A among scripted peers, persistence checked, with an optional disk to boot from. */
function scriptedA(size: number, s: number, saved?: PersistentState): World {
  return nodeAmongScriptedPeers(createNode, size, s, saved, PERSISTENCE);
}

function describeDisk(w: World, id: NodeId): string {
  const disk = w.disk(id);
  return disk === null ? "nothing" : `term ${disk.currentTerm}, votedFor ${disk.votedFor ?? "null"}, log ${showLog(disk.log)}`;
}

function logsOf(w: World, ids: readonly NodeId[] = w.runningNodes()): string {
  return ids.map((id) => `${id} ${showLog(entriesFrom(w.view(id), 1))} commit ${w.view(id).commitIndex}`).join("; ");
}

/** Propose to the current leader, which must accept; returns the index. */
function proposeToLeader(w: World, command: string): number {
  const leader = currentLeader(w);
  expectRule(leader !== undefined, RULE.liveness, () => `there was no leader to propose "${command}" to: ${describeLeaders(w)}.`);
  const result = w.propose(leader, command);
  expectRule(result.accepted, RULE.clientToLeader, () => `leader ${leader} (${roleOf(w, leader)}) refused "${command}": ${JSON.stringify(result)}.`);
  return result.index;
}

/** Every running node holds the same log, has committed all of it, and applied it, in order (in this life). */
function expectAllAgree(w: World, what: string): void {
  const ids = w.runningNodes();
  const reference = commandsOf(w.view(ids[0]!)).join();
  for (const id of ids) {
    const v = w.view(id);
    expectRule(commandsOf(v).join() === reference, RULE.logsConverge, () => `${what}: the logs differ: ${logsOf(w)}.`);
    expectRule(v.commitIndex === lastIndex(v), RULE.logsConverge, () => `${what}: node ${id} has committed ${v.commitIndex} of ${lastIndex(v)} entries: ${logsOf(w)}.`);
    const applied = appliedCommands(w, id).join();
    expectRule(applied === reference, RULE.replayAfterRestart, () => `${what}: node ${id} applied [${applied}] since it last booted; its log is ${showLog(entriesFrom(v, 1))}.`);
  }
}

/** The commands committed so far must still be at the start of every log, in order. */
function expectKept(w: World, committed: readonly string[], what: string): void {
  for (const id of w.runningNodes()) {
    const held = commandsOf(w.view(id)).slice(0, committed.length).join();
    expectRule(held === committed.join(), RULE.survivesCrashes, () => `${what}: [${committed.join(", ")}] had been committed, but node ${id}'s log is ${showLog(entriesFrom(w.view(id), 1))}.`);
  }
}

// ---------------------------------------------------------------------------
// Step 1: Come back from a crash with exactly what you saved
// ---------------------------------------------------------------------------

const SAVED: PersistentState = {
  currentTerm: 3,
  votedFor: "B",
  log: [
    { term: 1, command: "a" },
    { term: 2, command: "b" },
    { term: 3, command: "c" },
  ],
};

graded(4, "a node boots from its disk with its term, its vote and its log, and nothing else", { step: 1 }, () => {
  const w = scriptedA(3, seed(1), SAVED);
  const check = (when: string): void => {
    const v = w.view("A");
    expectRule(v.currentTerm === 3 && v.votedFor === "B", RULE.restartFromDisk, () => `${when}, with ${describeDisk(w, "A")} on its disk, node A came back in term ${v.currentTerm} with votedFor ${v.votedFor ?? "null"}.`);
    expectRule(commandsOf(v).join() === "a,b,c" && v.log.every((e, i) => e.term === SAVED.log[i]!.term), RULE.restartFromDisk, () => `${when}, node A came back with log ${showLog(v.log)}; its disk holds ${showLog(SAVED.log)}.`);
    expectRule(v.commitIndex === 0 && v.lastApplied === 0 && v.role === "follower", RULE.restartFromDisk, () => `${when}, node A came back as a ${v.role} with commitIndex ${v.commitIndex} and lastApplied ${v.lastApplied}; it should be a follower with both at 0.`);
  };
  check("at its first boot");
  w.crash("A");
  w.restart("A");
  check("after a crash and a restart");
});

graded(4, "after a restart the state machine is rebuilt: committed entries are applied again from index 1, once each, when the leader says so", { step: 1 }, () => {
  const w = scriptedA(3, seed(2), { currentTerm: 3, votedFor: "B", log: SAVED.log });
  const heartbeat = (leaderCommit: number) => appendEntries(3, "B", { prevLogIndex: 3, prevLogTerm: 3, leaderCommit });
  w.sendAs("B", "A", heartbeat(2));
  let applied = appliedCommands(w, "A").join(", ");
  expectRule(applied === "a, b", RULE.replayAfterRestart, () => `told by leader B that index 2 is committed, node A applied [${applied}] since it booted; it should apply a, b.`);
  w.crash("A");
  w.restart("A");
  expectRule(appliedCommands(w, "A").length === 0, RULE.replayAfterRestart, () => `node A applied [${appliedCommands(w, "A").join(", ")}] while restarting, before any leader said what is committed.`);
  w.sendAs("B", "A", heartbeat(3));
  w.sendAs("B", "A", heartbeat(3));
  applied = appliedCommands(w, "A").join(", ");
  expectRule(applied === "a, b, c", RULE.replayAfterRestart, () => `after its restart, told (twice) that index 3 is committed, node A applied [${applied}]; its state machine started empty, so it should apply a, b, c, once each.`);
});

// ---------------------------------------------------------------------------
// Step 2: Save your term and your vote before you answer
// ---------------------------------------------------------------------------

graded(3, "a vote is on disk before the reply that grants it leaves", { step: 2 }, () => {
  const w = scriptedA(3, seed(3));
  w.sendAs("B", "A", requestVote(1, "B"));
  const reply = lastReceived(w, "B", "RequestVoteReply");
  expectRule(reply?.voteGranted === true, RULE.grantVote, () => `node A, in term 0 with no vote, answered B's RequestVote for term 1 with ${JSON.stringify(reply)}.`);
  const disk = w.disk("A");
  expectRule(disk?.currentTerm === 1 && disk.votedFor === "B", RULE.persistBeforeReply, () => `node A granted B its vote in term 1; its disk holds ${describeDisk(w, "A")}.`);
});

graded(3, "a node that crashes between voting and replying, or just after replying, never votes for another candidate in that term", { step: 2 }, () => {
  for (const when of ["before", "after"] as const) {
    const w = scriptedA(3, seed(4));
    // The crash comes in the middle of handling B's request: before or after the reply leaves.
    w.crashAt("A", { when, what: "send" });
    w.sendAs("B", "A", requestVote(1, "B"));
    expectRule(w.isCrashed("A"), RULE.persistBeforeReply, () => `node A was to crash ${when} its first send while handling B's RequestVote, but it sent nothing.`);
    w.restart("A");
    w.sendAs("C", "A", requestVote(1, "C"));
    const toC = lastReceived(w, "C", "RequestVoteReply");
    expectRule(toC?.voteGranted === false, RULE.voteSurvivesCrash, () => `node A voted for B in term 1, crashed ${when} sending its reply, restarted with ${describeDisk(w, "A")} on its disk, and answered C's RequestVote for term 1 with ${JSON.stringify(toC)}.`);
    w.sendAs("B", "A", requestVote(1, "B"));
    const toB = lastReceived(w, "B", "RequestVoteReply");
    expectRule(toB?.voteGranted === true, RULE.grantVote, () => `node A's vote in term 1 is B's; asked again by B (its reply may have been lost in the crash), it answered ${JSON.stringify(toB)}.`);
  }
});

graded(2, "a newer term heard in any message is on disk before the answer", { step: 2 }, () => {
  const w = scriptedA(3, seed(5), { currentTerm: 1, votedFor: null, log: [{ term: 1, command: "x" }] });
  w.sendAs("B", "A", appendEntries(4, "B", { prevLogIndex: 1, prevLogTerm: 1 }));
  expectRule(w.disk("A")?.currentTerm === 4, RULE.persistBeforeReply, () => `node A answered a heartbeat of term 4 with ${JSON.stringify(lastReceived(w, "B", "AppendEntriesReply"))}; its disk holds ${describeDisk(w, "A")}.`);
  // A candidate whose log is behind: refused, but its term is A's now.
  w.sendAs("C", "A", requestVote(6, "C", 0, 0));
  const reply = lastReceived(w, "C", "RequestVoteReply");
  expectRule(reply?.voteGranted === false, RULE.upToDate, () => `node A holds an entry of term 1 and answered C's RequestVote (term 6, empty log) with ${JSON.stringify(reply)}.`);
  expectRule(w.disk("A")?.currentTerm === 6 && w.disk("A")?.votedFor === null, RULE.persistBeforeReply, () => `node A refused C in term 6; its disk holds ${describeDisk(w, "A")}: term 6 and no vote.`);
});

// ---------------------------------------------------------------------------
// Step 3: Save your new term and your own vote before you stand
// ---------------------------------------------------------------------------

graded(3, "a candidate's new term and its own vote are on disk before its first RequestVote leaves", { step: 3 }, () => {
  const w = scriptedA(5, seed(6), { currentTerm: 2, votedFor: "C", log: [] });
  const stood = untilCandidate(w);
  expectRule(stood, RULE.startElection, () => `node A never stood for election: it is a ${roleOf(w, "A")}.`);
  const disk = w.disk("A");
  expectRule(disk?.currentTerm === 3 && disk.votedFor === "A", RULE.persistBeforeReply, () => `node A stands in term ${w.view("A").currentTerm}; its disk holds ${describeDisk(w, "A")}.`);
});

graded(3, "a candidate that crashes just after asking for votes never votes for another candidate in the term it stood in", { step: 3 }, () => {
  const w = scriptedA(3, seed(7));
  w.crashAt("A", { when: "after", what: "send" });
  w.runUntil(() => w.isCrashed("A"), w.timing.electionTimeoutMax + 1);
  const asked = lastReceived(w, "B", "RequestVote") ?? lastReceived(w, "C", "RequestVote");
  expectRule(asked !== undefined && w.isCrashed("A"), RULE.startElection, () => `node A was to crash right after its first RequestVote, but it sent none within ${w.timing.electionTimeoutMax} ms.`);
  w.restart("A");
  const term = asked.term;
  w.sendAs("B", "A", requestVote(term, "B"));
  const reply = lastReceived(w, "B", "RequestVoteReply");
  expectRule(reply?.voteGranted === false, RULE.voteSurvivesCrash, () => `node A stood in term ${term} (voting for itself), crashed, restarted with ${describeDisk(w, "A")} on its disk, and answered B's RequestVote for term ${term} with ${JSON.stringify(reply)}.`);
});

graded(2, "everyone crashes and restarts, again and again: each election picks a higher term, with never two leaders in a term", { step: 3 }, () => {
  for (const s of seeds(5)) {
    const w = persistentWorld({ nodes: 5, seed: s });
    let lastTerm = 0;
    for (let round = 1; round <= 4; round++) {
      const leader = awaitLeader(w, 2000);
      expectRule(leader !== undefined, RULE.liveness, () => `round ${round}: the cluster elected no leader within 2 s: ${describeLeaders(w)}.`);
      const term = w.view(leader).currentTerm;
      expectRule(term > lastTerm, RULE.termsGrow, () => `round ${round}: leader ${leader} leads term ${term}, but a leader of term ${lastTerm} was elected before everyone crashed.`);
      lastTerm = term;
      w.runFor(100);
      for (const id of w.nodes) w.crash(id);
      w.runFor(50);
      for (const id of w.nodes) w.restart(id);
    }
  }
});

// ---------------------------------------------------------------------------
// Step 4: Save new entries before you acknowledge them, or count your own copy
// ---------------------------------------------------------------------------

graded(2, "a follower's new entries are on disk before it acknowledges them, and it comes back with them", { step: 4 }, () => {
  const w = scriptedA(3, seed(8), { currentTerm: 1, votedFor: "B", log: [] });
  const entries = [
    { term: 1, command: "x" },
    { term: 1, command: "y" },
  ];
  w.sendAs("B", "A", appendEntries(1, "B", { entries }));
  const reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply?.success === true && reply.matchIndex === 2, RULE.prevLogCheck, () => `node A answered leader B's first two entries with ${JSON.stringify(reply)}.`);
  expectRule(commandsOf(w.disk("A") ?? { log: [] }).join() === "x,y", RULE.persistBeforeReply, () => `node A acknowledged 2 entries; its disk holds ${describeDisk(w, "A")}.`);
  w.crash("A");
  w.restart("A");
  expectRule(commandsOf(w.view("A")).join() === "x,y", RULE.restartFromDisk, () => `node A restarted with log ${showLog(w.view("A").log)}; it had acknowledged [1:x 1:y].`);
});

graded(2, "a leader's new command is on disk before it counts its own copy: alone, it commits at once, and keeps it across a crash", { step: 4 }, () => {
  const w = persistentWorld({ nodes: 1, seed: seed(9) });
  expectRule(awaitLeader(w) === "A", RULE.majority, () => `a cluster of one did not elect itself within 1 s: A is a ${roleOf(w, "A")}.`);
  proposeToLeader(w, "x");
  expectRule(w.view("A").commitIndex === 1 && commandsOf(w.disk("A") ?? { log: [] }).join() === "x", RULE.persistBeforeReply, () => `alone, leader A committed up to ${w.view("A").commitIndex}; its disk holds ${describeDisk(w, "A")}.`);
  w.crash("A");
  w.restart("A");
  expectRule(awaitLeader(w) === "A", RULE.majority, () => `after a restart, a cluster of one did not elect itself again within 1 s.`);
  proposeToLeader(w, "y");
  const applied = appliedCommands(w, "A").join(", ");
  expectRule(applied === "x, y", RULE.replayAfterRestart, () => `restarted, node A committed "y" in a new term and applied [${applied}] since it booted; it should apply x (committed with y) and y.`);
});

graded(3, "everyone crashes and restarts: committed entries survive, and new commands commit after", { step: 4 }, () => {
  for (const size of [3, 5]) {
    for (const s of seeds(3)) {
      const w = persistentWorld({ nodes: size, seed: s });
      const committed: string[] = [];
      for (let round = 1; round <= 3; round++) {
        for (let i = 1; i <= 3; i++) {
          const command = `r${round}c${i}`;
          const index = commitOnAll(w, command, 3000);
          expectRule(index !== undefined, RULE.survivesCrashes, () => `round ${round}: "${command}" was not committed on all ${size} nodes within 3 s: ${logsOf(w)}.`);
          committed.push(...commandsOf(w.view(w.nodes[0]!)).slice(committed.length, index));
        }
        for (const id of w.nodes) w.crash(id);
        for (const id of w.nodes) w.restart(id);
        expectKept(w, committed, `round ${round}, right after every node restarted`);
      }
      const last = commitOnAll(w, "after-all-restarts", 3000);
      expectRule(last !== undefined, RULE.survivesCrashes, () => `after the last restart, a new command was not committed on all nodes within 3 s: ${logsOf(w)}.`);
      w.runFor(100);
      expectKept(w, committed, "at the end");
      expectAllAgree(w, `a cluster of ${size} after three rounds of crashes`);
    }
  }
});

graded(3, "the leader crashes in the middle of replication; the next leader holds every committed entry, and the old one catches up on its return", { step: 4 }, () => {
  for (const s of seeds(8)) {
    const w = persistentWorld({ nodes: 5, seed: s });
    for (const command of ["a", "b", "c"]) {
      expectRule(commitOnAll(w, command, 3000) !== undefined, RULE.commitMajority, () => `"${command}" was not committed on all 5 nodes within 3 s: ${logsOf(w)}.`);
    }
    const committed = commandsOf(w.view("A"));
    const old = currentLeader(w)!;
    proposeToLeader(w, "in-flight-1");
    proposeToLeader(w, "in-flight-2");
    // Long enough for some followers to store them, not for all to commit.
    w.runFor(3);
    w.crash(old);
    const next = awaitLeader(w, 2000, w.nodes.filter((id) => id !== old));
    expectRule(next !== undefined, RULE.liveness, () => `after leader ${old} crashed, the other four had no leader within 2 s.`);
    expectKept(w, committed, `new leader ${next} after ${old} crashed`);
    w.restart(old);
    const index = commitOnAll(w, "after-return", 3000);
    expectRule(index !== undefined, RULE.survivesCrashes, () => `after ${old} restarted, a new command was not committed on all nodes within 3 s: ${logsOf(w)}.`);
    w.runFor(100);
    expectAllAgree(w, `after leader ${old} crashed mid-replication and returned`);
  }
});

graded(2, "a follower crashes, misses entries, restarts from its disk and catches up", { step: 4 }, () => {
  for (const s of seeds(8)) {
    const w = persistentWorld({ nodes: 3, seed: s });
    expectRule(commitOnAll(w, "before", 3000) !== undefined, RULE.commitMajority, () => `"before" was not committed within 3 s: ${logsOf(w)}.`);
    const follower = w.nodes.find((id) => id !== currentLeader(w))!;
    w.crash(follower);
    for (let i = 1; i <= 4; i++) proposeToLeader(w, `missed-${i}`);
    const others = w.nodes.filter((id) => id !== follower);
    expectRule(awaitCommitted(w, 5, others, 1000), RULE.commitMajority, () => `with 2 of 3 nodes up, 4 new commands were not committed within 1 s: ${logsOf(w)}.`);
    w.restart(follower);
    expectRule(commandsOf(w.view(follower)).join() === "before", RULE.restartFromDisk, () => `node ${follower} restarted with log ${showLog(w.view(follower).log)}; it had stored [before].`);
    expectRule(commitOnAll(w, "after", 3000) !== undefined, RULE.replicate, () => `after ${follower} restarted, "after" was not committed on all nodes within 3 s: ${logsOf(w)}.`);
    w.runFor(100);
    expectAllAgree(w, `after follower ${follower} came back`);
  }
});

/**
 * The best-known Raft lab's "Figure 8" persistence test: a client keeps
 * proposing to whoever leads, leaders crash at random moments (often
 * just after accepting a command), crashed nodes restart at random, and
 * at the end every committed command must still be there and the
 * cluster must agree once everyone is back.
 */
function figure8WithCrashes(s: number): World {
  const w = persistentWorld({ nodes: 5, seed: s, ...(drawing() ? {} : { traceLimit: 400 }) });
  const random = new RandomStream(s, "figure 8 with crashes");
  let up = 5;
  for (let iteration = 0; iteration < 60; iteration++) {
    const leader = currentLeader(w);
    if (leader !== undefined) w.propose(leader, `f${iteration}`);
    // Mostly short waits, sometimes long enough for an election.
    w.runFor(random.chance(0.1) ? random.int(0, 500) : random.int(0, 13));
    const stillLeading = leader !== undefined && w.isRunning(leader) ? leader : undefined;
    if (stillLeading !== undefined && random.chance(0.5)) {
      w.crash(stillLeading);
      up--;
    }
    if (up < 3) {
      const crashed = w.nodes.filter((id) => w.isCrashed(id));
      w.restart(crashed[random.int(0, crashed.length)]!);
      up++;
    }
  }
  for (const id of w.nodes) if (w.isCrashed(id)) w.restart(id);
  return w;
}

graded(2, "Figure 8 with real crashes: leaders crash at random moments, nodes restart, and every committed entry survives", { step: 4 }, () => {
  for (const s of seeds(6)) {
    const w = figure8WithCrashes(s);
    const index = commitOnAll(w, "final", 5000);
    expectRule(index !== undefined, RULE.survivesCrashes, () => `after 60 rounds of crashes and restarts and everyone back up, a last command was not committed on all nodes within 5 s: ${logsOf(w)}.`);
    w.runFor(200);
    expectAllAgree(w, "after Figure 8 with crashes");
  }
});

// ---------------------------------------------------------------------------
// Randomized: crashes, restarts, crash points, partitions and a lossy network
// ---------------------------------------------------------------------------

interface RandomCase {
  readonly seed: number;
  readonly dropPercent: number;
  readonly faults: readonly Fault[];
}

const faultArb: fc.Arbitrary<Fault> = fc.oneof(FAULT.crash, FAULT.crashPoint, FAULT.restart, FAULT.partition, FAULT.heal);
const caseArb: fc.Arbitrary<RandomCase> = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  dropPercent: fc.integer({ min: 0, max: 10 }),
  faults: fc.array(faultArb, { maxLength: 12 }),
});

function describeCase(c: RandomCase): string {
  return `world seed ${c.seed}; ${c.dropPercent}% of messages lost; faults: ${describeFaults(c.faults)}; then at 3500 ms every node restarts and the network heals.`;
}

function runCase(c: RandomCase, build: (options: WorldOptions) => World): void {
  const network: Partial<NetworkSettings> = { dropRate: c.dropPercent / 100 };
  const w = build({ nodes: [...NODES], createNode, seed: c.seed, network, ...PERSISTENCE, ...(drawing() ? {} : { traceLimit: 400 }) });
  scheduleFaults(w, c.faults);
  proposeEvery(w, { from: 100, everyMs: 50, through: 3000 });
  w.at(3500, "everyone back, network healed", () => {
    for (const id of w.nodes) {
      w.disarmCrash(id);
      if (w.isCrashed(id)) w.restart(id);
    }
    w.heal();
    w.setNetwork({ dropRate: 0 });
  });
  w.runUntilTime(3500);
  const finalIndex = commitOnAll(w, "final", 3000);
  expectRule(finalIndex !== undefined, RULE.survivesCrashes, () => `3 s after every node was back and the network healed, a last command was not committed everywhere: ${describeLeaders(w)}; ${logsOf(w)}.`);
  w.runFor(200);
  expectAllAgree(w, "after the run");
}

const RANDOMIZED = randomizedRuns(20261127, 40);

// Each run takes a few milliseconds; the check makes a thousand of them.
graded(2, "randomized: crashes (some in the middle of a step), restarts, partitions and lost messages never break a guarantee", { step: 4 }, () => {
  checkRandomizedRuns(RANDOMIZED, caseArb, describeCase, runCase);
});
