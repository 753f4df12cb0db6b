/**
 * npm run compare -- chapterN
 *
 * For study groups: your code beside the reference's. First the chapter's
 * graded tests, your result and the reference's side by side; then the
 * differences between your files and the reference's, step by step (each
 * difference filed under the step of the reference it falls in, or under
 * the code the skeleton gave you).
 *
 * Needs solutions/ (a student edition has none).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { structuredPatch } from "diff";
import pc from "picocolors";
import { chapterList, PROJECT_ROOT, resolveChapters, type Chapter } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, UsageError } from "../shared/cli.mjs";
import type { ChapterResult } from "../shared/report.mjs";

const COMMAND = {
  usage: "npm run compare -- chapterN",
  options: {},
};

/** The skeleton's header and the reference's say where the exercise is in different words; neither is a difference. */
const HEADER = /^ \* (Your part: each `TODO Step N`|The lines between `@step N` and `@end`)[\s\S]*?(?=^ \*\/)/m;

interface Stripped {
  readonly lines: string[];
  /** For each line, the step whose region holds it (0: code the skeleton gives). */
  readonly stepOf: number[];
}

/** The reference without its markers, each line knowing its step. */
export function stripMarkers(source: string): Stripped {
  const lines: string[] = [];
  const stepOf: number[] = [];
  let step = 0;
  for (const line of source.replace(HEADER, "").split("\n")) {
    const start = /^\s*\/\/ @step (\d+)\s*$/.exec(line);
    if (start) {
      step = Number(start[1]);
      continue;
    }
    if (/^\s*\/\/ @end\s*$/.test(line)) {
      step = 0;
      continue;
    }
    lines.push(line);
    stepOf.push(step);
  }
  return { lines, stepOf };
}

/** Your file as compared: without the skeleton's header, and without TODO lines or markers left behind. */
export function learnerLines(source: string): string[] {
  return source
    .replace(HEADER, "")
    .split("\n")
    .filter((line) => !/^\s*\/\/ (TODO Step \d+:|@step \d+\s*$|@end\s*$)/.test(line));
}

/** The differences of one file, grouped by the reference's step they fall in. */
export function stepDiff(chapter: Chapter, yours: string, reference: string): Map<number, string[]> {
  const ref = stripMarkers(reference);
  const mine = learnerLines(yours);
  const patch = structuredPatch("yours", "reference", `${mine.join("\n")}\n`, `${ref.lines.join("\n")}\n`, "", "", { context: 1 });
  const byStep = new Map<number, string[]>();
  for (const hunk of patch.hunks) {
    // The reference's lines this hunk changes (or, for a pure deletion, the line it sits at).
    const steps = new Set<number>();
    let refLine = hunk.newStart - 1;
    for (const line of hunk.lines) {
      if (line.startsWith("+")) {
        steps.add(ref.stepOf[refLine] ?? 0);
        refLine++;
      } else if (line.startsWith("-")) {
        steps.add(ref.stepOf[refLine] ?? ref.stepOf[refLine - 1] ?? 0);
      } else {
        refLine++;
      }
    }
    const step = Math.min(...[...steps].filter((s) => s > 0).concat(steps.has(0) && steps.size === 1 ? [0] : []));
    const key = Number.isFinite(step) ? step : 0;
    const text = [
      pc.cyan(`@@ yours line ${hunk.oldStart}, reference line ${hunk.newStart} @@`),
      ...hunk.lines.map((l) => (l.startsWith("-") ? pc.red(l) : l.startsWith("+") ? pc.green(l) : l)),
    ];
    byStep.set(key, [...(byStep.get(key) ?? []), ...text]);
  }
  void chapter;
  return byStep;
}

async function main(): Promise<number> {
  const { positionals } = parseCommand({ ...COMMAND, more: chapterList() }, process.argv.slice(2));
  if (positionals.length !== 1) throw new UsageError(`Which chapter? Give one.\n\nUsage: ${COMMAND.usage}\n\n${chapterList()}`);
  const [chapter] = resolveChapters(positionals);
  if (!chapter) throw new UsageError(`Usage: ${COMMAND.usage}`);
  if (!existsSync(path.join(PROJECT_ROOT, "solutions", chapter.dir))) {
    throw new UsageError("compare needs the reference solutions in solutions/, and this copy of the workbook has none.");
  }
  const { runSuites } = (await import("../learner/suites.mjs")) as typeof import("../learner/suites.mjs");
  const yours = (await runSuites([chapter], { settings: { nodeRoot: "chapters", subject: "your code" } })).results[0] as ChapterResult | undefined;
  const reference = (await runSuites([chapter], { settings: { nodeRoot: "solutions", subject: "the reference" } })).results[0] as ChapterResult | undefined;
  const mark = (state: string | undefined, points: number) => (state === "passed" ? pc.green(`✓ ${points}`.padStart(5)) : state === "failed" ? pc.red(`✗ 0`.padStart(5)) : pc.dim("-".padStart(5)));
  console.log(pc.bold(`${chapter.title}: your code beside the reference, test by test\n`));
  console.log(`${"yours".padStart(5)}  ${"ref".padStart(5)}  test`);
  let earned = 0;
  let referenceEarned = 0;
  let possible = 0;
  for (const test of reference?.tests ?? []) {
    const mine = yours?.tests.find((t) => t.name === test.name);
    possible += test.points;
    if (mine?.state === "passed") earned += test.points;
    if (test.state === "passed") referenceEarned += test.points;
    console.log(`${mark(mine?.state, test.points)}  ${mark(test.state, test.points)}  ${test.name}`);
  }
  console.log(`${`${earned}`.padStart(5)}  ${`${referenceEarned}`.padStart(5)}  of ${possible} points\n`);

  for (const file of chapter.files) {
    const mineFile = path.join(PROJECT_ROOT, "chapters", chapter.dir, file);
    const refFile = path.join(PROJECT_ROOT, "solutions", chapter.dir, file);
    if (!existsSync(mineFile)) {
      console.log(pc.yellow(`chapters/${chapter.dir}/${file} is missing.`));
      continue;
    }
    const groups = stepDiff(chapter, readFileSync(mineFile, "utf8"), readFileSync(refFile, "utf8"));
    console.log(pc.bold(`chapters/${chapter.dir}/${file} against solutions/${chapter.dir}/${file} (${pc.red("-")} yours, ${pc.green("+")} the reference's):`));
    if (groups.size === 0) {
      console.log("  the same, line for line.\n");
      continue;
    }
    for (const key of [...groups.keys()].sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : a - b))) {
      const step = chapter.steps.find((s) => s.number === key);
      console.log(pc.bold(`\n${step ? `Step ${step.number}: ${step.title}` : "Code the skeleton gave you (changed on your side, or around a step)"}`));
      console.log(groups.get(key)!.join("\n"));
    }
    console.log("");
  }
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
