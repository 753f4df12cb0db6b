// @ts-check
/**
 * Where a learner stands, and what to do next: which steps of each chapter
 * are written (a step counts as written once its stub is gone from the
 * chapter's files), the points, and the one next thing to do, with the
 * command that helps. `npm run progress` prints it for every chapter;
 * `npm test -- chapterN --watch` ends every re-run with the next line.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import { PROJECT_ROOT } from "../shared/chapters.mjs";
import { earnedOf, possibleOf } from "../shared/report.mjs";

/**
 * The steps of a chapter whose stubs are gone from the learner's files.
 * @param {import("../shared/chapters.mjs").Chapter} chapter
 * @param {string} [root]
 * @returns {number[]}
 */
export function stepsWritten(chapter, root = PROJECT_ROOT) {
  const texts = chapter.files
    .map((file) => path.join(root, "chapters", chapter.dir, file))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, "utf8"));
  if (texts.length === 0) return [];
  return chapter.steps.filter((s) => !texts.some((t) => t.includes(`Chapter ${chapter.number}, step ${s.number} is not written yet`))).map((s) => s.number);
}

/**
 * @typedef {object} ChapterProgress
 * @property {import("../shared/chapters.mjs").Chapter} chapter
 * @property {number[]} written     the steps written
 * @property {number} earned
 * @property {number} possible
 */

/**
 * @param {readonly import("../shared/chapters.mjs").Chapter[]} chapters
 * @param {readonly import("../shared/report.mjs").ChapterResult[]} results
 * @param {string} [root]
 * @returns {ChapterProgress[]}
 */
export function progressOf(chapters, results, root = PROJECT_ROOT) {
  return chapters.map((chapter) => {
    const result = results.find((r) => r.chapter === chapter.short);
    return {
      chapter,
      written: stepsWritten(chapter, root),
      earned: result ? earnedOf(result) : 0,
      possible: result ? possibleOf(result) : (chapter.steps.at(-1)?.points ?? 0),
    };
  });
}

/**
 * The one next thing to do, in one line, or undefined when every chapter
 * given is done.
 * @param {readonly ChapterProgress[]} progress
 * @returns {string | undefined}
 */
export function nextLine(progress) {
  // A learner may start at any chapter: carry on with a chapter begun and
  // not finished; else the first untouched one after the last begun; else
  // the first unfinished one.
  /** @param {ChapterProgress} p */
  const begun = (p) => p.written.length > 0 || p.earned > 0;
  /** @param {ChapterProgress} p */
  const unfinished = (p) => p.earned < p.possible;
  let lastBegun = -1;
  progress.forEach((p, i) => {
    if (begun(p)) lastBegun = i;
  });
  const open = progress.find((p) => begun(p) && unfinished(p)) ?? progress.find((p, i) => i > lastBegun && unfinished(p));
  if (!open) {
    // Done from the latest chapter worked on to the last: what came before it was skipped, not left undone.
    const skipped = progress.filter((p, i) => i < lastBegun && unfinished(p) && !begun(p));
    if (lastBegun >= 0 && skipped.length > 0) {
      const latest = /** @type {ChapterProgress} */ (progress[lastBegun]).chapter;
      return `Done: ${latest.short}, the latest chapter you worked on, has full points${lastBegun < progress.length - 1 ? ", and so does every chapter after it" : ""}. The chapters you skipped (${skipped.map((p) => p.chapter.short).join(", ")}) are there if you want them: npm test -- ${skipped[0]?.chapter.short}.`;
    }
    const first = progress.find(unfinished);
    if (!first) return undefined;
    return nextLine([first]);
  }
  const { chapter } = open;
  const firstUnwritten = chapter.steps.find((s) => !open.written.includes(s.number));
  // Steps 1 to k written in order earn what the chapter file says; less means a written step has a mistake.
  let inOrder = 0;
  while (inOrder < chapter.steps.length && open.written.includes(/** @type {import("../shared/chapters.mjs").Step} */ (chapter.steps[inOrder]).number)) inOrder++;
  const expected = inOrder === 0 ? 0 : /** @type {import("../shared/chapters.mjs").Step} */ (chapter.steps[inOrder - 1]).points;
  if (open.earned < expected) {
    return `Next: ${chapter.short} earns ${open.earned} of the ${expected} points its steps 1 to ${inOrder} are worth: a written step has a mistake. Run npm test -- ${chapter.short} and fix the first failure it prints.`;
  }
  if (firstUnwritten) {
    return `Next: ${chapter.short}, step ${firstUnwritten.number}: ${firstUnwritten.title}. Read it in chapters/${chapter.dir}/README.md, then npm test -- ${chapter.short} (stuck? npm run hint -- ${chapter.short} ${firstUnwritten.number})`;
  }
  return `Next: every step of ${chapter.short} is written but it earns ${open.earned} of ${open.possible}: run npm test -- ${chapter.short} and fix the first failure it prints.`;
}

/**
 * One line per chapter: steps written, a bar, points.
 * @param {readonly ChapterProgress[]} progress
 */
export function progressTable(progress) {
  const width = Math.max(...progress.map((p) => p.chapter.name.length));
  const lines = progress.map((p) => {
    const filled = p.possible === 0 ? 0 : Math.round((10 * p.earned) / p.possible);
    const bar = `${"█".repeat(filled)}${"░".repeat(10 - filled)}`;
    const colour = p.earned === p.possible ? pc.green : p.earned === 0 ? pc.dim : pc.yellow;
    const steps = `${p.written.length}/${p.chapter.steps.length} steps`;
    return `${p.chapter.short.padEnd(9)} ${p.chapter.name.padEnd(width)}  ${colour(bar)}  ${steps.padStart(11)}  ${colour(`${p.earned}/${p.possible}`.padStart(6))}`;
  });
  const earned = progress.reduce((n, p) => n + p.earned, 0);
  const possible = progress.reduce((n, p) => n + p.possible, 0);
  if (progress.length > 1) lines.push(`${"total".padEnd(9)} ${"".padEnd(width)}  ${" ".repeat(10)}  ${" ".repeat(11)}  ${`${earned}/${possible}`.padStart(6)}`);
  return lines.join("\n");
}
