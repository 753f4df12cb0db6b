/**
 * Chapter 7: a hostile network, and fast log backup (50 points).
 *
 * The follower's hint and the leader's use of it with scripted peers;
 * logs 50 entries astray, twice over, repaired in a few round trips; the
 * best-known Raft lab's unreliable scenarios (10 % of messages lost,
 * delays up to tens of ms, long reordering, duplicates) with partitions,
 * crashes and restarts; liveness after every heal; bounded batches; and
 * randomized fault runs. Persistence is checked in every world, as in
 * Chapter 6.
 */
import fc from "fast-check";
import type { AppendEntries, CreateNode, LogEntry, NodeId, PersistentState } from "../world/contract.ts";
import { commandsOf, lastIndex } from "../world/log.ts";
import { RandomStream } from "../world/random.ts";
import { divergedTwiceOver, figure8Unreliable, UNRELIABLE } from "../scenarios/fault-scenarios.ts";
import { World, type NetworkSettings, type WorldOptions } from "../world/world.ts";
import { drawing, expectRule, graded, randomizedRuns, seeds, seed, world } from "./harness/graded.ts";
import { checkRandomizedRuns, describeFaults, FAULT, NODES, scheduleFaults, type Fault } from "./harness/randomized.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { appendEntries, appendReply, appliedCommands, awaitCommitted, awaitLeader, commitOnAll, currentLeader, describeLeaders, electA, lastReceived, nodeAmongScriptedPeers, proposeEvery, received, roleOf } from "./harness/scenarios.ts";

const createNode: CreateNode = useNodeUnderTest("chapter7-hostile-network");

const PERSISTENCE = { checkPersistence: true } as const;

/** The most entries one message may carry (the reference's MAX_ENTRIES_PER_MESSAGE). */
const BATCH = 64;

function persistentWorld(options: Omit<WorldOptions, "createNode">): World {
  return world({ createNode, ...options, ...PERSISTENCE });
}

function logsOf(w: World, ids: readonly NodeId[] = w.runningNodes()): string {
  return ids.map((id) => `${id} ${lastIndex(w.view(id))} entries, commit ${w.view(id).commitIndex}`).join("; ");
}

function mustAccept(w: World, id: NodeId, command: string): number {
  const result = w.propose(id, command);
  expectRule(result.accepted, RULE.clientToLeader, () => `leader ${id} (${roleOf(w, id)}) refused "${command}": ${JSON.stringify(result)}.`);
  return result.index;
}

/** Every running node holds the same log, has committed all of it, and applied it in order. */
function expectAllAgree(w: World, what: string): void {
  const ids = w.runningNodes();
  const reference = commandsOf(w.view(ids[0]!)).join();
  for (const id of ids) {
    const v = w.view(id);
    expectRule(commandsOf(v).join() === reference, RULE.logsConverge, () => `${what}: the logs differ: ${logsOf(w)}.`);
    expectRule(v.commitIndex === lastIndex(v), RULE.logsConverge, () => `${what}: node ${id} has committed ${v.commitIndex} of ${lastIndex(v)} entries: ${logsOf(w)}.`);
    expectRule(appliedCommands(w, id).join() === reference, RULE.applyInOrder, () => `${what}: node ${id} applied ${appliedCommands(w, id).length} commands since it booted; its log holds ${lastIndex(v)}.`);
  }
}

/** Entries of the given terms: [1, 2, 2] gives 1:a 2:b 2:c. */
function logOfTerms(terms: readonly number[]): LogEntry[] {
  return terms.map((term, i) => ({ term, command: String.fromCharCode(97 + (i % 26)) + (i >= 26 ? String(i) : "") }));
}

// ---------------------------------------------------------------------------
// Step 1: Say where the conflict is when you refuse
// ---------------------------------------------------------------------------

