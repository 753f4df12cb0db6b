/**
 * npm run bench: how fast the workbook runs on this machine.
 *
 *   - the world's speed, in simulated ms per real ms, for five nodes over
 *     ten simulated minutes, idle and with a client command every 100 ms,
 *     every guarantee checked after every event (persistence from Chapter 6,
 *     saved state bounded by snapshots from Chapter 9; Chapter 5's reference, as
 *     `npm run experiment -- speed`, and the last chapter's): steady (the
 *     median of five runs after a first) and the first run, the events
 *     the world runs per real second, and how much slower busy is than
 *     idle; and, for the busy run, the real time of its first simulated
 *     minute and of its tenth (a world whose cost per event grows with
 *     the run's history shows it there);
 *   - each chapter's suite through `npm run test:solutions`, wall time
 *     (in the test process, the median of five runs), with node code in the test process and in a process of its own (as
 *     grading runs it), each as a multiple of a bare vitest run of one
 *     trivial test, and a whole grade of the last chapter with the
 *     regression section;
 *   - the paper's Figure 16 experiment (about 10 000 trials);
 *   - the linearizability checker on the 102 Jepsen etcd histories Porcupine publishes;
 *   - for comparison, a bare vitest run of one trivial test.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import pc from "picocolors";
import type { CreateNode } from "../../world/contract.ts";
import { loadNodeProgram, runWithRealTimeLimit } from "../../sandbox/node-program.ts";
import { listChapters, PROJECT_ROOT } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain } from "../shared/cli.mjs";
import { figure16Experiment, measureSpeed, SPEED_RUN_MS, speedOptionsFor, speedWorld, type SpeedOptions } from "../learner/experiment.ts";

/** One simulated minute, in ms. */
const MINUTE_MS = 60_000;
import { LATENCY_MS } from "../../scenarios/figure16.ts";
import { checkLinearizability, parseJepsenRegisterLog, registerModel } from "../../world/linearizability.ts";

const COMMAND = { usage: "npm run bench", options: {} };

/** The speed runs of `npm run experiment -- speed`, and the events the world runs per real second (counted in one more, identical run, so the timed ones have no listener). */
function worldSpeed(createNode: CreateNode, everyMs: number | undefined, options: SpeedOptions): { first: number; steady: number; eventsPerSecond: number } {
  const timed = measureSpeed(createNode, everyMs, options);
  const counted = speedWorld(createNode, everyMs, options);
  let events = 0;
  counted.afterEveryEvent(() => {
    events++;
  });
  runWithRealTimeLimit(300_000, () => counted.runFor(SPEED_RUN_MS));
  return { first: timed.first.ratio, steady: timed.steady.ratio, eventsPerSecond: (events / timed.steady.real) * 1000 };
}

/**
 * The real ms each simulated minute of a busy speed run takes (after one
 * whole run to compile the code): for each minute, the median of five
 * runs, since one minute is a few dozen ms here and a single garbage
 * collection can double it.
 */
function minuteByMinute(createNode: CreateNode, everyMs: number, options: SpeedOptions): number[] {
  runWithRealTimeLimit(300_000, () => speedWorld(createNode, everyMs, options).runFor(SPEED_RUN_MS));
  const runs: number[][] = [];
  for (let run = 0; run < 5; run++) {
    const w = speedWorld(createNode, everyMs, options);
    const minutes: number[] = [];
    for (let m = 0; m < SPEED_RUN_MS / MINUTE_MS; m++) {
      const started = performance.now();
      runWithRealTimeLimit(300_000, () => w.runFor(MINUTE_MS));
      minutes.push(performance.now() - started);
    }
    runs.push(minutes);
  }
  return runs[0]!.map((_, m) => runs.map((r) => r[m]!).sort((a, b) => a - b)[2]!);
}

/**
 * The wall time of a command, the median of `times` runs (a run of half a
 * second here wanders by a tenth of one from one try to the next); ok if
 * every run passed.
 */
function wallTime(command: string, args: readonly string[], times = 1): { seconds: number; ok: boolean } {
  const seconds: number[] = [];
  let ok = true;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const result = spawnSync(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, NO_COLOR: "1" }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    seconds.push((performance.now() - started) / 1000);
    ok &&= result.status === 0;
  }
  return { seconds: seconds.sort((a, b) => a - b)[Math.floor(times / 2)]!, ok };
}

/** How many times the bare run and each suite's practice run are timed (their median is reported). */
const SUITE_RUNS = 5;

/** Every Jepsen history with a known verdict, checked four times: the first run, and the median of three more. */
function linearizabilityBench(): { histories: number; first: number; steady: number; agreed: number } {
  const dir = path.join(PROJECT_ROOT, "tests", "fixtures", "porcupine-jepsen");
  const verdicts = JSON.parse(readFileSync(path.join(dir, "verdicts.json"), "utf8")) as Record<string, string>;
  const logs = Object.keys(verdicts).map((name) => ({ name, text: readFileSync(path.join(dir, name), "utf8") }));
  const times: number[] = [];
  let agreed = 0;
  for (let round = 0; round < 4; round++) {
    const started = performance.now();
    agreed = 0;
    for (const log of logs) if (checkLinearizability(registerModel, parseJepsenRegisterLog(log.text)).verdict === verdicts[log.name]) agreed++;
    times.push(performance.now() - started);
  }
  const steady = times.slice(1).sort((a, b) => a - b)[1]!;
  return { histories: logs.length, first: times[0]!, steady, agreed };
}

