/**
 * npm run check: everything that must hold before a change lands.
 *
 *   1. types        tsc over the whole project, strict
 *      house        imports run one way (.dependency-cruiser.cjs), every source file says what it
 *                   is for, and npm install warns about nothing on any declared Node.js version
 *   2. markdown     markdownlint over every Markdown file
 *   3. world        the simulated world's own tests (tests/world); the world's core built for a
 *                   browser page writes the same trace in headless Chromium as in Node.js; the
 *                   cluster's page (npm run visualize) does what its buttons say in headless
 *                   Chromium, and takes the screenshots the README and Chapter 1 show
 *   4. skeletons    chapters/…/node.ts is exactly what scripts/shared/skeletons.ts makes from solutions/
 *   5. diagrams     every diagrams/*.mmd renders
 *   6. solutions    every chapter's suite passes against its reference solution
 *   7. experiment   Chapter 3's reading quotes the split-vote experiment as it runs now, and
 *                   Chapter 7's its fast-backup and Figure 8 (unreliable) measurements; Chapter 3's
 *                   appendix, the paper's Figure 16 (tables and graphs); the failure reports the
 *                   readings quote are what fresh runs of their mutants print
 *   8. later        each reference also passes every earlier chapter's suite
 *   9. skeletons    every graded test fails against the untouched skeleton
 *  10. mutants      each classic mistake, planted in a copy of the reference, loses points
 *  11. loaded       a buggy node, a flooding node and a reference graded on a loaded machine get
 *                   the same verdicts, scores and failures as on a quiet one (isolated or not)
 *  12. planted      the worst a learner's node.ts can do (hang, eat memory, not load, break the
 *                   contract, cheat, get out of its sandbox: the red team) ends with the pinned
 *                   report, in time, the same in practice runs, by hand and through the autograder
 *  13. instructors  the grading manifest and INSTRUCTORS.md's test list are current; the suites
 *                   pass on other seeds; the Gradescope autograder, --seed-base, the tamper
 *                   warning and --with-earlier do what INSTRUCTORS.md says; a class grades in one
 *                   command; the student edition works without solutions/, its browser UI
 *                   included, and an edition through Chapter 3 quotes no reference code
 *
 * It ends by writing the number of graded tests that passed and failed
 * against the solutions to .workbook-cache/check-summary.txt, which
 * .ci/run prints as its last line.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import { listChapters, PROJECT_ROOT, runMain, UsageError, type Chapter } from "../shared/chapters.mjs";
import { parseCommand } from "../shared/cli.mjs";
import { findBrowser, NO_BROWSER, renderDiagrams } from "../learner/diagrams.ts";
import { MUTANTS, writeMutant } from "./mutants.ts";
import { quotedReports } from "./quoted-reports.ts";
import { checkPlanted, PLANTED } from "./planted.ts";
import type { GradescopeResults } from "../shared/report.mjs";
import { outdatedSkeletons } from "../shared/skeletons.ts";
import { figure16Experiment, figure16Note, figure16Table } from "../learner/experiment.ts";
import { figure16Graphs } from "../learner/figure16-plot.ts";
import { LATENCY_MS } from "../../scenarios/figure16.ts";
import { cutOffMinorityExperiment, cutOffMinorityLine, fastBackupExperiment, fastBackupLine, figure8UnreliableExperiment, figure8UnreliableLine, loadSplitVoteExperiment, splitVoteExperiment, splitVoteTable } from "../learner/experiment.ts";
import { loadNodeProgram } from "../../sandbox/node-program.ts";
import { GUIDE, guideWith, README, readmeWith } from "../instructor/instructors-guide.ts";
import { allChapterAgreementProblems } from "./chapter-checks.ts";
import { checkCompare, checkDemo, checkProgress } from "./learner-checks.ts";
import { checkWorldInABrowserPage } from "./browser-checks.ts";
import { checkVisualizer } from "./visualizer-checks.ts";
import { playDemo } from "../learner/demo.ts";
import { stepScores, stepScoreTable } from "./step-scores.ts";
import { checkImportsRunOneWay, checkInstallIsQuiet, checkOpeningComments } from "./house-checks.ts";
import { checkClassGrading, checkEditionThrough, checkGradescope, checkManifestCurrent, checkSeedBase, checkStudentEdition, checkTamperedSuites, checkWithEarlier } from "./instructor-checks.ts";

const CACHE = path.join(PROJECT_ROOT, ".workbook-cache");
const BIN = path.join(PROJECT_ROOT, "node_modules", ".bin");

interface StepResult {
  readonly ok: boolean;
  readonly summary: string;
}

type TestOutcome = GradescopeResults["tests"][number];

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number; output: string } {
  const result = spawnSync(command, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env, NO_COLOR: "1" }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Randomized runs in the check (learners' default is 100, for speed). */