graded(4, "a follower whose log is too short says so: no conflictTerm, and conflictIndex just past its last entry", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(1), { currentTerm: 2, votedFor: null, log: logOfTerms([1, 1]) }, PERSISTENCE);
  w.sendAs("B", "A", appendEntries(2, "B", { prevLogIndex: 5, prevLogTerm: 2 }));
  const reply = lastReceived(w, "B", "AppendEntriesReply");
  expectRule(reply !== undefined && !reply.success, RULE.prevLogCheck, () => `node A holds 2 entries and answered AppendEntries(prevLogIndex 5) with ${JSON.stringify(reply)}.`);
  expectRule(reply.conflictTerm === undefined && reply.conflictIndex === 3, RULE.conflictHint, () => `node A holds 2 entries; asked to match at index 5, it answered conflictTerm ${reply.conflictTerm ?? "(none)"}, conflictIndex ${reply.conflictIndex ?? "(none)"}; it should say no term, and index 3.`);
});

graded(6, "a follower whose entry at prevLogIndex has another term reports that term and the first index where it holds it", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(2), { currentTerm: 4, votedFor: null, log: logOfTerms([1, 2, 2, 2, 3]) }, PERSISTENCE);
  const cases: [prevLogIndex: number, prevLogTerm: number, conflictTerm: number, conflictIndex: number][] = [
    // Each a probe a leader of term 4 could send: its log holds that term at that index.
    [4, 4, 2, 2],
    [5, 4, 3, 5],
    [1, 4, 1, 1],
    [3, 1, 2, 2],
  ];
  for (const [prevLogIndex, prevLogTerm, conflictTerm, conflictIndex] of cases) {
    w.sendAs("B", "A", appendEntries(4, "B", { prevLogIndex, prevLogTerm }));
    const reply = lastReceived(w, "B", "AppendEntriesReply");
    expectRule(
      reply !== undefined && !reply.success && reply.conflictTerm === conflictTerm && reply.conflictIndex === conflictIndex,
      RULE.conflictHint,
      () => `node A's log is [1:a 2:b 2:c 2:d 3:e]; asked to match term ${prevLogTerm} at index ${prevLogIndex}, it answered ${JSON.stringify(reply)}; it should refuse with conflictTerm ${conflictTerm}, conflictIndex ${conflictIndex}.`,
    );
  }
});

// ---------------------------------------------------------------------------
// Step 2: Skip a whole term per round trip
// ---------------------------------------------------------------------------

/** The prevLogIndex of the AppendEntries the leader sent B last. */
function lastProbeTo(w: World, peer: NodeId): AppendEntries | undefined {
  return lastReceived(w, peer, "AppendEntries");
}

