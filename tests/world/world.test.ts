/**
 * The simulated world's own tests (not graded): determinism, the network,
 * timers, the runaway guard, and the invariant checks. They use tiny
 * hand-written nodes, so they say nothing about any chapter's code.
 */
import { describe, expect, test } from "vitest";
import type { CreateNode, LogEntry, Message, NodeEnvironment, NodeId, NodeView, PersistentState, RaftNode, Role, TimerName } from "../../world/contract.ts";
import { InvariantViolation } from "../../world/invariants.ts";
import { electionDiary, runawayDiagnosis } from "../../world/diagnosis.ts";
import { formatTimeline, formatTrace, type TraceEvent } from "../../world/trace.ts";
import { NodeFailure, RunawayNode, World, worldOfFailedBoot } from "../../world/world.ts";
import { HarnessError } from "../../world/node-host.ts";
import { referenceNode } from "./reference-nodes.ts";

/**
 * Two reference nodes, loaded as the suites load them. A student edition
 * of the workbook has no solutions/, and skips the tests that need them.
 */
const chapter1Node = referenceNode("chapter1-timers-and-roles");
const chapter5Node = referenceNode("chapter5-log-replication");
const withReferences = test.skipIf(chapter1Node === undefined || chapter5Node === undefined);

/** A node whose behaviour the test writes inline, with state it can poke. */
class PuppetNode implements RaftNode {
  role: Role = "follower";
  currentTerm = 0;
  votedFor: NodeId | null = null;
  log: LogEntry[] = [];
  commitIndex = 0;
  /** Shown by inspect() when set, as a leader's view may show it. */
  matchIndex: Record<NodeId, number> | undefined;
  received: { from: NodeId; message: Message; at: number }[] = [];
  constructor(
    readonly env: NodeEnvironment,
    private readonly behaviour: Partial<{ start(n: PuppetNode): void; timer(n: PuppetNode, t: TimerName): void; receive(n: PuppetNode, from: NodeId, m: Message): void }>,
  ) {}
  start(): void {
    this.behaviour.start?.(this);
  }
  receive(from: NodeId, message: Message): void {
    this.received.push({ from, message, at: this.env.now() });
    this.behaviour.receive?.(this, from, message);
  }
  timerFired(timer: TimerName): void {
    this.behaviour.timer?.(this, timer);
  }
  propose(): { accepted: false; leaderId: null } {
    return { accepted: false, leaderId: null };
  }
  inspect(): NodeView {
    const view: NodeView = { role: this.role, currentTerm: this.currentTerm, votedFor: this.votedFor, leaderId: null, log: this.log, commitIndex: this.commitIndex, lastApplied: 0 };
    return this.matchIndex ? { ...view, matchIndex: this.matchIndex } : view;
  }
}

function puppets(behaviour: ConstructorParameters<typeof PuppetNode>[1], nodes: PuppetNode[] = []): { create: CreateNode; nodes: PuppetNode[] } {
  return {
    nodes,
    create: (env) => {
      const node = new PuppetNode(env, behaviour);
      nodes.push(node);
      return node;
    },
  };
}

