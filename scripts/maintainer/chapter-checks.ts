/**
 * One source of truth per chapter: its chapter file (chapters/…/chapter.toml)
 * says its steps, their titles, the score after each, and the hints. This
 * checks that everything else agrees with it:
 *
 *   - the reading has a "### Step N: title" heading for each step, in order,
 *     and no others; no hint blocks (hints are asked for: npm run hint);
 *     and a "Where this workbook departs from the paper" section;
 *   - the reference solution's markers (`// @step N`) cover exactly the steps;
 *   - every graded test declares one of the chapter's steps, every step has
 *     a test, and the suite's points add up to the score after the last step.
 *
 * (That each test starts passing at the step it declares, and that the
 * score after each step is the chapter file's, is scripts/maintainer/step-scores.ts.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { declaredSteps, listChapters, PROJECT_ROOT, type Chapter } from "../shared/chapters.mjs";
import { NODE_RULES } from "../../world/invariants.ts";
import { makeChapterSkeletons } from "../shared/skeletons.ts";

export const DEPARTURES_HEADING = "## Where this workbook departs from the paper";

export function chapterAgreementProblems(chapter: Chapter, suitePoints: number | undefined): string[] {
  const problems: string[] = [];
  const readingFile = `chapters/${chapter.dir}/README.md`;
  const reading = readFileSync(path.join(PROJECT_ROOT, readingFile), "utf8");
  const headings = [...reading.matchAll(/^### Step (\d+): (.+)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
  const expected = chapter.steps.map((s) => `${s.number}: ${s.title}`);
  if (headings.join("\n") !== expected.join("\n")) {
    problems.push(`${readingFile}: its step headings are\n      ${headings.join("\n      ") || "(none)"}\n    but ${chapter.chapterFile} says\n      ${expected.join("\n      ")}`);
  }
  if (/<details>/i.test(reading)) problems.push(`${readingFile} has a <details> block: hints live in ${chapter.chapterFile} and are asked for with npm run hint`);
  if (!reading.includes(DEPARTURES_HEADING)) problems.push(`${readingFile} has no "${DEPARTURES_HEADING.slice(3)}" section`);
  try {
    makeChapterSkeletons(chapter);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  for (const step of chapter.steps) {
    for (const rule of step.rules) {
      if (!NODE_RULES.has(rule as never)) problems.push(`${chapter.chapterFile}: step ${step.number} lists the rule "${rule}", which is not one of the world's node rules (${[...NODE_RULES].join("; ")})`);
    }
  }
  const declared = declaredSteps(chapter);
  const source = readFileSync(path.join(PROJECT_ROOT, chapter.testFile), "utf8");
  const tests = (source.match(/^graded\(/gm) ?? []).length;
  if (declared.size !== tests) problems.push(`${chapter.testFile}: ${tests} graded tests, but only ${declared.size} declare their step as graded(points, "name", { step: N }, ...)`);
  for (const [name, step] of declared) {
    if (!chapter.steps.some((s) => s.number === step)) problems.push(`${chapter.testFile}: "${name}" declares step ${step}; ${chapter.chapterFile} has steps 1 to ${chapter.steps.length}`);
  }
  for (const step of chapter.steps) {
    if (![...declared.values()].includes(step.number)) problems.push(`${chapter.testFile}: no test exercises step ${step.number} (${step.title}), so writing it earns nothing`);
  }
  const last = chapter.steps.at(-1)?.points ?? 0;
  if (suitePoints !== undefined && suitePoints !== last) problems.push(`${chapter.testFile} is worth ${suitePoints} points; ${chapter.chapterFile} says ${last} after the last step`);
  return problems;
}

export function allChapterAgreementProblems(pointsOf: (chapter: Chapter) => number | undefined): string[] {
  return listChapters().flatMap((c) => chapterAgreementProblems(c, pointsOf(c)).map((p) => `${c.short}: ${p}`));
}
