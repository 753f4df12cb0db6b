/**
 * Chapter 8: clients, and a key-value service they can trust (50 points).
 *
 * The server side first, with one real node among scripted peers and
 * clients the test plays itself: requests go through the log, answers
 * come only once committed, a retry is applied once, and a request lost
 * with a leadership is refused at once. Then the clerk, called directly.
 * Then whole clusters with simulated clients, in the style of the
 * best-known lab's key-value part: basic calls, concurrent clients, an
 * unreliable network, partitions, crashes and restarts, and randomized
 * fault runs. In every cluster test the clients' history must be
 * linearizable and no acknowledged write may be lost; a failure tells
 * what the clients saw first. Persistence is checked in every world.
 */
import fc from "fast-check";
import type { ClientCall, ClientId, ClientReply, ClientRequest, CreateNode, NodeId } from "../world/contract.ts";
import { lastIndex } from "../world/log.ts";
import { World, type WorldOptions } from "../world/world.ts";
import { UNRELIABLE } from "../scenarios/fault-scenarios.ts";
import { answerTo, append, ClientGroup, clientIds, expectLinearizable, expectNoLostWrites, finalReads, get, put, request, runWithClients, scriptedClient, showReplies, useClerkUnderTest } from "./harness/clients.ts";
import { expectRule, graded, randomizedRuns, seed, seeds, world } from "./harness/graded.ts";
import { checkRandomizedRuns, describeFaults, FAULT, NODES, scheduleFaults, type Fault } from "./harness/randomized.ts";
import { useNodeUnderTest } from "./harness/node-under-test.ts";
import { RULE } from "./harness/rules.ts";
import { appendReply, electA, lastReceived, nodeAmongScriptedPeers, roleOf, appendEntries } from "./harness/scenarios.ts";

const CHAPTER = "chapter8-key-value-service";
const createNode: CreateNode = useNodeUnderTest(CHAPTER);
const clerk = useClerkUnderTest(CHAPTER);

const PERSISTENCE = { checkPersistence: true } as const;


/**
 * Node A leads scripted B and C; clients c1 and c2 are played by the test.
 * (Until step 3's tests, the two clients' request numbers never repeat one
 * another, so that no test of an earlier step depends on the sessions
 * telling clients apart.)
 */
function leaderA(s: number, extra: Partial<WorldOptions> = {}): { w: World; term: number; replies: Record<ClientId, ReturnType<typeof scriptedClient>> } {
  const w = nodeAmongScriptedPeers(createNode, 3, s, undefined, { ...PERSISTENCE, clients: ["c1", "c2"], ...extra });
  const term = electA(w);
  expectRule(w.view("A").role === "leader", RULE.majority, () => `node A had a majority of votes and is a ${roleOf(w, "A")}.`);
  return { w, term, replies: { c1: scriptedClient(w, "c1"), c2: scriptedClient(w, "c2") } };
}

/** B acknowledges everything A sent it so far: with A's own copy, a majority of three. */
function acknowledgeFromB(w: World, term: number): void {
  w.runFor(w.timing.heartbeatInterval + 5);
  const sent = lastReceived(w, "B", "AppendEntries");
  if (sent === undefined) return;
  const match = sent.prevLogIndex + sent.entries.length;
  w.sendAs("B", "A", appendReply(term, true, match, match));
  // The answers travel to the clients (up to 10 ms on this network).
  w.runFor(15);
}

/**
 * Client `client` sends a request to A, and the test waits until A has
 * handled it (its log grew, or the client heard back), so that requests
 * sent one after another reach A in that order.
 */
function ask(w: World, client: ClientId, sequence: number, call: ClientCall, replies?: readonly unknown[]): void {
  const length = lastIndex(w.view("A"));
  const heard = replies?.length ?? 0;
  w.sendFromClient(client, "A", request(client, sequence, call));
  w.runUntil(() => w.isCrashed("A") || lastIndex(w.view("A")) > length || (replies?.length ?? 0) > heard, 20);
}



// ---------------------------------------------------------------------------
// Step 1: Serve a request through the log
// ---------------------------------------------------------------------------

