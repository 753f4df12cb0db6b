/**
 * Chapter 9: snapshots, a log that does not grow forever (50 points).
 *
 * First one real node among scripted peers: a leader compacts its log when
 * the world asks, restarts from its snapshot, and sends it to a follower
 * left behind; a follower installs a leader's snapshot, ignores a stale
 * one, and follows an AppendEntries that reaches into it. Then whole
 * clusters with Chapter 8's clients, in the style of the best-known lab's
 * snapshot tests: basic, all nodes crashing, install to a lagging
 * follower, on an unreliable network, with crashes, a long run whose saved
 * state stays bounded, and randomized fault runs. Every history must be
 * linearizable and no acknowledged write lost; persistence is checked in
 * every world, snapshots included.
 */
import fc from "fast-check";
import type { ClientCall, ClientId, CreateNode, InstallSnapshot, LogEntry, NodeId, PersistentState } from "../world/contract.ts";
import { lastIndex, snapshotIndex, termAt } from "../world/log.ts";
import { savedStateSize, type World, type WorldOptions } from "../world/world.ts";
import { UNRELIABLE } from "../scenarios/fault-scenarios.ts";
import { answerTo, append, ClientGroup, clientIds, expectLinearizable, expectNoLostWrites, finalReads, get, put, request, runWithClients, scriptedClient, showReplies, useClerkUnderTest } from "./harness/clients.ts";
import { expectRule, graded, randomizedRuns, seed, seeds, world } from "./harness/graded.ts";
import { checkRandomizedRuns, describeFaults, FAULT, NODES, scheduleFaults, type Fault } from "./harness/randomized.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { appendEntries, appendReply, electA, lastReceived, nodeAmongScriptedPeers, received, roleOf, vote } from "./harness/scenarios.ts";

const CHAPTER = "chapter9-snapshots";
const createNode: CreateNode = useNodeUnderTest(CHAPTER);
// The clerk is Chapter 8's, given whole: the workbook's own, whatever node.ts is graded.
const clerk = useClerkUnderTest(CHAPTER, { given: true });

const PERSISTENCE = { checkPersistence: true } as const;

/** The lab's maxraftstate for its snapshot tests: 1000 bytes (here, characters of JSON). */
const LIMIT = 1000;

/** A small limit for the scripted tests: a snapshot after a dozen short commands. */
const SMALL_LIMIT = 300;




/**
 * Client `client` sends a request to A, and the test waits until A has put
 * it in its log, so that requests sent one after another reach A in that
 * order (a later one first would make the earlier one look like an old retry).
 */
function ask(w: World, client: ClientId, sequence: number, call: ClientCall): void {
  const length = lastIndex(w.view("A"));
  w.sendFromClient(client, "A", request(client, sequence, call));
  w.runUntil(() => lastIndex(w.view("A")) > length, 20);
}

/** "a snapshot through 12 (term 1) and 3 entries after it", or "no snapshot and 5 entries". */
function describeLogOf(w: World, id: NodeId): string {
  const v = w.view(id);
  const base = snapshotIndex(v);
  return base === 0 ? `no snapshot and ${v.log.length} entr${v.log.length === 1 ? "y" : "ies"}` : `a snapshot through ${base} (term ${v.lastIncludedTerm ?? "?"}) and ${v.log.length} entr${v.log.length === 1 ? "y" : "ies"} after it`;
}

function describeDisk(disk: PersistentState | null): string {
  if (disk === null) return "nothing";
  const base = disk.snapshot?.lastIncludedIndex ?? 0;
  return `term ${disk.currentTerm}, ${base === 0 ? "no snapshot" : `a snapshot through ${base} (term ${disk.snapshot!.lastIncludedTerm})`}, ${disk.log.length} log entr${disk.log.length === 1 ? "y" : "ies"}`;
}

/**
 * Node A leads scripted B and C, with a saved-state limit; `commands` are
 * proposed and B acknowledges them all, so A commits and applies them and
 * the world asks A for a snapshot. Returns the world and A's term.
 */