const CHECK_RANDOM_RUNS = "1000";

/** Run chapters' suites against some code, through the grade command, and read back each test's outcome. */
/** Each run's summary (results.json's output: the chapters, then the failures, the most specific first), by label. */
const summaries = new Map<string, string>();

function runSuites(chapters: readonly Chapter[], subject: string[], label: string, env: NodeJS.ProcessEnv = {}, inProcess = true): Promise<TestOutcome[]> {
  const out = path.join(CACHE, `results-${label}.json`);
  rmSync(out, { force: true });
  // The project's own code (references, mutants of them): graded in the test process, as practice runs are.
  const args = [path.join("scripts", "learner", "suites.mjs"), "grade", ...chapters.map((c) => c.short), ...subject, ...(inProcess ? ["--in-process"] : []), "--out", out];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", () => {
      try {
        const results = JSON.parse(readFileSync(out, "utf8")) as GradescopeResults;
        summaries.set(label, results.output);
        resolve(results.tests);
      } catch {
        reject(new Error(`the suites did not run (${label}):\n${output}`));
      }
    });
  });
}

/** The tests of a run of runSuites, read back from its results.json. */
function readResults(label: string): TestOutcome[] {
  const file = path.join(CACHE, `results-${label}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as GradescopeResults).tests : [];
}

/** Run tasks with at most one per core at a time. */
async function inParallel<T, R>(items: readonly T[], task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(cpus().length, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

const steps: { name: string; run: () => StepResult | Promise<StepResult> }[] = [];
let solutionOutcomes: TestOutcome[] = [];

steps.push({
  name: "types (tsc, strict)",
  run: () => {
    const { status, output } = run(path.join(BIN, "tsc"), ["-p", "."]);
    return { ok: status === 0, summary: status === 0 ? "no type errors" : output.trim() };
  },
});

steps.push({ name: "imports run one way, with no circles (dependency-cruiser, .dependency-cruiser.cjs)", run: () => checkImportsRunOneWay() });
steps.push({ name: "every source file opens with a comment that says what it is for", run: () => checkOpeningComments() });
steps.push({ name: "npm install warns about nothing on the Node.js versions package.json declares", run: () => checkInstallIsQuiet() });

steps.push({
  name: "the grading manifest lists the files that grade, as they are",
  run: () => checkManifestCurrent(),
});

steps.push({
  name: "markdown (markdownlint)",
  run: () => {
    const { status, output } = run(path.join(BIN, "markdownlint"), ["**/*.md", "--ignore", "node_modules", "--ignore", ".workbook-cache"]);
    return { ok: status === 0, summary: status === 0 ? "every Markdown file is clean" : output.trim() };
  },
});

steps.push({
  name: "the simulated world's own tests",
  run: () => {
    const { status, output } = run(path.join(BIN, "vitest"), ["run", "tests/world"], { RAFT_SCORE: "off" });
    const summary = /Tests\s+(.+)/.exec(output)?.[1]?.trim() ?? "";
    return { ok: status === 0, summary: status === 0 ? summary : output.trim() };
  },
});

steps.push({
  name: "the world's core runs in a browser page, and the same seed writes the same trace there as in Node.js",
  run: () => checkWorldInABrowserPage(),
});

steps.push({
  name: "the cluster in a browser page (npm run visualize): its buttons, timeline, links, a stuck node and a failing test's replay, in headless Chromium",
  run: () => checkVisualizer(),
});

steps.push({
  name: "skeletons match the solutions",
  run: () => {
    const outdated = outdatedSkeletons();
    return outdated.length === 0
      ? { ok: true, summary: `${listChapters().reduce((n, c) => n + c.files.length, 0)} skeleton files are exactly what scripts/shared/skeletons.ts makes` }
      : { ok: false, summary: `out of date: ${outdated.join(", ")}; run: npm run skeletons -- --write` };
  },
});

steps.push({
  name: "diagrams render",
  run: async () => {
    if (!findBrowser()) return { ok: false, summary: NO_BROWSER };
    const written = await renderDiagrams(path.join(CACHE, "diagrams"));
    const empty = written.filter((file) => !readFileSync(file, "utf8").includes("<svg"));
    return empty.length === 0 ? { ok: true, summary: `${written.length} diagrams rendered to SVG` } : { ok: false, summary: `no SVG in ${empty.join(", ")}` };
  },
});

steps.push({
  name: "a replayed run draws to SVG through the project's command (npm run replay -- ... --svg)",
  run: () => {
    if (!findBrowser()) return { ok: false, summary: NO_BROWSER };
    const svg = path.join(CACHE, "replay.svg");
    rmSync(svg, { force: true });
    const { status, output } = run(process.execPath, [path.join("scripts", "learner", "suites.mjs"), "replay", "chapter1", "--seed", "7", "--test", "on timeout a follower becomes candidate", "--solutions", "--svg", svg]);
    const ok = status === 0 && existsSync(svg) && readFileSync(svg, "utf8").includes("<svg") && readFileSync(svg, "utf8").includes("RequestVote");
    return ok ? { ok: true, summary: `a Chapter 1 run drawn to ${path.relative(PROJECT_ROOT, svg)}` } : { ok: false, summary: output.trim() };
  },
});

steps.push({
  name: "every suite passes against its reference solution",
  run: async () => {
    solutionOutcomes = await runSuites(listChapters(), ["--solutions"], "solutions", { RAFT_RANDOM_RUNS: CHECK_RANDOM_RUNS });
    const failed = solutionOutcomes.filter((t) => t.status !== "passed");
    const points = solutionOutcomes.reduce((sum, t) => sum + t.max_score, 0);
    return failed.length === 0
      ? { ok: true, summary: `${solutionOutcomes.length} graded tests, ${points} points, all earned; each randomized test made ${CHECK_RANDOM_RUNS} runs (Chapter 8's: ${CHECK_RANDOM_RUNS} fault runs with clients, every history linearizable, no acknowledged write lost)` }
      : { ok: false, summary: failed.map((t) => `${t.name}\n${indent(t.output)}`).join("\n") };
  },
});

