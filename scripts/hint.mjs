// @ts-check
/**
 * npm run hint -- chapter1 2
 *
 * Prints the hint for one step of a chapter, from the chapter's reading
 * (the <details> block under "### Step N"), so you can ask for one hint
 * without scrolling past the others. With no step, lists the steps.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, resolveChapters, runMain, UsageError } from "./chapters.mjs";

const USAGE = "npm run hint -- chapterN [step]";

await runMain(() => {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a.startsWith("-"));
  if (unknown.length > 0 || args.length === 0 || args.length > 2) throw new UsageError(`Usage: ${USAGE}`);
  const [chapter] = resolveChapters([/** @type {string} */ (args[0])]);
  if (!chapter) throw new UsageError(`Usage: ${USAGE}`);
  const reading = readFileSync(path.join(PROJECT_ROOT, "chapters", chapter.dir, "README.md"), "utf8");
  const steps = [...reading.matchAll(/^### Step (\d+): (.+)$/gm)].map((m) => ({ number: Number(m[1]), title: m[2] ?? "", at: m.index ?? 0 }));
  if (args.length === 1) {
    console.log([`${chapter.title}: the steps (npm run hint -- ${chapter.short} N for a hint)`, ...steps.map((s) => `  ${s.number}. ${s.title}`)].join("\n"));
    return 0;
  }
  const wanted = Number(args[1]);
  const step = steps.find((s) => s.number === wanted);
  if (!step) throw new UsageError(`${chapter.short} has no step "${args[1]}"; its steps are ${steps.map((s) => s.number).join(", ")}.`);
  const next = steps.find((s) => s.number > step.number)?.at ?? reading.indexOf("\n## ", step.at + 1);
  const section = reading.slice(step.at, next > step.at ? next : undefined);
  const hint = /<details>\s*<summary>Hint<\/summary>([\s\S]*?)<\/details>/.exec(section)?.[1]?.trim();
  console.log(`${chapter.short}, step ${step.number}: ${step.title}\n\n${hint ?? "This step has no hint; the reading above it says what to do."}`);
  return 0;
});