function leaderWithSnapshot(s: number, commands: number, extra: Partial<WorldOptions> = {}): { w: World; term: number } {
  const w = nodeAmongScriptedPeers(createNode, 3, s, undefined, { ...PERSISTENCE, savedStateLimit: SMALL_LIMIT, ...extra });
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had a majority of votes and is a ${roleOf(w, "A")}.`);
  for (let i = 1; i <= commands; i++) w.propose("A", `command-${i}`);
  acknowledgeFromB(w, term);
  return { w, term };
}

/** B acknowledges everything A has sent it (and C nothing): with A's own copy, a majority of three. */
function acknowledgeFromB(w: World, term: number): void {
  for (let round = 0; round < 6; round++) {
    w.runFor(w.timing.heartbeatInterval + 5);
    const sent = lastReceived(w, "B", "AppendEntries");
    if (sent === undefined) continue;
    const match = sent.prevLogIndex + sent.entries.length;
    w.sendAs("B", "A", appendReply(term, true, match, match));
    if (match >= lastIndex(w.view("A"))) break;
  }
  w.runFor(15);
}

// ---------------------------------------------------------------------------
// Step 1: Take a snapshot when the world asks
// ---------------------------------------------------------------------------

graded(4, "asked for a snapshot, a leader keeps the last index and term, discards its log up to there, saves both in one save, and goes on counting indexes from the snapshot", { step: 1 }, () => {
  const { w, term } = leaderWithSnapshot(seed(1), 12);
  const v = w.view("A");
  expectRule(v.commitIndex === 12 && v.lastApplied === 12, RULE.applyInOrder, () => `leader A had 12 commands acknowledged by B; it committed up to ${v.commitIndex} and applied ${v.lastApplied}.`);
  expectRule(
    snapshotIndex(v) === 12 && v.lastIncludedTerm === term && v.log.length === 0,
    RULE.takeSnapshot,
    () => `A's saved state grew past ${SMALL_LIMIT} characters with 12 entries applied, and the world asked it for a snapshot through 12; A now shows ${describeLogOf(w, "A")}. It should show a snapshot through 12 (term ${term}) and no entries after it.`,
  );
  const disk = w.disk("A");
  expectRule(
    disk?.snapshot?.lastIncludedIndex === 12 && disk.snapshot.lastIncludedTerm === term && disk.log.length === 0,
    RULE.snapshotSavedTogether,
    () => `after its snapshot through 12, A's disk holds ${describeDisk(disk)}; it should hold the snapshot through 12 (term ${term}) and no entries.`,
  );
  expectRule(savedStateSize(disk!) <= SMALL_LIMIT, RULE.boundedState, () => `after its snapshot A's saved state is ${savedStateSize(disk!)} characters, over the limit of ${SMALL_LIMIT}.`);
  // Indexes go on from the snapshot: the next command is index 13, and B is sent it after entry 12 of term `term`.
  const next = w.propose("A", "after-the-snapshot");
  expectRule(next.accepted && next.index === 13, RULE.takeSnapshot, () => `after its snapshot through 12, A accepted a new command ${next.accepted ? `at index ${next.index}` : "not at all"}; it is index 13.`);
  w.runFor(w.timing.heartbeatInterval + 5);
  const sent = lastReceived(w, "B", "AppendEntries");
  expectRule(
    sent !== undefined && sent.prevLogIndex === 12 && sent.prevLogTerm === term && sent.entries.length === 1 && sent.entries[0]!.command === "after-the-snapshot",
    RULE.takeSnapshot,
    () => `B had everything up to 12; A's next AppendEntries to B ${sent === undefined ? "never came" : `had prevLogIndex ${sent.prevLogIndex}, prevLogTerm ${sent.prevLogTerm} and ${sent.entries.length} entries`}. It should say prevLogIndex 12, prevLogTerm ${term} (the snapshot's last index and term), with the new entry.`,
  );
});

/** A cluster of the learner's nodes, with clients calling through the clerk, and the lab's limit on saved state. */
function serviceWorld(s: number, options: { nodes?: number; clients?: number; network?: WorldOptions["network"] } = {}): World {
  return world({ nodes: options.nodes ?? 5, createNode, seed: s, clients: clientIds(options.clients ?? 1), savedStateLimit: LIMIT, ...PERSISTENCE, ...(options.network ? { network: options.network } : {}) });
}

/**
 * Every node's saved state stays bounded, checked at every save: apart
 * from its snapshot, and apart from entries it had not applied when the
 * step began (an entry not yet applied cannot go into a snapshot: a
 * leader cut off with its clients may hold many, and rightly keeps them
 * all). Saved state may pass the limit between the save that grows it and
 * the snapshot the world then asks for; the lab allows eight times its
 * limit, this twice. The run stops at the first save past that, so the
 * failure shows where the log outgrew its bound, not a minute later.
 */
