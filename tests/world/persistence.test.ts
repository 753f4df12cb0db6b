/**
 * The world's persistence checks and crash faults (not graded), with tiny
 * hand-written nodes. Each test closes a gap an independent suite found
 * by crashing and restarting nodes thousands of times: before these
 * checks, a vote forgotten in a crash, a node that came back as someone
 * else, or a save that came after its send went unnoticed unless it
 * happened to produce two leaders.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import type { CreateNode, LogEntry, Message, NodeEnvironment, NodeId, NodeView, PersistentState, RaftNode, Role } from "../../world/contract.ts";
import { loadNodeProgram } from "../../sandbox/node-program.ts";
import { InvariantViolation } from "../../world/invariants.ts";
import { formatTrace } from "../../world/trace.ts";
import { savedStateSize, World, type WorldOptions } from "../../world/world.ts";

/** A node whose every move the test writes: what it does on boot and on each message. */
class Puppet implements RaftNode {
  role: Role = "follower";
  currentTerm = 0;
  votedFor: NodeId | null = null;
  log: LogEntry[] = [];
  commitIndex = 0;
  lastApplied = 0;
  constructor(
    readonly env: NodeEnvironment,
    readonly saved: PersistentState | null,
    private readonly script: { start?(n: Puppet): void; receive?(n: Puppet, from: NodeId, m: Message): void },
  ) {}
  start(): void {
    this.script.start?.(this);
  }
  receive(from: NodeId, message: Message): void {
    this.script.receive?.(this, from, message);
  }
  timerFired(): void {}
  propose(): { accepted: false; leaderId: null } {
    return { accepted: false, leaderId: null };
  }
  inspect(): NodeView {
    return { role: this.role, currentTerm: this.currentTerm, votedFor: this.votedFor, leaderId: null, log: this.log, commitIndex: this.commitIndex, lastApplied: this.lastApplied };
  }
  save(): void {
    this.env.save({ currentTerm: this.currentTerm, votedFor: this.votedFor, log: [...this.log] });
  }
  /** Restore what Figure 2 calls persistent. */
  restore(): void {
    if (this.saved === null) return;
    this.currentTerm = this.saved.currentTerm;
    this.votedFor = this.saved.votedFor;
    this.log = [...this.saved.log];
  }
}

function puppets(script: ConstructorParameters<typeof Puppet>[2]): CreateNode {
  return (env, saved) => new Puppet(env, saved, script);
}

/** A with scripted B and C, persistence checked. */
function persistent(create: CreateNode, extra: Partial<WorldOptions> = {}): World {
  return new World({ nodes: ["A", "B", "C"], scripted: ["B", "C"], createNode: create, seed: 1, checkPersistence: true, ...extra });
}

const requestVote = (term: number, candidateId: NodeId): Message => ({ type: "RequestVote", term, candidateId, lastLogIndex: 0, lastLogTerm: 0 });

/** The rule a run broke, and what the checker said. */
function broken(run: () => void): { rule: string; detail: string } | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof InvariantViolation) return { rule: error.guarantee, detail: error.detail };
    throw error;
  }
  return undefined;
}

/** Grants any candidate of a newer term; saves (or not) as told. */
function voter(save: "before" | "after" | "never", restore = true): CreateNode {
  return puppets({
    start: (n) => {
      if (restore) n.restore();
    },
    receive: (n, from, m) => {
      if (m.type !== "RequestVote") return;
      const grant = m.term > n.currentTerm || (m.term === n.currentTerm && (n.votedFor === null || n.votedFor === m.candidateId));
      if (m.term > n.currentTerm) n.currentTerm = m.term;
      if (grant) n.votedFor = m.candidateId;
      if (save === "before") n.save();
      n.env.send(from, { type: "RequestVoteReply", term: n.currentTerm, voteGranted: grant });
      if (save === "after") n.save();
    },
  });
}

