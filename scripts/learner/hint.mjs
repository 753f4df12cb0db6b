// @ts-check
/**
 * Hints, one level at a time.
 *
 *   npm run hint -- chapter5            the chapter's steps, and how many hints you have seen
 *   npm run hint -- chapter5 4          step 4's first hint: a nudge (the rule, what to look at, a question)
 *   npm run hint -- chapter5 4 --more   the next level: the shape of the code in words
 *                                        (the last level comes close to code)
 *
 * The hints live in each chapter's chapter.toml, never in the reading, so
 * nobody reads them by accident. What you have seen is remembered in
 * .workbook-cache/hints-seen.json (delete it to start over); asking again
 * shows the levels you have already seen.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import { PROJECT_ROOT, resolveChapters, runMain, UsageError } from "../shared/chapters.mjs";
import { isMain, parseCommand } from "../shared/cli.mjs";

const SEEN_FILE = path.join(PROJECT_ROOT, ".workbook-cache", "hints-seen.json");

const COMMAND = {
  usage: "npm run hint -- chapterN [step] [--more]",
  options: {
    more: { type: /** @type {const} */ ("boolean"), help: "show the next level of the step's hint" },
  },
  more: "Each step has hints in levels: a nudge first, then the shape of the code in words, and only last something close to code.",
};

/** @returns {Record<string, number>} */
function readSeen() {
  try {
    const data = JSON.parse(readFileSync(SEEN_FILE, "utf8"));
    return typeof data === "object" && data !== null ? data : {};
  } catch {
    return {};
  }
}

/** @param {Record<string, number>} seen */
function writeSeen(seen) {
  mkdirSync(path.dirname(SEEN_FILE), { recursive: true });
  writeFileSync(SEEN_FILE, `${JSON.stringify(seen, null, 2)}\n`);
}

/**
 * A hint as the terminal shows it: code blocks indented, without their fences.
 * @param {string} text
 */
export function formatHint(text) {
  const out = [];
  let inCode = false;
  for (const line of text.split("\n")) {
    if (/^```/.test(line.trim())) {
      inCode = !inCode;
      continue;
    }
    out.push(inCode ? `    ${line}` : line);
  }
  return out.join("\n").trim();
}

/**
 * What `hint` prints for a step, given how many levels were seen before.
 * @param {import("../shared/chapters.mjs").Chapter} chapter
 * @param {import("../shared/chapters.mjs").Step} step
 * @param {number} seenBefore  levels seen before this call (0 if none)
 * @param {boolean} more       whether the next level was asked for
 * @returns {{ text: string, seen: number }}
 */
export function hintText(chapter, step, seenBefore, more) {
  const total = step.hints.length;
  const seen = Math.min(total, Math.max(1, more ? seenBefore + 1 : seenBefore));
  const lines = [pc.bold(`${chapter.title}, step ${step.number}: ${step.title}`)];
  if (more && seenBefore >= total) lines.push("", pc.dim(`(That was the last level: there are ${total}.)`));
  for (let level = 1; level <= seen; level++) {
    lines.push("", pc.cyan(`Hint ${level} of ${total}${level === 1 ? " (a nudge)" : level === total ? " (close to code)" : ""}:`), formatHint(/** @type {string} */ (step.hints[level - 1])));
  }
  lines.push("");
  if (seen < total) lines.push(pc.dim(`Stuck still? The next level: npm run hint -- ${chapter.short} ${step.number} --more`));
  else lines.push(pc.dim(`That is every hint for this step. The reading says what the step must do: chapters/${chapter.dir}/README.md`));
  return { text: lines.join("\n"), seen };
}

async function main() {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length === 0 || positionals.length > 2) throw new UsageError(`Which chapter?\n\nUsage: ${COMMAND.usage}`);
  const [chapter] = resolveChapters([/** @type {string} */ (positionals[0])]);
  if (!chapter) throw new UsageError(`Usage: ${COMMAND.usage}`);
  const seen = readSeen();
  if (positionals.length === 1) {
    if (values.more) throw new UsageError(`--more needs a step: npm run hint -- ${chapter.short} N --more`);
    const lines = [pc.bold(`${chapter.title}: the steps`)];
    for (const step of chapter.steps) {
      const had = seen[`${chapter.short}:${step.number}`] ?? 0;
      lines.push(`  ${String(step.number).padStart(2)}. ${step.title}${pc.dim(`  (hints seen: ${had} of ${step.hints.length})`)}`);
    }
    lines.push("", pc.dim(`A hint for step N: npm run hint -- ${chapter.short} N`));
    console.log(lines.join("\n"));
    return 0;
  }
  const typed = /** @type {string} */ (positionals[1]);
  const step = chapter.steps.find((s) => String(s.number) === typed.replace(/^step/i, ""));
  if (!step) throw new UsageError(`${chapter.short} has no step "${typed}"; its steps are ${chapter.steps.map((s) => s.number).join(", ")}.`);
  const key = `${chapter.short}:${step.number}`;
  const { text, seen: now } = hintText(chapter, step, seen[key] ?? 0, values.more === true);
  if (now !== seen[key]) writeSeen({ ...seen, [key]: now });
  console.log(text);
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
