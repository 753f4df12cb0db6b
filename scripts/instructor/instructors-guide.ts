/**
 * The parts of INSTRUCTORS.md and README.md that are made, not written:
 * the chapter tables (from the chapter files: title, summary, steps,
 * points, time) and the list of what each test checks (from the suites
 * themselves: every test's name says what it checks, and declares its
 * step). `npm run check` compares them with what this makes, so they can
 * never drift.
 *
 *   npm run instructors-guide   rewrite those parts from the chapter files and a run of the suites
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { declaredSteps, listChapters, PROJECT_ROOT, type Chapter } from "../shared/chapters.mjs";
import { isMain, runMain } from "../shared/cli.mjs";
import type { GradescopeResults } from "../shared/report.mjs";

export const GUIDE = path.join(PROJECT_ROOT, "INSTRUCTORS.md");
export const README = path.join(PROJECT_ROOT, "README.md");

interface Block {
  readonly begin: string;
  readonly end: string;
}

const TESTS: Block = { begin: "<!-- tests: made by npm run instructors-guide; do not edit by hand -->", end: "<!-- /tests -->" };
const GUIDE_CHAPTERS: Block = { begin: "<!-- chapters: made from the chapter files by npm run instructors-guide -->", end: "<!-- /chapters -->" };
const README_CHAPTERS: Block = GUIDE_CHAPTERS;

/** The chapters still to come, for the README's table: those the workbook plans beyond the ones that exist. */
const PLANNED: readonly { readonly number: number; readonly builds: string }[] = [
  { number: 8, builds: "clients and exactly-once commands, checked for linearizability" },
  { number: 9, builds: "snapshots and log compaction" },
];

function laterRows(chapters: readonly Chapter[]): string[] {
  const last = Math.max(0, ...chapters.map((c) => c.number));
  const later = PLANNED.filter((p) => p.number > last);
  if (later.length === 0) return [];
  const numbers = later.length === 1 ? `${later[0]!.number}` : `${later[0]!.number} and ${later.at(-1)!.number}`;
  return [`| ${numbers} | ${later.map((p) => p.builds).join("; ")} | later |`];
}

function link(chapter: Chapter): string {
  return `[${chapter.number}. ${chapter.name}](chapters/${chapter.dir}/README.md)`;
}

function pointsOf(chapter: Chapter): number {
  return chapter.steps.at(-1)?.points ?? 0;
}

/** The README's chapter table. */
export function readmeChapters(): string {
  const chapters = listChapters();
  const rows = chapters.map((c) => `| ${link(c)} | ${c.summary} | ready |`);
  return [README_CHAPTERS.begin, "", "| Chapter | You build | Status |", "| --- | --- | --- |", ...rows, ...laterRows(chapters), "", README_CHAPTERS.end].join("\n");
}

/** The instructors' chapter table: points, steps (with the score after each), time. */
export function guideChapters(): string {
  const rows = listChapters().map((c) => `| ${link(c)} | ${pointsOf(c)} | ${c.steps.length}: ${c.steps.map((s) => s.points).join(", ")} | ${c.time} |`);
  return [GUIDE_CHAPTERS.begin, "", "| Chapter | Points | Steps: the score after each | A learner needs about |", "| --- | ---: | --- | --- |", ...rows, "", GUIDE_CHAPTERS.end].join("\n");
}

/** The tests, chapter by chapter, with their step and points, from a run's results. */
export function testsSection(tests: GradescopeResults["tests"]): string {
  const lines: string[] = [TESTS.begin];
  for (const chapter of listChapters()) {
    const own = tests.filter((t) => t.name.startsWith(`${chapter.short}: `));
    const points = own.reduce((sum, t) => sum + t.max_score, 0);
    const steps = declaredSteps(chapter);
    lines.push("", `### ${chapter.title} (${own.length} tests, ${points} points)`, "", "| Step | Points | The test checks that |", "| ---: | ---: | --- |");
    for (const t of own) {
      const name = t.name.slice(chapter.short.length + 2);
      lines.push(`| ${steps.get(name) ?? "?"} | ${t.max_score} | ${name.replace(/\|/g, "\\|")} |`);
    }
  }
  lines.push("", TESTS.end);
  return lines.join("\n");
}

function replaceBlock(text: string, block: Block, made: string, file: string): string {
  const start = text.indexOf(block.begin);
  const end = text.indexOf(block.end, start);
  if (start < 0 || end < start) throw new Error(`${file} has no section between ${block.begin} and ${block.end}`);
  return `${text.slice(0, start)}${made}${text.slice(end + block.end.length)}`;
}

/** INSTRUCTORS.md with its made sections made from the chapter files and these results. */
export function guideWith(tests: GradescopeResults["tests"]): string {
  const text = readFileSync(GUIDE, "utf8");
  return replaceBlock(replaceBlock(text, GUIDE_CHAPTERS, guideChapters(), "INSTRUCTORS.md"), TESTS, testsSection(tests), "INSTRUCTORS.md");
}

/** README.md with its chapter table made from the chapter files. */
export function readmeWith(): string {
  return replaceBlock(readFileSync(README, "utf8"), README_CHAPTERS, readmeChapters(), "README.md");
}

async function main(): Promise<number> {
  const { runSuites } = (await import("../learner/suites.mjs")) as typeof import("../learner/suites.mjs");
  const { toGradescope } = await import("../shared/report.mjs");
  const { results } = await runSuites(listChapters(), { settings: { nodeRoot: "solutions", subject: "the reference solutions" } });
  writeFileSync(GUIDE, guideWith(toGradescope(results, { elapsedMs: 0 }).tests));
  writeFileSync(README, readmeWith());
  console.log("INSTRUCTORS.md (chapters and tests) and README.md (chapters) are made anew from the chapter files and the suites.");
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