graded(5, "a leader uses the hint: it skips to the end of the conflicting term in its own log, or past a term it never had, and probes again at once", { step: 2 }, () => {
  // A leads with [1:a 1:b 2:c 2:d 4:e 4:f]; B, scripted, refuses with hints.
  const saved: PersistentState = { currentTerm: 4, votedFor: null, log: logOfTerms([1, 1, 2, 2, 4, 4]) };
  const w = nodeAmongScriptedPeers(createNode, 3, seed(3), saved, PERSISTENCE);
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had a majority of votes and is a ${roleOf(w, "A")}.`);
  const first = lastProbeTo(w, "B");
  expectRule(first?.prevLogIndex === 6, RULE.replicate, () => `a new leader with 6 entries should probe B at prevLogIndex 6; it sent ${JSON.stringify(first)}.`);
  // Each refusal as B would send it: its last index, and its hint.
  const steps: [lastLogIndex: number, hint: { conflictTerm?: number; conflictIndex: number }, expectedPrev: number, why: string][] = [
    [6, { conflictTerm: 2, conflictIndex: 3 }, 4, "B's entry at 6 is of term 2, which A holds up to index 4: try index 5 next (prevLogIndex 4)"],
    [5, { conflictTerm: 3, conflictIndex: 3 }, 2, "B's entries of term 3 start at index 3, and A never had term 3: skip them all (prevLogIndex 2)"],
    [1, { conflictIndex: 2 }, 1, "B's log is too short, ending at index 1: try index 2 (prevLogIndex 1)"],
  ];
  for (const [lastLogIndex, hint, expectedPrev, why] of steps) {
    const before = received(w, "B", "AppendEntries").length;
    w.sendAs("B", "A", { ...appendReply(term, false, 0, lastLogIndex), ...hint });
    const sent = received(w, "B", "AppendEntries");
    const probe = sent.at(-1);
    expectRule(sent.length === before + 1 && probe?.prevLogIndex === expectedPrev, RULE.fastBackup, () => `B refused with ${JSON.stringify(hint)}: ${why}. Leader A ${sent.length === before ? "sent nothing at once" : `sent AppendEntries(prevLogIndex ${probe?.prevLogIndex})`}.`);
  }
  // A late copy of the first refusal (its log ending at 6) must not move nextIndex forward again.
  w.sendAs("B", "A", { ...appendReply(term, false, 0, 6), conflictIndex: 7 });
  const late = lastProbeTo(w, "B");
  expectRule(late !== undefined && late.prevLogIndex <= 1, RULE.fastBackup, () => `leader A had backed up to prevLogIndex 1 for B; a late refusal (conflictIndex 7, from an older probe) then took it to prevLogIndex ${late?.prevLogIndex}. A refusal never moves nextIndex forward: the back-up would start over.`);
  // B matches up to 1: confirmed. A late refusal must not take A below that.
  w.sendAs("B", "A", appendReply(term, true, 1, 1));
  w.sendAs("B", "A", { ...appendReply(term, false, 0, 0), conflictIndex: 1 });
  const after = lastProbeTo(w, "B");
  expectRule(after !== undefined && after.prevLogIndex >= 1, RULE.fastBackup, () => `B confirmed it matches up to index 1; a late refusal (conflictIndex 1) then took leader A back to prevLogIndex ${after?.prevLogIndex}. nextIndex never goes to or below what the follower confirmed.`);
});

graded(8, "message budgets: a healthy election and an idle second cost little, and followers 50 entries astray, twice over, are repaired in a few round trips", { step: 2 }, () => {
  for (const s of seeds(5)) {
    // Budgets first, on a healthy cluster of three (the lab's): an election in at most 30 RPCs, an idle second in at most 60.
    const healthy = persistentWorld({ nodes: 3, seed: s });
    const sent = () => healthy.nodes.reduce((n, id) => n + healthy.trafficOf(id).messages, 0);
    const elected = awaitLeader(healthy);
    expectRule(elected !== undefined, RULE.liveness, () => "3 healthy nodes elected no leader within 1 s.");
    const election = sent();
    expectRule(election <= 60, RULE.budget, () => `electing ${elected} in a healthy cluster of three took ${election} messages (requests and replies); the budget is 60 (30 RPCs).`);
    healthy.runFor(200);
    const before = sent();
    healthy.runFor(1000);
    const idle = sent() - before;
    expectRule(idle <= 120, RULE.budget, () => `an idle second of a healthy cluster of three cost ${idle} messages; the budget is 120 (60 RPCs): a heartbeat to each follower every ${healthy.timing.heartbeatInterval} ms, and the replies.`);
    const w = persistentWorld({ nodes: 5, seed: s });
    const r = divergedTwiceOver(w, (among, withinMs) => awaitLeader(w, withinMs, among));
    expectRule(r.stuck === undefined, r.stuck?.includes("may win") ? RULE.upToDate : RULE.liveness, () => `${r.stuck}.`);
    const [first, second] = r.astray;
    expectRule(r.repairMs !== null, RULE.fastBackup, () => `leader ${r.finalLeader} did not repair ${first} and ${second} (50 stale entries each) within 2 s: ${logsOf(w)}.`);
    // One entry per round trip would take about 50 AppendEntries each; skipping a term per round trip, a handful.
    // One entry per round trip takes about 60 AppendEntries for each follower; skipping a term per round trip, a handful.
    expectRule(r.appendEntries <= 16, RULE.fastBackup, () => `leader ${r.finalLeader} sent ${r.appendEntries} AppendEntries to ${first} and ${second} (50 stale entries each, all of one term) before they were repaired ${r.repairMs} ms later; skipping a term per round trip needs about 4 for each, 16 in all at most (one entry per round trip needs about 60 each).`);
    expectRule(r.entries <= 260, RULE.fastBackup, () => `leader ${r.finalLeader} sent ${r.entries} entries to ${first} and ${second} to give each the 100 entries it lacked; each entry should travel about once (260 at most).`);
    expectRule(r.messages <= 100, RULE.fastBackup, () => `the three reunited nodes sent ${r.messages} messages between the partition's end and the repair (the election, 50 commands, the repair); the budget is 100 (backing up one entry per round trip takes about 270).`);
    w.heal();
    const index = commitOnAll(w, "everyone", 3000);
    expectRule(index !== undefined, RULE.replicate, () => `after healing, a final command was not committed everywhere within 3 s: ${logsOf(w)}.`);
    w.runFor(100);
    expectAllAgree(w, "after two rounds of divergence");
  }
});

