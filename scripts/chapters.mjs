// @ts-check
/**
 * The chapters the workbook has, found from the graded suites in tests/:
 * a chapter exists when tests/chapterN-name.test.ts does.
 *
 * Plain JavaScript (type-checked through JSDoc) so the test launcher can
 * start without a TypeScript loader: `npm test` answers faster that way.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { didYouMean, UsageError } from "./cli.mjs";

export { runMain, UsageError } from "./cli.mjs";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * @typedef {object} Chapter
 * @property {number} number       1, 2, 3...
 * @property {string} short        what learners type: "chapter3"
 * @property {string} dir          the folder in chapters/ and solutions/: "chapter3-split-votes"
 * @property {string} title        the reading's first heading
 * @property {string} testFile     "tests/chapter3-split-votes.test.ts"
 */

/** @returns {Chapter[]} */
export function listChapters() {
  const testsDir = path.join(PROJECT_ROOT, "tests");
  /** @type {Chapter[]} */
  const chapters = [];
  for (const file of readdirSync(testsDir)) {
    const match = /^(chapter(\d+)-[a-z0-9-]+)\.test\.ts$/.exec(file);
    if (!match) continue;
    const dir = /** @type {string} */ (match[1]);
    const number = Number(match[2]);
    const reading = path.join(PROJECT_ROOT, "chapters", dir, "README.md");
    const heading = existsSync(reading) ? /^# (.+)$/m.exec(readFileSync(reading, "utf8"))?.[1] : undefined;
    chapters.push({ number, short: `chapter${number}`, dir, title: heading ?? dir, testFile: `tests/${dir}.test.ts` });
  }
  return chapters.sort((a, b) => a.number - b.number);
}

/**
 * Find chapters by what the user typed: "chapter3", "3", or the folder
 * name. Throws a UsageError listing the chapters when nothing matches.
 * @param {readonly string[]} requested
 * @returns {Chapter[]}
 */
export function resolveChapters(requested) {
  const all = listChapters();
  if (requested.length === 0) return all;
  return requested.map((wanted) => {
    const w = wanted.replace(/\/+$/, "").replace(/^(chapters|solutions|tests)\//, "").replace(/\.test\.ts$/, "");
    const found = all.find((c) => c.short === w || c.dir === w || String(c.number) === w);
    if (!found) {
      const guess = didYouMean(w, all.map((c) => c.short));
      throw new UsageError(`There is no chapter "${wanted}".${guess ? ` Did you mean ${guess}?` : ""}\n\n${chapterList(all)}`);
    }
    return found;
  });
}

/** @param {readonly Chapter[]} [all] */
export function chapterList(all = listChapters()) {
  return ["The chapters are:", ...all.map((c) => `  ${c.short.padEnd(10)} ${c.title}`)].join("\n");
}