function watchSavedSize(w: World, what: string): void {
  w.afterEveryStep((step) => {
    for (const effect of step.effects) {
      if (effect.kind !== "save") continue;
      const state = effect.state;
      const applied = step.before?.lastApplied ?? 0;
      const base = state.snapshot?.lastIncludedIndex ?? 0;
      const compactable = state.log.slice(0, Math.max(0, applied - base));
      const size = savedStateSize({ ...state, log: compactable });
      expectRule(
        size <= 2 * LIMIT,
        RULE.boundedState,
        () => `${what}: at ${step.time} ms node ${step.node} saved ${size} characters of state besides its snapshot, counting only entries it had already applied, more than twice the limit of ${LIMIT}: does it compact its log when the world asks (takeSnapshot)?`,
      );
    }
  });
}

/**
 * After the final reads (every node back, the network healed): every node
 * catches up with the leader, the ones left behind its snapshot through an
 * InstallSnapshot.
 */
function expectAllCaughtUp(w: World, what: string): void {
  const leader = w.leaders()[0];
  if (leader === undefined) return;
  const target = w.view(leader).commitIndex;
  w.runUntil(() => w.nodes.every((id) => w.isCrashed(id) || w.view(id).lastApplied >= target), 3000);
  const behind = w.nodes.filter((id) => !w.isCrashed(id) && w.view(id).lastApplied < target);
  expectRule(
    behind.length === 0,
    RULE.installSnapshot,
    () => `${what}: with every node back and the network healed, leader ${leader} had committed up to ${target}, but 3 s later ${behind.map((id) => `${id} had applied only up to ${w.view(id).lastApplied} (${describeLogOf(w, id)})`).join(", ")}. A follower behind the leader's snapshot catches up by installing it.`,
  );
}

/** Run a workload to its end, then heal, read every key, and judge what the clients saw. */
function judge(w: World, group: ClientGroup, keys: readonly string[], what: string, runMs: number): void {
  const context = { world: w } as const;
  runWithClients(w, group, runMs, what, context);
  const finals = finalReads(w, group, keys);
  const operations = group.operations();
  expectLinearizable(operations, what, context);
  expectNoLostWrites(operations, finals, context);
}

graded(3, "basic: clients' calls on a healthy cluster of 3, every node's saved state bounded by its snapshots, every history linearizable", { step: 1 }, () => {
  const w = serviceWorld(seed(3), { nodes: 3, clients: 2 });
  watchSavedSize(w, "a healthy cluster of 3");
  const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 4000 });
  judge(w, group, ["a", "b"], "two clients, a healthy cluster of 3, saved state limited to 1000 characters", 4000);
  expectRule(group.finished() >= 40, RULE.clerkRetries, () => `two clients finished ${group.finished()} calls in 4 s on a healthy cluster; they should finish at least 40.`);
  const snapshots = w.nodes.filter((id) => (w.disk(id)?.snapshot?.lastIncludedIndex ?? 0) > 0);
  expectRule(snapshots.length === 3, RULE.takeSnapshot, () => `after ${group.finished()} calls, only ${snapshots.join(", ") || "no node"} saved a snapshot: ${w.nodes.map((id) => `${id}: ${describeDisk(w.disk(id))}`).join("; ")}.`);
});

// ---------------------------------------------------------------------------
// Step 2: Restart from your snapshot
// ---------------------------------------------------------------------------

graded(3, "a node that restarts starts its state machine from its snapshot: commitIndex and lastApplied at the snapshot, the store as it was", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(5), undefined, { ...PERSISTENCE, savedStateLimit: SMALL_LIMIT, clients: ["c1"] });
  const replies = scriptedClient(w, "c1");
  const term = electA(w);
  for (let i = 1; i <= 8; i++) ask(w, "c1", i, append("k", `${i};`));
  acknowledgeFromB(w, term);
  const before = w.view("A");
  expectRule(snapshotIndex(before) === 8, RULE.takeSnapshot, () => `A applied 8 requests with its saved state past ${SMALL_LIMIT} characters, and the world asked it for a snapshot through 8; it shows ${describeLogOf(w, "A")}.`);
  w.crash("A");
  w.restart("A");
  const back = w.view("A");
  const loaded = w.appliedSnapshot("A");
  expectRule(
    back.commitIndex === 8 && back.lastApplied === 8 && loaded?.lastIncludedIndex === 8,
    RULE.restartFromSnapshot,
    () => `A restarted with a snapshot through 8 on its disk and came back with commitIndex ${back.commitIndex}, lastApplied ${back.lastApplied}, ${loaded === null ? "its state machine not loaded from the snapshot (no env.applySnapshot)" : `its state machine loaded from a snapshot through ${loaded.lastIncludedIndex}`}.`,
  );
  const next = electA(w);
  ask(w, "c1", 9, get("k"));
  acknowledgeFromB(w, next);
  const read = answerTo(replies, 9);
  expectRule(read?.success === true && read.value === "1;2;3;4;5;6;7;8;", RULE.restartFromSnapshot, () => `after A restarted from its snapshot and led again, client c1's get("k") was answered ${showReplies(replies.slice(-1))}; it should read "1;2;3;4;5;6;7;8;", the store as the snapshot holds it.`);
});