describe("determinism", () => {
  withReferences("the same seed gives the same trace, event for event; another seed gives another", () => {
    const run = (seed: number) => {
      const w = new World({ nodes: 5, createNode: chapter1Node!, seed, network: { dropRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1 } });
      w.runFor(5_000);
      return formatTrace(w.trace);
    };
    expect(run(42)).toBe(run(42));
    expect(run(42)).not.toBe(run(43));
  });

  withReferences("the same seed gives the same trace for a full Raft cluster with clients, partitions and a lossy network", () => {
    const run = (seed: number) => {
      const w = new World({ nodes: 5, createNode: chapter5Node!, seed, network: { dropRate: 0.1, duplicateRate: 0.1, reorderRate: 0.2 } });
      w.at(700, "partition", () => w.partition(["A", "B"]));
      w.at(1800, "heal", () => w.heal());
      for (let t = 100; t < 3000; t += 37) w.at(t, "client", () => void w.leaders().forEach((id) => w.propose(id, `c${t}`)));
      w.runFor(4000);
      return formatTrace(w.trace);
    };
    const first = run(7);
    expect(first.split("\n").length).toBeGreaterThan(1000);
    expect(run(7)).toBe(first);
    expect(run(8)).not.toBe(first);
  });

  test("one node drawing more random numbers does not change another node's draws", () => {
    const drawsOfB = (extraDrawsByA: number) => {
      const nodes: PuppetNode[] = [];
      const p = puppets({ start: (n) => { if (n.env.id === "A") for (let i = 0; i < extraDrawsByA; i++) n.env.randomInt(0, 1000); } }, nodes);
      new World({ nodes: 2, createNode: p.create, seed: 7 });
      const b = nodes.find((n) => n.env.id === "B")!;
      return [b.env.randomInt(0, 1000), b.env.randomInt(0, 1000), b.env.randomInt(0, 1000)];
    };
    expect(drawsOfB(0)).toEqual(drawsOfB(25));
  });

  test("events due at the same time run in the order they were scheduled", () => {
    const order: string[] = [];
    const w = new World({ nodes: 1, createNode: puppets({}).create, seed: 1 });
    for (const label of ["first", "second", "third", "fourth"]) w.at(10, label, () => order.push(label));
    w.runFor(20);
    expect(order).toEqual(["first", "second", "third", "fourth"]);
  });
});

describe("the network", () => {
  const sender = (count: number) =>
    puppets({
      start: (n) => {
        if (n.env.id !== "A") return;
        for (let i = 0; i < count; i++) n.env.send("B", { type: "RequestVote", term: i, candidateId: "A", lastLogIndex: 0, lastLogTerm: 0 });
      },
    });

  test("latency stays in its range, and messages can overtake each other", () => {
    const p = sender(200);
    const w = new World({ nodes: 2, createNode: p.create, seed: 3, network: { latency: [5, 20] } });
    w.runFor(100);
    const b = p.nodes[1]!;
    expect(b.received).toHaveLength(200);
    expect(Math.min(...b.received.map((r) => r.at))).toBeGreaterThanOrEqual(5);
    expect(Math.max(...b.received.map((r) => r.at))).toBeLessThan(20);
    const terms = b.received.map((r) => (r.message as { term: number }).term);
    expect(terms).not.toEqual([...terms].sort((x, y) => x - y));
  });

  test("drop and duplicate rates are honoured", () => {
    const p = sender(2000);
    const w = new World({ nodes: 2, createNode: p.create, seed: 5, network: { dropRate: 0.25, duplicateRate: 0.1 } });
    w.runFor(100);
    const dropped = w.traceOf("drop").length;
    const delivered = p.nodes[1]!.received.length;
    expect(dropped / 2000).toBeGreaterThan(0.2);
    expect(dropped / 2000).toBeLessThan(0.3);
    expect(delivered).toBeGreaterThan(2000 - dropped);
  });

  test("partitions cut both ways, one-way cuts only one, heal restores everything", () => {
    const nodes: PuppetNode[] = [];
    const p = puppets({}, nodes);
    const w = new World({ nodes: 3, createNode: p.create, seed: 1 });
    const [a, b, c] = nodes as [PuppetNode, PuppetNode, PuppetNode];
    const hello = (from: PuppetNode, to: NodeId) => w.at(w.now, `${from.env.id} says hello`, () => from.env.send(to, { type: "RequestVoteReply", term: 0, voteGranted: false }));
    w.partition(["A"], ["B", "C"]);
    hello(a, "B");
    hello(b, "A");
    hello(b, "C");
    w.runFor(50);
    expect(b.received.filter((r) => r.from === "A")).toHaveLength(0);
    expect(a.received).toHaveLength(0);
    expect(c.received).toHaveLength(1);
    w.heal();
    w.cutOneWay("A", "B");
    hello(a, "B");
    hello(b, "A");
    w.runFor(50);
    expect(b.received.filter((r) => r.from === "A")).toHaveLength(0);
    expect(a.received).toHaveLength(1);
    w.heal();
    hello(a, "B");
    w.runFor(50);
    expect(b.received.filter((r) => r.from === "A")).toHaveLength(1);
  });

  test("a crashed node loses its memory and timers; a restart boots it from what it saved", () => {
    const nodes: PuppetNode[] = [];
    const p = puppets(
      {
        start: (n) => {
          n.env.setTimer("election", 100);
          if (n.env.id === "A") n.env.save({ currentTerm: 7, votedFor: "B", log: [{ term: 7, command: "x" }] });
        },
      },
      nodes,
    );
    const saved: PersistentState[] = [];
    const w = new World({
      nodes: 2,
      createNode: (env, s) => {
        if (s) saved.push(s);
        return p.create(env, s);
      },
      seed: 1,
    });
    w.crash("A");
    expect(w.isUp("A")).toBe(false);
    expect(w.timer("A", "election")).toBeUndefined();
    w.restart("A");
    expect(saved).toEqual([{ currentTerm: 7, votedFor: "B", log: [{ term: 7, command: "x" }] }]);
    expect(w.traceOf("boot").filter((e) => e.node === "A").map((e) => e.restart)).toEqual([false, true]);
  });
});