graded(4, "a follower refuses a client's request and names the leader it knows; a leader puts every request in its log, get included", { step: 1 }, () => {
  const w = nodeAmongScriptedPeers(createNode, 3, seed(1), undefined, { ...PERSISTENCE, clients: ["c1"] });
  const replies = scriptedClient(w, "c1");
  // A follows B, the leader of term 1.
  w.sendAs("B", "A", appendEntries(1, "B"));
  w.sendFromClient("c1", "A", request("c1", 1, put("x", "1")));
  w.runFor(15);
  const refusal = replies.at(-1)?.reply;
  expectRule(refusal !== undefined && !refusal.success && refusal.leaderId === "B", RULE.serveThroughLog, () => `follower A (its leader: B) was asked put("x", "1") by client c1 and answered ${showReplies(replies)}; it should refuse, naming leader B.`);
  expectRule(lastIndex(w.view("A")) === 0, RULE.serveThroughLog, () => `follower A put the client's request in its own log: ${lastIndex(w.view("A"))} entries.`);
  // Now A leads its own term: every operation goes into its log.
  const s = leaderA(seed(2));
  s.w.sendFromClient("c1", "A", request("c1", 1, put("x", "1")));
  s.w.sendFromClient("c2", "A", request("c2", 1, get("x")));
  s.w.runFor(15);
  const held = lastIndex(s.w.view("A"));
  expectRule(held === 2, RULE.serveThroughLog, () => `leader A got two requests, a put and a get; its log holds ${held} entr${held === 1 ? "y" : "ies"}. Every request goes in the log, reads too.`);
});

// ---------------------------------------------------------------------------
// Step 2: Answer the client once its entry is applied
// ---------------------------------------------------------------------------

graded(3, "a leader answers a request only once its entry is committed and applied, with what get read", { step: 2 }, () => {
  const { w, term, replies } = leaderA(seed(4));
  ask(w, "c1", 1, put("x", "1"));
  ask(w, "c2", 101, get("x"));
  // No follower has acknowledged anything: nothing is committed, nobody may be answered.
  w.runFor(200);
  const early = [...replies.c1!, ...replies.c2!];
  expectRule(early.length === 0, RULE.answerAfterCommit, () => `leader A answered ${showReplies(early)} before any follower had its entries: nothing was committed yet (commitIndex ${w.view("A").commitIndex}).`);
  acknowledgeFromB(w, term);
  const putReply = answerTo(replies.c1!, 1);
  const getReply = answerTo(replies.c2!, 101);
  expectRule(putReply?.success === true && putReply.sequence === 1, RULE.answerAfterCommit, () => `B acknowledged both entries, so they are committed; client c1's put was answered ${showReplies(replies.c1!)}.`);
  expectRule(getReply?.success === true && getReply.value === "1", RULE.answerAfterCommit, () => `client c2's get("x"), after c1's put("x", "1") in the log, was answered ${showReplies(replies.c2!)}; it should read "1".`);
});

graded(3, "answers follow the log: each client hears its own result, a get of a key never written reads \"\"", { step: 2 }, () => {
  const { w, term, replies } = leaderA(seed(5));
  ask(w, "c1", 1, get("nothing"));
  ask(w, "c2", 2, append("y", "p"));
  ask(w, "c1", 3, append("y", "q"));
  ask(w, "c2", 4, get("y"));
  acknowledgeFromB(w, term);
  const c1 = [answerTo(replies.c1!, 1), answerTo(replies.c1!, 3)];
  const c2 = [answerTo(replies.c2!, 2), answerTo(replies.c2!, 4)];
  expectRule(
    c1[0]?.success === true && c1[0].value === "" && c1[1]?.success === true && c2[0]?.success === true && c2[1]?.success === true && c2[1].value === "pq",
    RULE.answerAfterCommit,
    () => `the log held c1 get("nothing"), c2 append("y", "p"), c1 append("y", "q"), c2 get("y"), all committed. c1 heard ${showReplies(replies.c1!)}; c2 heard ${showReplies(replies.c2!)}. c1's get should read "", c2's get "pq".`,
  );
});

