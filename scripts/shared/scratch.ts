/**
 * Scratch copies of the workbook, for checks that need a learner's view of
 * it: every chapter finished but one broken on purpose, a chapter written
 * up to step k, a copy without solutions/.
 *
 * A copy holds the project's own files (not node_modules, which it links
 * to, nor .git) and can have any node.ts replaced.
 */
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, PROJECT_ROOT } from "./chapters.mjs";

/** The files and folders a copy of the workbook is made of. */
export const PROJECT_PARTS = [
  "chapters",
  "solutions",
  "tests",
  "world",
  "sandbox",
  "scenarios",
  "visualizer",
  "scripts",
  "diagrams",
  "gradescope",
  "INSTRUCTORS.md",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "vitest.config.ts",
  ".puppeteerrc.cjs",
  ".markdownlint.jsonc",
  ".gitignore",
  "README.md",
];

export interface ScratchOptions {
  /** What chapters/ holds: the skeletons as shipped, or every reference solution, experiment files included (a learner who finished). */
  readonly chapters: "skeletons" | "solutions";
  /** node.ts files to put in place, by chapter folder ("chapter2-request-vote"): their source text. */
  readonly nodes?: Readonly<Record<string, string>>;
  /** Leave out these parts or paths within them (e.g. "solutions", "tests/planted"). */
  readonly without?: readonly string[];
  /** Link the project's node_modules (default), or leave them to `npm install`. */
  readonly linkNodeModules?: boolean;
}

/** Make (or remake) a scratch copy in `dir`; returns `dir`. */
export function makeScratchProject(dir: string, options: ScratchOptions): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const without = new Set((options.without ?? []).map((p) => path.join(PROJECT_ROOT, p)));
  for (const part of PROJECT_PARTS) {
    const from = path.join(PROJECT_ROOT, part);
    if (without.has(from) || !existsSync(from)) continue;
    cpSync(from, path.join(dir, part), { recursive: true, filter: (source) => !without.has(source) });
  }
  if (options.linkNodeModules ?? true) symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  if (options.chapters === "solutions" && existsSync(path.join(PROJECT_ROOT, "solutions"))) {
    for (const chapter of listChapters()) {
      for (const file of chapter.files) cpSync(path.join(PROJECT_ROOT, "solutions", chapter.dir, file), path.join(dir, "chapters", chapter.dir, file));
    }
  }
  for (const [chapterDir, source] of Object.entries(options.nodes ?? {})) {
    writeFileSync(path.join(dir, "chapters", chapterDir, "node.ts"), source);
  }
  return dir;
}