graded(3, "the clients' sessions are in the snapshot: a retry that reaches a node restarted from its snapshot is answered, not applied again", { step: 2 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(31), undefined, { ...PERSISTENCE, savedStateLimit: SMALL_LIMIT, clients: ["c1"] });
  const replies = scriptedClient(w, "c1");
  const term = electA(w);
  for (let i = 1; i <= 4; i++) ask(w, "c1", i, append("k", `${i};`));
  acknowledgeFromB(w, term);
  expectRule(snapshotIndex(w.view("A")) === 4, RULE.takeSnapshot, () => `A applied 4 requests with its saved state past ${SMALL_LIMIT} characters, and the world asked it for a snapshot through 4; it shows ${describeLogOf(w, "A")}.`);
  w.crash("A");
  w.restart("A");
  const next = electA(w);
  // Client c1 never heard the answer to its request 4, and sends it again.
  w.sendFromClient("c1", "A", request("c1", 4, append("k", "4;")));
  w.runFor(15);
  ask(w, "c1", 5, get("k"));
  acknowledgeFromB(w, next);
  const read = answerTo(replies, 5);
  expectRule(
    read?.success === true && read.value === "1;2;3;4;",
    RULE.sessionsInStateMachine,
    () => `c1's append("k", "4;") (its request 4) was applied before A's snapshot; A restarted from the snapshot and led again, then c1 sent request 4 again. c1's get("k") then read ${read === undefined ? "nothing" : JSON.stringify(read.value)}; it should read "1;2;3;4;": the snapshot holds the sessions with the store, so the retry is answered from them, not applied again.`,
  );
});

graded(3, "all nodes crash and restart, again and again: every node comes back from its snapshot and no acknowledged write is lost", { step: 2 }, () => {
  for (const s of seeds(2, 7)) {
    const w = serviceWorld(s, { clients: 3 });
    watchSavedSize(w, `all nodes crashing together (seed ${s})`);
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 5000 });
    for (let t = 900; t < 5000; t += 1000) {
      w.at(t, "every node crashes", () => {
        for (const id of w.nodes) if (!w.isCrashed(id)) w.crash(id);
      });
      w.at(t + 200, "every node restarts", () => {
        for (const id of w.nodes) if (w.isCrashed(id)) w.restart(id);
      });
    }
    judge(w, group, ["a", "b"], `three clients while all five nodes crash and restart together every second (seed ${s})`, 5000);
  }
});

// ---------------------------------------------------------------------------
// Step 3: Send a snapshot to a follower too far behind
// ---------------------------------------------------------------------------

graded(4, "a leader sends its snapshot to a follower whose next entry it has discarded, and after the follower's reply goes on from the snapshot's end", { step: 3 }, () => {
  const { w, term } = leaderWithSnapshot(seed(9), 12);
  expectRule(snapshotIndex(w.view("A")) === 12, RULE.takeSnapshot, () => `A applied 12 entries with its saved state past ${SMALL_LIMIT} characters; asked for a snapshot through 12, it shows ${describeLogOf(w, "A")}.`);
  // C never answered anything: its next entry is index 1, long gone from A's log.
  w.runFor(w.timing.heartbeatInterval + 5);
  const offered = lastReceived(w, "C", "InstallSnapshot");
  const disk = w.disk("A");
  expectRule(
    offered !== undefined && offered.term === term && offered.leaderId === "A" && offered.lastIncludedIndex === 12 && offered.lastIncludedTerm === term && offered.data === disk?.snapshot?.state,
    RULE.sendSnapshot,
    () => `C has answered nothing, so the next entry A must send it is index 1, inside A's snapshot through 12. ${offered === undefined ? `A sent C no InstallSnapshot (what C last got: ${JSON.stringify(w.inbox("C").at(-1)?.message ?? null)})` : `A sent ${JSON.stringify({ ...offered, data: `${offered.data.length} characters${offered.data === disk?.snapshot?.state ? ", its snapshot's state" : ", not its snapshot's state"}` })}`}; it should send InstallSnapshot(term ${term}, leader A, through 12 of term ${term}) with its snapshot's state as data.`,
  );
  w.propose("A", "after-the-snapshot");
  w.sendAs("C", "A", { type: "InstallSnapshotReply", term, matchIndex: 12 });
  w.runFor(w.timing.heartbeatInterval + 5);
  const after = received(w, "C", "AppendEntries").at(-1);
  const matchIndex = w.view("A").matchIndex?.C;
  expectRule(
    after !== undefined && after.prevLogIndex === 12 && after.prevLogTerm === term && after.entries.length === 1,
    RULE.sendSnapshot,
    () => `C answered the snapshot, vouching for 12; A's next AppendEntries to C ${after === undefined ? "never came" : `had prevLogIndex ${after.prevLogIndex}, prevLogTerm ${after.prevLogTerm} and ${after.entries.length} entries`} (A's matchIndex for C: ${matchIndex ?? "not shown"}). It should go on from the snapshot: prevLogIndex 12, prevLogTerm ${term}, the one new entry.`,
  );
});