graded(4, "the store runs put, append and get in log order, and a node rebuilds it from its log after a restart", { step: 2 }, () => {
  const { w, term, replies } = leaderA(seed(3));
  ask(w, "c1", 1, put("k", "a"));
  ask(w, "c1", 2, append("k", "b"));
  ask(w, "c1", 3, append("k", "c"));
  w.runFor(15);
  const early = replies.c1!.filter((r) => r.reply.success);
  expectRule(early.length === 0, RULE.answerAfterCommit, () => `leader A answered ${showReplies(early)} before any follower had its entries: nothing was committed yet (commitIndex ${w.view("A").commitIndex}).`);
  acknowledgeFromB(w, term);
  expectRule(w.view("A").lastApplied === 3, RULE.applyInOrder, () => `leader A committed its 3 requests and applied ${w.view("A").lastApplied}.`);
  // A crashes, restarts with an empty store, and wins the next term: its log is all it has.
  w.crash("A");
  w.restart("A");
  const next = electA(w);
  ask(w, "c1", 4, get("k"));
  acknowledgeFromB(w, next);
  const read = answerTo(replies.c1!, 4);
  expectRule(read?.success === true && read.sequence === 4 && read.value === "abc", RULE.replayAfterRestart, () => `the log held put("k", "a"), append("k", "b"), append("k", "c"), committed; A restarted and led again; client c1's get("k") (its request 4) was answered ${showReplies(replies.c1!.slice(-1))}; it should read "abc", the store rebuilt from the log.`);
});

// ---------------------------------------------------------------------------
// Step 3: Apply each request exactly once
// ---------------------------------------------------------------------------

graded(3, "a retried request is applied once, whether the retry reaches the log or not", { step: 3 }, () => {
  const { w, term, replies } = leaderA(seed(6));
  // c1's append, then the same request again (its clerk retried before the answer came).
  ask(w, "c1", 1, append("x", "a"));
  ask(w, "c1", 1, append("x", "a"));
  acknowledgeFromB(w, term);
  // And once more, long after it was applied.
  ask(w, "c1", 1, append("x", "a"));
  acknowledgeFromB(w, term);
  ask(w, "c2", 1, get("x"));
  acknowledgeFromB(w, term);
  const read = answerTo(replies.c2!, 1);
  expectRule(read?.success === true && read.value === "a", RULE.exactlyOnce, () => `client c1 sent append("x", "a") three times with the same sequence number 1; c2's get("x") then read ${read === undefined ? "nothing (no answer)" : JSON.stringify(read.value)}; it should read "a".`);
  const answers = replies.c1!.filter((r) => r.reply.success);
  expectRule(answers.length >= 1, RULE.exactlyOnce, () => `client c1's request was applied, but c1 was never told: it heard ${showReplies(replies.c1!)}.`);
});

graded(3, "each client has its own session: two clients' requests with the same numbers are both applied, and only a true retry is skipped", { step: 3 }, () => {
  const { w, term, replies } = leaderA(seed(7));
  for (const [client, value] of [["c1", "a"], ["c2", "b"]] as const) {
    ask(w, client, 1, append("x", value));
  }
  // c1 retries its request 1: applied already, it must change nothing.
  ask(w, "c1", 1, append("x", "a"));
  ask(w, "c1", 2, append("x", "c"));
  ask(w, "c2", 2, get("x"));
  acknowledgeFromB(w, term);
  const read = answerTo(replies.c2!, 2);
  expectRule(read?.success === true && read.value === "abc", RULE.exactlyOnce, () => `c1 appended "a" (its request 1), c2 "b" (its request 1), c1 retried its request 1, then appended "c" (its request 2); c2's get("x") then read ${read === undefined ? "nothing (no answer)" : JSON.stringify(read.value)}; it should read "abc": sequence numbers count per client.`);
});

graded(2, "the sessions are part of the state machine: a node that restarts, and leads again, still applies a retry once", { step: 3 }, () => {
  const { w, term, replies } = leaderA(seed(8));
  ask(w, "c1", 1, append("x", "a"));
  acknowledgeFromB(w, term);
  // The answer was lost on the way, say; A crashes, restarts, and wins the next term.
  w.crash("A");
  w.restart("A");
  const next = electA(w);
  // c1's clerk retries its request 1 with the leader.
  ask(w, "c1", 1, append("x", "a"));
  acknowledgeFromB(w, next);
  ask(w, "c2", 1, get("x"));
  acknowledgeFromB(w, next);
  const read = answerTo(replies.c2!, 1);
  expectRule(read?.success === true && read.value === "a", RULE.sessionsInStateMachine, () => `c1's append("x", "a") (request 1) was applied, A restarted and led again, and c1 retried request 1; c2's get("x") then read ${read === undefined ? "nothing (no answer)" : JSON.stringify(read.value)}; it should read "a". The restarted node's state machine did not know c1's request 1 had been applied.`);
});