graded(5, "Figure 8 on an unreliable network, with crashes: 10 % of messages lost, long reordering, leaders cut off or crashed; the logs still converge within 10 s", { step: 2 }, () => {
  for (const s of seeds(6)) {
    const w = persistentWorld({ nodes: 5, seed: s, network: UNRELIABLE, ...(drawing() ? {} : { traceLimit: 400 }) });
    figure8Unreliable(w, 1000, { crashes: true });
    const index = commitOnAll(w, "final", 10_000);
    expectRule(index !== undefined, RULE.logsConverge, () => `after 1000 rounds of leaders cut off or crashed on a lossy, reordering network, a last command was not agreed by all 5 nodes within 10 s: ${describeLeaders(w)}; ${logsOf(w)}.`);
  }
});

graded(4, "after every heal, a leader within a second, and a new command committed within a second more", { step: 2 }, () => {
  for (const s of seeds(5)) {
    const w = persistentWorld({ nodes: 5, seed: s, network: { dropRate: 0.05, latency: [0, 27] } });
    const random = new RandomStream(s, "heals");
    for (let round = 1; round <= 6; round++) {
      const minority = w.nodes.filter(() => random.chance(0.4)).slice(0, 2);
      const leader = currentLeader(w);
      w.partition(minority.length > 0 ? minority : [leader ?? "A"]);
      for (let i = 0; i < 10; i++) {
        const now = currentLeader(w);
        if (now !== undefined) w.propose(now, `r${round}-${i}`);
        w.runFor(40);
      }
      w.heal();
      const healedAt = w.now;
      const next = awaitLeader(w, 1000);
      const electedAfter = w.now - healedAt;
      expectRule(next !== undefined, RULE.liveness, () => `round ${round}: 1 s after the network healed at ${healedAt} ms there was no leader all could follow: ${describeLeaders(w)}.`);
      // Proposed to whoever leads (again, if a newer leader takes over meanwhile), committed everywhere.
      const committed = commitOnAll(w, `after-heal-${round}`, 1000);
      expectRule(committed !== undefined, RULE.liveness, () => `round ${round}: leader ${next} was elected ${electedAfter} ms after the heal, but a new command was not committed everywhere within a second more: ${logsOf(w)}.`);
    }
    const index = commitOnAll(w, "final", 3000);
    expectRule(index !== undefined, RULE.logsConverge, () => `after six heals a last command was not committed everywhere within 3 s: ${logsOf(w)}.`);
  }
});