// ---------------------------------------------------------------------------
// Step 4: Install a snapshot from the leader
// ---------------------------------------------------------------------------

/**
 * The state a real leader's snapshot holds after `puts` put("k", "v1")...
 * made by the learner's own node, so the follower tests hand a follower a
 * snapshot in its own format. Returns it with the index and term it ends at.
 */
function aLeadersSnapshot(s: number, puts: number): { readonly index: number; readonly term: number; readonly state: string } {
  const w = nodeAmongScriptedPeers(createNode, 3, s, undefined, { ...PERSISTENCE, savedStateLimit: SMALL_LIMIT, clients: ["c1"] });
  const term = electA(w);
  for (let i = 1; i <= puts; i++) ask(w, "c1", i, put("k", `v${i}`));
  acknowledgeFromB(w, term);
  const snapshot = w.disk("A")?.snapshot;
  expectRule(snapshot !== undefined && snapshot.lastIncludedIndex === puts, RULE.takeSnapshot, () => `a leader that applied ${puts} requests past the saved-state limit should hold a snapshot through ${puts}; its disk holds ${describeDisk(w.disk("A"))}.`);
  return { index: snapshot.lastIncludedIndex, term: snapshot.lastIncludedTerm, state: snapshot.state };
}

/** Node A, a follower of scripted leader B in term `term`, holding `entries` of that term. */
function followerA(s: number, term: number, entries: readonly LogEntry[], leaderCommit = 0): World {
  const w = nodeAmongScriptedPeers(createNode, 3, s, undefined, { ...PERSISTENCE, savedStateLimit: 100_000, clients: ["c1"] });
  w.sendAs("B", "A", appendEntries(term, "B", { entries, leaderCommit }));
  w.runFor(5);
  return w;
}

function installSnapshot(term: number, index: number, lastIncludedTerm: number, data: string): InstallSnapshot {
  return { type: "InstallSnapshot", term, leaderId: "B", lastIncludedIndex: index, lastIncludedTerm, data };
}

graded(4, "a follower installs a leader's snapshot: its log discarded, its state machine loaded, saved before it replies, and the reply vouches for the snapshot", { step: 4 }, () => {
  const snap = aLeadersSnapshot(seed(11), 10);
  // A follows B in the snapshot's term, with 3 uncommitted entries that conflict with it.
  const w = followerA(seed(12), snap.term, [1, 2, 3].map((i) => ({ term: snap.term, command: `stale-${i}` })));
  w.runFor(100);
  w.sendAs("B", "A", installSnapshot(snap.term, snap.index, snap.term, snap.state));
  w.runFor(5);
  const v = w.view("A");
  const reply = received(w, "B", "InstallSnapshotReply").at(-1);
  expectRule(
    snapshotIndex(v) === snap.index && v.lastIncludedTerm === snap.term && v.lastApplied === snap.index && v.commitIndex >= snap.index,
    RULE.installSnapshot,
    () => `follower A (3 entries, nothing committed) installed B's snapshot through ${snap.index} (term ${snap.term}); it shows ${describeLogOf(w, "A")}, commitIndex ${v.commitIndex}, lastApplied ${v.lastApplied}. It should show the snapshot through ${snap.index} with lastApplied ${snap.index} and commitIndex at least that.`,
  );
  expectRule(w.appliedSnapshot("A")?.lastIncludedIndex === snap.index, RULE.installSnapshot, () => `follower A installed a snapshot through ${snap.index} but did not load it into its state machine (env.applySnapshot was not called with it).`);
  expectRule(w.disk("A")?.snapshot?.lastIncludedIndex === snap.index, RULE.installSnapshot, () => `follower A installed a snapshot through ${snap.index}; its disk holds ${describeDisk(w.disk("A"))}.`);
  expectRule(reply !== undefined && reply.term === snap.term && reply.matchIndex === snap.index, RULE.installSnapshot, () => `follower A installed B's snapshot through ${snap.index} and answered ${reply === undefined ? "nothing" : JSON.stringify(reply)}; it should answer InstallSnapshotReply(term ${snap.term}, matchIndex ${snap.index}).`);
  // Its store is the snapshot's: A leads the next term and reads k.
  const replies = scriptedClient(w, "c1");
  w.sendAs("B", "A", appendEntries(snap.term + 1, "C"));
  w.runFor(w.timing.electionTimeoutMax + 5);
  const term = w.view("A").currentTerm;
  if (w.view("A").role === "candidate") w.sendAs("C", "A", vote(term, true));
  w.sendFromClient("c1", "A", request("c1", 50, get("k")));
  w.runFor(w.timing.heartbeatInterval + 5);
  const sent = lastReceived(w, "B", "AppendEntries");
  if (sent !== undefined) {
    const match = sent.prevLogIndex + sent.entries.length;
    w.sendAs("B", "A", appendReply(term, true, match, match));
  }
  w.runFor(20);
  const read = answerTo(replies, 50);
  expectRule(read?.success === true && read.value === `v${snap.index}`, RULE.installSnapshot, () => `after installing a snapshot whose store holds k = "v${snap.index}", A led term ${term} and answered client c1's get("k") with ${showReplies(replies)}; it should read "v${snap.index}".`);
});

