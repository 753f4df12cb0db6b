// @ts-check
/**
 * The chapters the workbook has. A chapter exists when its graded suite
 * tests/chapterN-name.test.ts does; everything else about it comes from
 * its chapter file, chapters/chapterN-name/chapter.toml, the one place
 * where its title, its steps (their titles, and the score a learner
 * should have once each is written) and the hints for each step are
 * written. The readings, the skeletons, `hint`, the harness and the check
 * read it or are checked against it.
 *
 * Plain JavaScript (type-checked through JSDoc) so the test launcher can
 * start without a TypeScript loader: `npm test` answers faster that way.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";
import { didYouMean, UsageError } from "./cli.mjs";

export { runMain, UsageError } from "./cli.mjs";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * @typedef {object} Step
 * @property {number} number     1, 2, 3... in the order the reading takes them
 * @property {string} title      "Draw a fresh election timeout and start the timer"
 * @property {number} points     the score a learner should have once steps 1 to this one are written
 * @property {string[]} hints    from a nudge to something close to code; `npm run hint` gives one at a time
 * @property {string[]} rules    the world's node rules (world/invariants.ts) this step's code keeps: a failure that breaks one points here
 */

/**
 * @typedef {object} Chapter
 * @property {number} number       1, 2, 3...
 * @property {string} short        what learners type: "chapter3"
 * @property {string} dir          the folder in chapters/ and solutions/: "chapter3-split-votes"
 * @property {string} name         "Split votes"
 * @property {string} title        "Chapter 3: Split votes"
 * @property {string} summary      what the learner builds, in a line (the README's chapter table)
 * @property {Step[]} steps
 * @property {string} testFile     "tests/chapter3-split-votes.test.ts"
 * @property {string} chapterFile  "chapters/chapter3-split-votes/chapter.toml"
 * @property {string[]} files      the files the learner writes in: ["node.ts"], and Chapter 3's ["node.ts", "experiment.ts"]
 * @property {string} time         how long a learner needs, reading and steps: "1 to 2 hours"
 */

/**
 * A chapter file, read and checked.
 * @param {string} file
 * @param {number} number
 * @returns {{ name: string, summary: string, steps: Step[], files: string[], time: string }}
 */
function readChapterFile(file, number) {
  const relative = path.relative(PROJECT_ROOT, file);
  if (!existsSync(file)) throw new Error(`${relative} is missing: every chapter has a chapter file with its title, steps and hints.`);
  /** @type {Record<string, unknown>} */
  const data = parse(readFileSync(file, "utf8"));
  const fail = (/** @type {string} */ why) => {
    throw new Error(`${relative}: ${why}`);
  };
  if (typeof data.title !== "string" || data.title === "") fail("it needs a title = \"...\"");
  if (typeof data.summary !== "string" || data.summary === "") fail("it needs a summary = \"...\" (what the learner builds, in a line)");
  if (typeof data.time !== "string" || data.time === "") fail("it needs a time = \"...\" (how long a learner needs: \"1 to 2 hours\")");
  if (!Array.isArray(data.steps) || data.steps.length === 0) fail("it needs its steps, as [[steps]] tables");
  /** @type {Step[]} */
  const steps = /** @type {unknown[]} */ (data.steps).map((raw, i) => {
    const step = /** @type {Record<string, unknown>} */ (raw);
    const where = `step ${i + 1}`;
    if (step.number !== i + 1) fail(`${where} says number = ${String(step.number)}; steps are numbered 1, 2, 3... in order`);
    if (typeof step.title !== "string" || step.title === "") fail(`${where} needs a title`);
    if (typeof step.points !== "number" || !Number.isInteger(step.points)) fail(`${where} needs points = N (the score once steps 1 to ${i + 1} are written)`);
    if (!Array.isArray(step.hints) || step.hints.length < 2 || !step.hints.every((h) => typeof h === "string" && h.trim() !== "")) {
      fail(`${where} needs hints = [ ... ] with at least two levels: a nudge first, code last`);
    }
    const rules = step.rules ?? [];
    if (!Array.isArray(rules) || !rules.every((r) => typeof r === "string")) fail(`${where}: rules = [...] lists the world's rules this step keeps, by name`);
    return {
      number: i + 1,
      title: /** @type {string} */ (step.title),
      points: /** @type {number} */ (step.points),
      hints: /** @type {string[]} */ (step.hints).map((h) => h.trim()),
      rules: /** @type {string[]} */ (rules),
    };
  });
  steps.forEach((step, i) => {
    if (i > 0 && step.points <= /** @type {Step} */ (steps[i - 1]).points) fail(`step ${step.number} gives ${step.points} points, no more than step ${i}: every step must raise the score`);
  });
  void number;
  const files = data.files === undefined ? ["node.ts"] : data.files;
  if (!Array.isArray(files) || files[0] !== "node.ts" || !files.every((f) => typeof f === "string" && /^[a-z-]+\.ts$/.test(f))) {
    fail('files = [...] lists the files the learner writes in, "node.ts" first');
  }
  return { name: /** @type {string} */ (data.title), summary: /** @type {string} */ (data.summary), steps, files: /** @type {string[]} */ (files), time: /** @type {string} */ (data.time) };
}

/** @type {Chapter[] | undefined} */
let cached;

/** @returns {Chapter[]} */
export function listChapters() {
  if (cached) return cached;
  const testsDir = path.join(PROJECT_ROOT, "tests");
  /** @type {Chapter[]} */
  const chapters = [];
  for (const file of readdirSync(testsDir)) {
    const match = /^(chapter(\d+)-[a-z0-9-]+)\.test\.ts$/.exec(file);
    if (!match) continue;
    const dir = /** @type {string} */ (match[1]);
    const number = Number(match[2]);
    const chapterFile = path.join("chapters", dir, "chapter.toml");
    const { name, summary, steps, files, time } = readChapterFile(path.join(PROJECT_ROOT, chapterFile), number);
    chapters.push({ number, short: `chapter${number}`, dir, name, title: `Chapter ${number}: ${name}`, summary, steps, testFile: `tests/${dir}.test.ts`, chapterFile, files, time });
  }
  cached = chapters.sort((a, b) => a.number - b.number);
  return cached;
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

/**
 * The step each graded test of a chapter declares in its suite:
 * graded(points, "name", { step: N, ... }, ...).
 * @param {Chapter} chapter
 * @returns {Map<string, number>}
 */
export function declaredSteps(chapter) {
  const source = readFileSync(path.join(PROJECT_ROOT, chapter.testFile), "utf8");
  /** @type {Map<string, number>} */
  const steps = new Map();
  for (const match of source.matchAll(/^graded\(\d+, ("(?:[^"\\]|\\.)*"), \{ step: (\d+)/gm)) {
    steps.set(/** @type {string} */ (JSON.parse(match[1] ?? '""')), Number(match[2]));
  }
  return steps;
}