async function main(): Promise<number> {
  parseCommand(COMMAND, process.argv.slice(2));
  const cpu = cpus();
  console.log(pc.bold(`npm run bench on ${cpu.length} × ${cpu[0]?.model.trim() ?? "an unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}\n`));
  const chapters = listChapters();
  const nodes = [chapters.find((c) => c.number === 5)!, chapters.at(-1)!];
  console.log("The world, five nodes, ten simulated minutes, every guarantee checked after every event");
  console.log("(simulated ms per real ms: steady is the median of five runs after a first one, which also compiles the code):");
  for (const chapter of nodes) {
    const createNode = loadNodeProgram(path.join(PROJECT_ROOT, "solutions", chapter.dir, "node.ts"), PROJECT_ROOT).instantiate();
    const steady: number[] = [];
    const options = speedOptionsFor(chapter.number);
    for (const [label, every] of [["idle", undefined], ["a command every 100 ms", 100]] as const) {
      const r = worldSpeed(createNode, every, options);
      steady.push(r.steady);
      console.log(
        `  ${`${chapter.short} reference, ${label}:`.padEnd(50)} steady ${String(Math.round(r.steady)).padStart(6)}, first run ${String(Math.round(r.first)).padStart(6)}; ` +
          `${String(Math.round(r.eventsPerSecond)).padStart(8)} events per real second (steady)`,
      );
    }
    const minutes = minuteByMinute(createNode, 100, options);
    const first = minutes[0]!;
    const tenth = minutes.at(-1)!;
    console.log(
      `  ${`${chapter.short} reference, busy against idle:`.padEnd(50)} ${(steady[1]! / steady[0]!).toFixed(3)} of the idle speed; ` +
        `the busy run's first simulated minute ${first.toFixed(0)} ms, its tenth ${tenth.toFixed(0)} ms (${(tenth / first).toFixed(1)} times the first; each the median of five runs)`,
    );
  }
  console.log(`\nEach chapter's suite against its reference, wall time (the median of ${SUITE_RUNS} runs): node code in the test process (npm run test:solutions -- chapterN),`);
  console.log("as a multiple of a bare vitest run, and in a process of its own, as grading runs it (the same with --isolated):");
  const trivialDir = path.join(PROJECT_ROOT, ".workbook-cache", "bench");
  mkdirSync(trivialDir, { recursive: true });
  writeFileSync(path.join(trivialDir, "trivial.test.ts"), 'import { expect, test } from "vitest";\n\ntest("one and one", () => {\n  expect(1 + 1).toBe(2);\n});\n');
  // A config of its own: without one vitest takes the workbook's vitest.config.ts, finds no
  // test under it, and exits at once, a "bare run" that never started a test worker.
  writeFileSync(path.join(trivialDir, "vitest.config.mjs"), "export default {};\n");
  const bare = wallTime(process.execPath, [path.join("node_modules", "vitest", "vitest.mjs"), "run", "--root", trivialDir, "--config", path.join(trivialDir, "vitest.config.mjs")], SUITE_RUNS);
  if (!bare.ok) throw new Error(`the bare vitest run in ${trivialDir} failed: the suites' multiples would mean nothing`);
  const times = (seconds: number): string => `${(seconds / bare.seconds).toFixed(1)}×`.padStart(6);
  let inProcess = 0;
  let isolated = 0;
  for (const chapter of chapters) {
    const run = wallTime(process.execPath, [path.join("scripts", "learner", "suites.mjs"), "test", chapter.short, "--solutions"], SUITE_RUNS);
    const apart = wallTime(process.execPath, [path.join("scripts", "learner", "suites.mjs"), "test", chapter.short, "--solutions", "--isolated"]);
    inProcess += run.seconds;
    isolated += apart.seconds;
    console.log(`  ${chapter.short.padEnd(10)} ${run.seconds.toFixed(2).padStart(5)} s ${times(run.seconds)} bare   isolated ${apart.seconds.toFixed(1).padStart(5)} s${run.ok && apart.ok ? "" : pc.red("  (failed)")}`);
  }
  console.log(`  ${"all".padEnd(10)} ${inProcess.toFixed(1).padStart(5)} s   isolated ${isolated.toFixed(1).padStart(5)} s (${(isolated / inProcess).toFixed(1)} times as long)`);
  const graded = wallTime(process.execPath, [path.join("scripts", "learner", "suites.mjs"), "grade", chapters.at(-1)!.short, "--solutions", "--with-earlier", "--out", path.join(PROJECT_ROOT, ".workbook-cache", "bench-results.json")]);
  console.log(`  grading ${chapters.at(-1)!.short} --with-earlier (every suite, isolated, as the autograder does): ${graded.seconds.toFixed(1)} s`);
  console.log(`  ${`(bare vitest, one trivial test, run before the suites, the median of ${SUITE_RUNS} runs; ×: each suite's time over it)`.padEnd(10)} ${bare.seconds.toFixed(2).padStart(5)} s`);
  const createNode = loadNodeProgram(path.join(PROJECT_ROOT, "solutions", chapters.at(-1)!.dir, "node.ts"), PROJECT_ROOT).instantiate();
  const started = performance.now();
  const result = figure16Experiment(createNode, 1000, LATENCY_MS);
  const trials = [...result.top, ...result.bottom].reduce((n, r) => n + r.trials, 0);
  console.log(`\nFigure 16 (npm run experiment -- figure16): ${trials} trials in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const checker = linearizabilityBench();
  console.log(
    `\nThe linearizability checker on Porcupine's ${checker.histories} Jepsen etcd histories (parsing included): first run ${checker.first.toFixed(0)} ms, ` +
      `steady ${checker.steady.toFixed(0)} ms (median of three more); ${checker.agreed} of ${checker.histories} verdicts as known`,
  );
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