graded(3, "a late or repeated InstallSnapshot never takes a follower back, and a snapshot that matches the log keeps the entries after it", { step: 4 }, () => {
  const snap = aLeadersSnapshot(seed(13), 10);
  // An older snapshot, through 6, made first: the follower's world is the last one built, the one a failure shows.
  const older = aLeadersSnapshot(seed(15), 6);
  const term = snap.term;
  // A holds entries 1..14 of the snapshot's term (its first 10 match the snapshot's).
  const entries = Array.from({ length: 14 }, (_, i) => ({ term, command: `e${i + 1}` }));
  const w = followerA(seed(14), term, entries);
  w.sendAs("B", "A", installSnapshot(term, snap.index, term, snap.state));
  w.runFor(5);
  const v = w.view("A");
  expectRule(
    snapshotIndex(v) === snap.index && lastIndex(v) === 14 && termAt(v, 14) === term,
    RULE.installSnapshot,
    () => `follower A held 14 entries of term ${term} and installed a snapshot through ${snap.index} whose last entry matches its own; it shows ${describeLogOf(w, "A")}. It should keep entries ${snap.index + 1} to 14 after the snapshot (Figure 13, rule 6).`,
  );
  // The same snapshot again, and an older one: nothing moves back.
  const repliesBefore = received(w, "B", "InstallSnapshotReply").length;
  w.sendAs("B", "A", installSnapshot(term, snap.index, term, snap.state));
  w.sendAs("B", "A", installSnapshot(term, older.index, older.term, older.state));
  w.runFor(5);
  const after = w.view("A");
  expectRule(
    snapshotIndex(after) === snap.index && after.lastApplied >= snap.index && lastIndex(after) === 14,
    RULE.staleSnapshot,
    () => `follower A had installed a snapshot through ${snap.index} (lastApplied ${v.lastApplied}); then the same snapshot came again, and an older one through ${older.index}. A now shows ${describeLogOf(w, "A")}, lastApplied ${after.lastApplied}: it went back.`,
  );
  const replies = received(w, "B", "InstallSnapshotReply").slice(repliesBefore);
  expectRule(
    replies.length === 2 && replies[0]!.matchIndex === snap.index && replies[1]!.matchIndex === older.index,
    RULE.staleSnapshot,
    () => `follower A answered the repeated and the older snapshot with ${JSON.stringify(replies)}; each answer says it holds that snapshot's last index (${snap.index}, then ${older.index}).`,
  );
});

