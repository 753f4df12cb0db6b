/**
 * The sandbox's own tests (not graded): node code written by a learner can
 * hang, crash, cheat or break the contract, and every time the run stops
 * with a message that says where, and nothing outside the node is touched.
 *
 * Each test writes a small node file and loads it the way the graded
 * suites do (sandbox/node-program.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, test, vi } from "vitest";
import { endNodeProcesses } from "../../sandbox/node-process.ts";
import { loadNodeProgram, NodeLoadError, RealTimeLimitExceeded, runWithRealTimeLimit, type NodeProgram } from "../../sandbox/node-program.ts";
import type { NodeEnvironment, PersistentState } from "../../world/contract.ts";
import { ContractBroken, DEFAULT_TIMING, NodeFailure, RunawayNode, World } from "../../world/world.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIR = path.join(ROOT, ".workbook-cache", "sandbox-tests");
mkdirSync(DIR, { recursive: true });
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

/**
 * A node file with the given handler bodies (TypeScript, like a learner's):
 * `locals` are declared in createNode (on the line of `log`, so that line
 * numbers stay put), `view` replaces what inspect() returns, `methods` are
 * more of the node's methods.
 */
function nodeSource(parts: { top?: string; locals?: string; start?: string; receive?: string; timer?: string; inspect?: string; view?: string; methods?: string }): string {
  return `import type { CreateNode, LogEntry, Message, PersistentState, Snapshot, TimerName } from "../../world/contract.ts";
${parts.top ?? ""}
export const createNode: CreateNode = (env, saved) => {
  const log: LogEntry[] = saved ? [...saved.log] : []; ${parts.locals ?? ""}
  return {
    start(): void {
      ${parts.start ?? ""}
    },
    receive(from: string, message: Message): void {
      ${parts.receive ?? ""}
    },
    timerFired(timer: TimerName): void {
      ${parts.timer ?? ""}
    },
    propose() {
      return { accepted: false as const, leaderId: null };
    },
    inspect() {
      ${parts.inspect ?? ""}
      return ${parts.view ?? '{ role: "follower" as const, currentTerm: 0, votedFor: null, leaderId: null, log, commitIndex: 0, lastApplied: 0 }'};
    },
    ${parts.methods ?? ""}
  };
};
`;
}

let files = 0;
/** Whether the tests of the describe block running now load nodes into a process of their own. */
let isolated = false;
function program(source: string): NodeProgram {
  const file = path.join(DIR, `node${++files}.ts`);
  writeFileSync(file, source);
  return loadNodeProgram(file, ROOT, { isolated });
}

/** The error a world stops with, when `run` builds and runs it. */
function stopped(run: () => void): Error {
  try {
    runWithRealTimeLimit(2000, run);
  } catch (error) {
    return error as Error;
  }
  throw new Error("the run did not stop");
}

const requestVote = '{ type: "RequestVote", term: 1, candidateId: "A", lastLogIndex: 0, lastLogTerm: 0 }';