// ---------------------------------------------------------------------------
// Step 4: Tell a waiting client when its request is lost
// ---------------------------------------------------------------------------

graded(3, "a leader that steps down refuses the requests it was holding, at once", { step: 4 }, () => {
  const { w, term, replies } = leaderA(seed(9));
  ask(w, "c1", 1, put("x", "1"));
  // B wins a later term: A steps down before its entry was committed.
  w.sendAs("B", "A", appendEntries(term + 1, "B"));
  w.runFor(15);
  const answer = answerTo(replies.c1!, 1);
  expectRule(answer !== undefined && !answer.success && answer.sequence === 1, RULE.tellLostRequest, () => `leader A held client c1's put (request 1) uncommitted and stepped down on a heartbeat of term ${term + 1}; c1 heard ${showReplies(replies.c1!)}. It should be refused at once.`);
});

graded(3, "a server whose entry is replaced by another refuses the request that was waiting there", { step: 4 }, () => {
  const { w, term, replies } = leaderA(seed(10));
  ask(w, "c1", 1, put("x", "1"));
  // B leads term + 1 with its own entry at index 1, and commits it. A must not be left thinking c1's request may still come.
  const other = request("c2", 1, put("x", "2"));
  w.sendAs("B", "A", appendEntries(term + 1, "B", { entries: [{ term: term + 1, command: JSON.stringify(other) }], leaderCommit: 1 }));
  w.runFor(15);
  const answers = replies.c1!.filter((r) => r.reply.sequence === 1);
  expectRule(answers.length > 0 && answers.every((r) => !r.reply.success), RULE.tellLostRequest, () => `client c1's put waited at index 1 of leader A; B's entry of term ${term + 1} took index 1 and was committed, and A applied it; c1 heard ${showReplies(replies.c1!)}. It should be refused, and never told success: its request is not in the log.`);
});

// ---------------------------------------------------------------------------
// Step 5: A clerk that finds the leader and retries
// ---------------------------------------------------------------------------

interface Step {
  readonly clerk: unknown;
  readonly send?: { readonly to: NodeId; readonly request: ClientRequest };
  readonly retryAfterMs?: number;
  readonly result?: string;
}

graded(4, "the clerk numbers its requests, follows a refusal to the leader it names, moves on after a timeout, and retries with the same number", { step: 5, grades: "clerk.ts" }, () => {
  const servers = ["A", "B", "C"];
  let state = clerk.call("newClerk", ["c1", servers]);
  const first = clerk.call("clerkCall", [state, put("x", "1")]) as Step;
  expectRule(first.send?.request.sequence === 1 && first.retryAfterMs !== undefined, RULE.exactlyOnce, () => `a new clerk's first call should send request number 1 and start its retry timer; it returned ${JSON.stringify(first)}.`);
  const firstTo = first.send.to;
  state = first.clerk;
  const refused = clerk.call("clerkReceive", [state, firstTo, { type: "ClientReply", sequence: 1, success: false, value: "", leaderId: "C" }]) as Step;
  expectRule(refused.send?.to === "C" && refused.send.request.sequence === 1, RULE.clerkRetries, () => `${firstTo} refused request 1 naming leader C; the clerk returned ${JSON.stringify(refused)}; it should send the same request (number 1) to C.`);
  state = refused.clerk;
  const timedOut = clerk.call("clerkTimeout", [state]) as Step;
  expectRule(timedOut.send !== undefined && timedOut.send.to !== "C" && timedOut.send.request.sequence === 1, RULE.clerkRetries, () => `C did not answer; on the timeout the clerk returned ${JSON.stringify(timedOut)}; it should send request 1 again, to another server.`);
  const retriedWith = timedOut.send.to;
  state = timedOut.clerk;
  const late = clerk.call("clerkReceive", [state, "C", { type: "ClientReply", sequence: 0, success: true, value: "", leaderId: "C" }]) as Step;
  expectRule(late.result === undefined, RULE.clerkRetries, () => `a late reply to an older request (sequence 0) ended the call in progress: ${JSON.stringify(late)}.`);
  state = late.clerk;
  const answered = clerk.call("clerkReceive", [state, retriedWith, { type: "ClientReply", sequence: 1, success: true, value: "", leaderId: retriedWith }]) as Step;
  expectRule(answered.result === "", RULE.clerkRetries, () => `${retriedWith} answered request 1 with success; the clerk returned ${JSON.stringify(answered)}; the call should be over (result "").`);
  state = answered.clerk;
  const second = clerk.call("clerkCall", [state, get("x")]) as Step;
  expectRule(second.send?.request.sequence === 2 && second.send.to === retriedWith, RULE.exactlyOnce, () => `the next call should be request number 2, sent to ${retriedWith}, the server that answered last; the clerk returned ${JSON.stringify(second)}.`);
});

