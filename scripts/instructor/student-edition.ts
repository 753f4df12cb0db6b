/**
 * npm run student-edition -- DIR [--through chapterN]
 *
 * Writes a copy of the workbook to hand to a class: the readings, the
 * skeletons, the suites, the world and the learner's commands, without
 * solutions/, without the instructors' material (INSTRUCTORS.md,
 * gradescope/) or the project's own checks (whose planted mistakes quote
 * reference code), and with every passage of the readings and the README
 * that points to the reference taken out (the ones between
 * <!-- reference --> and <!-- /reference -->, or <!-- instructors --> and
 * <!-- /instructors -->).
 *
 * With --through chapterN it holds Chapters 1 to N only: the skeleton of
 * Chapter N+1 holds Chapter N's finished node, so a course that releases a
 * chapter at a time makes a new edition when it opens the next. The
 * README's tables keep only what this edition has.
 *
 * Everything a learner runs works in it: npm test (also --watch and --ui),
 * typecheck, replay, hint, experiment, progress, demo.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, resolveChapters, type Chapter } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, UsageError } from "../shared/cli.mjs";
import { writeManifest } from "../shared/manifest.mjs";
import { makeScratchProject } from "../shared/scratch.ts";

/**
 * What a class does not get: whole folders (the reference, the planted
 * mistakes and the fixtures that quote it, the instructors' and the study
 * groups' commands, the project's own checks) and the instructors' guide.
 * What stays of scripts/ is the learner's commands and the plumbing they
 * share (LEARNER_SCRIPT_FOLDERS).
 */
const LEFT_OUT = [
  "solutions",
  "tests/planted",
  "tests/fixtures/similarity",
  "gradescope",
  "INSTRUCTORS.md",
  "scripts/instructor",
  "scripts/study-group",
  "scripts/maintainer",
];

/** The folders of scripts/ a learner's commands run from. */
export const LEARNER_SCRIPT_FOLDERS = ["learner", "shared"];

/** The commands of package.json a learner has. */
const LEARNER_COMMANDS = ["test", "grade", "hint", "demo", "progress", "replay", "experiment", "diagrams", "visualize", "typecheck"];

/** Passages that only make sense with the reference or for instructors. */
const MARKED = /\n?<!-- (reference|instructors) -->[\s\S]*?<!-- \/\1 -->\n?/g;

/** Markdown without the marked passages (and without the blank lines they leave twice). */
export function studentText(markdown: string): string {
  return markdown.replace(MARKED, "\n").replace(/\n{3,}/g, "\n\n");
}

/** The numbers of the chapters a line mentions ("chapter5", "Chapter 5", "Chapters 6 and 7"). */
function chaptersMentioned(line: string): number[] {
  const found: number[] = [];
  for (const m of line.matchAll(/chapter(\d+)|Chapters? (\d+)(?: (?:and|to) (\d+))?/g)) {
    for (const n of [m[1], m[2], m[3]]) if (n !== undefined) found.push(Number(n));
  }
  return found;
}

/**
 * Markdown for an edition through Chapter N: table rows about a later
 * chapter (a command it has no node for, a chapter it does not hold) are
 * left out, and the chapter table ends with what comes later.
 */
export function throughText(markdown: string, last: number, total: number): string {
  if (last >= total) return markdown;
  const lines: string[] = [];
  for (const line of markdown.split("\n")) {
    if (line.startsWith("|") && chaptersMentioned(line).some((n) => n > last && n <= total)) continue;
    // The chapter table's last row names what is still to come.
    if (/^\| \d+ and \d+ \|/.test(line)) {
      lines.push(`| ${last + 1} and later | what your course opens next | later |`);
      continue;
    }
    lines.push(line);
  }
  return lines.join("\n");
}

function markdownFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...markdownFiles(full));
    else if (name.endsWith(".md")) found.push(full);
  }
  return found;
}

export interface EditionOptions {
  /** The last chapter the edition holds (all when absent). */
  readonly through?: Chapter;
  /** Link the project's node_modules (for trying it out here) rather than leaving them to npm install. */
  readonly linkNodeModules?: boolean;
}

/** Write the student edition into `dir`; returns `dir`. */
export function makeStudentEdition(dir: string, options: EditionOptions = {}): string {
  const chapters = listChapters();
  const last = options.through?.number ?? chapters.length;
  const later = chapters.filter((c) => c.number > last);
  makeScratchProject(dir, {
    chapters: "skeletons",
    without: [...LEFT_OUT, ...later.flatMap((c) => [`chapters/${c.dir}`, c.testFile])],
    linkNodeModules: options.linkNodeModules ?? false,
  });
  // Only the diagrams of the chapters it holds.
  for (const name of readdirSync(path.join(dir, "diagrams"))) {
    const chapter = /^chapter(\d+)-/.exec(name);
    if (chapter && Number(chapter[1]) > last) rmSync(path.join(dir, "diagrams", name), { force: true });
  }
  for (const file of markdownFiles(dir)) writeFileSync(file, throughText(studentText(readFileSync(file, "utf8")), last, chapters.length));
  const packageFile = path.join(dir, "package.json");
  const pkg = JSON.parse(readFileSync(packageFile, "utf8")) as { scripts: Record<string, string> };
  for (const script of Object.keys(pkg.scripts)) if (!LEARNER_COMMANDS.includes(script)) delete pkg.scripts[script];
  writeFileSync(packageFile, `${JSON.stringify(pkg, null, 2)}\n`);
  writeManifest(dir);
  return dir;
}

const COMMAND = {
  usage: "npm run student-edition -- DIR [--through chapterN]",
  options: {
    through: { type: "string" as const, value: "chapterN", help: "hold Chapters 1 to N only (the skeleton of N+1 would hand out N's finished node)" },
  },
  more: "DIR must not exist yet, or be empty.",
};

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length !== 1) throw new UsageError(`Where should the student edition go?\n\nUsage: ${COMMAND.usage}`);
  const dir = path.resolve(process.cwd(), positionals[0]!);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${positionals[0]} is not empty; give a new folder.`);
  const through = typeof values.through === "string" ? resolveChapters([values.through])[0] : undefined;
  makeStudentEdition(dir, { ...(through ? { through } : {}) });
  console.log(`Student edition written to ${positionals[0]}${through ? ` (Chapters 1 to ${through.number})` : ""}. In it: npm install, then npm test -- chapter1.`);
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
