/**
 * Skeletons are made from the reference solutions, so the two never drift.
 *
 * In solutions/chapterN-…/node.ts, each exercise is a region:
 *
 *     // @step 2: Draw a fresh election timeout and start the timer
 *     ...the reference code...
 *     // @end
 *
 * The learner's chapters/chapterN-…/node.ts is the same file with every
 * region replaced by a TODO that throws an error naming the chapter and
 * the step. Comment lines at the top of a region stay, as hints. Earlier
 * chapters' code carries no markers: it is given.
 *
 *   npm run skeletons             say whether chapters/ matches the solutions
 *   npm run skeletons -- --write  regenerate every chapters/…/node.ts (overwrites!)
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, PROJECT_ROOT, runMain, UsageError, type Chapter } from "./chapters.mjs";

const START = /^(\s*)\/\/ @step (\d+): (.+)$/;

/** The solution's header says where the exercise is; the skeleton's says what to do. */
const SOLUTION_HEADER = " * The lines between `@step N` and `@end` are this chapter's exercise; in\n * the skeleton in chapters/ each is a stub that throws until written.\n";
const SKELETON_HEADER = " * Your part: each `TODO Step N` below throws until you write it. Do them\n * in order, with the chapter's README.md beside you.\n";
const END = /^\s*\/\/ @end\s*$/;

/** Whether the region starting at line `start` is the last thing in its block. */
function endsBlock(lines: readonly string[], start: number, indent: string): boolean {
  let i = start + 1;
  while (i < lines.length && !END.test(lines[i]!)) i++;
  i++;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const next = lines[i] ?? "";
  return next.trim().startsWith("}") && next.length - next.trimStart().length < indent.length;
}

export interface Step {
  readonly number: number;
  readonly title: string;
}

/** The skeleton text for a chapter's reference solution, and the steps it found. */
export function makeSkeleton(source: string, chapter: Chapter): { text: string; steps: Step[] } {
  const out: string[] = [];
  const steps: Step[] = [];
  let open: Step | undefined;
  // Comment lines at the top of a region are hints: the skeleton keeps them.
  let inHint = false;
  let needsHelper = false;
  if (!source.includes(SOLUTION_HEADER)) throw new Error(`${chapter.dir}: the solution's header must say where the exercise is:\n${SOLUTION_HEADER}`);
  const lines = source.replace(SOLUTION_HEADER, SKELETON_HEADER).split("\n");
  lines.forEach((line, i) => {
    const start = START.exec(line);
    if (start) {
      if (open) throw new Error(`${chapter.dir}: @step on line ${i + 1} opens inside step ${open.number}`);
      const [, indent, number, title] = start;
      open = { number: Number(number), title: title!.trim() };
      if (!steps.some((s) => s.number === open!.number)) {
        // The reading walks through the steps in order, so the file must too.
        const last = steps.at(-1);
        if (last && last.number > open.number) throw new Error(`${chapter.dir}: step ${open.number} comes after step ${last.number} in the file; keep the steps in order`);
        steps.push(open);
      }
      const what = `${title!.trim().replace(/\.$/, "")}`;
      const message =
        `Chapter ${chapter.number}, step ${number} is not written yet: ${what.charAt(0).toLowerCase()}${what.slice(1)}. ` +
        `Read step ${number} in chapters/${chapter.dir}/README.md (a hint: npm run hint -- ${chapter.short} ${number}).`;
      out.push(`${indent}// TODO Step ${number}: ${what}.`);
      // At the end of a block, a plain throw. In the middle of one, code
      // after a throw would be unreachable, and TypeScript stops narrowing
      // types there; a call that happens to throw keeps the rest checked.
      if (endsBlock(lines, i, indent!)) out.push(`${indent}throw new Error(${JSON.stringify(message)});`);
      else {
        out.push(`${indent}stepNotWritten(${JSON.stringify(message)});`);
        needsHelper = true;
      }
      inHint = true;
      return;
    }
    if (open && inHint && /^\s*\/\/ /.test(line) && !END.test(line)) {
      // Keep the hint, above the throw.
      out.splice(out.length - 1, 0, line);
      return;
    }
    inHint = false;
    if (END.test(line)) {
      if (!open) throw new Error(`${chapter.dir}: @end on line ${i + 1} has no @step`);
      open = undefined;
      return;
    }
    if (!open) out.push(line);
  });
  if (open) throw new Error(`${chapter.dir}: step ${open.number} has no @end`);
  if (needsHelper) {
    while (out.at(-1) === "") out.pop();
    out.push("", "/** Stops the run at a step that is not written yet. */", "function stepNotWritten(message: string): void {", "  throw new Error(message);", "}", "");
  }
  return { text: out.join("\n"), steps };
}

export function solutionFile(chapter: Chapter): string {
  return path.join(PROJECT_ROOT, "solutions", chapter.dir, "node.ts");
}

export function skeletonFile(chapter: Chapter): string {
  return path.join(PROJECT_ROOT, "chapters", chapter.dir, "node.ts");
}

/** Chapters whose chapters/…/node.ts is not what the generator makes. */
export function outdatedSkeletons(): Chapter[] {
  return listChapters().filter((chapter) => {
    const expected = makeSkeleton(readFileSync(solutionFile(chapter), "utf8"), chapter).text;
    const file = skeletonFile(chapter);
    return !existsSync(file) || readFileSync(file, "utf8") !== expected;
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--write");
  if (unknown.length > 0) throw new UsageError(`Unknown option ${unknown.join(" ")}.\nUsage: npm run skeletons [-- --write]`);
  if (args.includes("--write")) {
    for (const chapter of listChapters()) {
      const { text, steps } = makeSkeleton(readFileSync(solutionFile(chapter), "utf8"), chapter);
      writeFileSync(skeletonFile(chapter), text);
      console.log(`wrote chapters/${chapter.dir}/node.ts (${steps.length} steps)`);
    }
    return 0;
  }
  const outdated = outdatedSkeletons();
  for (const chapter of outdated) {
    console.log(`chapters/${chapter.dir}/node.ts differs from the skeleton made from solutions/${chapter.dir}/node.ts`);
  }
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

if (import.meta.url === `file://${process.argv[1]}`) await runMain(main);
