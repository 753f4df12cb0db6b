/**
 * npm run student-edition -- DIR
 *
 * Writes a copy of the workbook to hand to a class: the readings, the
 * skeletons, the suites, the world and the commands, without solutions/,
 * without the instructors' material (INSTRUCTORS.md, gradescope/), and
 * with every passage of the readings and the README that points to the
 * reference taken out (the ones between <!-- reference --> and
 * <!-- /reference -->, or <!-- instructors --> and <!-- /instructors -->).
 * Everything a learner runs works in it: npm test (also --watch and --ui),
 * typecheck, replay, hint, experiment.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMain, parseCommand, runMain, UsageError } from "./cli.mjs";
import { writeManifest } from "./manifest.mjs";
import { makeScratchProject } from "./scratch.ts";

/** What a class does not get. */
const LEFT_OUT = ["solutions", "tests/planted", "gradescope", "INSTRUCTORS.md"];

/** The commands that need what was left out. */
const SCRIPTS_LEFT_OUT = ["test:solutions", "compare", "check", "soak", "bench", "planted", "skeletons", "step-scores", "student-edition", "gradescope", "instructors-guide", "manifest"];

/** Passages that only make sense with the reference or for instructors. */
const MARKED = /\n?<!-- (reference|instructors) -->[\s\S]*?<!-- \/\1 -->\n?/g;

/** Markdown without the marked passages (and without the blank lines they leave twice). */
export function studentText(markdown: string): string {
  return markdown.replace(MARKED, "\n").replace(/\n{3,}/g, "\n\n");
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
  /** Link the project's node_modules (for trying it out here) rather than leaving them to npm install. */
  readonly linkNodeModules?: boolean;
}

/** Write the student edition into `dir`; returns `dir`. */
export function makeStudentEdition(dir: string, options: EditionOptions = {}): string {
  makeScratchProject(dir, { chapters: "skeletons", without: LEFT_OUT, linkNodeModules: options.linkNodeModules ?? false });
  for (const file of markdownFiles(dir)) writeFileSync(file, studentText(readFileSync(file, "utf8")));
  const packageFile = path.join(dir, "package.json");
  const pkg = JSON.parse(readFileSync(packageFile, "utf8")) as { scripts: Record<string, string> };
  for (const script of SCRIPTS_LEFT_OUT) delete pkg.scripts[script];
  writeFileSync(packageFile, `${JSON.stringify(pkg, null, 2)}\n`);
  writeManifest(dir);
  return dir;
}

const COMMAND = {
  usage: "npm run student-edition -- DIR",
  options: {},
  more: "DIR must not exist yet, or be empty.",
};

async function main(): Promise<number> {
  const { positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length !== 1) throw new UsageError(`Where should the student edition go?\n\nUsage: ${COMMAND.usage}`);
  const dir = path.resolve(process.cwd(), positionals[0]!);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${positionals[0]} is not empty; give a new folder.`);
  makeStudentEdition(dir);
  console.log(`Student edition written to ${positionals[0]}. In it: npm install, then npm test -- chapter1.`);
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