steps.push({
  name: "Chapter 3's appendix quotes Figure 16 as it runs today: both tables and both graphs",
  run: async () => {
    const program = loadNodeProgram(path.join(PROJECT_ROOT, "solutions", listChapters().at(-1)!.dir, "node.ts"), PROJECT_ROOT);
    const createNode = program.instantiate();
    const reading = readFileSync(path.join(PROJECT_ROOT, "chapters", "chapter3-split-votes", "README.md"), "utf8");
    const problems: string[] = [];
    for (const latency of [LATENCY_MS, [2, 3] as const]) {
      const result = figure16Experiment(createNode, 1000, latency);
      const table = figure16Table(result);
      if (!reading.includes(table)) problems.push(`the appendix's table for ${latency.join("-")} ms differs from a fresh run; paste this into chapters/chapter3-split-votes/README.md:\n${table}`);
      if (latency === LATENCY_MS) continue;
      // The graphs are those of the setting that closes the gap (npm run experiment -- figure16 --solutions --latency 2-3 --out diagrams --name chapter3-figure16).
      const note = figure16Note(program.label, latency, 1000, result.top);
      const { top, bottom } = await figure16Graphs(result, note);
      for (const [file, svg] of [["chapter3-figure16-top.svg", top], ["chapter3-figure16-bottom.svg", bottom]] as const) {
        const shipped = path.join(PROJECT_ROOT, "diagrams", file);
        if (!existsSync(shipped) || readFileSync(shipped, "utf8") !== svg) problems.push(`diagrams/${file} is not what a fresh run draws; remake it with npm run experiment -- figure16 --solutions --latency 2-3 --out diagrams --name chapter3-figure16`);
      }
    }
    return problems.length === 0
      ? { ok: true, summary: "Figure 16 at 5-10 ms and 2-3 ms one way: both tables and both graphs match fresh runs (about 20 000 trials)" }
      : { ok: false, summary: problems.join("\n") };
  },
});

