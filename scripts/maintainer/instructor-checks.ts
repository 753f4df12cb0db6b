/**
 * The check's proofs that grading can be trusted and a course can be set
 * up from the workbook alone (INSTRUCTORS.md): the Gradescope autograder
 * grades what it should and nothing else, a base seed moves every seed,
 * grade notices edited suites, --with-earlier catches a regression only
 * an earlier suite sees, the student edition works without solutions/,
 * and the browser UI serves the tests with their points.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer";
import { listChapters, PROJECT_ROOT, resolveChapters } from "../shared/chapters.mjs";
import { findBrowser, NO_BROWSER } from "../learner/diagrams.ts";
import { makeAutograder } from "../instructor/gradescope.ts";
import { computeManifest, MANIFEST_FILE, writeManifest } from "../shared/manifest.mjs";
import { MUTANTS, mutantSource } from "./mutants.ts";
import type { GradescopeResults } from "../shared/report.mjs";
import { makeScratchProject } from "../shared/scratch.ts";
import { gradeClass } from "../instructor/grade-class.ts";
import { similarity } from "../instructor/similarity.ts";
import { LEARNER_SCRIPT_FOLDERS, makeStudentEdition } from "../instructor/student-edition.ts";
import { makeChapterSkeletons } from "../shared/skeletons.ts";
import type { CheckResult } from "./learner-checks.ts";
import { checkVisualizerInEdition } from "./visualizer-checks.ts";
import { startServer } from "./servers.ts";

const CACHE = path.join(PROJECT_ROOT, ".workbook-cache", "instructors");

interface Run {
  readonly status: number;
  readonly output: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env, NO_COLOR: "1" }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

function results(file: string): GradescopeResults | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as GradescopeResults) : undefined;
}

function mutant(name: string): string {
  const found = MUTANTS.find((m) => m.name === name);
  if (!found) throw new Error(`no mutant ${name}`);
  return mutantSource(found);
}

/** The manifest lists exactly the files that grade today; a stale one is rewritten (commit it). */
export function checkManifestCurrent(): CheckResult {
  const file = path.join(PROJECT_ROOT, MANIFEST_FILE);
  const now = `${JSON.stringify(computeManifest(PROJECT_ROOT), null, 2)}\n`;
  if (existsSync(file) && readFileSync(file, "utf8") === now) return { ok: true, summary: `${MANIFEST_FILE} lists the ${Object.keys(JSON.parse(now)).length} files that grade, as they are` };
  writeManifest(PROJECT_ROOT);
  return { ok: false, summary: `${MANIFEST_FILE} was out of date (tests/, world/, scripts/ or vitest.config.ts changed); it has been rewritten (as npm run manifest does): commit it` };
}

/**
 * The autograder, tried as Gradescope runs it: a node that passes, one
 * that fails, a submission that edited the suites, and one without node.ts.
 */