describe("pause, timing and forced draws", () => {
  test("a paused node hears nothing and its timers wait; on resume, overdue timers fire at once", () => {
    const fired: number[] = [];
    const p = puppets({ start: (n) => n.env.setTimer("election", 100), timer: (n) => fired.push(n.env.now()) });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1 });
    w.runFor(50);
    w.pause("A");
    w.sendAs("B", "A", { type: "RequestVoteReply", term: 0, voteGranted: true });
    w.runFor(100);
    expect(fired).toEqual([100]);
    expect(p.nodes[0]!.received).toHaveLength(0);
    expect(w.traceOf("drop").at(-1)?.reason).toBe("paused");
    w.resume("A");
    w.runFor(1);
    expect(fired).toEqual([100, 150]);
  });

  test("per-node timing and forced draws reach the node through its environment", () => {
    const seen: string[] = [];
    const p = puppets({ start: (n) => seen.push(`${n.env.id}:${n.env.timing.electionTimeoutMin}:${n.env.randomInt(150, 300)}`) });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1, nodeTiming: { B: { electionTimeoutMin: 400 } }, randomDraws: { A: [155] } });
    expect(seen[0]).toBe("A:150:155");
    expect(seen[1]).toMatch(/^B:400:/);
    w.setTiming("A", { electionTimeoutMin: 10 });
    expect(p.nodes[0]!.env.timing.electionTimeoutMin).toBe(10);
  });

  test("a link's own latency overrides the network's", () => {
    const p = puppets({});
    const w = new World({ nodes: 2, createNode: p.create, seed: 1 });
    w.setLinkLatency("A", "B", [40, 41]);
    w.at(0, "A sends", () => p.nodes[0]!.env.send("B", { type: "RequestVoteReply", term: 0, voteGranted: false }));
    w.runFor(100);
    expect(p.nodes[1]!.received.map((r) => r.at)).toEqual([40]);
  });
});

describe("timers", () => {
  test("setting a pending timer replaces it, and cancel stops it", () => {
    const fired: number[] = [];
    const p = puppets({
      start: (n) => {
        n.env.setTimer("election", 100);
        n.env.setTimer("election", 150);
        n.env.setTimer("heartbeat", 50);
        n.env.cancelTimer("heartbeat");
      },
      timer: (n) => fired.push(n.env.now()),
    });
    const w = new World({ nodes: 1, createNode: p.create, seed: 1 });
    w.runFor(1000);
    expect(fired).toEqual([150]);
  });
});