steps.push({
  name: "Chapter 7's reading quotes its measurements as they run today",
  run: async () => {
    const reading = readFileSync(path.join(PROJECT_ROOT, "chapters", "chapter7-hostile-network", "README.md"), "utf8");
    const problems: string[] = [];
    for (const dir of ["chapter6-persistence", "chapter7-hostile-network"]) {
      const createNode = loadNodeProgram(path.join(PROJECT_ROOT, "solutions", dir, "node.ts"), PROJECT_ROOT).instantiate();
      for (const line of [fastBackupLine(fastBackupExperiment(createNode, 20)), figure8UnreliableLine(figure8UnreliableExperiment(createNode, 200))]) {
        if (!reading.includes(line)) problems.push(`the reading should quote this fresh run of solutions/${dir}:\n    ${line}`);
      }
    }
    return problems.length === 0
      ? { ok: true, summary: "the fast-backup and Figure 8 (unreliable) lines of Chapters 6 and 7 match fresh runs of npm run experiment" }
      : { ok: false, summary: problems.join("\n") };
  },
});

steps.push({
  name: "the readings quote failure reports as a fresh run prints them (scripts/maintainer/quoted-reports.ts)",
  run: () => {
    const quotes = quotedReports();
    const stale = quotes.filter((q) => q.quoted !== q.fresh);
    return stale.length === 0
      ? { ok: true, summary: `${quotes.length} quoted reports (${quotes.map((q) => `${path.basename(path.dirname(q.reading))}: ${q.mutant}`).join(", ")}) are what a fresh run prints` }
      : {
          ok: false,
          summary:
            stale.map((q) => `${q.reading}: the quote of mutant ${q.mutant}'s failure ${q.failure} differs from a fresh run, which prints:\n${indent(q.fresh)}`).join("\n") +
            "\nIf the new report is right, rewrite the quotes with: npx tsx scripts/maintainer/quoted-reports.ts --write",
        };
  },
});

steps.push({
  name: "Chapter 3's reading and chart quote its experiments as they run today",
  run: async () => {
    const reference = path.join(PROJECT_ROOT, "solutions", "chapter3-split-votes");
    const experiment = loadSplitVoteExperiment(path.join(reference, "experiment.ts"));
    const rows = splitVoteExperiment(experiment, loadNodeProgram(path.join(reference, "node.ts"), PROJECT_ROOT).instantiate(), 1000);
    const table = splitVoteTable(rows);
    const readingFile = path.join(PROJECT_ROOT, "chapters", "chapter3-split-votes", "README.md");
    const reading = readFileSync(readingFile, "utf8");
    const problems: string[] = [];
    if (!reading.includes(table)) problems.push(`the reading's table differs from a fresh run; paste this into chapters/chapter3-split-votes/README.md:\n${table}`);
    // The chart: bars are the 99th percentiles, the line the medians, of the ranges with some randomness.
    const random = rows.slice(1);
    const chart = readFileSync(path.join(PROJECT_ROOT, "diagrams", "chapter3-experiment.mmd"), "utf8");
    const bar = `bar [${random.map((r) => r.summary.p99Downtime).join(", ")}]`;
    const line = `line [${random.map((r) => r.summary.medianDowntime).join(", ")}]`;
    if (!chart.includes(bar) || !chart.includes(line)) problems.push(`diagrams/chapter3-experiment.mmd should say:\n    ${bar}\n    ${line}`);
    // Chapter 2's node against Chapter 3's, when all three nodes of a majority must agree.
    for (const dir of ["chapter2-request-vote", "chapter3-split-votes"]) {
      const result = cutOffMinorityExperiment(loadNodeProgram(path.join(PROJECT_ROOT, "solutions", dir, "node.ts"), PROJECT_ROOT).instantiate(), 1000);
      const quoted = `${result.median} ms`;
      const tail = [`${result.p99} ms`, `${result.worst} ms`];
      if (![quoted, ...tail].every((n) => reading.replace(/\s+/g, " ").includes(n))) {
        problems.push(`the reading should quote the cut-off-minority run of solutions/${dir}: ${cutOffMinorityLine(result)}`);
      }
    }
    return problems.length === 0
      ? { ok: true, summary: "the table, the chart and the cut-off-minority numbers match fresh runs of npm run experiment" }
      : { ok: false, summary: problems.join("\n") };
  },
});

