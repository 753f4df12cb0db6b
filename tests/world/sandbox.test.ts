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
import { ContractBroken, NodeFailure, RunawayNode, World } from "../../world/world.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIR = path.join(ROOT, ".workbook-cache", "sandbox-tests");
mkdirSync(DIR, { recursive: true });
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

/** A node file with the given handler bodies (TypeScript, like a learner's). */
function nodeSource(parts: { top?: string; start?: string; receive?: string; timer?: string; inspect?: string }): string {
  return `import type { CreateNode, LogEntry, Message, TimerName } from "../../world/contract.ts";
${parts.top ?? ""}
export const createNode: CreateNode = (env, saved) => {
  const log: LogEntry[] = saved ? [...saved.log] : [];
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
      return { role: "follower" as const, currentTerm: 0, votedFor: null, leaderId: null, log, commitIndex: 0, lastApplied: 0 };
    },
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
});
}