describe("persistence checks (Chapter 6 on)", () => {
  test("a vote that is not on disk when its reply leaves is flagged, and only when persistence is checked", () => {
    const flagged = broken(() => persistent(voter("never")).sendAs("B", "A", requestVote(1, "B")));
    expect(flagged?.rule).toBe("Save before you answer");
    expect(flagged?.detail).toMatch(/node A granted B its vote in term 1 \(while handling RequestVote.*\), but its disk is empty \(nothing saved yet\)/);
    // Chapters 1 to 5 ask no node to save: their worlds do not check it.
    const unchecked = new World({ nodes: ["A", "B", "C"], scripted: ["B", "C"], createNode: voter("never"), seed: 1 });
    expect(() => unchecked.sendAs("B", "A", requestVote(1, "B"))).not.toThrow();
  });

  test("saving after sending is flagged at the send, without any crash", () => {
    expect(broken(() => persistent(voter("after")).sendAs("B", "A", requestVote(1, "B")))?.rule).toBe("Save before you answer");
    expect(broken(() => persistent(voter("before")).sendAs("B", "A", requestVote(1, "B")))).toBeUndefined();
  });

  test("one vote per node per term holds across restarts: A votes for A (t1), restarts, and votes for C (t1)", () => {
    // Saves everything before it sends, restores everything, but forgets
    // to check votedFor when it is a candidate itself.
    const create = puppets({
      start: (n) => {
        n.restore();
        if (n.saved === null) {
          n.currentTerm = 1;
          n.votedFor = n.env.id;
          n.role = "candidate";
          n.save();
          for (const peer of n.env.peers) n.env.send(peer, requestVote(1, n.env.id));
        }
      },
      receive: (n, from, m) => {
        if (m.type !== "RequestVote") return;
        n.votedFor = m.candidateId;
        n.save();
        n.env.send(from, { type: "RequestVoteReply", term: n.currentTerm, voteGranted: true });
      },
    });
    const w = persistent(create);
    w.crash("A");
    w.restart("A");
    const flagged = broken(() => w.sendAs("C", "A", requestVote(1, "C")));
    expect(flagged?.rule).toBe("One vote per term");
    expect(flagged?.detail).toMatch(/node A voted for itself \(it stood as a candidate\) in term 1, crashed, restarted, and then .* voted for C in term 1/);
  });

  test("a restarted node is compared with its disk: term, vote, log, and commitIndex and lastApplied at 0", () => {
    let boots = 0;
    // Restores its disk at its first boot only: it comes back at term 0 with an empty log.
    const saves = puppets({
      start: (n) => {
        if (boots++ === 0) n.restore();
      },
    });
    const w = persistent(saves, { saved: { A: { currentTerm: 1, votedFor: null, log: [{ term: 1, command: "x" }] } } });
    expect(w.disk("A")).toEqual({ currentTerm: 1, votedFor: null, log: [{ term: 1, command: "x" }] });
    w.crash("A");
    const flagged = broken(() => w.restart("A"));
    expect(flagged?.rule).toBe("Restart from what you saved");
    expect(flagged?.detail).toMatch(/restarted with term 1, votedFor null, log \[1:x\] on its disk, but came back with currentTerm 0, log \[\]/);
    // The trace's restart line says what the disk holds, and is not taken for what the node did.
    expect(formatTrace(w.trace)).toMatch(/restarts; its disk holds term 1, votedFor null, 1 log entry/);

    const remembersCommit = puppets({
      start: (n) => {
        n.restore();
        n.commitIndex = n.log.length;
      },
    });
    const flaggedCommit = broken(() => persistent(remembersCommit, { saved: { A: { currentTerm: 1, votedFor: null, log: [{ term: 1, command: "x" }] } } }));
    expect(flaggedCommit?.detail).toMatch(/commitIndex 1 \(the disk does not say what was committed\)/);
  });

  test("a term saved over a newer one is flagged: terms only grow, on disk too", () => {
    const create = puppets({
      start: (n) => {
        n.restore();
        n.env.save({ currentTerm: 1, votedFor: null, log: [] });
      },
    });
    expect(broken(() => persistent(create, { saved: { A: { currentTerm: 2, votedFor: null, log: [] } } }))?.rule).toBe("Terms only grow");
  });

  test("a follower must have saved what it acknowledges; a leader, what it counts as its own copy", () => {
    const acks = puppets({
      start: (n) => n.restore(),
      receive: (n, from, m) => {
        if (m.type !== "AppendEntries") return;
        n.currentTerm = m.term;
        n.save();
        n.log.push(...m.entries); // appended but not saved
        n.env.send(from, { type: "AppendEntriesReply", term: n.currentTerm, success: true, matchIndex: m.prevLogIndex + m.entries.length, lastLogIndex: n.log.length });
      },
    });
    const w = persistent(acks);
    const flagged = broken(() => w.sendAs("B", "A", { type: "AppendEntries", term: 1, leaderId: "B", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: "x" }], leaderCommit: 0 }));
    expect(flagged?.rule).toBe("Save before you acknowledge");
    expect(flagged?.detail).toMatch(/acknowledged its log up to index 1 to leader B \(term 1\), but its disk holds only 0 entries/);
  });
});