steps.push({
  name: "each reference passes every earlier chapter's suite",
  run: async () => {
    const chapters = listChapters();
    const problems: string[] = [];
    let runs = 0;
    const later = chapters.slice(1);
    const all = await inParallel(later, (chapter) =>
      runSuites(chapters.filter((c) => c.number < chapter.number), ["--node", path.join("solutions", chapter.dir, "node.ts")], `later-${chapter.short}`),
    );
    all.forEach((outcomes, i) => {
      runs += outcomes.length;
      for (const t of outcomes) if (t.status !== "passed") problems.push(`solutions/${later[i]!.dir} fails ${t.name}\n${indent(t.output)}`);
    });
    return problems.length === 0 ? { ok: true, summary: `${runs} earlier-chapter tests passed by later references` } : { ok: false, summary: problems.join("\n") };
  },
});

steps.push({
  name: "every graded test fails against the untouched skeleton",
  run: async () => {
    const outcomes = await runSuites(listChapters(), [], "skeletons");
    const passing = outcomes.filter((t) => t.status === "passed");
    const expected = listChapters().reduce((n, c) => n + (solutionOutcomes.filter((t) => t.name.startsWith(`${c.short}:`)).length), 0);
    if (outcomes.length !== expected) return { ok: false, summary: `${outcomes.length} tests ran against the skeletons but ${expected} against the solutions` };
    return passing.length === 0
      ? { ok: true, summary: `all ${outcomes.length} graded tests fail on the skeletons (0 points each)` }
      : { ok: false, summary: `these tests pass on the untouched skeleton, so they earn points for nothing:\n${passing.map((t) => `  ${t.name}`).join("\n")}` };
  },
});

steps.push({
  name: "chapter files, readings, markers and tests agree (one source of truth per chapter)",
  run: () => {
    const problems = allChapterAgreementProblems((c) => {
      const own = solutionOutcomes.filter((t) => t.name.startsWith(`${c.short}: `));
      return own.length > 0 ? own.reduce((sum, t) => sum + t.max_score, 0) : undefined;
    });
    return problems.length === 0
      ? { ok: true, summary: `${listChapters().length} chapters: step headings, markers, tests' steps and points all as their chapter files say` }
      : { ok: false, summary: problems.join("\n") };
  },
});

steps.push({
  name: "the score rises with every step written, as each chapter file says (npm run step-scores)",
  run: async () => {
    const results = await stepScores(listChapters());
    const problems = results.flatMap((r) => r.problems.map((p) => `${r.chapter.short}: ${p}`));
    const tables = results.map(stepScoreTable).join("\n");
    return problems.length === 0
      ? { ok: true, summary: `${results.reduce((n, r) => n + r.scores.length, 0)} partial nodes graded; every step raises the score, and every test starts passing at its step\n${tables}` }
      : { ok: false, summary: `${problems.join("\n")}\n${tables}` };
  },
});

steps.push({
  name: "each planted mistake loses points",
  run: async () => {
    const lines: string[] = [];
    const survivors: string[] = [];
    const outcomesPerMutant = await inParallel(MUTANTS, (mutant) => {
      const file = writeMutant(mutant, path.join(CACHE, "mutants"));
      const chapters = listChapters().filter((c) => mutant.suites.includes(c.short));
      // A mutant is a node: Chapter 3's experiment tests use the reference experiment.
      return runSuites(chapters, ["--node", file], `mutant-${mutant.name}`, { RAFT_EXPERIMENT_ROOT: "solutions" });
    });
    for (const [i, mutant] of MUTANTS.entries()) {
      const outcomes = outcomesPerMutant[i]!;
      const failed = outcomes.filter((t) => t.status !== "passed");
      const lost = failed.reduce((sum, t) => sum + t.max_score, 0);
      if (failed.length === 0) survivors.push(`${mutant.name}: ${mutant.mistake}`);
      // Some mistakes must be named by the first failure the report prints.
      const first = /\n1\. (.*)/.exec(summaries.get(`mutant-${mutant.name}`) ?? "")?.[1] ?? "";
      const named = mutant.firstFailureNames === undefined || first.includes(mutant.firstFailureNames);
      if (!named) survivors.push(`${mutant.name}: the first failure should name "${mutant.firstFailureNames}"; it says: ${first}`);
      lines.push(
        `  ${failed.length === 0 || !named ? pc.red("survived") : "caught  "} ${mutant.name.padEnd(34)} loses ${String(lost).padStart(3)} points (${failed.length} test${failed.length === 1 ? "" : "s"})` +
          (mutant.firstFailureNames ? `; first failure: ${mutant.firstFailureNames}` : ""),
      );
    }
    if (MUTANTS.length === 0) return { ok: true, summary: "no mutants defined yet" };
    return survivors.length === 0
      ? { ok: true, summary: `all ${MUTANTS.length} mutants caught\n${lines.join("\n")}` }
      : { ok: false, summary: `not caught (or not named first):\n${survivors.map((s) => `  ${s}`).join("\n")}\n${lines.join("\n")}` };
  },
});