export function checkGradescope(): CheckResult {
  const base = path.join(CACHE, "gradescope");
  rmSync(base, { recursive: true, force: true });
  const source = makeAutograder(path.join(base, "source"), { chapter: "chapter2", linkNodeModules: true });
  const cases: { name: string; files: Record<string, string>; expect: (r: GradescopeResults | undefined) => string | undefined }[] = [
    {
      name: "a node that passes",
      files: { "chapters/chapter2-request-vote/node.ts": readFileSync(path.join(PROJECT_ROOT, "solutions", "chapter2-request-vote", "node.ts"), "utf8") },
      expect: (r) => (r?.score === 30 && r.max_score === 30 ? undefined : `expected 30 / 30, got ${r?.score} / ${r?.max_score}`),
    },
    {
      name: "a node that fails some tests",
      files: { "node.ts": mutant("half-is-majority") },
      expect: (r) => (r !== undefined && r.score > 0 && r.score < 30 && r.tests.every((t) => t.status === "passed" || t.output !== "") ? undefined : `expected between 0 and 30 with every failure explained, got ${r?.score}`),
    },
    {
      name: "a submission that edits tests/ to pass everything",
      files: {
        "chapters/chapter2-request-vote/node.ts": readFileSync(path.join(PROJECT_ROOT, "chapters", "chapter2-request-vote", "node.ts"), "utf8"),
        "tests/harness/graded.ts": 'import { test } from "vitest";\nexport function graded(points: number, name: string): void { test(name, { meta: { points } }, () => {}); }\n',
      },
      expect: (r) => (r?.score === 0 && r.max_score === 30 ? undefined : `expected 0 / 30 (the skeleton, graded by the pristine tests), got ${r?.score} / ${r?.max_score}`),
    },
    {
      name: "a submission without node.ts",
      files: { "notes.txt": "forgot it" },
      expect: (r) => (r?.score === 0 && /No node\.ts found/.test(r.output) ? undefined : `expected 0 with a message, got ${JSON.stringify(r)}`),
    },
  ];
  const lines: string[] = [];
  let ok = true;
  for (const c of cases) {
    const root = path.join(base, c.name.replace(/\W+/g, "-"));
    mkdirSync(path.join(root, "submission"), { recursive: true });
    symlinkSync(source, path.join(root, "source"), "dir");
    for (const [file, text] of Object.entries(c.files)) {
      mkdirSync(path.dirname(path.join(root, "submission", file)), { recursive: true });
      writeFileSync(path.join(root, "submission", file), text);
    }
    const started = Date.now();
    run("bash", [path.join(source, "run_autograder")], root, { AUTOGRADER_ROOT: root });
    const problem = c.expect(results(path.join(root, "results", "results.json")));
    if (problem) ok = false;
    lines.push(`  ${problem ? "FAILED" : "ok    "} ${c.name} (${((Date.now() - started) / 1000).toFixed(1)} s)${problem ? `: ${problem}` : ""}`);
  }
  return { ok, summary: `run_autograder on a pristine copy (chapter2)\n${lines.join("\n")}` };
}

/** The seeds every failure names, in test order. */
function seedsOf(r: GradescopeResults | undefined): string[] {
  return (r?.tests ?? []).map((t) => /Seed:\s+(.+)/.exec(t.output)?.[1]?.trim() ?? "?");
}

/**
 * A base seed turns every seed (many-seed tests' and randomized runs') into
 * a hash of it: no graded seed is a published one, the base shows nowhere,
 * and --hide-seeds keeps every seed out of results.json while the grader's
 * own output keeps them.
 */