describe("crash points: a crash in the middle of a step", () => {
  /** Sends to B, saves, sends to C: the order a crash point can cut. */
  const sendSaveSend = puppets({
    receive: (n, _from, m) => {
      if (m.type !== "RequestVote") return;
      n.currentTerm = m.term;
      n.env.send("B", { type: "RequestVoteReply", term: 0, voteGranted: false });
      n.save();
      n.env.send("C", { type: "RequestVoteReply", term: 0, voteGranted: false });
    },
  });

  test("after its 1st send: the send stands, nothing after it happens, and the node is down", () => {
    const w = new World({ nodes: ["A", "B", "C"], scripted: ["B", "C"], createNode: sendSaveSend, seed: 1 });
    w.crashAt("A", { when: "after", what: "send" });
    w.sendAs("B", "A", requestVote(3, "B"));
    expect(w.isCrashed("A")).toBe(true);
    expect(w.inbox("B")).toHaveLength(1);
    expect(w.inbox("C")).toHaveLength(0);
    expect(w.disk("A")).toBeNull();
    expect(formatTrace(w.trace)).toMatch(/A\s+crashes \(after its 1st send, in the middle of this step\)/);
  });

  test("before its 1st save, and after it: what reached the disk is exactly what was saved", () => {
    const before = new World({ nodes: ["A", "B", "C"], scripted: ["B", "C"], createNode: sendSaveSend, seed: 1 });
    before.crashAt("A", { when: "before", what: "save" });
    before.sendAs("B", "A", requestVote(3, "B"));
    expect([before.isCrashed("A"), before.inbox("B").length, before.inbox("C").length, before.disk("A")]).toEqual([true, 1, 0, null]);
    const after = new World({ nodes: ["A", "B", "C"], scripted: ["B", "C"], createNode: sendSaveSend, seed: 1 });
    after.crashAt("A", { when: "after", what: "save" });
    after.sendAs("B", "A", requestVote(3, "B"));
    expect([after.isCrashed("A"), after.inbox("C").length, after.disk("A")?.currentTerm]).toEqual([true, 0, 3]);
  });

  test("a crash point waits for the n-th send, across steps, and can be taken back", () => {
    const w = new World({ nodes: ["A", "B", "C"], scripted: ["B", "C"], createNode: sendSaveSend, seed: 1 });
    w.crashAt("A", { when: "before", what: "send", nth: 3 });
    w.sendAs("B", "A", requestVote(1, "B"));
    expect(w.isCrashed("A")).toBe(false);
    w.sendAs("B", "A", requestVote(2, "B"));
    expect(w.isCrashed("A")).toBe(true);
    expect(w.inbox("B")).toHaveLength(1);
    w.restart("A");
    w.crashAt("A", { when: "after", what: "send" });
    w.disarmCrash("A");
    w.sendAs("B", "A", requestVote(3, "B"));
    expect(w.isCrashed("A")).toBe(false);
  });
});