steps.push({
  name: "a grade is the same on a loaded machine: the same verdicts, scores and failures as on a quiet one, isolated or not",
  run: async () => {
    // More busy processes than cores, for as long as the runs take.
    const busy = Array.from({ length: cpus().length + 1 }, () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
    const problems: string[] = [];
    const lines: string[] = [];
    try {
      const mutantFile = (name: string): string => writeMutant(MUTANTS.find((m) => m.name === name)!, path.join(CACHE, "mutants"));
      const cases: { label: string; quiet: () => TestOutcome[]; loaded: () => Promise<TestOutcome[]> }[] = [
        {
          label: "conflict-index-not-walked-back on chapter7",
          quiet: () => readResults("mutant-conflict-index-not-walked-back"),
          loaded: () => runSuites(listChapters().filter((c) => c.short === "chapter7"), ["--node", mutantFile("conflict-index-not-walked-back")], "loaded-conflict"),
        },
        {
          label: "heartbeat-on-every-reply (a flood) on chapter4",
          quiet: () => readResults("mutant-heartbeat-on-every-reply"),
          loaded: () => runSuites(listChapters().filter((c) => c.short === "chapter4"), ["--node", mutantFile("heartbeat-on-every-reply")], "loaded-flood"),
        },
        {
          label: "the chapter7 reference, 1000 randomized runs",
          quiet: () => solutionOutcomes.filter((t) => t.name.startsWith("chapter7:")),
          loaded: () => runSuites(listChapters().filter((c) => c.short === "chapter7"), ["--solutions"], "loaded-reference", { RAFT_RANDOM_RUNS: CHECK_RANDOM_RUNS }),
        },
        {
          label: "half-is-majority on chapter2, isolated as a grade runs it (quiet: in the test process)",
          quiet: () => readResults("mutant-half-is-majority"),
          loaded: () => runSuites(listChapters().filter((c) => c.short === "chapter2"), ["--node", mutantFile("half-is-majority")], "loaded-isolated", {}, false),
        },
      ];
      for (const c of cases) {
        const started = Date.now();
        const loaded = await c.loaded();
        const quiet = c.quiet();
        const differ = loaded.filter((t) => {
          const q = quiet.find((u) => u.name === t.name);
          return q === undefined || q.status !== t.status || q.score !== t.score || q.output !== t.output;
        });
        if (differ.length > 0 || loaded.length !== quiet.length || quiet.length === 0) problems.push(`${c.label}: ${differ.length} of ${loaded.length} tests differ from the quiet run (${differ.map((t) => t.name).join("; ") || "the list of tests"})`);
        const failed = loaded.filter((t) => t.status !== "passed");
        lines.push(`  ${c.label}: ${loaded.length} tests, ${failed.length} failed, each as on a quiet machine (${((Date.now() - started) / 1000).toFixed(1)} s under load)`);
      }
    } finally {
      for (const child of busy) child.kill("SIGKILL");
    }
    return problems.length === 0 ? { ok: true, summary: `with ${busy.length} busy processes on ${cpus().length} cores:\n${lines.join("\n")}` } : { ok: false, summary: `${problems.join("\n")}\n${lines.join("\n")}` };
  },
});

steps.push({
  name: "planted mistakes and cheats end with the pinned report (npm run planted)",
  run: async () => {
    const outcomes = await checkPlanted(PLANTED, false);
    const lines = outcomes.map((o) => `  ${o.problems.length === 0 ? "ok    " : pc.red("FAILED")} ${o.planted.name.padEnd(28)} ${o.seconds.toFixed(1).padStart(5)} s${o.problems.map((p) => `\n           ${p}`).join("")}`);
    const failed = outcomes.filter((o) => o.problems.length > 0);
    return { ok: failed.length === 0, summary: `${outcomes.length - failed.length} of ${outcomes.length} planted cases as pinned\n${lines.join("\n")}` };
  },
});

steps.push({
  name: "INSTRUCTORS.md and the README's chapter table are made from the chapter files and suites (npm run instructors-guide)",
  run: () => {
    const stale: string[] = [];
    for (const [file, expected] of [
      [GUIDE, guideWith(solutionOutcomes)],
      [README, readmeWith()],
    ] as const) {
      if (readFileSync(file, "utf8") === expected) continue;
      writeFileSync(file, expected);
      stale.push(path.relative(PROJECT_ROOT, file));
    }
    return stale.length === 0
      ? { ok: true, summary: `${solutionOutcomes.length} tests and ${listChapters().length} chapters listed, as the chapter files and suites have them` }
      : { ok: false, summary: `${stale.join(" and ")} differed from the chapter files and suites; rewritten now: commit the change` };
  },
});

steps.push({
  name: "every suite passes against its reference solution on other seeds (--seed-base 90210)",
  run: async () => {
    const outcomes = await runSuites(listChapters(), ["--solutions", "--seed-base", "90210"], "solutions-other-seeds");
    const failed = outcomes.filter((t) => t.status !== "passed");
    return failed.length === 0
      ? { ok: true, summary: `${outcomes.length} graded tests passed with every seed moved by 90210` }
      : { ok: false, summary: failed.map((t) => `${t.name}\n${indent(t.output)}`).join("\n") };
  },
});

steps.push({ name: "npm run progress is right for finished, half-finished and untouched chapters", run: () => checkProgress() });
steps.push({ name: "npm run compare sets your code beside the reference, test by test and step by step", run: () => checkCompare() });
steps.push({
  name: "npm run demo: every caption is true of its run, on 40 seeds",
  run: () => checkDemo(playDemo, (file) => loadNodeProgram(file, PROJECT_ROOT).instantiate()),
});
steps.push({ name: "the Gradescope autograder grades the submitted node.ts and nothing else", run: () => checkGradescope() });
steps.push({ name: "a base seed moves every seed (npm run grade -- --seed-base)", run: () => checkSeedBase() });
steps.push({ name: "grade flags suites that are not the shipped ones", run: () => checkTamperedSuites() });
steps.push({ name: "--with-earlier catches what only an earlier suite sees", run: () => checkWithEarlier() });
steps.push({ name: "the student edition works without solutions/ (tests, typecheck, replay, hint, watch, browser UI)", run: () => checkStudentEdition() });
steps.push({ name: "an edition through one chapter holds only what is released, quotes no reference code, and names only commands it has", run: () => checkEditionThrough() });
steps.push({ name: "a class grades in one command: one CSV, each student's results, and the reference's text found in each", run: () => checkClassGrading() });

/** Indent text under a step's line, keeping at most `maxLines` of it. */
function indent(text: string, maxLines = 12): string {
  return text
    .split("\n")
    .slice(0, maxLines)
    .map((l) => `      ${l}`)
    .join("\n");
}

await runMain(async () => {
  const { positionals } = parseCommand({ usage: "npm run check", options: {}, more: "It takes no options: it runs every check (see the top of scripts/maintainer/check.ts)." }, process.argv.slice(2));
  if (positionals.length > 0) throw new UsageError(`npm run check takes no arguments (got ${positionals.join(" ")}). It runs every check; see the top of scripts/maintainer/check.ts.`);
  mkdirSync(CACHE, { recursive: true });
  const summaryFile = path.join(CACHE, "check-summary.txt");
  rmSync(summaryFile, { force: true });
  let failures = 0;
  for (const [i, step] of steps.entries()) {
    const started = Date.now();
    process.stdout.write(`${pc.bold(`[${i + 1}/${steps.length}]`)} ${step.name} ... `);
    let result: StepResult;
    try {
      result = await step.run();
    } catch (error) {
      result = { ok: false, summary: error instanceof Error ? error.message : String(error) };
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${result.ok ? pc.green("ok") : pc.red("FAILED")} (${seconds} s)\n${indent(result.summary, Infinity)}`);
    if (!result.ok) failures++;
  }
  const passed = solutionOutcomes.filter((t) => t.status === "passed").length;
  const failed = solutionOutcomes.length - passed;
  writeFileSync(summaryFile, `${passed} passed, ${failed} failed\n`);
  console.log(failures === 0 ? pc.green(pc.bold("\nAll checks passed.")) : pc.red(pc.bold(`\n${failures} check(s) failed.`)));
  console.log(`Graded tests against the solutions: ${passed} passed, ${failed} failed`);
  return failures === 0 ? 0 : 1;
});

