/**
 * Skeletons are made from the reference solutions, so the two never drift.
 *
 * In solutions/chapterN-…/node.ts (and any other file the chapter file
 * lists, like Chapter 3's experiment.ts), each exercise is a region:
 *
 *     // @step 2
 *     ...the reference code...
 *     // @end
 *
 * The learner's chapters/chapterN-…/node.ts is the same file with every
 * region replaced by a stub, titled from the chapter file
 * (chapters/chapterN-…/chapter.toml). A step that only acts does nothing
 * until it is written, and notes in the run's trace that it ran: the rest
 * of the node still runs, so every step written raises the score, and a
 * failure says which unwritten steps the test ran. A step that must
 * answer something (a number, a result) throws instead, naming itself.
 * Earlier chapters' code carries no markers: it is given.
 *
 *   npm run skeletons             say whether chapters/ matches the solutions
 *   npm run skeletons -- --write  regenerate every chapters/…/node.ts and experiment.ts (overwrites!)
 *
 * makeSkeleton(source, chapter, k) keeps steps 1 to k written: the check
 * uses it to prove that the score rises with every step.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, PROJECT_ROOT, type Chapter } from "./chapters.mjs";
import { isMain, parseCommand, runMain } from "./cli.mjs";

const START = /^(\s*)\/\/ @step (\d+)\s*$/;
const END = /^\s*\/\/ @end\s*$/;

/** The solution's header says where the exercise is; the skeleton's says what to do. */
const SOLUTION_HEADER = " * The lines between `@step N` and `@end` are this chapter's exercise; in\n * the skeleton in chapters/ each is a stub until written.\n";
const SKELETON_HEADER =
  " * Your part: each `TODO Step N` below. A step that only acts does nothing\n" +
  " * until you write it; one that must answer something stops the run. Do\n" +
  " * them in order, with the chapter's README.md beside you.\n";

/** The note a stub leaves in the trace; the test harness reads it back. */
export function notWrittenNote(chapter: number, step: number, title: string): string {
  return `Chapter ${chapter}, step ${step} is not written yet: ${title.charAt(0).toLowerCase()}${title.slice(1).replace(/\.$/, "")}`;
}

/** Whether the region starting at line `start` is the last thing in its block. */
function endsBlock(lines: readonly string[], start: number, indent: string): boolean {
  let i = start + 1;
  while (i < lines.length && !END.test(lines[i]!)) i++;
  i++;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const next = lines[i] ?? "";
  return next.trim().startsWith("}") && next.length - next.trimStart().length < indent.length;
}

interface Region {
  readonly number: number;
  readonly indent: string;
  readonly startLine: number;
  readonly body: string[];
}

/**
 * The skeleton for a chapter's reference solution, with steps 1 to
 * `written` kept as they are (0: the learner's untouched skeleton).
 */
export function makeSkeleton(source: string, chapter: Chapter, written = 0): { text: string; steps: number[] } {
  // A file given whole (Chapter 9's clerk.ts, Chapter 8's work): no exercise in it, the learner's copy is the same.
  if (!source.includes(SOLUTION_HEADER) && !/^\s*\/\/ @step /m.test(source)) return { text: source, steps: [] };
  if (!source.includes(SOLUTION_HEADER)) throw new Error(`${chapter.dir}: the solution's header must say where the exercise is:\n${SOLUTION_HEADER}`);
  const lines = source.replace(SOLUTION_HEADER, SKELETON_HEADER).split("\n");
  const out: string[] = [];
  const steps: number[] = [];
  let open: Region | undefined;
  let needsHelper = false;
  lines.forEach((line, i) => {
    const start = START.exec(line);
    if (start) {
      if (open) throw new Error(`${chapter.dir}: @step on line ${i + 1} opens inside step ${open.number}`);
      const number = Number(start[2]);
      // A step may have several regions (a method, and the line that calls it).
      if (!steps.includes(number)) steps.push(number);
      open = { number, indent: start[1]!, startLine: i, body: [] };
      return;
    }
    if (END.test(line)) {
      if (!open) throw new Error(`${chapter.dir}: @end on line ${i + 1} has no @step`);
      const region = open;
      open = undefined;
      if (region.number <= written) {
        out.push(...region.body);
        return;
      }
      const step = chapter.steps.find((s) => s.number === region.number);
      if (!step) throw new Error(`${chapter.dir}: the solution has a step ${region.number}, the chapter file does not`);
      const { indent } = region;
      const title = step.title.replace(/\.$/, "");
      out.push(`${indent}// TODO Step ${step.number}: ${title}.`);
      // A step that answers something cannot do nothing: it stops the run.
      if (region.body.some((l) => /\breturn\s+[^;\s]/.test(l))) {
        const message = `${notWrittenNote(chapter.number, step.number, title)}. Read step ${step.number} in chapters/${chapter.dir}/README.md (a hint: npm run hint -- ${chapter.short} ${step.number}).`;
        // At the end of a block, a plain throw. In the middle of one, code
        // after a throw would be unreachable, and TypeScript stops narrowing
        // types there; a call that happens to throw keeps the rest checked.
        if (endsBlock(lines, region.startLine, indent)) out.push(`${indent}throw new Error(${JSON.stringify(message)});`);
        else {
          out.push(`${indent}stepNotWritten(${JSON.stringify(message)});`);
          needsHelper = true;
        }
      } else {
        out.push(`${indent}this.env.note(${JSON.stringify(notWrittenNote(chapter.number, step.number, title))});`);
      }
      return;
    }
    if (open) open.body.push(line);
    else out.push(line);
  });
  if (open) throw new Error(`${chapter.dir}: step ${open.number} has no @end`);
  steps.sort((a, b) => a - b);
  if (needsHelper) {
    while (out.at(-1) === "") out.pop();
    out.push("", "/** Stops the run at a step that must answer something and is not written yet. */", "function stepNotWritten(message: string): void {", "  throw new Error(message);", "}", "");
  }
  return { text: out.join("\n"), steps };
}