describe("restarts", () => {
  test("a node that restarts already claiming to lead is checked as a leader (Leader Completeness)", () => {
    const create = puppets({
      start: (n) => {
        if (n.env.id === "B") {
          n.log = [{ term: 1, command: "x" }];
          n.currentTerm = 1;
          n.commitIndex = 1;
        } else if (n.saved !== null || n.env.now() > 0) {
          n.currentTerm = 2;
          n.role = "leader";
        }
      },
    });
    const w = new World({ nodes: ["A", "B"], createNode: create, seed: 1 });
    w.runFor(10);
    w.crash("A");
    const flagged = broken(() => w.restart("A"));
    expect(flagged?.rule).toBe("Leader Completeness");
  });

  test("what a restarting node applies while it boots is checked against its new life, not its last", () => {
    const create = puppets({
      start: (n) => {
        n.log = [{ term: 1, command: "x" }];
        n.currentTerm = 1;
        n.commitIndex = 1;
        n.lastApplied = 1;
        n.env.apply(1, n.log[0]!);
      },
    });
    const w = new World({ nodes: ["A"], createNode: create, seed: 1 });
    w.crash("A");
    expect(() => w.restart("A")).not.toThrow();
    expect(w.applied("A")).toEqual([{ index: 1, entry: { term: 1, command: "x" } }]);
  });

  test("messages sent to a node's earlier life reach its new one, unless the test drops them", () => {
    const lives = (drop: boolean): { received: number[]; drops: string[] } => {
      const received: number[] = [];
      const create = puppets({
        start: (n) => {
          if (n.env.id === "B" && n.env.now() === 0) n.env.send("A", requestVote(1, "B"));
        },
        receive: (n) => void received.push(n.env.now()),
      });
      const w = new World({ nodes: ["A", "B"], createNode: create, seed: 1, network: { latency: [10, 11] }, dropMessagesToEarlierLives: drop });
      // Sent at 0 ms to A's first life; A crashes at 5 ms and is back at 6 ms, before it arrives.
      w.at(5, "crash A", () => w.crash("A"));
      w.at(6, "restart A", () => w.restart("A"));
      w.runFor(50);
      return { received, drops: w.traceOf("drop").map((d) => d.reason) };
    };
    // Raft's model: a message travels to a server, whatever run of its process is up.
    expect(lives(false)).toEqual({ received: [10], drops: [] });
    expect(lives(true)).toEqual({ received: [], drops: ["old incarnation"] });
  });
});

/** Chapter 9's reference, as the suites load it (a student edition has no solutions/, and skips the test that needs it). */
const ROOT = path.resolve(import.meta.dirname, "../..");
const CHAPTER9_REFERENCE = path.join(ROOT, "solutions", "chapter9-snapshots", "node.ts");

describe("the saved-state limit (Chapter 9)", () => {
  test.skipIf(!existsSync(CHAPTER9_REFERENCE))("the size the world keeps as saves go is savedStateSize of the disk, through appends, snapshots and restarts", () => {
    const createNode = loadNodeProgram(CHAPTER9_REFERENCE, ROOT).instantiate();
    const w = new World({ createNode, nodes: 3, seed: 4, checkPersistence: true, savedStateLimit: 400 });
    // The host's own measure, read where the world reads it (a private field of the world: this test alone looks).
    const hosts = (w as unknown as { hosts: Map<NodeId, { savedSize(): number; disk: PersistentState | null }> }).hosts;
    let compared = 0;
    w.afterEveryStep((step) => {
      const host = hosts.get(step.node)!;
      if (host.disk === null) return;
      compared++;
      expect(host.savedSize()).toBe(savedStateSize(host.disk));
    });
    for (let t = 300, i = 0; t < 4000; t += 37, i++) w.at(t, "", () => void w.leaders().forEach((id) => w.propose(id, `command-${i}-${"x".repeat(i % 7)}`)));
    w.at(1500, "crash B", () => w.crash("B"));
    w.at(2200, "restart B", () => w.restart("B"));
    w.runFor(4000);
    expect(compared).toBeGreaterThan(100);
    expect(w.nodes.some((id) => (w.disk(id)?.snapshot?.lastIncludedIndex ?? 0) > 0)).toBe(true);
  });
});
