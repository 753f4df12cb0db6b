/**
 * The page's runs (visualizer/cluster-frames.ts, visualizer/recording.ts),
 * held in Node.js: a live run with actions taken along the way is the same
 * run when replayed from its description (what scrubbing back and a shared
 * link rely on), and a recording survives being written compact.
 * The page itself is tested in headless Chromium by the check
 * (scripts/maintainer/visualizer-checks.ts).
 */
import path from "node:path";
import { expect, test } from "vitest";
import type { ClerkProgram } from "../../world/clients.ts";
import type { CreateNode } from "../../world/contract.ts";
import { World } from "../../world/world.ts";
import { loadNodeProgram } from "../../sandbox/node-program.ts";
import { ClusterRun, decodeRun, encodeRun, nodeFrame, nodesNamed, type RunDescription } from "../../visualizer/cluster-frames.ts";
import { compactRecording, expandRecording, TestRecorder } from "../../visualizer/recording.ts";
import { referenceNode, ROOT } from "./reference-nodes.ts";

const chapter5Node = referenceNode("chapter5-log-replication");
const chapter8Node = referenceNode("chapter8-key-value-service");
const chapter9Node = referenceNode("chapter9-snapshots");
const withReferences = test.skipIf(chapter5Node === undefined || chapter8Node === undefined || chapter9Node === undefined);

/** Chapter 8's reference clerk, as the page's clients use it. */
function referenceClerk(): ClerkProgram {
  const clerk = loadNodeProgram(path.join(ROOT, "solutions", "chapter8-key-value-service", "clerk.ts"), ROOT).instantiateExperiment(["newClerk", "clerkCall", "clerkReceive", "clerkTimeout"]);
  return {
    newClerk: (id, servers) => clerk.call("newClerk", [id, servers]),
    clerkCall: (state, call) => clerk.call("clerkCall", [state, call]),
    clerkReceive: (state, from, reply) => clerk.call("clerkReceive", [state, from, reply]),
    clerkTimeout: (state) => clerk.call("clerkTimeout", [state]),
  };
}

/** Play a run live, taking actions at chosen times as a person would, and return its description. */
function playLive(createNode: CreateNode, chapter: number, seed: number): { run: ClusterRun; description: RunDescription } {
  const run = new ClusterRun(createNode, { chapter, seed, actions: [] });
  const actions = [];
  run.runUntilTime(1000);
  const leader = run.world.leaders()[0]!;
  actions.push(run.act({ kind: "propose", node: leader, command: "x1" }));
  run.runUntilTime(1500);
  actions.push(run.act({ kind: "crash", node: leader }));
  // A single step, then an action right after it.
  run.stepOnce();
  actions.push(run.act({ kind: "partition", groups: [["A", "B"], ["C", "D", "E"]] }));
  run.runUntilTime(3200.5);
  actions.push(run.act({ kind: "restart", node: leader }));
  actions.push(run.act({ kind: "heal" }));
  actions.push(run.act({ kind: "network", unreliable: true }));
  actions.push(run.act({ kind: "cut", between: ["A", "C"] }));
  run.runUntilTime(3700);
  actions.push(run.act({ kind: "restore", between: ["A", "C"] }));
  actions.push(run.act({ kind: "network", unreliable: false }));
  run.runUntilTime(4000);
  const newLeader = run.world.leaders()[0];
  if (newLeader !== undefined) actions.push(run.act({ kind: "timeout", node: newLeader === "A" ? "B" : "A" }));
  run.runUntilTime(6000);
  return { run, description: { chapter, seed, actions } };
}

withReferences("a live run with actions is the same run replayed from its description, at every point", () => {
  for (const [createNode, chapter] of [
    [chapter5Node!, 5],
    [chapter9Node!, 9],
  ] as const) {
    for (const seed of [1, 2, 3]) {
      const { run, description } = playLive(createNode, chapter, seed);
      expect(run.frame().failure).toBeUndefined();
      const replayed = new ClusterRun(createNode, decodeRun(encodeRun(description))!);
      replayed.runUntilTime(6000);
      expect(replayed.frame()).toEqual(run.frame());
      expect(replayed.events).toBe(run.events);
      // Scrubbing back: a fresh run to an earlier event is what the live run showed then.
      const early = new ClusterRun(createNode, description);
      early.runUntilEvent(Math.floor(run.events / 2));
      const again = new ClusterRun(createNode, description);
      again.runUntilEvent(Math.floor(run.events / 2));
      expect(early.frame()).toEqual(again.frame());
    }
  }
});