graded(4, "churn: steady commands while nodes crash, restart and lose messages; every committed command survives", { step: 2 }, () => {
  for (const s of seeds(5)) {
    const w = persistentWorld({ nodes: 5, seed: s, network: UNRELIABLE, ...(drawing() ? {} : { traceLimit: 400 }) });
    const random = new RandomStream(s, "churn");
    let next = 0;
    for (let t = 20; t < 6000; t += 20) {
      w.at(t, "client", () => {
        const leader = currentLeader(w);
        if (leader !== undefined) w.propose(leader, `c${next++}`);
      });
    }
    for (let t = 300; t < 6000; t += 300) {
      w.at(t, "churn", () => {
        const running = w.runningNodes();
        const crashed = w.nodes.filter((id) => w.isCrashed(id));
        if (crashed.length > 0 && random.chance(0.5)) w.restart(crashed[random.int(0, crashed.length)]!);
        else if (running.length > 0 && random.chance(0.6)) w.crash(running[random.int(0, running.length)]!);
      });
    }
    w.runUntilTime(6000);
    for (const id of w.nodes) if (w.isCrashed(id)) w.restart(id);
    w.setNetwork({ dropRate: 0, duplicateRate: 0 });
    const index = commitOnAll(w, "final", 5000);
    expectRule(index !== undefined, RULE.logsConverge, () => `after 6 s of churn, with every node back, a last command was not committed everywhere within 5 s: ${describeLeaders(w)}; ${logsOf(w)}.`);
    w.runFor(200);
    expectAllAgree(w, "after churn");
  }
});

// Randomized runs: crashes, crash points, restarts, partitions, loss, duplicates, reordering.

interface RandomCase {
  readonly seed: number;
  readonly dropPercent: number;
  readonly duplicatePercent: number;
  readonly reorderPercent: number;
  readonly faults: readonly Fault[];
}

const faultArb: fc.Arbitrary<Fault> = fc.oneof(FAULT.crash, FAULT.crashPoint, FAULT.restart, FAULT.partition, FAULT.heal);
const caseArb: fc.Arbitrary<RandomCase> = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  dropPercent: fc.integer({ min: 0, max: 15 }),
  duplicatePercent: fc.integer({ min: 0, max: 10 }),
  reorderPercent: fc.integer({ min: 0, max: 20 }),
  faults: fc.array(faultArb, { maxLength: 12 }),
});

function describeCase(c: RandomCase): string {
  return `world seed ${c.seed}; network: ${c.dropPercent}% lost, ${c.duplicatePercent}% duplicated, ${c.reorderPercent}% held back; faults: ${describeFaults(c.faults)}; then at 3500 ms every node restarts and the network heals and steadies.`;
}

function runCase(c: RandomCase, build: (options: WorldOptions) => World): void {
  const network: Partial<NetworkSettings> = { dropRate: c.dropPercent / 100, duplicateRate: c.duplicatePercent / 100, reorderRate: c.reorderPercent / 100, latency: [0, 27] };
  const w = build({ nodes: [...NODES], createNode, seed: c.seed, network, ...PERSISTENCE, ...(drawing() ? {} : { traceLimit: 400 }) });
  scheduleFaults(w, c.faults);
  proposeEvery(w, { from: 100, everyMs: 25, through: 3000 });
  w.at(3500, "everyone back, network healed and steady", () => {
    for (const id of w.nodes) {
      w.disarmCrash(id);
      if (w.isCrashed(id)) w.restart(id);
    }
    w.heal();
    w.setNetwork({ dropRate: 0, duplicateRate: 0, reorderRate: 0 });
  });
  w.runUntilTime(3500);
  const finalIndex = commitOnAll(w, "final", 3000);
  expectRule(finalIndex !== undefined, RULE.logsConverge, () => `3 s after every node was back and the network healed, a last command was not committed everywhere: ${describeLeaders(w)}; ${logsOf(w)}.`);
  w.runFor(300);
  expectAllAgree(w, "after the run");
}

const RANDOMIZED = randomizedRuns(20261128, 40);

graded(2, "randomized: crashes (some in the middle of a step), restarts, partitions, loss, duplicates and reordering never break a guarantee, and the logs converge", { step: 2 }, () => {
  checkRandomizedRuns(RANDOMIZED, caseArb, describeCase, runCase);
});

// ---------------------------------------------------------------------------
// Step 3: Send bounded batches, back to back
// ---------------------------------------------------------------------------