describe("runaway guard", () => {
  test("a zero-delay timer is refused with a message that says why", () => {
    const p = puppets({ start: (n) => n.env.setTimer("heartbeat", 0) });
    expect(() => new World({ nodes: 1, createNode: p.create, seed: 1 })).toThrow(RunawayNode);
  });

  test("a node that answers every message with two more floods, and is stopped", () => {
    const p = puppets({
      start: (n) => n.env.send(n.env.peers[0]!, { type: "RequestVoteReply", term: 0, voteGranted: false }),
      receive: (n, from) => {
        n.env.send(from, { type: "RequestVoteReply", term: 0, voteGranted: false });
        n.env.send(from, { type: "RequestVoteReply", term: 0, voteGranted: false });
      },
    });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1 });
    expect(() => w.runFor(10_000)).toThrow(/sent more than 5000 messages within one simulated second/);
  });

  test("a node that throws is reported with what it was doing", () => {
    const p = puppets({ timer: () => { throw new Error("boom"); }, start: (n) => n.env.setTimer("election", 10) });
    const w = new World({ nodes: 1, createNode: p.create, seed: 1 });
    expect(() => w.runFor(20)).toThrow(NodeFailure);
  });
});

describe("invariants", () => {
  function worldOf(count: number) {
    const nodes: PuppetNode[] = [];
    const p = puppets({}, nodes);
    const w = new World({ nodes: count, createNode: p.create, seed: 1 });
    /** Change a node's state while it handles a message, so the world checks it as it would any event. */
    const poke = (index: number, change: (n: PuppetNode) => void) => {
      const node = nodes[index]!;
      const original = node.receive.bind(node);
      node.receive = () => {
        node.receive = original;
        change(node);
      };
      w.sendAs(w.nodes[(index + 1) % count]!, w.nodes[index]!, { type: "RequestVoteReply", term: 0, voteGranted: false });
    };
    return { w, nodes, poke };
  }

  test("Election Safety: two leaders in one term", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { role: "leader", currentTerm: 1 }));
    expect(() => poke(1, (n) => Object.assign(n, { role: "leader", currentTerm: 1 }))).toThrow(/Election Safety/);
  });

  test("Leader Append-Only: a leader rewrites its log", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { role: "leader", currentTerm: 1, log: [{ term: 1, command: "a" }] }));
    expect(() => poke(0, (n) => Object.assign(n, { log: [{ term: 1, command: "b" }] }))).toThrow(/Leader Append-Only/);
  });

  test("Log Matching: same index and term, different history", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { log: [{ term: 1, command: "a" }, { term: 2, command: "c" }] }));
    expect(() => poke(1, (n) => Object.assign(n, { log: [{ term: 1, command: "b" }, { term: 2, command: "c" }] }))).toThrow(/Log Matching/);
  });

  test("Leader Completeness: a new leader lacks a committed entry", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { currentTerm: 1, log: [{ term: 1, command: "a" }], commitIndex: 1 }));
    expect(() => poke(1, (n) => Object.assign(n, { role: "leader", currentTerm: 2, log: [] }))).toThrow(/Leader Completeness/);
  });

  test("State Machine Safety: two nodes apply different entries at one index", () => {
    const { poke } = worldOf(2);
    poke(0, (n) => {
      Object.assign(n, { log: [{ term: 1, command: "a" }], commitIndex: 1 });
      n.env.apply(1, { term: 1, command: "a" });
    });
    expect(() =>
      poke(1, (n) => {
        Object.assign(n, { log: [{ term: 2, command: "b" }], commitIndex: 1 });
        n.env.apply(1, { term: 2, command: "b" });
      }),
    ).toThrow(InvariantViolation);
  });

  test("commit only entries you hold: commitIndex past the end of the log", () => {
    const { poke } = worldOf(2);
    expect(() => poke(0, (n) => Object.assign(n, { currentTerm: 1, log: [{ term: 1, command: "a" }], commitIndex: 2 }))).toThrow(/Commit only entries you hold[\s\S]*set commitIndex to 2 but its log has only 1 entries/);
  });

  test("apply only what is committed: an entry applied past commitIndex", () => {
    const { poke } = worldOf(2);
    expect(() =>
      poke(0, (n) => {
        Object.assign(n, { currentTerm: 1, log: [{ term: 1, command: "a" }] });
        n.env.apply(1, { term: 1, command: "a" });
      }),
    ).toThrow(/Apply only what is committed[\s\S]*applied index 1 while its commitIndex was 0/);
  });

  test("terms only grow", () => {
    const { poke } = worldOf(2);
    poke(0, (n) => Object.assign(n, { currentTerm: 3 }));
    expect(() => poke(0, (n) => Object.assign(n, { currentTerm: 2 }))).toThrow(/Terms only grow/);
  });

  // The node-level rules whose breach usually lies behind a broken
  // guarantee or a cluster that never elects: named where they happen.
  const grant = (n: PuppetNode, to: NodeId, term: number) => n.env.send(to, { type: "RequestVoteReply", term, voteGranted: true });

  test("a vote belongs to one term: votedFor carried into a newer term", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => {
      Object.assign(n, { currentTerm: 1, votedFor: "B" });
      grant(n, "B", 1);
    });
    expect(() => poke(0, (n) => Object.assign(n, { currentTerm: 2 }))).toThrow(/A vote belongs to one term[\s\S]*kept votedFor B from term 1/);
  });

  test("a candidate's vote for itself in its new term is no breach", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { currentTerm: 1, votedFor: "A", role: "candidate" }));
    expect(() => poke(0, (n) => Object.assign(n, { currentTerm: 2 }))).not.toThrow();
  });

  test("one vote per term: two candidates granted in one term", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => {
      Object.assign(n, { currentTerm: 1, votedFor: "B" });
      grant(n, "B", 1);
    });
    expect(() =>
      poke(0, (n) => {
        n.votedFor = "C";
        grant(n, "C", 1);
      }),
    ).toThrow(/One vote per term[\s\S]*granted its vote in term 1 to B, and then to C/);
  });

  test("a follower keeps what it acknowledged: its log cut below an acknowledged index in the same term", () => {
    const { w, nodes, poke } = worldOf(3);
    const entries = [{ term: 1, command: "a" }, { term: 1, command: "b" }];
    const a = nodes[0]!;
    const original = a.receive.bind(a);
    a.receive = (from) => {
      a.receive = original;
      Object.assign(a, { currentTerm: 1, log: entries });
      a.env.send(from, { type: "AppendEntriesReply", term: 1, success: true, matchIndex: 2, lastLogIndex: 2 });
    };
    w.sendAs("B", "A", { type: "AppendEntries", term: 1, leaderId: "B", prevLogIndex: 0, prevLogTerm: 0, entries, leaderCommit: 0 });
    expect(() => poke(0, (n) => Object.assign(n, { log: entries.slice(0, 1) }))).toThrow(/A follower keeps what it acknowledged[\s\S]*up to index 2/);
  });

  test("a leader commits only what a majority holds, of its own term", () => {
    const { poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { role: "leader", currentTerm: 2, log: [{ term: 2, command: "a" }] }));
    expect(() => poke(0, (n) => Object.assign(n, { commitIndex: 1 }))).toThrow(/Commit only what a majority holds[\s\S]*only 1 of the 3 nodes/);
    const older = worldOf(3);
    older.poke(0, (n) => Object.assign(n, { role: "leader", currentTerm: 2, log: [{ term: 1, command: "a" }] }));
    expect(() => older.poke(0, (n) => Object.assign(n, { commitIndex: 1 }))).toThrow(/an entry of term 1/);
  });

  test("a leader's matchIndex only from replies", () => {
    const { w, nodes, poke } = worldOf(3);
    poke(0, (n) => Object.assign(n, { role: "leader", currentTerm: 1, log: [{ term: 1, command: "a" }], matchIndex: { B: 0, C: 0 } }));
    // A leader's indexes are read when they can move: on a reply. This one vouches for nothing.
    const a = nodes[0]!;
    const original = a.receive.bind(a);
    a.receive = () => {
      a.receive = original;
      a.matchIndex = { B: 1, C: 0 };
    };
    expect(() => w.sendAs("B", "A", { type: "AppendEntriesReply", term: 1, success: true, matchIndex: 0, lastLogIndex: 0 })).toThrow(/matchIndex only from replies[\s\S]*matchIndex\[B\] = 1/);
  });
});

