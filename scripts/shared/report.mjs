// @ts-check
/**
 * The score report: what a learner, an instructor or an autograder reads
 * after a run of the graded suites.
 *
 *   - every test with its points (✓, ✗, or - when not run);
 *   - the failures, most specific first, with identical ones folded into
 *     one ("8 tests failed the same way: ..."), so an untouched
 *     chapter fits on one screen and the first thing to fix comes first;
 *   - a score table per chapter;
 *   - for `grade`, a results.json in Gradescope's format, with the reason
 *     for every failed or unrun test.
 *
 * Plain JavaScript (checked by tsc through JSDoc), so the test launcher can
 * load it without a TypeScript loader.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import { listChapters, PROJECT_ROOT } from "./chapters.mjs";

/**
 * @typedef {object} FailureMeta
 * @property {string} kind     load, threw, contract, node rule, guarantee, rule, stopped, runaway, no progress, other, not written
 * @property {string} key      failures with the same key are the same problem
 * @property {string} summary  one line
 * @property {"node" | "cluster"} [scope]  whether the test played the other nodes itself (node) or ran a whole cluster
 * @property {string} [output]   the failure in full, as the harness wrote it
 */

/**
 * @typedef {object} TestResult
 * @property {string} chapter      "chapter3"
 * @property {string} name
 * @property {number} points
 * @property {"passed" | "failed" | "not run"} state
 * @property {string} output       the failure as the learner reads it ("" when passed)
 * @property {FailureMeta} [failure]
 * @property {"filtered" | "unfinished"} [notRunBecause]
 * @property {string[]} [printed]          what node code printed during the test (the first PRINTED_SHOWN lines)
 * @property {number} [printedLeftOut]     how many more lines it printed
 */

/** How many lines of what node code printed a failed test's report shows. */
export const PRINTED_SHOWN = 40;

/**
 * @typedef {object} ChapterResult
 * @property {string} chapter
 * @property {number} number
 * @property {string} title
 * @property {TestResult[]} tests
 * @property {string[]} [loadErrors]  why the suite file did not load at all (then it has no tests)
 * @property {number} [regressionOf]  set when these are a later chapter's node on this chapter's suite
 */

const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * One chapter's results from a vitest test module.
 * @param {import("vitest/node").TestModule} testModule
 * @param {Map<string, { lines: string[], leftOut: number }>} [printed]  what node code printed, by test id
 * @returns {ChapterResult | undefined}
 */
export function chapterResultOf(testModule, printed = new Map()) {
  const base = path.basename(testModule.moduleId).replace(/\.test\.ts$/, "");
  const chapter = listChapters().find((c) => c.dir === base);
  if (!chapter) return undefined;
  const moduleErrors = testModule.errors().map((e) => e.message);
  /** @type {TestResult[]} */
  const tests = [];
  for (const test of testModule.children.allTests()) {
    const meta = test.meta();
    // In the browser UI a test's name begins with its points (see graded.ts); the report shows them apart.
    const name = test.name.replace(/^\d+ pts? · /, "");
    const result = test.result();
    const points = meta.points ?? 0;
    const own = printed.get(test.id);
    const said = own && (own.lines.length > 0 || own.leftOut > 0) ? { printed: own.lines, printedLeftOut: own.leftOut } : {};
    if (result.state === "passed") {
      tests.push({ chapter: chapter.short, name, points, state: "passed", output: "", ...said });
    } else if (result.state === "failed") {
      const output = (meta.failure?.output ?? [...(result.errors ?? []).map(errorText), ...moduleErrors].join("\n\n")).replace(ANSI, "");
      tests.push({ chapter: chapter.short, name, points, state: "failed", output, ...(meta.failure ? { failure: meta.failure } : {}), ...said });
    } else {
      const notRunBecause = result.state === "skipped" ? "filtered" : "unfinished";
      tests.push({ chapter: chapter.short, name, points, state: "not run", output: moduleErrors.join("\n\n"), notRunBecause });
    }
  }
  // A suite that did not load has no tests: what stopped it is all there is to say.
  return { chapter: chapter.short, number: chapter.number, title: chapter.title, tests, ...(tests.length === 0 && moduleErrors.length > 0 ? { loadErrors: moduleErrors } : {}) };
}