export function checkSeedBase(): CheckResult {
  const base = "the-check-s-base-seed";
  const out0 = path.join(CACHE, "seed-base-none.json");
  const out1 = path.join(CACHE, "seed-base-word.json");
  const out2 = path.join(CACHE, "seed-base-hidden.json");
  mkdirSync(CACHE, { recursive: true });
  // The untouched skeletons fail at the first seed of every test.
  run(process.execPath, ["scripts/learner/suites.mjs", "grade", "chapter1", "chapter5", "--out", out0], PROJECT_ROOT);
  const graded = run(process.execPath, ["scripts/learner/suites.mjs", "grade", "chapter1", "chapter5", "--seed-base", base, "--out", out1], PROJECT_ROOT);
  // Hidden seeds: a node with real failures (an untouched skeleton's wait for a step, and show no seed in the terminal either).
  const buggy = path.join(CACHE, "seed-base-hidden", "node.ts");
  mkdirSync(path.dirname(buggy), { recursive: true });
  writeFileSync(buggy, mutant("timeout-drawn-once"));
  const out3 = path.join(CACHE, "seed-base-hidden-shown.json");
  run(process.execPath, ["scripts/learner/suites.mjs", "grade", "chapter1", "--node", buggy, "--seed-base", base, "--out", out3], PROJECT_ROOT);
  const hidden = run(process.execPath, ["scripts/learner/suites.mjs", "grade", "chapter1", "--node", buggy, "--seed-base", base, "--hide-seeds", "--out", out2], PROJECT_ROOT);
  const before = seedsOf(results(out0));
  const after = seedsOf(results(out1));
  const problems: string[] = [];
  before.forEach((seed, i) => {
    const moved = after[i] ?? "?";
    const numbers = (text: string) => [...text.matchAll(/\d+/g)].map((m) => Number(m[0]));
    const [world, fc] = [numbers(seed)[0], /fast-check seed (\d+)/.exec(seed)?.[1]];
    const [movedWorld, movedFc] = [numbers(moved)[0], /fast-check seed (\d+)/.exec(moved)?.[1]];
    // A randomized test's world seeds come from fast-check, whose seed is made from the base; the others' are made from it themselves.
    if (fc !== undefined) {
      if (movedFc === undefined || Number(movedFc) < 1_000_000 || Number(movedFc) === Number(fc)) problems.push(`test ${i + 1}: fast-check seed ${fc} published, ${movedFc} graded`);
    } else if (world === undefined || movedWorld === undefined || movedWorld < 1_000_000) {
      problems.push(`test ${i + 1}: seed ${seed} published, ${moved} graded (a graded seed is above every published one)`);
    }
  });
  if (before.length === 0) problems.push("no failures to read seeds from");
  const r1 = results(out1);
  if (!/instructor's base seed/.test(r1?.output ?? "")) problems.push("results.json does not say it was graded on a base seed");
  for (const [what, text] of [["grade's output", graded.output], ["results.json", JSON.stringify(r1 ?? {})], ["results.json with --hide-seeds", readFileSync(out2, "utf8")]] as const) {
    if (text.includes(base)) problems.push(`${what} shows the base seed itself`);
  }
  const r2 = results(out2);
  const shown = (r2?.tests ?? []).filter((t) => /Seed:\s+\d|--seed \d|seed \d/.test(t.output));
  if (shown.length > 0) problems.push(`with --hide-seeds, results.json still shows seeds in ${shown.length} tests (${shown[0]!.name})`);
  if (r2?.stdout_visibility !== "hidden") problems.push("with --hide-seeds, results.json lets students see the grader's output");
  const shownSeeds = seedsOf(results(out3)).filter((seed) => seed !== "?");
  if (shownSeeds.length === 0) problems.push("the buggy node graded with seeds shown failed no test with a seed");
  if (!shownSeeds.every((seed) => hidden.output.includes(`Seed:        ${seed}`))) problems.push("with --hide-seeds, the grader's own output (the instructor's copy) lost the seeds");
  return problems.length === 0
    ? { ok: true, summary: `with --seed-base every one of ${before.length} tests of chapter1 and chapter5 ran seeds made from the base (none a published one; randomized runs included), the base shows nowhere, and --hide-seeds keeps the seeds for the instructor alone` }
    : { ok: false, summary: problems.join("\n") };
}

/** grade flags edited suites in its output and in results.json. */
export function checkTamperedSuites(): CheckResult {
  const dir = makeScratchProject(path.join(CACHE, "tampered"), { chapters: "skeletons" });
  const harness = path.join(dir, "tests", "harness", "graded.ts");
  // One changed line: every test passes, whatever the node does.
  writeFileSync(harness, readFileSync(harness, "utf8").replace("      const result = runWithRealTimeLimit(limit, body, BACKSTOP_MS);", "      const result = undefined as unknown;"));
  const out = path.join(dir, "results.json");
  const graded = run(process.execPath, ["scripts/learner/suites.mjs", "grade", "chapter2", "--out", out], dir);
  const r = results(out);
  const flagged = /WARNING: the files that grade a node are not the ones the workbook shipped[\s\S]*changed: tests\/harness\/graded\.ts/;
  const problems = [
    ...(r?.score === 30 ? [] : [`the edited harness was expected to score the skeleton 30 / 30 (so that the warning matters), got ${r?.score}`]),
    ...(flagged.test(graded.output) ? [] : ["grade's output does not flag tests/harness/graded.ts"]),
    ...(flagged.test(r?.output ?? "") ? [] : ["results.json does not flag tests/harness/graded.ts"]),
  ];
  return problems.length === 0 ? { ok: true, summary: "an edited harness (one line: the skeleton scores 30 / 30) is flagged in grade's output and in results.json" } : { ok: false, summary: problems.join("\n") };
}

/** Two Chapter 4 mistakes in a finished Chapter 5 node: full points on Chapter 5, caught by --with-earlier. */
export function checkWithEarlier(): CheckResult {
  const lines: string[] = [];
  let ok = true;
  for (const name of ["late-candidate-ignores-leader", "late-first-heartbeat-waits"]) {
    const dir = path.join(CACHE, `with-earlier-${name}`);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "node.ts");
    writeFileSync(file, mutant(name));
    const out = path.join(dir, "results.json");
    // Mutants of the references: the project's own code, graded in-process (the red team proves isolation scores the same).
    const graded = run(process.execPath, ["scripts/learner/suites.mjs", "grade", "chapter5", "--node", file, "--with-earlier", "--in-process", "--out", out], PROJECT_ROOT);
    const r = results(out);
    const main = (r?.tests ?? []).filter((t) => t.name.startsWith("chapter5:"));
    const regression = (r?.tests ?? []).filter((t) => t.name.startsWith("chapter5 regression"));
    const mainScore = main.reduce((s, t) => s + t.score, 0);
    const lost = regression.filter((t) => t.status !== "passed");
    // The regression section grades the node only (no test of Chapter 3's experiment.ts), and the grade is printed last.
    const experimentTests = regression.filter((t) => /chapter3: a (trial|summary)/.test(t.name));
    const last = graded.output.trim().split("\n").slice(-3).join("\n");
    const gradeLast = new RegExp(`total +${r?.score} / ${r?.max_score}\\n─+$`).test(last);
    const good = mainScore === 50 && lost.length > 0 && lost.every((t) => t.name.startsWith("chapter5 regression chapter4:")) && experimentTests.length === 0 && gradeLast;
    if (!good) ok = false;
    lines.push(
      `  ${good ? "ok    " : "FAILED"} ${name}: ${mainScore} / 50 on chapter5; the regression section fails ${lost.length} test(s): ${lost.map((t) => t.name.replace(/^chapter5 regression /, "")).join("; ")}` +
        `${experimentTests.length > 0 ? `; it runs Chapter 3's experiment tests (${experimentTests.length})` : ""}${gradeLast ? "" : `; the last lines are not the grade:\n${last}`}`,
    );
  }
  return { ok, summary: `grade -- chapter5 --with-earlier (the regression section grades the node only; the whole grade is printed last)\n${lines.join("\n")}` };
}