graded(6, "a leader sends at most 64 entries a message, probes included, and the next batch at once to a follower far behind", { step: 3 }, () => {
  const saved: PersistentState = { currentTerm: 1, votedFor: null, log: logOfTerms(Array.from({ length: 300 }, () => 1)) };
  const w = nodeAmongScriptedPeers(createNode, 3, seed(4), saved, PERSISTENCE);
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had a majority of votes and is a ${roleOf(w, "A")}.`);
  // B holds only 80 entries: it refuses, and A's next message probes at B's end.
  w.sendAs("B", "A", { ...appendReply(term, false, 0, 80), conflictIndex: 81 });
  const probe = lastProbeTo(w, "B")!;
  expectRule(probe.prevLogIndex === 80 && probe.entries.length <= BATCH, RULE.probe, () => `B refused (its log ends at 80); leader A's probe at prevLogIndex ${probe.prevLogIndex} carried ${probe.entries.length} entries. A probe may be refused again: it carries at most one batch (${BATCH}).`);
  w.sendAs("B", "A", appendReply(term, true, 144, 144));
  const next = lastProbeTo(w, "B");
  expectRule(next !== undefined && next.prevLogIndex === 144 && next.entries.length === BATCH, RULE.batching, () => `B confirmed entries up to 144 and A holds 300: B is still far behind, so A's next batch (entries 145 to 208, ${BATCH}) should go at once, not a heartbeat later. It sent ${next === undefined ? "nothing" : `${next.entries.length} entries after prevLogIndex ${next.prevLogIndex}`}.`);
});

graded(6, "a follower 500 entries behind catches up in batches of at most 64, back to back, each entry sent about once", { step: 3 }, () => {
  for (const s of seeds(3)) {
    const w = persistentWorld({ nodes: 3, seed: s });
    const leader = awaitLeader(w);
    expectRule(leader !== undefined, RULE.liveness, () => "3 healthy nodes elected no leader within 1 s.");
    const behind = w.nodes.find((id) => id !== leader)!;
    w.isolate(behind);
    for (let i = 1; i <= 500; i++) mustAccept(w, leader, `e${i}`);
    expectRule(awaitCommitted(w, 500, w.nodes.filter((id) => id !== behind), 2000), RULE.commitMajority, () => `500 commands were not committed by the two connected nodes within 2 s: ${logsOf(w)}.`);
    let largest = 0;
    let sent = 0;
    // Batches (by prevLogIndex) sent more than once: the usual reason entries travel twice.
    const batches = new Map<number, number>();
    w.afterEveryStep((step) => {
      for (const effect of step.effects) {
        if ((effect.kind === "deliver" || effect.kind === "lost") && effect.to === behind && effect.message.type === "AppendEntries") {
          largest = Math.max(largest, effect.message.entries.length);
          sent += effect.message.entries.length;
          if (effect.message.entries.length > 0) batches.set(effect.message.prevLogIndex, (batches.get(effect.message.prevLogIndex) ?? 0) + 1);
        }
      }
    });
    w.reconnect(behind);
    const from = w.now;
    const caughtUp = awaitCommitted(w, 500, [behind], 600);
    expectRule(caughtUp, RULE.batching, () => `node ${behind}, 500 entries behind, had not caught up 600 ms after it returned: ${logsOf(w)}. Batches of 64 sent back to back need about 8 round trips, not 8 heartbeats.`);
    expectRule(largest <= BATCH, RULE.batching, () => `one AppendEntries to ${behind} carried ${largest} entries; at most ${BATCH} per message, so a lost message costs little.`);
    const twice = [...batches].filter(([, n]) => n > 1).map(([prev, n]) => `after ${prev} (${n} times)`);
    expectRule(sent <= 650, RULE.batching, () => `the leader sent ${sent} entries to ${behind} to bring it 500 entries up to date in ${w.now - from} ms; each entry should travel about once. Batches sent more than once: ${twice.join(", ") || "none"}. A batch goes again when a heartbeat (or a second stream of batches, started by a duplicated reply) sends it while it is still on its way.`);
  }
});