/** A cluster of the learner's nodes with clients calling through the learner's clerk. */
function serviceWorld(s: number, options: { nodes?: number; clients?: number; network?: WorldOptions["network"] } = {}): World {
  return world({ nodes: options.nodes ?? 5, createNode, seed: s, clients: clientIds(options.clients ?? 1), ...PERSISTENCE, ...(options.network ? { network: options.network } : {}) });
}

/** Step 3 applies each request once: a write applied twice points there. */
const EXACTLY_ONCE_STEP = 3;

/** Run a workload to its end, then heal, read every key, and judge what the clients saw. */
function judge(w: World, group: ClientGroup, keys: readonly string[], what: string, runMs: number): void {
  const context = { world: w, exactlyOnceStep: EXACTLY_ONCE_STEP };
  runWithClients(w, group, runMs, what, context);
  const finals = finalReads(w, group, keys);
  const operations = group.operations();
  expectLinearizable(operations, what, context);
  expectNoLostWrites(operations, finals, context);
}

graded(3, "basic: one client's puts, appends and gets read back what it wrote", { step: 5 }, () => {
  const w = serviceWorld(seed(11), { nodes: 3 });
  const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 2000 });
  runWithClients(w, group, 2500, "one client, a healthy cluster of 3", { world: w, exactlyOnceStep: EXACTLY_ONCE_STEP });
  expectRule(group.finished() >= 10, RULE.clerkRetries, () => `on a healthy cluster, in 2 s, one client finished ${group.finished()} calls; it should finish at least 10. Still waiting: ${group.stuck().join(", ") || "none"}.`);
  expectLinearizable(group.operations(), "one client, a healthy cluster of 3", { world: w, exactlyOnceStep: EXACTLY_ONCE_STEP });
});

graded(2, "concurrent clients: five clients on the same keys, every history linearizable", { step: 5 }, () => {
  for (const s of seeds(3, 12)) {
    const w = serviceWorld(s, { clients: 5 });
    const group = new ClientGroup(w, clerk, { keys: ["a", "b", "c"], until: 3000 });
    judge(w, group, ["a", "b", "c"], `five clients on a healthy cluster of 5 (seed ${s})`, 3000);
    expectRule(group.finished() >= 25, RULE.clerkRetries, () => `five clients finished ${group.finished()} calls in 3 s on a healthy cluster; they should finish at least 25.`);
  }
});

graded(2, "an unreliable network: lost, late, repeated and reordered messages, and every call still answered once", { step: 5 }, () => {
  for (const s of seeds(3, 15)) {
    const w = serviceWorld(s, { clients: 3, network: { ...UNRELIABLE, duplicateRate: 0.05, reorderRate: 0.1, reorderDelay: [20, 200] } });
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 4000 });
    judge(w, group, ["a", "b"], `three clients on an unreliable network (seed ${s})`, 4000);
  }
});

graded(3, "one partition: the old leader cut off with a client, the majority serving the others; nothing stale is read", { step: 5 }, () => {
  for (const s of seeds(3, 18)) {
    const w = serviceWorld(s, { clients: 3 });
    const group = new ClientGroup(w, clerk, { keys: ["a"], until: 4000 });
    runWithClients(w, group, 700, "before the partition", { world: w, exactlyOnceStep: EXACTLY_ONCE_STEP });
    const leader = w.leaders()[0];
    expectRule(leader !== undefined, RULE.liveness, () => "a healthy cluster of 5 had no leader after 700 ms.");
    // The leader and one follower, with client c1, on one side; the rest on the other.
    const minority = [leader, w.nodes.find((id) => id !== leader)!];
    const majority = w.nodes.filter((id) => !minority.includes(id));
    w.partition([...minority, "c1"], [...majority, "c2", "c3"]);
    w.mark(`partition: ${minority.join(", ")} with c1 | ${majority.join(", ")} with c2, c3`);
    const before = group.finished();
    runWithClients(w, group, 1500, "during the partition", { world: w, exactlyOnceStep: EXACTLY_ONCE_STEP });
    expectRule(group.finished() > before + 2, RULE.clerkRetries, () => `the majority side (${majority.join(", ")}) could serve clients c2 and c3, yet in 1.5 s of partition only ${group.finished() - before} calls finished.`);
    w.heal();
    judge(w, group, ["a"], `a partition, the old leader ${leader} in the minority with c1 (seed ${s})`, 1800);
  }
});