/** The browser UI serves until stopped; its page lists the chapter's tests with their points. */
export async function checkUi(dir: string): Promise<CheckResult> {
  const executablePath = findBrowser();
  if (!executablePath) return { ok: false, summary: NO_BROWSER };
  const server = await startServer(["test", "--", "chapter1", "--ui"], dir, /(http:\/\/localhost:\d+\/__vitest__\/)/, 60_000);
  const url = server.match[1]!;
  const problems: string[] = [];
  try {
    const browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const page = await browser.newPage();
      await page.goto(url, { waitUntil: "networkidle0", timeout: 30_000 });
      await page.waitForFunction('document.body.innerText.includes("pts ·")', { timeout: 30_000 });
      // It still serves a while later (`--ui` alone used to exit at once).
      await new Promise((r) => setTimeout(r, 2000));
      await page.reload({ waitUntil: "networkidle0", timeout: 30_000 });
      await page.waitForFunction('document.body.innerText.includes("pts ·")', { timeout: 30_000 });
      const text = (await page.evaluate("document.body.innerText")) as string;
      const expected = ["2 pts · a node boots as a follower", "3 pts · election timeouts are random", "3 pts · one timeout, one election"];
      for (const line of expected) if (!text.includes(line)) problems.push(`the page does not list "${line}…"`);
      const listed = (text.match(/\d+ pts? · /g) ?? []).length;
      if (listed !== 8) problems.push(`the page lists ${listed} tests with points; Chapter 1 has 8`);
    } finally {
      await browser.close();
    }
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    await server.stop();
  }
  return problems.length === 0 ? { ok: true, summary: `npm test -- chapter1 --ui served ${url} and kept serving; in headless Chromium it lists Chapter 1's 8 tests, each with its points` } : { ok: false, summary: problems.join("\n") };
}

