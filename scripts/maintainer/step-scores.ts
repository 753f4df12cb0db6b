/**
 * Every step earns points: for each chapter, the node with steps 1 to k
 * taken from the reference solution (and the rest left as the skeleton's
 * stubs) is graded, for k = 0 (the untouched skeleton) to the last step.
 * The score must rise strictly with k, and equal what the chapter file
 * says a learner has after step k.
 *
 *   npm run step-scores              every chapter, as a table
 *   npm run step-scores -- chapter5  one chapter
 */
import { spawn } from "node:child_process";
import { cpus } from "node:os";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { declaredSteps, PROJECT_ROOT, resolveChapters, type Chapter } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain } from "../shared/cli.mjs";
import type { GradescopeResults } from "../shared/report.mjs";
import { makeChapterSkeletons } from "../shared/skeletons.ts";

const CACHE = path.join(PROJECT_ROOT, ".workbook-cache", "step-scores");

export interface StepScore {
  readonly written: number;
  readonly score: number;
  /** What the chapter file says (undefined for k = 0, which must be 0). */
  readonly expected: number;
  /** The tests that pass with steps 1..k written. */
  readonly passing: readonly string[];
}

export interface ChapterStepScores {
  readonly chapter: Chapter;
  readonly scores: readonly StepScore[];
  readonly problems: readonly string[];
}

function grade(chapter: Chapter, file: string, out: string): Promise<GradescopeResults["tests"]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join("scripts", "learner", "suites.mjs"), "grade", chapter.short, "--node", file, "--in-process", "--out", out], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("close", () => {
      try {
        resolve((JSON.parse(readFileSync(out, "utf8")) as GradescopeResults).tests);
      } catch {
        reject(new Error(`grading ${file} wrote no results:\n${output}`));
      }
    });
  });
}

/** Grade every partial node of the given chapters (at most one run per core at a time). */
export async function stepScores(chapters: readonly Chapter[]): Promise<ChapterStepScores[]> {
  const jobs: { chapter: Chapter; written: number }[] = [];
  for (const chapter of chapters) for (let k = 0; k <= chapter.steps.length; k++) jobs.push({ chapter, written: k });
  const results = new Map<string, GradescopeResults["tests"]>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, cpus().length) }, async () => {
      while (next < jobs.length) {
        const { chapter, written } = jobs[next++]!;
        const dir = path.join(CACHE, chapter.short, String(written));
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        // node.ts, and the chapter's other files beside it (the harness finds them there).
        for (const [name, text] of makeChapterSkeletons(chapter, written)) writeFileSync(path.join(dir, name), text);
        const file = path.join(dir, "node.ts");
        results.set(`${chapter.short}/${written}`, await grade(chapter, file, path.join(dir, "results.json")));
      }
    }),
  );
  return chapters.map((chapter) => {
    const scores: StepScore[] = [];
    const problems: string[] = [];
    for (let k = 0; k <= chapter.steps.length; k++) {
      const tests = results.get(`${chapter.short}/${k}`)!;
      const score = tests.reduce((sum, t) => sum + t.score, 0);
      const expected = k === 0 ? 0 : chapter.steps[k - 1]!.points;
      scores.push({ written: k, score, expected, passing: tests.filter((t) => t.status === "passed").map((t) => t.name) });
      if (score !== expected) problems.push(`with steps 1 to ${k} written, the score is ${score}; ${chapter.chapterFile} says ${expected}`);
      if (k > 0 && score <= scores[k - 1]!.score) problems.push(`step ${k} earns nothing: the score stays at ${score} (a test that exercises step ${k} on its own is missing)`);
    }
    // Each test names the step it exercises: it must fail until that step is written, and pass from then on.
    for (const [name, step] of declaredSteps(chapter)) {
      const passesAt = scores.map((s) => s.passing.some((p) => p === `${chapter.short}: ${name}`));
      const firstPass = passesAt.indexOf(true);
      if (firstPass !== step) {
        problems.push(`"${name}" says it exercises step ${step} but ${firstPass === -1 ? "never passes" : `passes from step ${firstPass} on`}`);
      } else if (passesAt.slice(step).some((p) => !p)) {
        problems.push(`"${name}" passes once step ${step} is written, then fails again after a later step`);
      }
    }
    return { chapter, scores, problems };
  });
}

/** The scores as a table: steps written, score, expected. */
export function stepScoreTable(result: ChapterStepScores): string {
  const lines = [`${result.chapter.short}  ${result.chapter.title}`];
  for (const s of result.scores) {
    const title = s.written === 0 ? "(the untouched skeleton)" : result.chapter.steps[s.written - 1]!.title;
    const mark = s.score === s.expected ? " " : "!";
    lines.push(`  ${mark} after step ${String(s.written).padEnd(2)} ${String(s.score).padStart(3)} points (chapter file: ${String(s.expected).padStart(3)})  ${title}`);
  }
  return lines.join("\n");
}

const COMMAND = { usage: "npm run step-scores -- [chapterN ...]", options: {} };

async function main(): Promise<number> {
  const { positionals } = parseCommand(COMMAND, process.argv.slice(2));
  const results = await stepScores(resolveChapters(positionals));
  let ok = true;
  for (const r of results) {
    console.log(stepScoreTable(r));
    for (const p of r.problems) console.log(`    ${p}`);
    if (r.problems.length > 0) ok = false;
    console.log("");
  }
  return ok ? 0 : 1;
}

if (isMain(import.meta.url)) await runMain(main);
