/**
 * A vitest reporter that adds up the points: a score table per chapter in
 * the terminal, and (when asked) a results file in the shape of
 * Gradescope's results.json, which most autograders read.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import type { Reporter, TestModule } from "vitest/node";
import { listChapters } from "./chapters.mjs";

export interface TestScore {
  readonly chapter: string;
  readonly name: string;
  readonly points: number;
  readonly earned: number;
  readonly passed: boolean;
  /** Not run this time (filtered out with -t, for example). */
  readonly skipped: boolean;
  readonly output: string;
}

export interface ChapterScore {
  readonly chapter: string;
  readonly title: string;
  readonly earned: number;
  readonly possible: number;
  readonly tests: readonly TestScore[];
}

/** Gradescope's results.json: https://gradescope-autograders.readthedocs.io/en/latest/specs/ */
export interface GradescopeResults {
  score: number;
  max_score: number;
  execution_time: number;
  output: string;
  output_format: "text";
  visibility: "visible";
  tests: {
    name: string;
    number: string;
    score: number;
    max_score: number;
    status: "passed" | "failed";
    output: string;
    output_format: "text";
    visibility: "visible";
  }[];
}

const ANSI = /\u001b\[[0-9;]*m/g;

export interface ScoreReporterOptions {
  /** Write Gradescope-shaped results here. */
  readonly resultsFile?: string;
  /** Also list every test with its points (the grade command). */
  readonly listTests?: boolean;
  /** Which code ran, for the table's heading. */
  readonly subject?: string;
}

export class ScoreReporter implements Reporter {
  private started = Date.now();

  constructor(private readonly options: ScoreReporterOptions = {}) {}

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const scores = scoreModules(testModules);
    if (scores.length === 0) return;
    if (this.options.listTests) console.log(listTests(scores));
    console.log(scoreTable(scores, this.options.subject));
    if (this.options.resultsFile) {
      const results = toGradescope(scores, Date.now() - this.started);
      writeFileSync(this.options.resultsFile, `${JSON.stringify(results, null, 2)}\n`);
      console.log(`Results written to ${path.relative(process.cwd(), this.options.resultsFile) || this.options.resultsFile} (Gradescope's results.json format).`);
    }
  }
}

export function scoreModules(testModules: ReadonlyArray<TestModule>): ChapterScore[] {
  const titles = new Map(listChapters().map((c) => [c.dir, c]));
  return testModules
    .filter((module) => /^chapter\d+-/.test(path.basename(module.moduleId)))
    .map((module) => {
      const dir = path.basename(module.moduleId).replace(/\.test\.ts$/, "");
      const chapter = titles.get(dir);
      const tests: TestScore[] = [...module.children.allTests()].map((test) => {
        const points = test.meta().points ?? 0;
        const result = test.result();
        const passed = result.state === "passed";
        const errors = result.state === "failed" ? result.errors : [];
        const moduleErrors = module.errors().map((e) => e.message);
        const output = passed ? "" : [...errors.map((e) => e.message), ...moduleErrors].join("\n\n").replace(ANSI, "") || result.state;
        const skipped = result.state === "skipped" || result.state === "pending";
        return { chapter: chapter?.short ?? dir, name: test.name, points, earned: passed ? points : 0, passed, skipped, output: skipped ? "not run" : output };
      });
      return {
        chapter: chapter?.short ?? dir,
        title: chapter?.title ?? dir,
        earned: tests.reduce((sum, t) => sum + t.earned, 0),
        possible: tests.reduce((sum, t) => sum + t.points, 0),
        tests,
        number: chapter?.number ?? 99,
      };
    })
    .sort((a, b) => a.number - b.number)
    .map(({ number: _number, ...rest }) => rest);
}

function listTests(scores: readonly ChapterScore[]): string {
  const lines: string[] = [];
  for (const chapter of scores) {
    lines.push("", pc.bold(`${chapter.chapter}  ${chapter.title}`));
    for (const test of chapter.tests) {
      const mark = test.passed ? pc.green("✓") : test.skipped ? pc.dim("-") : pc.red("✗");
      lines.push(`  ${mark} ${`${test.earned}/${test.points}`.padStart(5)}  ${test.name}`);
    }
  }
  return lines.join("\n");
}

export function scoreTable(scores: readonly ChapterScore[], subject?: string): string {
  const width = Math.max(40, ...scores.map((s) => s.chapter.length + s.title.length + 4));
  const rule = "─".repeat(width + 12);
  const lines = ["", pc.bold(`Score${subject ? ` (${subject})` : ""}`), rule];
  let earned = 0;
  let possible = 0;
  for (const s of scores) {
    earned += s.earned;
    possible += s.possible;
    const label = `${s.chapter}  ${s.title}`.padEnd(width);
    const points = `${s.earned} / ${s.possible}`.padStart(10);
    const colour = s.earned === s.possible ? pc.green : s.earned === 0 ? pc.red : pc.yellow;
    const notRun = s.tests.filter((t) => t.skipped).length;
    lines.push(`${label}  ${colour(points)}${notRun > 0 ? pc.dim(`  (partial run: ${notRun} of ${s.tests.length} tests not run)`) : ""}`);
  }
  if (scores.length > 1) {
    lines.push(rule);
    lines.push(`${"total".padEnd(width)}  ${pc.bold(`${earned} / ${possible}`.padStart(10))}`);
  }
  lines.push(rule);
  return lines.join("\n");
}

export function toGradescope(scores: readonly ChapterScore[], elapsedMs: number): GradescopeResults {
  const tests = scores.flatMap((chapter) =>
    chapter.tests.map((test, t) => ({
      name: `${chapter.chapter}: ${test.name}`,
      number: `${chapter.chapter.replace("chapter", "")}.${t + 1}`,
      score: test.earned,
      max_score: test.points,
      status: test.passed ? ("passed" as const) : ("failed" as const),
      output: test.output,
      output_format: "text" as const,
      visibility: "visible" as const,
    })),
  );
  return {
    score: tests.reduce((sum, t) => sum + t.score, 0),
    max_score: tests.reduce((sum, t) => sum + t.max_score, 0),
    execution_time: Math.round(elapsedMs / 1000),
    output: scores.map((s) => `${s.chapter} ${s.title}: ${s.earned} / ${s.possible}`).join("\n"),
    output_format: "text",
    visibility: "visible",
    tests,
  };
}