/** The student edition: no solutions, no pointer to them, and every learner command works. */
export async function checkStudentEdition(): Promise<CheckResult> {
  const dir = path.join(CACHE, "student-edition");
  rmSync(dir, { recursive: true, force: true });
  makeStudentEdition(dir, { linkNodeModules: true });
  const problems: string[] = [];
  const lines: string[] = [];
  if (existsSync(path.join(dir, "solutions"))) problems.push("solutions/ is there");
  // No reading, no README, no help text points to the reference.
  const pointers = run("grep", ["-rlE", "solutions/|--solutions|test:solutions|reference solution", "--include=*.md", "."], dir).output.trim();
  if (pointers !== "") problems.push(`these Markdown files still point to the reference: ${pointers.split("\n").join(", ")}`);
  const help = run("npm", ["test", "--", "--help"], dir).output;
  if (/--solutions/.test(help)) problems.push("npm test -- --help still offers --solutions");
  const commands: [string, string[], RegExp][] = [
    ["npm test -- chapter1", ["test", "--", "chapter1"], /chapter1 {2}Chapter 1: Timers and roles +0 \/ 20/],
    ["npm run typecheck", ["run", "typecheck"], /tsc -p \./],
    ["npm run replay (of a finished chapter)", ["run", "replay", "--", "chapter1", "--seed", "7", "--test", "on timeout a follower becomes candidate"], /Run with seed 7, 5 nodes[\s\S]*becomes CANDIDATE[\s\S]*The replayed test passed/],
    ["npm run hint", ["run", "hint", "--", "chapter1", "1"], /Chapter 1: Timers and roles, step 1: [\s\S]*Hint 1 of 3/],
    ["npm run experiment -- speed --help", ["run", "experiment", "--", "--help"], /Usage: npm run experiment/],
  ];
  for (const [name, args, expected] of commands) {
    // A learner who finished Chapter 1 replays one of its tests.
    if (name.startsWith("npm run replay")) cpSync(path.join(PROJECT_ROOT, "solutions", "chapter1-timers-and-roles", "node.ts"), path.join(dir, "chapters", "chapter1-timers-and-roles", "node.ts"));
    const result = run("npm", args, dir);
    // tsc says nothing when all is well (and npm's own header is gone under npm run -s): its exit status tells.
    const good = name === "npm run typecheck" ? result.status === 0 : expected.test(result.output);
    if (!good) problems.push(`${name} did not work:\n${result.output.split("\n").slice(-15).join("\n")}`);
    lines.push(`  ${good ? "ok    " : "FAILED"} ${name}`);
  }
  // Watch mode: the first report comes, and it keeps running.
  try {
    const watch = await startServer(["test", "--", "chapter2", "--watch"], dir, /Watching for changes/, 60_000);
    // Chapter 2 is untouched: the score is 0 and the last line names its first step.
    const good = /chapter2 {2}Chapter 2: RequestVote and majority +0 \/ 30/.test(watch.output()) && /Next: chapter2, step 1: /.test(watch.output());
    await watch.stop();
    if (!good) problems.push(`npm test -- chapter2 --watch printed no score, or no "Next:" line, before watching:\n${watch.output().split("\n").slice(-12).join("\n")}`);
    lines.push(`  ${good ? "ok    " : "FAILED"} npm test -- chapter2 --watch (the score, then the next step)`);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  const ui = await checkUi(dir);
  lines.push(`  ${ui.ok ? "ok    " : "FAILED"} ${ui.summary}`);
  if (!ui.ok) problems.push(ui.summary);
  const page = await checkVisualizerInEdition(dir);
  lines.push(`  ${page.ok ? "ok    " : "FAILED"} ${page.summary}`);
  if (!page.ok) problems.push(page.summary);
  return { ok: problems.length === 0, summary: `student edition in ${path.relative(PROJECT_ROOT, dir)}\n${lines.join("\n")}${problems.length > 0 ? `\n${problems.join("\n")}` : ""}` };
}

/**
 * A class graded in one command: one CSV with a row per student and a
 * column per test, each student's results.json (without seeds when they are
 * hidden) and the instructor's report (with them), and the share of the
 * reference's own text in each: a copy of the reference, its step markers
 * removed, is all of it; a Chapter 2 node a helper wrote from the reading
 * and the hints alone (tests/fixtures/similarity) is little of it.
 */
export async function checkClassGrading(): Promise<CheckResult> {
  const base = path.join(CACHE, "class");
  rmSync(base, { recursive: true, force: true });
  const submissions = path.join(base, "submissions");
  const reference = readFileSync(path.join(PROJECT_ROOT, "solutions", "chapter2-request-vote", "node.ts"), "utf8");
  const files: Record<string, string> = {
    "ada.ts": readFileSync(path.join(PROJECT_ROOT, "tests", "fixtures", "similarity", "chapter2-written-from-the-reading.ts.txt"), "utf8"),
    "ben/chapters/chapter2-request-vote/node.ts": reference.replace(/^ *\/\/ @(step \d+|end)\n/gm, ""),
    "cy/node.ts": mutant("half-is-majority"),
    "dee/notes.txt": "I forgot to hand in my node.",
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(submissions, file)), { recursive: true });
    writeFileSync(path.join(submissions, file), text);
  }
  const [chapter] = resolveChapters(["chapter2"]);
  const out = path.join(base, "grades");
  const graded = await gradeClass(chapter!, submissions, out, { seedBase: "the-check-s-class-seeds", hideSeeds: true, withEarlier: false, jobs: 2 });
  const problems: string[] = [];
  const byStudent = new Map(graded.map((g) => [g.submission.student, g]));
  const expect = (student: string, score: number | ((s: number) => boolean), share: (s: number | undefined) => boolean): void => {
    const g = byStudent.get(student);
    const s = g?.results?.score;
    if (s === undefined || (typeof score === "number" ? s !== score : !score(s))) problems.push(`${student} scored ${s}`);
    if (!share(g?.share)) problems.push(`${student}'s share of the reference's own text is ${g?.share}`);
  };
  expect("ada", 30, (s) => s !== undefined && s < 0.5);
  expect("ben", 30, (s) => s === 1);
  expect("cy", (s) => s > 0 && s < 30, (s) => s !== undefined && s > 0.9);
  expect("dee", 0, (s) => s === undefined);
  const csv = existsSync(path.join(out, "class.csv")) ? readFileSync(path.join(out, "class.csv"), "utf8").trim().split("\n") : [];
  if (csv.length !== 5) problems.push(`class.csv has ${csv.length} lines, not a header and four students`);
  const columns = csv[0]?.split(",").length ?? 0;
  if (!(csv[0] ?? "").startsWith("student,chapter,score,max_score,reference_text_share,") || columns < 5 + 12) problems.push(`class.csv's header is not student, chapter, score, max_score, reference_text_share and a column per test: ${csv[0]}`);
  const cy = readFileSync(path.join(out, "cy", "results.json"), "utf8");
  if (/Seed:\s+\d|--seed \d/.test(cy)) problems.push("a student's results.json shows seeds that were to be hidden");
  if (!/Seed:\s+\d/.test(readFileSync(path.join(out, "cy", "report.txt"), "utf8"))) problems.push("the instructor's report.txt lost the seeds");
  if (/--node /.test(cy)) problems.push("a student's replay command points to the grader's copy of their file, not their own");
  // The grade says how node code ran (INSTRUCTORS.md promises it does).
  if (!/^Node code ran in a process of its own/.test(readFileSync(path.join(out, "ada", "results.json"), "utf8").match(/"output": "([^"]*)/)?.[1] ?? "")) problems.push("a student's results.json does not say how the node's code ran");
  // INSTRUCTORS.md quotes what the node written from the reading holds.
  const ada = similarity(chapter!, "node.ts", files["ada.ts"]!);
  const quoted = ada ? `holds ${ada.found.length} of ${ada.answerLines} (${Math.round(100 * ada.share)} %)` : "";
  if (!readFileSync(path.join(PROJECT_ROOT, "INSTRUCTORS.md"), "utf8").replace(/\s+/g, " ").includes(quoted)) problems.push(`INSTRUCTORS.md should say the node written from the reading ${quoted}`);
  const shares = graded.map((g) => `${g.submission.student} ${g.results?.score ?? "-"} (${g.share === undefined ? "no node" : `${Math.round(100 * g.share)} % reference text`})`).join(", ");
  return problems.length === 0
    ? { ok: true, summary: `npm run grade-class graded four Chapter 2 hand-ins into one class.csv: ${shares}` }
    : { ok: false, summary: `${problems.join("\n")}\n${shares}` };
}