graded(3, "install to a lagging follower: a follower cut off while the others compact their logs catches up from the leader's snapshot", { step: 4 }, () => {
  for (const s of seeds(2, 17)) {
    const w = serviceWorld(s, { clients: 3 });
    const group = new ClientGroup(w, clerk, { keys: ["a", "b", "c"], until: 5000 });
    runWithClients(w, group, 800, "before the follower is cut off", { world: w });
    const leader = w.leaders()[0];
    expectRule(leader !== undefined, RULE.liveness, () => "a healthy cluster of 5 had no leader after 800 ms.");
    const lagging = w.nodes.find((id) => id !== leader)!;
    w.partition([lagging]);
    w.mark(`${lagging} cut off`);
    runWithClients(w, group, 2500, `while ${lagging} is cut off`, { world: w });
    w.heal();
    w.mark("healed");
    const behind = lastIndex(w.view(lagging));
    const installs = () => w.nodes.reduce((n, id) => n + w.trafficOf(id).byType.InstallSnapshot.messages, 0);
    const before = installs();
    judge(w, group, ["a", "b", "c"], `three clients while ${lagging} is cut off for 2.5 s and let back (seed ${s})`, 1700);
    const leaderNow = w.leaders()[0] ?? leader;
    expectRule(installs() > before, RULE.sendSnapshot, () => `${lagging} came back holding up to index ${behind} while the others had compacted their logs past it (leader ${leaderNow} shows ${describeLogOf(w, leaderNow)}); no InstallSnapshot was sent.`);
    expectRule(w.view(lagging).lastApplied >= snapshotIndex(w.view(leaderNow)), RULE.installSnapshot, () => `after the heal ${lagging} applied only up to ${w.view(lagging).lastApplied}, behind the leader's snapshot through ${snapshotIndex(w.view(leaderNow))}.`);
  }
});

// ---------------------------------------------------------------------------
// Step 5: Follow an AppendEntries that reaches into your snapshot
// ---------------------------------------------------------------------------

graded(3, "an AppendEntries from before a follower's snapshot is checked from the snapshot on: success, nothing taken back, the new entries kept", { step: 5 }, () => {
  const snap = aLeadersSnapshot(seed(19), 10);
  const term = snap.term;
  const w = followerA(seed(20), term, []);
  w.sendAs("B", "A", installSnapshot(term, snap.index, term, snap.state));
  w.runFor(5);
  // A late AppendEntries from B: entries 6 to 14, after entry 5.
  const entries = Array.from({ length: 9 }, (_, i) => ({ term, command: `e${i + 6}` }));
  w.sendAs("B", "A", appendEntries(term, "B", { prevLogIndex: 5, prevLogTerm: term, entries, leaderCommit: 10 }));
  w.runFor(5);
  const reply = received(w, "B", "AppendEntriesReply").at(-1);
  const v = w.view("A");
  expectRule(
    reply !== undefined && reply.success && reply.matchIndex === 14,
    RULE.appendIntoSnapshot,
    () => `follower A holds a snapshot through ${snap.index}; B sent AppendEntries(prevLogIndex 5, prevLogTerm ${term}, entries 6 to 14). A answered ${reply === undefined ? "nothing" : JSON.stringify(reply)}; entries up to 10 are in its snapshot, committed, so they match: it should succeed with matchIndex 14.`,
  );
  expectRule(snapshotIndex(v) === snap.index && lastIndex(v) === 14 && v.lastApplied >= snap.index, RULE.appendIntoSnapshot, () => `after that AppendEntries, follower A shows ${describeLogOf(w, "A")}, lastApplied ${v.lastApplied}; it should keep its snapshot through ${snap.index} and hold entries 11 to 14 after it.`);
});

graded(3, "a heartbeat whose prevLogIndex lies inside the snapshot is answered with success, vouching for that index and taking nothing back", { step: 5 }, () => {
  const snap = aLeadersSnapshot(seed(29), 10);
  const term = snap.term;
  const w = followerA(seed(30), term, []);
  w.sendAs("B", "A", installSnapshot(term, snap.index, term, snap.state));
  w.runFor(5);
  // Entries 11 and 12, then a heartbeat B sent before it knew A had the snapshot: after entry 4.
  w.sendAs("B", "A", appendEntries(term, "B", { prevLogIndex: snap.index, prevLogTerm: term, entries: [11, 12].map((i) => ({ term, command: `e${i}` })), leaderCommit: snap.index }));
  w.runFor(5);
  w.sendAs("B", "A", appendEntries(term, "B", { prevLogIndex: 4, prevLogTerm: term, entries: [], leaderCommit: 12 }));
  w.runFor(5);
  const reply = received(w, "B", "AppendEntriesReply").at(-1);
  const v = w.view("A");
  expectRule(
    reply !== undefined && reply.success && reply.matchIndex === 4,
    RULE.appendIntoSnapshot,
    () => `follower A holds a snapshot through ${snap.index} and entries 11 and 12; B's heartbeat said prevLogIndex 4, prevLogTerm ${term}. A answered ${reply === undefined ? "nothing" : JSON.stringify(reply)}; index 4 is inside its snapshot, committed, so it matches: success, vouching for exactly 4.`,
  );
  expectRule(lastIndex(v) === 12 && snapshotIndex(v) === snap.index, RULE.appendIntoSnapshot, () => `after that heartbeat follower A shows ${describeLogOf(w, "A")}; it should still hold its snapshot through ${snap.index} and entries 11 and 12.`);
});

