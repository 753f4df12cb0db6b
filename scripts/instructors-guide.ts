/**
 * The part of INSTRUCTORS.md that lists what each test checks, made from
 * the suites themselves (every test's name says what it checks), so it
 * can never drift from them: `npm run check` compares the two.
 *
 *   npm run instructors-guide   rewrite that part of INSTRUCTORS.md from a run of the suites
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, PROJECT_ROOT } from "./chapters.mjs";
import { isMain, runMain } from "./cli.mjs";
import type { GradescopeResults } from "./report.mjs";

export const GUIDE = path.join(PROJECT_ROOT, "INSTRUCTORS.md");
const BEGIN = "<!-- tests: made by npm run instructors-guide; do not edit by hand -->";
const END = "<!-- /tests -->";

/** The tests, chapter by chapter, with their points, from a run's results. */
export function testsSection(tests: GradescopeResults["tests"]): string {
  const lines: string[] = [BEGIN];
  for (const chapter of listChapters()) {
    const own = tests.filter((t) => t.name.startsWith(`${chapter.short}: `));
    const points = own.reduce((sum, t) => sum + t.max_score, 0);
    lines.push("", `### ${chapter.title} (${own.length} tests, ${points} points)`, "", "| Points | The test checks that |", "| ---: | --- |");
    for (const t of own) lines.push(`| ${t.max_score} | ${t.name.slice(chapter.short.length + 2).replace(/\|/g, "\\|")} |`);
  }
  lines.push("", END);
  return lines.join("\n");
}

/** INSTRUCTORS.md with its tests section made from these results. */
export function guideWith(tests: GradescopeResults["tests"]): string {
  const text = readFileSync(GUIDE, "utf8");
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`INSTRUCTORS.md has no section between ${BEGIN} and ${END}`);
  return `${text.slice(0, start)}${testsSection(tests)}${text.slice(end + END.length)}`;
}

async function main(): Promise<number> {
  const { runSuites } = (await import("./suites.mjs")) as typeof import("./suites.mjs");
  const { toGradescope } = await import("./report.mjs");
  const { results } = await runSuites(listChapters(), { settings: { nodeRoot: "solutions", subject: "the reference solutions" } });
  writeFileSync(GUIDE, guideWith(toGradescope(results, { elapsedMs: 0 }).tests));
  console.log("INSTRUCTORS.md: the tests section is made anew.");
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