// Every test runs twice: with the node in the test process (practice runs),
// and in a process of its own (grading). Both must say the same.
for (const mode of ["in the test process", "in a process of its own"] as const) {
describe(mode, () => {
  beforeEach(() => {
    isolated = mode === "in a process of its own";
    endNodeProcesses();
  });


  describe("what node code may not use", () => {
    test.each([
      ["Math.random()", "Math.random()", /node code called Math\.random\(\)\. In the simulated world use env\.randomInt/],
      ["Date.now()", "Date.now()", /env\.now\(\)/],
      ["new Date()", "new Date()", /env\.now\(\)/],
      ["setTimeout", "setTimeout(() => {}, 10)", /env\.setTimer\("election" or "heartbeat"/],
      ["setInterval", "setInterval(() => {}, 10)", /set the timer again each time it fires/],
      ["performance.now()", "performance.now()", /env\.now\(\)/],
      ["process.env", "process.env.RAFT_NODE_FILE", /Everything a node needs comes through env/],
    ])("%s is refused with what to use instead, even when the node catches the error", (_name, call, message) => {
      const p = program(nodeSource({ start: `try { void (${call}); } catch { /* carry on regardless */ }` }));
      const error = stopped(() => new World({ nodes: 2, createNode: p.instantiate(), seed: 1 }));
      expect(error).toBeInstanceOf(NodeFailure);
      expect(error.message).toMatch(/node A threw while booting/);
      expect(error.message).toMatch(message);
    });

    test("eval and new Function are off", () => {
      const p = program(nodeSource({ start: 'env.note(String(new Function("return 1")()));' }));
      const error = stopped(() => new World({ nodes: 1, createNode: p.instantiate(), seed: 1 }));
      expect(error.message).toMatch(/Code generation from strings disallowed/);
    });

    test("nothing reachable from the environment, saved state, messages or caught errors belongs to the world", () => {
      // The node walks every object and function it can reach and checks
      // each one's realm: an object of the world's would be a way out (a
      // world function's constructor compiles code in the world's realm).
      const p = program(
        nodeSource({
          top: `
  function outside(roots: unknown[]): number {
    const seen = new Set<unknown>();
    const queue = [...roots];
    let foreign = 0;
    while (queue.length > 0) {
      const value = queue.pop();
      if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) continue;
      seen.add(value);
      // A function of another realm, or an object whose prototypes are another realm's
      // (Function.prototype and Object.prototype are this realm's roots).
      if (typeof value === "function" ? value !== Function.prototype && !(value instanceof Function) : Object.getPrototypeOf(value) !== null && !(value instanceof Object)) foreign++;
      queue.push(Object.getPrototypeOf(value));
      for (const key of Reflect.ownKeys(value)) {
        const d = Object.getOwnPropertyDescriptor(value, key);
        if (d) queue.push(d.value, d.get, d.set);
      }
    }
    return foreign;
  }`,
          start: `
  env.note("reachable at start: " + outside([env, saved, globalThis, env.timing, env.peers]));
  if (env.id === "A") {
    env.send("B", { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: "x" }], leaderCommit: 0 });
    env.setTimer("heartbeat", 50);
  }`,
          receive: `env.note("reachable from a message: " + outside([message, message.type === "AppendEntries" ? message.entries : null]));`,
          timer: `
  let caught: unknown;
  try { env.send("Z", { type: "Nonsense" } as never); } catch (error) { caught = error; }
  env.note("reachable from a caught error: " + outside([caught]));`,
        }),
      );
      const w = new World({ nodes: 2, createNode: p.instantiate(), seed: 1, saved: { A: { currentTerm: 1, votedFor: null, log: [{ term: 1, command: "s" }] } } });
      const error = stopped(() => w.runFor(100));
      // The bad send still ends the run, though the node caught its error.
      expect(error).toBeInstanceOf(NodeFailure);
      expect(error.message).toMatch(/"Z" is not one of its peers/);
      const notes = w.traceOf("note").map((n) => n.text);
      expect(notes).toEqual([
        "reachable at start: 0",
        "reachable at start: 0",
        "reachable from a message: 0",
        "reachable from a caught error: 0",
      ]);
    });
  });

  describe("a node that never returns, or does not load", () => {
    test("an endless loop in a handler is stopped, naming the node, what it was handling, and when", () => {
      const p = program(nodeSource({ start: `if (env.id === "A") env.send("B", ${requestVote});`, receive: "while (true) { /* waiting for something that never comes */ }" }));
      const started = Date.now();
      let error: unknown;
      try {
        runWithRealTimeLimit(300, () => new World({ nodes: 2, createNode: p.instantiate(), seed: 1 }).runFor(100));
      } catch (e) {
        error = e;
      }
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toBeInstanceOf(RealTimeLimitExceeded);
      expect((error as Error).message).toMatch(/^node B did not return from handling RequestVote\(term 1, last log 0\/0\) from A in receive\(\) at \d+ ms of simulated time, and the test was stopped after 0\.3 s of real time\. An endless loop\?/);
    });

    test("a run that is merely long is not stopped: real time stops only node code that does not return", () => {
      const p = program(nodeSource({ start: 'if (env.id === "A") env.send("B", ' + requestVote + ");" }));
      let error: unknown;
      let ran = 0;
      try {
        runWithRealTimeLimit(100, () => {
          const w = new World({ nodes: 2, createNode: p.instantiate(), seed: 1 });
          // The test's own code takes three times the limit, between node calls.
          const until = performance.now() + 300;
          while (performance.now() < until) ran++;
          w.runFor(100);
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeUndefined();
      expect(ran).toBeGreaterThan(0);
    });

    test.each([
      ["a syntax error", nodeSource({ start: "const x = ;" }), "syntax", /node\d+\.ts, line 7, column 17: Unexpected ";"\n\n +7 \| +const x = ;\n +\| +\^/],
      ["a default export", "export default function createNode() {}\n", "export", /has a default export but no export named createNode/],
      ["no createNode", "export const makeNode = () => ({});\n", "export", /must export a function named createNode .* it exports makeNode/],
      ["a run-time import", 'import { InvariantChecker } from "../../world/invariants.ts";\nInvariantChecker.prototype.afterStep = () => {};\nexport const createNode = () => ({});\n', "import", /imports "..\/..\/world\/invariants.ts" at run time.*import type/],
      ["an endless loop at the top", "while (true) {}\nexport const createNode = () => ({});\n", "top-level", /top-level code did not finish within 2 s/],
      ["a throw at the top", 'throw new Error("not yet");\n', "top-level", /threw while loading, before any test could start: Error: not yet/],
    ])("%s is reported before any test runs, with what is wrong", (_name, source, problem, message) => {
      let error: unknown;
      try {
        program(source).instantiate();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NodeLoadError);
      expect((error as NodeLoadError).problem).toBe(problem);
      expect((error as Error).message).toMatch(message);
    });

    test("a missing file says how to get it back", () => {
      expect(() => loadNodeProgram(path.join(DIR, "gone.ts"), ROOT)).toThrow(/\.workbook-cache\/sandbox-tests\/gone\.ts is missing\. .*git checkout -- \.workbook-cache\/sandbox-tests\/gone\.ts/);
    });
  });

  describe("copies, read-only entries, and the contract", () => {
    const twoEntries = '{ type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, command: "p" }, { term: 1, command: "q" }], leaderCommit: 0 }';

    test("a node that changes a message it received changes nothing for the sender, the trace, or the other receivers", () => {
      const p = program(
        nodeSource({
          start: `if (env.id === "A") { env.send("B", ${twoEntries}); env.send("C", ${twoEntries}); }`,
          receive: `if (message.type === "AppendEntries") { env.note(env.id + " got " + message.entries.length); (message.entries as unknown[]).shift(); (message as { term: number }).term = 99; }`,
        }),
      );
      const w = new World({ nodes: 3, createNode: p.instantiate(), seed: 1, network: { duplicateRate: 1 } });
      w.runFor(50);
      expect(w.traceOf("note").map((n) => n.text)).toEqual(["B got 2", "C got 2", "B got 2", "C got 2"].sort((a, b) => w.traceOf("note").map((n) => n.text).indexOf(a) - w.traceOf("note").map((n) => n.text).indexOf(b)));
      for (const delivery of w.traceOf("deliver")) {
        expect("term" in delivery.message && delivery.message.term).toBe(1);
        expect(delivery.message.type === "AppendEntries" && delivery.message.entries.length).toBe(2);
      }
    });

    test("a node that changes an entry of its log in place is stopped at that line", () => {
      const p = program(
        nodeSource({
          start: 'log.push({ term: 1, command: "a" }); env.setTimer("election", 10);',
          timer: "(log[0] as { term: number }).term = 2;",
        }),
      );
      const w = new World({ nodes: 1, createNode: p.instantiate(), seed: 1 });
      const error = stopped(() => w.runFor(20));
      expect(error).toBeInstanceOf(NodeFailure);
      expect(error.message).toMatch(/Cannot assign to read only property 'term'.*\n.*Log entries are read-only once they are in a log/);
      expect(error.stack).toMatch(/at Object\.timerFired \(\.workbook-cache\/sandbox-tests\/node\d+\.ts:1\d:\d+\)/);
    });

    test("an unknown timer name is refused on the spot", () => {
      const p = program(nodeSource({ start: 'env.setTimer("elections" as TimerName, 150);' }));
      const error = stopped(() => new World({ nodes: 1, createNode: p.instantiate(), seed: 1 }));
      expect(error.name).toBe("Contract broken");
      expect(error.message).toMatch(/setTimer\("elections"\): there is no timer of that name; the timers are "election" and "heartbeat"/);
    });

    test.each([
      ["an unknown type", '{ type: "Vote", term: 1 }', /its type is "Vote"; the contract's messages are RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply/],
      ["a missing field", '{ type: "RequestVote", term: 1, candidateId: "A", lastLogIndex: 0 }', /RequestVote\.lastLogTerm is missing; it must be a whole number, 0 or more/],
      ["a term that is not a number", '{ type: "RequestVoteReply", term: NaN, voteGranted: true }', /RequestVoteReply\.term is NaN/],
      ["a negative index", '{ type: "AppendEntriesReply", term: 1, success: false, matchIndex: -1, lastLogIndex: 0 }', /AppendEntriesReply\.matchIndex is -1/],
      ["a string for a number", '{ type: "RequestVote", term: "2", candidateId: "A", lastLogIndex: 0, lastLogTerm: 0 }', /RequestVote\.term is "2"/],
      ["a field the contract lacks", '{ type: "RequestVoteReply", term: 1, voteGranted: true, reason: "why not" }', /RequestVoteReply has a field "reason" that the contract does not have/],
      ["an entry without a command", '{ type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1 }], leaderCommit: 0 }', /AppendEntries\.entries\[0\]\.command is undefined; it must be a string/],
      ["a leader that is not a node", '{ type: "AppendEntries", term: 1, leaderId: "Z", prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 }', /AppendEntries\.leaderId is "Z"; it must be one of the cluster's nodes \(A, B\)/],
    ])("a message with %s is refused on the spot, naming the field", (_name, message, expected) => {
      const p = program(nodeSource({ start: `if (env.id === "A") env.send("B", ${message} as never);` }));
      const error = stopped(() => new World({ nodes: 2, createNode: p.instantiate(), seed: 1 }));
      expect(error.name).toBe("Contract broken");
      expect(error.message).toMatch(/node A broke the contract while booting .* at 0 ms:\n  it sent B a malformed message: /);
      expect(error.message).toMatch(expected);
    });

    test("timers that fire at once, over and over, are stopped", () => {
      const p = program(nodeSource({ start: 'env.setTimer("election", 0);' }));
      const error = stopped(() => new World({ nodes: 1, createNode: p.instantiate(), seed: 1 }));
      expect(error).toBeInstanceOf(RunawayNode);
      expect(error.message).toMatch(/set its election timer with a delay of 0 ms at 0 ms/);
    });

    test("console.log in node code says which node and when", () => {
      const log = vi.spyOn(console, "log").mockImplementation(() => {});
      try {
        const p = program(nodeSource({ start: 'console.log("hello from", env.id, { term: 3 });' }));
        new World({ nodes: 2, createNode: p.instantiate(), seed: 1 });
        expect(log.mock.calls.map((c) => c[0])).toEqual(['[node A @ 0 ms] hello from A {"term":3}', '[node B @ 0 ms] hello from B {"term":3}']);
      } finally {
        log.mockRestore();
      }
    });

    test("each fresh instance starts with fresh module state", () => {
      const p = program(nodeSource({ top: "let boots = 0;", start: 'boots++; env.note("boots " + boots);' }));
      const first = new World({ nodes: 2, createNode: p.instantiate(), seed: 1 });
      const second = new World({ nodes: 2, createNode: p.instantiate(), seed: 1 });
      expect(first.traceOf("note").map((n) => n.text)).toEqual(["boots 1", "boots 2"]);
      expect(second.traceOf("note").map((n) => n.text)).toEqual(["boots 1", "boots 2"]);
    });
  });

  describe("Chapter 9's snapshots", () => {
    const install = { type: "InstallSnapshot", term: 2, leaderId: "A", lastIncludedIndex: 40, lastIncludedTerm: 1, data: '{"x":"1","y":"2"}' } as const;
    const installReply = { type: "InstallSnapshotReply", term: 2, matchIndex: 40 } as const;

    /**
     * A node that keeps a snapshot as a Chapter 9 node does: it loads the one
     * it saved when it boots, and on its very first boot commits and applies
     * two of three entries and saves them. Asked for a snapshot, it compacts
     * its log and saves the two together.
     */
    const snapshotNode = nodeSource({
      locals: "let snapshot: Snapshot | undefined = saved?.snapshot; let applied = snapshot?.lastIncludedIndex ?? 0; const term = saved?.currentTerm ?? 1;",
      start: `
  env.note(JSON.stringify(saved) + ("snapshot" in (saved ?? {}) ? " with" : " without") + " a snapshot key");
  if (snapshot !== undefined) env.applySnapshot(snapshot);
  if (saved === null) {
    for (const command of ["a", "b", "c"]) log.push({ term: 1, command });
    env.apply(1, log[0]!);
    env.apply(2, log[1]!);
    applied = 2;
    env.save({ currentTerm: term, votedFor: null, log });
  }`,
      view: '{ role: "follower" as const, currentTerm: term, votedFor: null, leaderId: null, log, commitIndex: applied, lastApplied: applied, ...(snapshot === undefined ? {} : { lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm }) }',
      methods: `
    takeSnapshot(index: number): void {
      env.note("takeSnapshot(" + index + ")");
      const compacted = index - (snapshot?.lastIncludedIndex ?? 0);
      snapshot = { lastIncludedIndex: index, lastIncludedTerm: log[compacted - 1]!.term, state: (snapshot?.state ?? "") + log.slice(0, compacted).map((e) => e.command).join("") };
      log.splice(0, compacted);
      env.save({ currentTerm: term, votedFor: null, log, snapshot });
    },`,
    });

    test("an InstallSnapshot and its reply reach the node with every field", () => {
      const p = program(nodeSource({ receive: "env.note(JSON.stringify(message));" }));
      const w = new World({ nodes: 2, createNode: p.instantiate(), seed: 1, scripted: ["A"] });
      w.sendAs("A", "B", install);
      w.sendAs("A", "B", installReply);
      expect(w.traceOf("note").map((n) => JSON.parse(n.text) as unknown)).toEqual([install, installReply]);
    });

    test.each([
      ["foreseen by the node's process", false],
      ["each asked of the world", true],
    ])("an InstallSnapshot and its reply that a node sends reach the other node as sent (%s)", (_name, unforeseeable) => {
      const p = program(nodeSource({ start: 'env.setTimer("election", 10);', timer: `env.send("B", ${JSON.stringify(install)}); env.send("B", ${JSON.stringify(installReply)});` }));
      const w = new World({ nodes: 2, createNode: p.instantiate(), seed: 1, scripted: ["B"] });
      // A crash point armed (never reached: the node saves nothing) makes a node's process ask the world about every env call.
      if (unforeseeable) w.crashAt("A", { when: "before", what: "save" });
      w.runFor(20);
      expect(w.inbox("B").map((m) => m.message)).toEqual([install, installReply]);
    });

    test("a saved snapshot comes back at boot, only when there is one, and env.applySnapshot and the view's lastIncludedIndex and lastIncludedTerm reach the world", () => {
      const stored = { currentTerm: 2, votedFor: null, log: [{ term: 2, command: "c" }], snapshot: { lastIncludedIndex: 2, lastIncludedTerm: 1, state: "ab" } };
      const plain = { currentTerm: 2, votedFor: null, log: [{ term: 1, command: "a" }] };
      const w = new World({ nodes: 2, createNode: program(snapshotNode).instantiate(), seed: 1, saved: { A: stored, B: plain } });
      expect(w.traceOf("note").map((n) => n.text)).toEqual([`${JSON.stringify(stored)} with a snapshot key`, `${JSON.stringify(plain)} without a snapshot key`]);
      expect(w.appliedSnapshot("A")).toEqual(stored.snapshot);
      expect(w.appliedSnapshot("B")).toBeNull();
      expect(w.view("A")).toMatchObject({ lastIncludedIndex: 2, lastIncludedTerm: 1, lastApplied: 2, log: [{ term: 2, command: "c" }] });
      expect("lastIncludedIndex" in w.view("B") || "lastIncludedTerm" in w.view("B")).toBe(false);
    });

    test("a save with a snapshot reaches the disk with it, whether the snapshot is new, the same again, or a copy of it; a save without one has none", () => {
      const p = program(
        nodeSource({
          locals: `const e = [1, 2, 3, 4].map((i) => ({ term: 1, command: String(i) }));
  const first: Snapshot = { lastIncludedIndex: 1, lastIncludedTerm: 1, state: "1" };
  const states: PersistentState[] = [
    { currentTerm: 1, votedFor: null, log: [e[0]!, e[1]!] },
    { currentTerm: 1, votedFor: null, log: [e[1]!], snapshot: first },
    { currentTerm: 1, votedFor: "A", log: [e[1]!, e[2]!], snapshot: first },
    { currentTerm: 1, votedFor: "A", log: [e[1]!, e[2]!], snapshot: { ...first } },
    { currentTerm: 2, votedFor: null, log: [e[2]!], snapshot: { lastIncludedIndex: 2, lastIncludedTerm: 1, state: "12" } },
    { currentTerm: 2, votedFor: null, log: [e[2]!, e[3]!] },
  ];
  let next = 0;`,
          // One save per call: a node's process foresees a save of the snapshot it saved last, in a call of its own.
          start: 'log.push(e[0]!, e[1]!); env.apply(1, e[0]!); env.apply(2, e[1]!); env.save(states[next++]!); env.setTimer("election", 10);',
          timer: 'if (next < states.length) { env.save(states[next++]!); env.setTimer("election", 10); }',
          view: '{ role: "follower" as const, currentTerm: 0, votedFor: null, leaderId: null, log, commitIndex: 2, lastApplied: 2 }',
        }),
      );
      const w = new World({ nodes: 1, createNode: p.instantiate(), seed: 1 });
      const disks = [w.disk("A")];
      for (let i = 0; i < 5; i++) {
        w.runFor(10);
        disks.push(w.disk("A"));
      }
      const entry = (i: number): { term: number; command: string } => ({ term: 1, command: String(i) });
      const first = { lastIncludedIndex: 1, lastIncludedTerm: 1, state: "1" };
      expect(disks).toEqual([
        { currentTerm: 1, votedFor: null, log: [entry(1), entry(2)] },
        { currentTerm: 1, votedFor: null, log: [entry(2)], snapshot: first },
        { currentTerm: 1, votedFor: "A", log: [entry(2), entry(3)], snapshot: first },
        { currentTerm: 1, votedFor: "A", log: [entry(2), entry(3)], snapshot: first },
        { currentTerm: 2, votedFor: null, log: [entry(3)], snapshot: { lastIncludedIndex: 2, lastIncludedTerm: 1, state: "12" } },
        { currentTerm: 2, votedFor: null, log: [entry(3), entry(4)] },
      ]);
      expect(disks.map((disk) => disk !== null && "snapshot" in disk)).toEqual([false, true, true, true, true, false]);
    });

    test("a save reaches the world's env with a snapshot key only when it has a snapshot", () => {
      const p = program(nodeSource({ start: 'env.save({ currentTerm: 1, votedFor: null, log: [] }); env.save({ currentTerm: 1, votedFor: null, log: [], snapshot: { lastIncludedIndex: 1, lastIncludedTerm: 1, state: "a" } });' }));
      // No world in between: what the sandbox hands the env is what a save of an earlier chapter's node always was.
      const saves: PersistentState[] = [];
      const ignore = (): void => {};
      const env: NodeEnvironment = {
        id: "A",
        peers: ["B"],
        timing: DEFAULT_TIMING,
        now: () => 0,
        randomInt: (min) => min,
        send: ignore,
        replyToClient: ignore,
        setTimer: ignore,
        cancelTimer: ignore,
        apply: ignore,
        applySnapshot: ignore,
        note: ignore,
        save: (state) => void saves.push(state),
      };
      p.instantiate()(env, null).start();
      expect(saves.map((state) => Object.keys(state))).toEqual([
        ["currentTerm", "votedFor", "log"],
        ["currentTerm", "votedFor", "log", "snapshot"],
      ]);
      expect({ ...saves[1]!.snapshot }).toEqual({ lastIncludedIndex: 1, lastIncludedTerm: 1, state: "a" });
    });

    test("the world's takeSnapshot(index) reaches the node, what it saves and reports then reaches the world, and a restart hands it back", () => {
      const w = new World({ nodes: 1, createNode: program(snapshotNode).instantiate(), seed: 1, savedStateLimit: 50 });
      w.runFor(1);
      const compacted = { currentTerm: 1, votedFor: null, log: [{ term: 1, command: "c" }], snapshot: { lastIncludedIndex: 2, lastIncludedTerm: 1, state: "ab" } };
      expect(w.traceOf("note").map((n) => n.text)).toEqual(["null without a snapshot key", "takeSnapshot(2)"]);
      expect(w.disk("A")).toEqual(compacted);
      expect(w.view("A")).toMatchObject({ lastIncludedIndex: 2, lastIncludedTerm: 1, lastApplied: 2, log: [{ term: 1, command: "c" }] });
      w.crash("A");
      w.restart("A");
      expect(w.traceOf("note").map((n) => n.text).at(-1)).toBe(`${JSON.stringify(compacted)} with a snapshot key`);
      expect(w.appliedSnapshot("A")).toEqual(compacted.snapshot);
      expect(w.view("A")).toMatchObject({ lastIncludedIndex: 2, lastIncludedTerm: 1, lastApplied: 2, log: [{ term: 1, command: "c" }] });
    });

    test("a node with no takeSnapshot(index) is told what the world asked of it", () => {
      const p = program(
        nodeSource({
          start: 'log.push({ term: 1, command: "a" }, { term: 1, command: "b" }); env.apply(1, log[0]!); env.save({ currentTerm: 1, votedFor: null, log });',
          view: '{ role: "follower" as const, currentTerm: 1, votedFor: null, leaderId: null, log, commitIndex: 1, lastApplied: 1 }',
        }),
      );
      const w = new World({ nodes: 1, createNode: p.instantiate(), seed: 1, savedStateLimit: 10 });
      const error = stopped(() => w.runFor(1));
      expect(error).toBeInstanceOf(NodeFailure);
      expect(error.message).toMatch(/node A threw while taking a snapshot through index 1 in takeSnapshot\(\) at 0 ms:\n/);
      expect(error.message).toMatch(/the world asked this node for a snapshot \(takeSnapshot\(index\)\), and the node has no takeSnapshot\(index\) method: from Chapter 9 on a node compacts its log when the world asks \(world\/contract\.ts\)/);
    });

    test("env.applySnapshot reaches the world, and what the world refuses is an error of the node's own", () => {
      const p = program(
        nodeSource({
          start: 'env.applySnapshot({ lastIncludedIndex: 2, lastIncludedTerm: 1, state: "ab" }); env.setTimer("election", 10);',
          timer: 'try { env.applySnapshot({ lastIncludedIndex: 0, lastIncludedTerm: 0, state: "" }); } catch (error) { env.note("caught an Error: " + (error instanceof Error) + ": " + (error as Error).message); }',
          view: '{ role: "follower" as const, currentTerm: 1, votedFor: null, leaderId: null, log, commitIndex: 2, lastApplied: 2, lastIncludedIndex: 2, lastIncludedTerm: 1 }',
        }),
      );
      const w = new World({ nodes: 1, createNode: p.instantiate(), seed: 1 });
      expect(w.appliedSnapshot("A")).toEqual({ lastIncludedIndex: 2, lastIncludedTerm: 1, state: "ab" });
      // The refusal still ends the run, though the node caught its error.
      const error = stopped(() => w.runFor(20));
      expect(error).toBeInstanceOf(NodeFailure);
      expect(error.name).toBe("Contract broken");
      expect(error.message).toMatch(/applySnapshot\(snapshot\): snapshot\.lastIncludedIndex is 0; it must be a whole number, 1 or more/);
      expect(w.traceOf("note").map((n) => n.text)).toEqual(["caught an Error: true: applySnapshot(snapshot): snapshot.lastIncludedIndex is 0; it must be a whole number, 1 or more."]);
    });
  });
});
}