graded(3, "install on an unreliable network: lost, late, repeated and reordered messages, a lagging follower, every history linearizable", { step: 4 }, () => {
  for (const s of seeds(2, 21)) {
    const w = serviceWorld(s, { clients: 3, network: { ...UNRELIABLE, reorderRate: 0.1, reorderDelay: [20, 300] } });
    watchSavedSize(w, `an unreliable network (seed ${s})`);
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 5000 });
    for (let t = 700, i = 0; t < 5000; t += 1100, i++) {
      const cut = w.nodes[i % 5]!;
      w.at(t, `cut off ${cut}`, () => w.partition([cut]));
      w.at(t + 700, "heal", () => w.heal());
    }
    judge(w, group, ["a", "b"], `three clients on an unreliable network, one node cut off at a time (seed ${s})`, 5000);
    expectAllCaughtUp(w, `an unreliable network (seed ${s})`);
  }
});

graded(3, "install with crashes: leaders and followers crash and restart from their snapshots while the others compact theirs", { step: 4 }, () => {
  for (const s of seeds(2, 23)) {
    const w = serviceWorld(s, { clients: 3 });
    watchSavedSize(w, `crashes and restarts (seed ${s})`);
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 5000 });
    for (let t = 600, i = 0; t < 5000; t += 700, i++) {
      w.at(t, "crash the leader, or a follower", () => {
        const leader = w.leaders()[0];
        const running = w.runningNodes();
        const victim = i % 2 === 0 && leader !== undefined ? leader : running[i % running.length]!;
        w.crash(victim);
        w.at(w.now + (i % 3 === 0 ? 1200 : 300), `restart ${victim}`, () => {
          if (w.isCrashed(victim)) w.restart(victim);
        });
      });
    }
    judge(w, group, ["a", "b"], `three clients while nodes crash and restart (seed ${s})`, 5000);
    expectAllCaughtUp(w, `crashes and restarts (seed ${s})`);
  }
});

graded(4, "a long run: a minute of clients on an unreliable network with crashes, and no node's saved state ever grows past its bound", { step: 4 }, () => {
  const s = seed(25);
  const w = serviceWorld(s, { clients: 4, network: UNRELIABLE });
  watchSavedSize(w, `a simulated minute (seed ${s})`);
  const group = new ClientGroup(w, clerk, { keys: ["a", "b", "c"], until: 60_000 });
  for (let t = 2000, i = 0; t < 60_000; t += 3000, i++) {
    const victim = w.nodes[(i * 2) % 5]!;
    w.at(t, `crash ${victim}`, () => {
      if (!w.isCrashed(victim)) w.crash(victim);
    });
    w.at(t + 1500, `restart ${victim}`, () => {
      if (w.isCrashed(victim)) w.restart(victim);
    });
  }
  judge(w, group, ["a", "b", "c"], `four clients for a simulated minute, an unreliable network, a crash every 3 s (seed ${s})`, 60_000);
  expectRule(group.finished() >= 300, RULE.clerkRetries, () => `four clients finished ${group.finished()} calls in a simulated minute; they should finish at least 300.`);
  expectAllCaughtUp(w, `a simulated minute (seed ${s})`);
});

graded(4, "randomized fault runs with snapshots: partitions, crashes, restarts and a lossy network, every history linearizable", { step: 4 }, () => {
  const faultArb = fc.array(fc.oneof(FAULT.partition, FAULT.isolate, FAULT.heal, FAULT.crash, FAULT.restart), { minLength: 2, maxLength: 8 });
  const caseArb = fc.record({ faults: faultArb, clients: fc.integer({ min: 1, max: 4 }), lossy: fc.boolean(), seed: fc.integer({ min: 1, max: 1_000_000 }) });
  type Case = { faults: readonly Fault[]; clients: number; lossy: boolean; seed: number };
  const describeCase = (c: Case): string => `${c.clients} client${c.clients === 1 ? "" : "s"}${c.lossy ? " on a lossy network" : ""}, world seed ${c.seed}, faults: ${describeFaults(c.faults)}`;
  checkRandomizedRuns(randomizedRuns(27, 12), caseArb, describeCase, (c, build) => {
    const w = build({ createNode, nodes: NODES, seed: c.seed, clients: clientIds(c.clients), savedStateLimit: LIMIT, ...PERSISTENCE, ...(c.lossy ? { network: UNRELIABLE } : {}) });
    watchSavedSize(w, describeCase(c));
    scheduleFaults(w, c.faults);
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 3500 });
    judge(w, group, ["a", "b"], describeCase(c), 3500);
    expectAllCaughtUp(w, describeCase(c));
  });
});