/** Lines of the reference that a learner writes: the step regions (between @step and @end), compared whole. */
function stepRegionLines(source: string): string[] {
  const found: string[] = [];
  let inside = false;
  for (const line of source.split("\n")) {
    if (/\/\/ @step \d+/.test(line)) inside = true;
    else if (/\/\/ @end/.test(line)) inside = false;
    else if (inside) {
      const compared = line.replace(/\s+/g, " ").trim();
      if (compared.replace(/\s/g, "").length >= 24) found.push(compared);
    }
  }
  return found;
}

/**
 * An edition through Chapter 3 for a course that releases a chapter at a
 * time: nothing of Chapters 4 to 7, no line of a reference's exercise code
 * anywhere it is not given away already (the skeletons and the hints of
 * the chapters it holds), only commands it has, and a demo that says what
 * it needs.
 */
export function checkEditionThrough(): CheckResult {
  const dir = path.join(CACHE, "student-edition-through-3");
  rmSync(dir, { recursive: true, force: true });
  const [through] = resolveChapters(["chapter3"]);
  makeStudentEdition(dir, { through: through!, linkNodeModules: true });
  const problems: string[] = [];
  const chapters = listChapters();
  for (const later of chapters.filter((c) => c.number > 3)) {
    for (const where of [`chapters/${later.dir}`, later.testFile]) if (existsSync(path.join(dir, where))) problems.push(`${where} is there`);
  }
  const scripts = run("ls", ["scripts"], dir).output.trim().split("\n");
  const extra = scripts.filter((name) => !LEARNER_SCRIPT_FOLDERS.includes(name));
  if (extra.length > 0) problems.push(`scripts/ holds more than the learner's folders: ${extra.join(", ")}`);
  // What the edition gives away anyway: its skeletons, and its chapters' hints.
  const given = new Set<string>();
  for (const chapter of chapters.filter((c) => c.number <= 3)) {
    for (const text of makeChapterSkeletons(chapter).values()) for (const line of text.split("\n")) given.add(line.replace(/\s+/g, " ").trim());
    for (const step of chapter.steps) for (const hint of step.hints) for (const line of hint.replace(/`/g, "\n").split("\n")) given.add(line.replace(/\s+/g, " ").trim());
  }
  const secret = new Map<string, string>();
  for (const chapter of chapters) {
    for (const file of chapter.files) {
      const source = path.join(PROJECT_ROOT, "solutions", chapter.dir, file);
      if (!existsSync(source)) continue;
      for (const line of stepRegionLines(readFileSync(source, "utf8"))) if (!given.has(line)) secret.set(line, `solutions/${chapter.dir}/${file}`);
    }
  }
  const everyFile = run("find", [".", "-type", "f", "-not", "-path", "./node_modules/*", "-not", "-name", "chapter.toml"], dir).output.trim().split("\n");
  for (const file of everyFile) {
    // Lines, and the lines of strings that hold code ("...\n..."), as a planted mistake's edits do.
    const text = readFileSync(path.join(dir, file), "utf8").replace(/\\n/g, "\n").replace(/\\"/g, '"');
    for (const line of text.split("\n")) {
      const compared = line.replace(/\s+/g, " ").trim().replace(/^["'`[(, ]+|["'`\]), ]+$/g, "");
      const from = secret.get(compared) ?? secret.get(line.replace(/\s+/g, " ").trim());
      if (from !== undefined) {
        problems.push(`${file} quotes ${from}: ${line.trim()}`);
        break;
      }
    }
  }
  // Every command the Markdown names (outside comments) is one the edition has.
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { scripts: Record<string, string> };
  for (const file of everyFile.filter((f) => f.endsWith(".md"))) {
    const text = readFileSync(path.join(dir, file), "utf8").replace(/<!--[\s\S]*?-->/g, "");
    for (const m of text.matchAll(/npm run ([a-z][\w:-]*)/g)) if (!(m[1]! in pkg.scripts)) problems.push(`${file} names npm run ${m[1]}, which this edition does not have`);
  }
  const typecheck = run("npm", ["run", "typecheck"], dir);
  if (typecheck.status !== 0) problems.push(`npm run typecheck fails in the edition:\n${typecheck.output.split("\n").slice(-8).join("\n")}`);
  const tests = run("npm", ["test", "--", "chapter3"], dir);
  if (!/chapter3 {2}Chapter 3: Split votes +0 \/ 30/.test(tests.output)) problems.push(`npm test -- chapter3 did not score the skeleton:\n${tests.output.split("\n").slice(-6).join("\n")}`);
  const demo = run("npm", ["run", "demo"], dir);
  if (!/needs|finished Chapter 5 node[\s\S]*no Chapter 5 yet/.test(demo.output) || /:\s*$/.test(demo.output.trim())) problems.push(`npm run demo before Chapter 5 does not say plainly what it needs:\n${demo.output.split("\n").slice(-4).join("\n")}`);
  return problems.length === 0
    ? { ok: true, summary: `an edition through Chapter 3: Chapters 1 to 3 only, no line of a reference's exercise code beyond its skeletons and hints (${secret.size} lines looked for in ${everyFile.length} files), only commands it has, typecheck and tests pass, and the demo says what it needs` }
    : { ok: false, summary: problems.slice(0, 30).join("\n") };
}