withReferences("a frame shows the leader, terms, logs, timers and the messages on their way", () => {
  const run = new ClusterRun(chapter5Node!, { chapter: 5, seed: 4, actions: [] });
  run.runUntilTime(1000);
  const leader = run.world.leaders()[0]!;
  run.act({ kind: "propose", node: leader, command: "x1" });
  // The entry goes out with the leader's next AppendEntries: step until it is on its way.
  const carried = (f: ReturnType<ClusterRun["frame"]>) => f.messages.some((m) => m.from === leader && m.fields.type === "AppendEntries" && m.fields.entries.length === 1);
  while (!carried(run.frame()) && run.world.now < 1200) run.stepOnce();
  const frame = run.frame();
  const shown = frame.nodes.find((n) => n.id === leader)!;
  expect(shown.role).toBe("leader");
  expect(shown.log.map((e) => e.command)).toEqual(["x1"]);
  expect(shown.heartbeat).toBeDefined();
  expect(carried(frame)).toBe(true);
  for (const m of frame.messages) expect(m.arrivesAt).toBeGreaterThanOrEqual(frame.time);
  run.act({ kind: "isolate", node: leader });
  expect(run.frame().cutLinks.length).toBe(8);
  expect(run.act({ kind: "timeout", node: leader }).kind).toBe("timeout");
  expect(run.notice).toMatch(/no election timer/);
});

withReferences("a recording written compact comes back whole", () => {
  const recorder = new TestRecorder();
  const w = new World({ nodes: 5, createNode: chapter5Node!, seed: 7 });
  recorder.watch(w);
  w.runFor(800);
  const leader = w.leaders()[0]!;
  for (let i = 0; i < 5; i++) w.propose(leader, `c${i}`);
  w.runFor(500);
  const recording = recorder.recording("a test", 5, 7, "InvariantViolation: made up");
  const back = expandRecording(JSON.parse(JSON.stringify(compactRecording(recording))));
  expect(back).toEqual(JSON.parse(JSON.stringify(recording)));
  expect(back.frames.at(-1)!.failure).toBe("InvariantViolation: made up");
  expect(back.frames.at(-1)!.nodes.find((n) => n.id === leader)!.log.length).toBe(5);
});

withReferences("from Chapter 8 on, the page's clients call through the clerk, and their calls and the checker's verdict come with each frame", () => {
  const description: RunDescription = { chapter: 8, seed: 5, actions: [] };
  const run = new ClusterRun(chapter8Node!, description, referenceClerk());
  run.runUntilTime(1000);
  const actions = [run.act({ kind: "call", client: "c1", call: { operation: "put", key: "x", value: "1" } })];
  run.act({ kind: "call", client: "c1", call: { operation: "append", key: "x", value: "2" } });
  expect(run.notice).toMatch(/c1 is still waiting for put\("x", "1"\)/);
  run.runUntilTime(1500);
  actions.push(run.act({ kind: "call", client: "c2", call: { operation: "get", key: "x", value: "" } }));
  run.runUntilTime(2000);
  const frame = run.frame();
  expect(frame.calls?.map((c) => [c.client, c.text, c.result])).toEqual([
    ["c1", 'put("x", "1")', ""],
    ["c2", 'get("x")', "1"],
  ]);
  expect(frame.history?.verdict).toBe("linearizable");
  // Replayed from its description, the same calls at the same times.
  const replayed = new ClusterRun(chapter8Node!, { ...description, actions }, referenceClerk());
  replayed.runUntilTime(2000);
  expect(replayed.frame()).toEqual(frame);
});

withReferences("frames share a node's log until an event changes it, and the shared log is always the node's log", () => {
  const run = new ClusterRun(chapter9Node!, { chapter: 9, seed: 6, actions: [] });
  run.runUntilTime(800);
  for (let i = 0; i < 4000 && run.stepOnce(); i++) {
    if (i % 97 === 0) {
      const leader = run.world.leaders()[0];
      if (leader !== undefined) for (let c = 0; c < 8; c++) run.act({ kind: "propose", node: leader, command: `c${i}.${c}` });
    }
    if (i === 1500) run.act({ kind: "crash", node: "B" });
    if (i === 2500) run.act({ kind: "restart", node: "B" });
    const frame = run.frame();
    for (const shown of frame.nodes) expect(shown.log, `node ${shown.id} after event ${run.events}`).toEqual(nodeFrame(run.world, shown.id).log);
  }
  expect(run.frame().failure).toBeUndefined();
  expect(run.frame().nodes.some((n) => n.snapshotIndex > 0)).toBe(true);
});

test("the servers a failure names are the ones the page rings in red", () => {
  const ids = ["A", "B", "C", "D", "E"];
  expect(nodesNamed("Instead:     at 339 ms, node C moved from term 1 to term 2 (while handling RequestVote(term 2) from D in receive())", ids)).toEqual(["C"]);
  expect(nodesNamed("leader A of term 2 set commitIndex to 3, an entry of term 1", ids)).toEqual(["A"]);
  expect(nodesNamed("nodes B and D both lead term 4; node E, too", ids)).toEqual(["B", "D", "E"]);
  expect(nodesNamed("node G is not in this run; Figure 2 says", ids)).toEqual([]);
});