/**
 * A failure as text: what went wrong, the node's own stack frames and the
 * line of node.ts that threw (as the sandbox read it from the source it
 * compiled: `codeFrame`; never a file a stack frame names), then the seed
 * and replay command (when the harness separated them: `baseMessage` and
 * `explanation`).
 * @param {{ name?: string, message?: string, stack?: string, baseMessage?: string, explanation?: string, codeFrame?: string }} error
 */
export function errorText(error) {
  const message = error.baseMessage ?? error.message ?? "";
  const head = `${error.name && error.name !== "Error" ? `${error.name}: ` : ""}${message}`;
  const frames = (error.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
  const shown = frames.slice(0, 6).map((line) => `    ${line.trim()}`);
  const frame = typeof error.codeFrame === "string" ? error.codeFrame : undefined;
  return [head, ...shown, ...(frame ? ["", frame] : []), ...(error.explanation ? [error.explanation] : [])].join("\n");
}

/**
 * How specific each kind of failure is: the lower, the closer to the cause.
 * A rule of the paper broken, with the event that broke it, comes before a
 * stop (node code that did not return, or ran out of memory), a flood, and
 * a cluster that never got anywhere (no leader, no commit), which are
 * mostly what such a broken rule leads to.
 */
const RANK = { load: 0, threw: 2, contract: 3, "node rule": 3.5, guarantee: 4, rule: 5, stopped: 6, runaway: 6.5, "no progress": 7, other: 8, "not written": 9 };

/** Kinds that are mostly what a broken rule leads to: folded under the first failure when one of a rule comes first. */
const CONSEQUENCES = new Set(["stopped", "runaway", "no progress", "other"]);

/** Kinds that name their cause: a broken rule (or contract) with the event that broke it. */
const CAUSES = new Set(["threw", "contract", "node rule", "guarantee", "rule"]);

/**
 * @param {TestResult} test
 */
function rankOf(test) {
  const kind = test.failure?.kind ?? "other";
  const base = /** @type {Record<string, number>} */ (RANK)[kind] ?? 8;
  // A test that played the other nodes itself points at one handler; a
  // whole cluster failing can have many causes.
  return base + (test.failure?.scope === "cluster" ? 0.5 : 0);
}

/**
 * @typedef {object} FailureGroup
 * @property {string} key
 * @property {TestResult[]} tests
 * @property {number} [regressionOf]  set when these are a later chapter's node on this chapter's suite
 */

/**
 * Failures grouped by cause and ordered most specific first.
 * @param {readonly ChapterResult[]} chapters
 * @returns {FailureGroup[]}
 */
export function failureGroups(chapters) {
  /** @type {Map<string, FailureGroup>} */
  const groups = new Map();
  for (const chapter of chapters) {
    for (const test of chapter.tests) {
      if (test.state !== "failed") continue;
      const key = test.failure?.key ?? `${test.chapter}:${test.name}`;
      const group = groups.get(key) ?? { key, tests: [] };
      group.tests.push(test);
      groups.set(key, group);
    }
  }
  return [...groups.values()].sort((a, b) => rankOf(/** @type {TestResult} */ (a.tests[0])) - rankOf(/** @type {TestResult} */ (b.tests[0])));
}

/**
 * @param {string} text
 * @param {string} prefix
 */
function indent(text, prefix) {
  return text
    .split("\n")
    .map((line) => (line === "" ? "" : `${prefix}${line}`))
    .join("\n");
}

/**
 * The failures, folded and ordered.
 * @param {readonly ChapterResult[]} chapters
 */
export function failuresText(chapters) {
  const all = failureGroups(chapters);
  if (all.length === 0) return "";
  // When the first failure names a broken rule, the stops, floods and
  // clusters that never agreed are most likely its consequences: one line
  // each, after the rest, without a step or a rule of their own.
  const firstKind = all[0]?.tests[0]?.failure?.kind ?? "other";
  const folds = CAUSES.has(firstKind);
  const groups = folds ? all.filter((g) => !CONSEQUENCES.has(g.tests[0]?.failure?.kind ?? "other")) : all;
  const folded = folds ? all.filter((g) => CONSEQUENCES.has(g.tests[0]?.failure?.kind ?? "other")) : [];
  const lines = [""];
  lines.push(pc.bold(groups.length > 1 || folded.length > 0 ? "Failures, the most specific first (fix the first one first):" : "Failure:"));
  for (const [i, group] of groups.entries()) {
    const first = /** @type {TestResult} */ (group.tests[0]);
    const points = group.tests.reduce((sum, t) => sum + t.points, 0);
    lines.push("");
    if (first.failure?.kind === "not written") {
      // Not a mistake: work to do. Say what to write; one example of what waits for it is enough.
      lines.push(pc.yellow(`${i + 1}. ${group.tests.length === 1 ? "1 test" : `${group.tests.length} tests`} (${points} point${points === 1 ? "" : "s"}) ${group.tests.length === 1 ? "waits" : "wait"} for a step not written yet:`));
      lines.push(indent(first.failure.summary, "     "));
      for (const test of group.tests) lines.push(pc.dim(`     - ${test.chapter}: ${test.name}`));
      continue;
    }
    if (group.tests.length === 1) {
      lines.push(pc.red(`${i + 1}. ${first.chapter}: "${first.name}" (${first.points} point${first.points === 1 ? "" : "s"})`));
    } else {
      lines.push(pc.red(`${i + 1}. ${group.tests.length} tests (${points} points) failed the same way:`));
      // The summary, unless the report in full below begins with it (a rule's text is printed once).
      const summary = first.failure?.summary ?? first.output.split("\n")[0] ?? "";
      if (!(first.output.split("\n")[0] ?? "").endsWith(summary)) lines.push(indent(summary, "     "));
      for (const test of group.tests) lines.push(pc.dim(`     - ${test.chapter}: ${test.name}`));
      lines.push(pc.dim(`   The first of them in full, "${first.name}":`));
    }
    lines.push(indent(first.output, "   "));
  }
  if (folded.length > 0) {
    const count = folded.reduce((n, g) => n + g.tests.length, 0);
    const points = folded.reduce((n, g) => n + g.tests.reduce((sum, t) => sum + t.points, 0), 0);
    lines.push("");
    lines.push(pc.yellow(`Probably the same cause: ${count === 1 ? "1 more test" : `${count} more tests`} (${points} point${points === 1 ? "" : "s"}) stopped, flooded or never agreed. Fix the failure${groups.length > 1 ? "s" : ""} above, then run again:`));
    for (const group of folded) {
      const first = /** @type {TestResult} */ (group.tests[0]);
      const summary = (first.failure?.summary ?? first.output.split("\n")[0] ?? "").split("\n")[0] ?? "";
      lines.push(pc.dim(`   - ${group.tests.length === 1 ? `${first.chapter}: ${first.name}` : `${group.tests.length} tests`}: ${summary}`));
      if (group.tests.length > 1) for (const test of group.tests) lines.push(pc.dim(`       ${test.chapter}: ${test.name}`));
    }
    lines.push(pc.dim(`   (Each one's full report: npm run replay with its test's name, or npm run grade, whose results.json has them all.)`));
  }
  return lines.join("\n");
}

/**
 * Every test with its points.
 * @param {readonly ChapterResult[]} chapters
 */
export function testList(chapters) {
  const lines = [];
  for (const chapter of chapters) {
    lines.push("", pc.bold(`${chapter.chapter}  ${chapter.title}`));
    for (const test of chapter.tests) {
      const earned = test.state === "passed" ? test.points : 0;
      const mark = test.state === "passed" ? pc.green("✓") : test.state === "not run" ? pc.dim("-") : pc.red("✗");
      lines.push(`  ${mark} ${`${earned}/${test.points}`.padStart(5)}  ${test.state === "not run" ? pc.dim(test.name) : test.name}`);
    }
  }
  return lines.join("\n");
}

/**
 * @param {ChapterResult} chapter
 */
export function earnedOf(chapter) {
  return chapter.tests.reduce((sum, t) => sum + (t.state === "passed" ? t.points : 0), 0);
}

/**
 * @param {ChapterResult} chapter
 */
export function possibleOf(chapter) {
  return chapter.tests.reduce((sum, t) => sum + t.points, 0);
}

/**
 * The score table.
 * @param {readonly ChapterResult[]} chapters
 * @param {{ subject?: string, filtered?: boolean, heading?: string }} [options]
 */
export function scoreTable(chapters, options = {}) {
  const width = Math.max(40, ...chapters.map((c) => c.chapter.length + c.title.length + 4));
  const rule = "─".repeat(width + 12);
  const lines = ["", pc.bold(`${options.heading ?? "Score"}${options.subject ? ` (${options.subject})` : ""}`), rule];
  let earned = 0;
  let possible = 0;
  for (const c of chapters) {
    const e = earnedOf(c);
    const p = possibleOf(c);
    earned += e;
    possible += p;
    const label = `${c.chapter}  ${c.title}`.padEnd(width);
    const colour = e === p ? pc.green : e === 0 ? pc.red : pc.yellow;
    const notRun = c.tests.filter((t) => t.state === "not run").length;
    const note = notRun > 0 ? pc.dim(options.filtered ? `  (partial run: ${notRun} of ${c.tests.length} tests not run)` : `  (${notRun} of ${c.tests.length} tests could not run)`) : "";
    lines.push(`${label}  ${colour(`${e} / ${p}`.padStart(10))}${note}`);
  }
  if (chapters.length > 1) {
    lines.push(rule);
    lines.push(`${"total".padEnd(width)}  ${pc.bold(`${earned} / ${possible}`.padStart(10))}`);
  }
  lines.push(rule);
  return lines.join("\n");
}

/**
 * Gradescope's results.json: https://gradescope-autograders.readthedocs.io/en/latest/specs/
 * @typedef {object} GradescopeTest
 * @property {string} name
 * @property {string} number
 * @property {number} score
 * @property {number} max_score
 * @property {"passed" | "failed"} status
 * @property {string} output
 * @property {"text"} output_format
 * @property {"visible" | "hidden" | "after_due_date" | "after_published"} visibility
 */

/**
 * @typedef {object} GradescopeResults
 * @property {number} score
 * @property {number} max_score
 * @property {number} execution_time
 * @property {string} output
 * @property {"text"} output_format
 * @property {"visible" | "hidden" | "after_due_date" | "after_published"} visibility
 * @property {"visible" | "hidden" | "after_due_date" | "after_published"} stdout_visibility
 * @property {GradescopeTest[]} tests
 */

/**
 * @param {readonly ChapterResult[]} chapters
 * @param {{ elapsedMs: number, visibility?: GradescopeResults["visibility"], notes?: readonly string[] }} options
 * @returns {GradescopeResults}
 */
export function toGradescope(chapters, options) {
  const visibility = options.visibility ?? "visible";
  /** @type {GradescopeTest[]} */
  const tests = chapters.flatMap((chapter) =>
    chapter.tests.map((test, t) => ({
      name: `${chapter.chapter}: ${test.name}`,
      number: `${chapter.regressionOf ? `R${chapter.regressionOf}.` : ""}${chapter.number}.${t + 1}`,
      score: test.state === "passed" ? test.points : 0,
      max_score: test.points,
      status: test.state === "passed" ? /** @type {const} */ ("passed") : /** @type {const} */ ("failed"),
      output: test.state === "passed" ? "" : test.state === "not run" ? `Not run: ${test.output || "the test did not run"}` : test.output,
      output_format: /** @type {const} */ ("text"),
      visibility,
    })),
  );
  const groups = failureGroups(chapters);
  const summary = [
    ...(options.notes ?? []),
    ...chapters.map((c) => `${c.chapter} ${c.title}: ${earnedOf(c)} / ${possibleOf(c)}`),
    ...(groups.length > 0 ? ["", "Failures, the most specific first:", ...groups.map((g, i) => `${i + 1}. ${g.tests.length > 1 ? `${g.tests.length} tests: ` : ""}${(g.tests[0]?.failure?.summary ?? g.tests[0]?.output.split("\n")[0] ?? "").split("\n")[0]}`)] : []),
  ];
  return {
    score: tests.reduce((sum, t) => sum + t.score, 0),
    max_score: tests.reduce((sum, t) => sum + t.max_score, 0),
    execution_time: Math.round(options.elapsedMs / 10) / 100,
    output: summary.join("\n"),
    output_format: "text",
    visibility,
    stdout_visibility: visibility,
    tests,
  };
}

/**
 * Text without the seeds it names: "Seed:" and "Replay:" lines, and every
 * "seed N" or "--seed N" (what a student could replay a graded run with).
 * @param {string} text
 */
export function withoutSeedsText(text) {
  return text
    .split("\n")
    .map((line) => (/^\s*(Seed|Replay):/.test(line) ? line.replace(/^(\s*(?:Seed|Replay):\s*).*$/, "$1(kept by your instructor)") : line))
    .join("\n")
    .replace(/(--seed|\bseeds?)(\s+|=)\d+(\s*(,|and|to|-)\s*\d+)*/gi, "$1$2(hidden)")
    .replace(/--path\s+\S+/g, "--path (hidden)");
}

/**
 * Results as students may read them when an instructor keeps the seeds.
 * @param {GradescopeResults} results
 * @returns {GradescopeResults}
 */
export function withoutSeeds(results) {
  return {
    ...results,
    output: withoutSeedsText(results.output),
    // Gradescope shows the grader's own output to instructors only, then.
    stdout_visibility: "hidden",
    tests: results.tests.map((t) => ({ ...t, output: withoutSeedsText(t.output) })),
  };
}

/**
 * A vitest reporter that keeps each chapter's results, and (when asked)
 * prints the report after every run, as watch mode needs. What node code
 * prints with console.log is kept by test, not printed as it comes: the
 * report shows it under each failed test (a few dozen lines, and how many
 * more), and every line of the run goes to a file.
 */
export class ScoreReporter {
  /** @type {Map<string, ChapterResult>} */
  results = new Map();
  /** @type {Map<string, { lines: string[], leftOut: number }>} */
  printed = new Map();
  /** Every line node code printed this run, with its test (up to a bound). @type {string[]} */
  allPrinted = [];
  allLeftOut = 0;

  /**
   * @param {{ print: boolean, echo?: boolean, subject?: string, listTests?: boolean, filtered?: boolean, after?: (chapters: ChapterResult[]) => string }} options
   */
  constructor(options) {
    this.options = options;
  }

  onTestRunStart() {
    this.results.clear();
    this.printed.clear();
    this.allPrinted = [];
    this.allLeftOut = 0;
  }

  /** @param {import("vitest").UserConsoleLog} log */
  onUserConsoleLog(log) {
    // A replay prints what it draws as it draws it.
    if (this.options.echo) (log.type === "stderr" ? process.stderr : process.stdout).write(log.content);
    const key = log.taskId ?? "";
    let own = this.printed.get(key);
    if (!own) {
      own = { lines: [], leftOut: 0 };
      this.printed.set(key, own);
    }
    for (const line of log.content.replace(/\n$/, "").split("\n")) {
      if (own.lines.length < PRINTED_SHOWN) own.lines.push(line);
      else own.leftOut++;
      if (this.allPrinted.length < 200_000) this.allPrinted.push(`${key}\t${line}`);
      else this.allLeftOut++;
    }
  }

  /** @param {ReadonlyArray<import("vitest/node").TestModule>} testModules */
  onTestRunEnd(testModules) {
    /** @type {Map<string, string>} */
    const names = new Map();
    for (const testModule of testModules) {
      const result = chapterResultOf(testModule, this.printed);
      if (result) this.results.set(result.chapter, result);
      for (const test of testModule.children.allTests()) names.set(test.id, `${result?.chapter ?? ""}: ${test.name}`);
    }
    // Every line, with the test that printed it.
    this.printedFile = writePrinted(this.allPrinted.map((entry) => {
      const tab = entry.indexOf("\t");
      return `[${names.get(entry.slice(0, tab)) ?? "outside any test"}] ${entry.slice(tab + 1)}`;
    }), this.allLeftOut);
    if (!this.options.print) return;
    const chapters = [...this.results.values()].sort((a, b) => a.number - b.number);
    if (chapters.length === 0) return;
    console.log(fullReport(chapters, { ...this.options, ...(this.printedFile ? { printedFile: this.printedFile } : {}) }));
    if (this.options.after) console.log(this.options.after(chapters));
  }

  /** @type {string | undefined} where every line node code printed this run went */
  printedFile = undefined;
}

/** Where every line node code printed in the last run goes (relative to the project). */
export const PRINTED_FILE = path.join(".workbook-cache", "what-your-node-printed.txt");

/**
 * Write every line node code printed in a run (none: no file).
 * @param {string[]} lines
 * @param {number} leftOut
 * @returns {string | undefined}
 */
function writePrinted(lines, leftOut) {
  const file = path.join(PROJECT_ROOT, PRINTED_FILE);
  if (lines.length === 0) {
    rmSync(file, { force: true });
    return undefined;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${lines.join("\n")}\n${leftOut > 0 ? `… and ${leftOut} more lines, left out\n` : ""}`);
  return PRINTED_FILE;
}

/**
 * What node code printed in the tests that failed, under each one's name.
 * @param {readonly ChapterResult[]} chapters
 * @param {string | undefined} file  where every line went
 */
export function printedText(chapters, file) {
  const failed = chapters.flatMap((c) => c.tests.filter((t) => t.state === "failed" && (t.printed?.length ?? 0) > 0));
  const passedPrinting = chapters.reduce((n, c) => n + c.tests.filter((t) => t.state !== "failed" && (t.printed?.length ?? 0) > 0).length, 0);
  if (failed.length === 0 && passedPrinting === 0) return "";
  const lines = ["", pc.bold("What your node printed (console.log), in the tests that failed:")];
  for (const test of failed.slice(0, 10)) {
    lines.push(pc.dim(`  ${test.chapter}: ${test.name}`));
    for (const line of test.printed ?? []) lines.push(`    ${line}`);
    if ((test.printedLeftOut ?? 0) > 0) lines.push(pc.dim(`    … ${test.printedLeftOut} more line${test.printedLeftOut === 1 ? "" : "s"}`));
  }
  if (failed.length > 10) lines.push(pc.dim(`  … and in ${failed.length - 10} more failed tests`));
  if (failed.length === 0) lines.push(pc.dim("  (none of them printed anything)"));
  const where = file ? `every line, with its test, is in ${file}` : "";
  if (passedPrinting > 0) lines.push(pc.dim(`  (${passedPrinting} passing test${passedPrinting === 1 ? "" : "s"} printed too${where ? `: ${where}` : ""})`));
  else if (where) lines.push(pc.dim(`  (${where})`));
  return lines.join("\n");
}

/**
 * The whole report: the tests, the failures, the table.
 * @param {readonly ChapterResult[]} chapters
 * @param {{ subject?: string, filtered?: boolean, printedFile?: string }} options
 */
export function fullReport(chapters, options) {
  return [testList(chapters), failuresText(chapters), printedText(chapters, options.printedFile), scoreTable(chapters, options)].filter((part) => part !== "").join("\n");
}