/** The learner's files of a chapter (node.ts, and Chapter 3's experiment.ts), as the chapter file lists them. */
export function solutionFile(chapter: Chapter, file = "node.ts"): string {
  return path.join(PROJECT_ROOT, "solutions", chapter.dir, file);
}

export function skeletonFile(chapter: Chapter, file = "node.ts"): string {
  return path.join(PROJECT_ROOT, "chapters", chapter.dir, file);
}

/**
 * Every skeleton file of a chapter, with steps 1 to `written` kept. The
 * steps of all its files together must be the chapter file's steps.
 */
export function makeChapterSkeletons(chapter: Chapter, written = 0): Map<string, string> {
  const files = new Map<string, string>();
  const steps: number[] = [];
  for (const file of chapter.files) {
    const made = makeSkeleton(readFileSync(solutionFile(chapter, file), "utf8"), chapter, written);
    files.set(file, made.text);
    steps.push(...made.steps);
  }
  steps.sort((a, b) => a - b);
  const expected = chapter.steps.map((s) => s.number);
  if (steps.join() !== expected.join()) {
    throw new Error(`${chapter.dir}: the solution's steps (${chapter.files.join(", ")}) are ${steps.join(", ")}; the chapter file's are ${expected.join(", ")}`);
  }
  return files;
}

/** Skeleton files (chapters/…/node.ts…) that are not what the generator makes. */
export function outdatedSkeletons(): string[] {
  const outdated: string[] = [];
  for (const chapter of listChapters()) {
    for (const [file, expected] of makeChapterSkeletons(chapter)) {
      const target = skeletonFile(chapter, file);
      if (!existsSync(target) || readFileSync(target, "utf8") !== expected) outdated.push(path.relative(PROJECT_ROOT, target));
    }
  }
  return outdated;
}

const COMMAND = {
  usage: "npm run skeletons [-- --write]",
  options: { write: { type: "boolean" as const, help: "regenerate every chapters/…/node.ts from its solution (overwrites!)" } },
};

async function main(): Promise<number> {
  const { values } = parseCommand(COMMAND, process.argv.slice(2));
  if (values.write) {
    for (const chapter of listChapters()) {
      for (const [file, text] of makeChapterSkeletons(chapter)) {
        writeFileSync(skeletonFile(chapter, file), text);
        console.log(`wrote chapters/${chapter.dir}/${file}`);
      }
    }
    return 0;
  }
  const outdated = outdatedSkeletons();
  for (const file of outdated) console.log(`${file} differs from the skeleton made from its reference solution in solutions/`);
  if (outdated.length > 0) {
    console.log(
      "\nIf you are working through the workbook, that difference is your own work: nothing to do." +
        "\nIf you are changing the workbook, regenerate the skeletons with: npm run skeletons -- --write",
    );
    return 1;
  }
  console.log("Every skeleton matches its reference solution.");
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