graded(2, "many partitions, one client: the client finds each new leader", { step: 5 }, () => {
  for (const s of seeds(2, 21)) {
    const w = serviceWorld(s, { clients: 1 });
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 5000 });
    const random = w.nodes;
    for (let t = 500, i = 0; t < 5000; t += 600, i++) {
      const minority = [random[i % 5]!, random[(i + 2) % 5]!];
      w.at(t, `partition ${minority.join(", ")} | the rest`, () => w.partition(minority));
      w.at(t + 400, "heal", () => w.heal());
    }
    judge(w, group, ["a", "b"], `one client through eight partitions (seed ${s})`, 5000);
  }
});

graded(2, "many partitions, many clients, on an unreliable network", { step: 5 }, () => {
  for (const s of seeds(2, 23)) {
    const w = serviceWorld(s, { clients: 5, network: UNRELIABLE });
    const group = new ClientGroup(w, clerk, { keys: ["a", "b", "c"], until: 5000 });
    for (let t = 400, i = 0; t < 5000; t += 700, i++) {
      const minority = [w.nodes[(i * 2) % 5]!, w.nodes[(i * 3 + 1) % 5]!].filter((id, k, all) => all.indexOf(id) === k);
      const clientSide = i % 2 === 0 ? ["c1", "c2"] : ["c3"];
      w.at(t, `partition ${[...minority, ...clientSide].join(", ")} | the rest`, () => w.partition([...minority, ...clientSide]));
      w.at(t + 450, "heal", () => w.heal());
    }
    judge(w, group, ["a", "b", "c"], `five clients through partitions on an unreliable network (seed ${s})`, 5000);
  }
});

graded(2, "crashes and restarts with concurrent clients: leaders and followers crash, and every acknowledged write survives", { step: 5 }, () => {
  for (const s of seeds(2, 25)) {
    const w = serviceWorld(s, { clients: 3 });
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 5000 });
    for (let t = 600, i = 0; t < 5000; t += 800, i++) {
      w.at(t, "crash the leader, or a follower", () => {
        const leader = w.leaders()[0];
        const victim = i % 2 === 0 && leader !== undefined ? leader : w.runningNodes()[i % w.runningNodes().length]!;
        w.crash(victim);
        w.at(w.now + 350, `restart ${victim}`, () => w.restart(victim));
      });
    }
    judge(w, group, ["a", "b"], `three clients while nodes crash and restart (seed ${s})`, 5000);
  }
});

graded(2, "randomized fault runs with clients: partitions, crashes, restarts and a lossy network, every history linearizable", { step: 5 }, () => {
  const faultArb = fc.array(fc.oneof(FAULT.partition, FAULT.isolate, FAULT.heal, FAULT.crash, FAULT.restart), { minLength: 2, maxLength: 8 });
  const caseArb = fc.record({ faults: faultArb, clients: fc.integer({ min: 1, max: 4 }), lossy: fc.boolean(), seed: fc.integer({ min: 1, max: 1_000_000 }) });
  type Case = { faults: readonly Fault[]; clients: number; lossy: boolean; seed: number };
  const describeCase = (c: Case): string => `${c.clients} client${c.clients === 1 ? "" : "s"}${c.lossy ? " on a lossy network" : ""}, world seed ${c.seed}, faults: ${describeFaults(c.faults)}`;
  checkRandomizedRuns(randomizedRuns(29, 12), caseArb, describeCase, (c, build) => {
    const w = build({ createNode, nodes: NODES, seed: c.seed, clients: clientIds(c.clients), ...PERSISTENCE, ...(c.lossy ? { network: UNRELIABLE } : {}) });
    scheduleFaults(w, c.faults);
    const group = new ClientGroup(w, clerk, { keys: ["a", "b"], until: 3500 });
    judge(w, group, ["a", "b"], describeCase(c), 3500);
  });
});