describe("diagnoses", () => {
  const rv = (term: number, candidateId: NodeId, lastLogIndex = 0, lastLogTerm = 0): Message => ({ type: "RequestVote", term, candidateId, lastLogIndex, lastLogTerm });
  const reply = (term: number, voteGranted: boolean): Message => ({ type: "RequestVoteReply", term, voteGranted });

  test("the election diary says who stood in each term and why each voter refused", () => {
    let id = 0;
    const events: TraceEvent[] = [];
    const ask = (time: number, from: NodeId, to: NodeId, message: Message, answer: Message | undefined) => {
      const messageId = ++id;
      events.push({ time, kind: "send", from, to, message, messageId });
      events.push({ time: time + 1, kind: "deliver", from, to, message, messageId });
      if (answer) events.push({ time: time + 1, kind: "send", from: to, to: from, message: answer, messageId: ++id });
    };
    events.push({ time: 0, kind: "log", node: "C", from: 1, oldLength: 0, newLength: 2, lastTerm: 1 });
    events.push({ time: 100, kind: "term", node: "B", from: 0, to: 1 }, { time: 100, kind: "vote", node: "B", votedFor: "B", term: 1 });
    events.push({ time: 150, kind: "term", node: "A", from: 0, to: 1 }, { time: 150, kind: "vote", node: "A", votedFor: "A", term: 1 });
    ask(150, "A", "B", rv(1, "A"), reply(1, false));
    ask(150, "A", "C", rv(1, "A"), reply(1, false));
    const diary = electionDiary(events, ["A", "B", "C"]);
    expect(diary).toContain("term 1: B stood at 100 ms");
    expect(diary).toContain("A stood at 150 ms");
    expect(diary).toContain("no from B: had voted for itself in term 1");
    expect(diary).toMatch(/no from C: A's log \(last entry 0\/term 0\) was behind its own \(2\/term 1\)/);
    expect(diary).toContain("1 of 3 votes, no majority");
  });

  test("a runaway's diagnosis names the repeating exchange and when it began", () => {
    const events: TraceEvent[] = [];
    let id = 0;
    const beat: Message = { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 };
    const ok: Message = { type: "AppendEntriesReply", term: 1, success: true, matchIndex: 0, lastLogIndex: 0 };
    for (let t = 0; t < 200; t += 50) events.push({ time: t, kind: "send", from: "A", to: "B", message: beat, messageId: ++id });
    for (let t = 200; t < 260; t++) {
      events.push({ time: t, kind: "send", from: "A", to: "B", message: beat, messageId: ++id });
      events.push({ time: t, kind: "send", from: "B", to: "A", message: ok, messageId: ++id });
    }
    const diagnosis = runawayDiagnosis(events, "A", 50);
    expect(diagnosis?.beganAt).toBe(200);
    expect(diagnosis?.text).toMatch(/A → B AppendEntries \(heartbeat\), sent 60 times in 59 ms, since 200 ms; B answered with AppendEntriesReply \(success\) 60 times/);
  });
});

describe("trace", () => {
  withReferences("the timeline has one column per node", () => {
    const w = new World({ nodes: 3, createNode: chapter1Node!, seed: 1 });
    w.runFor(400);
    const timeline = formatTimeline(w.trace, w.nodes);
    expect(timeline.split("\n").find((line) => line.trimStart().startsWith("time"))).toMatch(/time\s+A\s+B\s+C/);
    expect(timeline).toContain("becomes CANDIDATE");
  });
});

describe("the world's API for tests", () => {
  const hello = (from: PuppetNode, to: NodeId): void => from.env.send(to, { type: "RequestVoteReply", term: 0, voteGranted: false });

  test("a paused node is not running and not a leader, but keeps its state; crashed nodes are told apart", () => {
    const p = puppets({ start: (n) => void (n.env.id === "A" && (n.role = "leader")) });
    const w = new World({ nodes: 3, createNode: p.create, seed: 1 });
    expect(w.leaders()).toEqual(["A"]);
    w.pause("A");
    expect(w.isPaused("A")).toBe(true);
    expect(w.isRunning("A")).toBe(false);
    expect(w.isUp("A")).toBe(false);
    expect(w.isCrashed("A")).toBe(false);
    expect(w.leaders()).toEqual([]);
    expect(w.runningNodes()).toEqual(["B", "C"]);
    expect(w.view("A").role).toBe("leader");
    w.crash("B");
    expect(w.isCrashed("B")).toBe(true);
    expect(() => w.view("B")).toThrow(/node B is crashed/);
    w.resume("A");
    expect(w.leaders()).toEqual(["A"]);
  });

  test("isolate and reconnect compose: reconnecting one isolated node does not link it to another", () => {
    const p = puppets({});
    const w = new World({ nodes: 3, createNode: p.create, seed: 1 });
    w.isolate("A");
    w.isolate("B");
    w.reconnect("A");
    expect(w.canReach("A", "C")).toBe(true);
    expect(w.canReach("A", "B")).toBe(false);
    expect(w.canReach("B", "C")).toBe(false);
    expect(w.connectivity().isolated).toEqual(["B"]);
    expect(w.connectedTo("A")).toEqual(["A", "C"]);
    w.partition(["A"], ["B", "C"]);
    w.reconnect("B");
    expect(w.connectivity().groups).toEqual([["A"], ["B", "C"]]);
    expect(w.canReach("A", "C")).toBe(false);
    expect(w.canReach("B", "C")).toBe(true);
    w.cutOneWay("B", "C");
    expect(w.connectivity().cuts).toEqual([["B", "C"]]);
    w.restoreOneWay("B", "C");
    w.heal();
    expect(w.connectivity()).toEqual({ groups: [["A", "B", "C"]], isolated: [], cuts: [] });
  });

  test("loss can be set for one link alone", () => {
    const p = puppets({});
    const w = new World({ nodes: 3, createNode: p.create, seed: 1 });
    w.setLinkNetwork("A", "B", { dropRate: 1 });
    const [a] = p.nodes as [PuppetNode];
    w.at(0, "A says hello twice", () => {
      hello(a, "B");
      hello(a, "C");
    });
    w.runFor(50);
    expect(p.nodes[1]!.received).toHaveLength(0);
    expect(p.nodes[2]!.received).toHaveLength(1);
    expect(w.traceOf("drop").map((d) => `${d.from}>${d.to} ${d.reason}`)).toEqual(["A>B loss"]);
  });

  test("a hook runs after every event, and every node step can be watched", () => {
    const p = puppets({ start: (n) => n.env.setTimer("election", 10), timer: (n) => n.env.setTimer("election", 10) });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1 });
    const times: number[] = [];
    const steps: string[] = [];
    w.afterEveryEvent((world) => times.push(world.now));
    w.afterEveryStep((step) => steps.push(`${step.node}:${step.input.kind}`));
    w.runFor(25);
    expect(times).toEqual([10, 10, 20, 20]);
    expect(steps).toEqual(["A:timer", "B:timer", "A:timer", "B:timer"]);
  });

  test("messages and bytes are counted per node and type", () => {
    const p = puppets({
      start: (n) => {
        if (n.env.id !== "A") return;
        n.env.send("B", { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: "abc" }], leaderCommit: 0 });
        hello(n, "B");
      },
    });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1 });
    const a = w.trafficOf("A");
    expect(a.messages).toBe(2);
    expect(a.byType.AppendEntries).toEqual({ messages: 1, bytes: 1 + 8 + 2 + 8 + 8 + 8 + 4 + 8 + 3 });
    expect(a.byType.RequestVoteReply.messages).toBe(1);
    expect(w.trafficOf("B").messages).toBe(0);
  });

  test("a test can reshape messages on the wire: split a two-entry AppendEntries into one-entry pieces", () => {
    const p = puppets({
      start: (n) => {
        if (n.env.id === "A") n.env.send("B", { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: "x" }, { term: 1, command: "y" }], leaderCommit: 0 });
      },
    });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1, network: { latency: [5, 6] } });
    // Installed after boot, so it sees what is sent from now on; resend by hand.
    w.intercept((message) =>
      message.type === "AppendEntries" && message.entries.length > 1
        ? message.entries.map((entry, i) => ({ ...message, prevLogIndex: message.prevLogIndex + i, entries: [entry] }))
        : undefined,
    );
    w.at(1, "A sends again", () => p.nodes[0]!.env.send("B", { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: "x" }, { term: 1, command: "y" }], leaderCommit: 0 }));
    w.runFor(20);
    const got = p.nodes[1]!.received.map((r) => (r.message.type === "AppendEntries" ? `${r.message.prevLogIndex}:${r.message.entries.map((e) => e.command).join("")}` : ""));
    expect(got.sort()).toEqual(["0:x", "0:xy", "1:y"]);
    w.intercept(() => []);
    w.at(w.now, "A sends once more", () => hello(p.nodes[0]!, "B"));
    w.runFor(20);
    expect(w.traceOf("drop").at(-1)?.reason).toBe("intercepted");
  });

  test("a node's disk and boot count can be read; restarting a running node is refused", () => {
    const p = puppets({ start: (n) => n.env.save({ currentTerm: 2, votedFor: null, log: [{ term: 2, command: "a" }] }) });
    const w = new World({ nodes: 2, createNode: p.create, seed: 1 });
    expect(w.disk("A")).toEqual({ currentTerm: 2, votedFor: null, log: [{ term: 2, command: "a" }] });
    expect(w.incarnation("A")).toBe(1);
    expect(() => w.restart("A")).toThrow(/node A is running; crash it before restarting it/);
    w.crash("A");
    w.restart("A");
    expect(w.incarnation("A")).toBe(2);
  });

  test("the trace can go to a sink of the test's own", () => {
    const kinds: string[] = [];
    const p = puppets({ start: (n) => n.env.setTimer("election", 10) });
    const w = new World({ nodes: 1, createNode: p.create, seed: 1, trace: { record: (event) => void kinds.push(event.kind) } });
    w.runFor(20);
    expect(kinds).toEqual(["boot", "timer-set", "timer-fire"]);
    expect(() => w.trace).toThrow(/sink of the test's/);
  });

  test("the trace shows how a log changed: appended, cut, replaced", () => {
    // The puppet plays a node editing its own log array (cut to 1 entry,
    // then append), which is exactly what the trace must describe; a node's
    // array is its own business. Reading a log goes through world/log.ts.
    const p = puppets({
      start: (n) => {
        n.log.push({ term: 1, command: "a" }, { term: 1, command: "b" }, { term: 1, command: "c" });
        n.env.setTimer("election", 10);
      },
      timer: (n) => {
        n.log.length = 1;
        n.log.push({ term: 2, command: "x" });
      },
    });
    const w = new World({ nodes: 1, createNode: p.create, seed: 1 });
    w.runFor(10);
    expect(formatTrace(w.trace)).toMatch(/A  log 3 → 2, cut at 2, \+1/);
  });
});

describe("a boot that fails", () => {
  test("the same error thrown by every boot (a node file that did not load) is thrown again as it is, each time with its world", () => {
    const once = new HarnessError("node.ts did not load");
    const failing: CreateNode = () => {
      throw once;
    };
    const thrown = (): unknown => {
      try {
        new World({ nodes: 3, createNode: failing, seed: 1 });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const first = thrown();
    const second = thrown();
    expect(String(second)).not.toMatch(/redefine/);
    expect(worldOfFailedBoot(first)).toBeInstanceOf(World);
    expect(worldOfFailedBoot(second)).toBeInstanceOf(World);
  });
});
