/**
 * The failure reports the readings quote, checked against fresh runs.
 *
 * A reading teaches how to read a failure by quoting one in full: the
 * report of a mutant (scripts/maintainer/mutants.ts), one classic mistake
 * planted in the chapter's reference. A comment just above the quoted
 * block says which mutant and which failure of its report it is:
 *
 *     <!-- quoted failure: mutant saves-vote-after-replying, failure 1 -->
 *     ```text
 *     1. 8 tests (20 points) failed the same way:
 *     ...
 *     ```
 *
 * This module runs each such mutant through the chapter's suite, as a
 * learner's `npm test` would, cuts that failure out of the report, and
 * compares it with the quote (the Replay line without the mutant's
 * --node, as a learner running their own code sees it). A report whose
 * wording changed leaves no stale quote behind.
 *
 *   npx tsx scripts/maintainer/quoted-reports.ts           check every quote
 *   npx tsx scripts/maintainer/quoted-reports.ts --write   rewrite the quotes from fresh runs
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, PROJECT_ROOT } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain } from "../shared/cli.mjs";
import { MUTANTS, writeMutant } from "./mutants.ts";

const MARKER = /^<!-- quoted failure: mutant ([a-z0-9-]+), failure (\d+) -->\n```text\n([\s\S]*?)\n```$/gm;

/** One quote in a reading, and what a fresh run says instead. */
export interface QuotedReport {
  readonly reading: string;
  readonly mutant: string;
  readonly failure: number;
  readonly quoted: string;
  readonly fresh: string;
}

/** Failure `n` of a report ("n. chapter…" up to the next failure or the score table), with its --node left out. */
function failureOf(report: string, n: number, mutantFile: string): string {
  const lines = report.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${n}. `));
  if (start < 0) return `(the report has no failure ${n})`;
  let end = lines.findIndex((l, i) => i > start && (l.startsWith(`${n + 1}. `) || /^Score \(/.test(l)));
  if (end < 0) end = lines.length;
  const relative = path.relative(PROJECT_ROOT, mutantFile);
  return lines
    .slice(start, end)
    .join("\n")
    .replaceAll(` --node ${relative}`, "")
    .replace(/\s+$/, "");
}

/** Every quote of every reading, with a fresh run's text beside it. */
export function quotedReports(): QuotedReport[] {
  const reports = new Map<string, string>();
  const found: QuotedReport[] = [];
  for (const chapter of listChapters()) {
    const reading = path.join("chapters", chapter.dir, "README.md");
    const text = readFileSync(path.join(PROJECT_ROOT, reading), "utf8");
    for (const match of text.matchAll(MARKER)) {
      const [, name, failure, quoted] = match as unknown as [string, string, string, string];
      const mutant = MUTANTS.find((m) => m.name === name);
      if (mutant === undefined) {
        found.push({ reading, mutant: name, failure: Number(failure), quoted, fresh: `(there is no mutant named ${name})` });
        continue;
      }
      // Inside the project, so the report's paths are the ones a learner would see.
      const file = writeMutant(mutant, path.join(PROJECT_ROOT, ".workbook-cache", "quoted"));
      let report = reports.get(name);
      if (report === undefined) {
        const run = spawnSync(process.execPath, [path.join("scripts", "learner", "suites.mjs"), "test", chapter.short, "--node", file], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
        });
        report = `${run.stdout}${run.stderr}`;
        reports.set(name, report);
      }
      found.push({ reading, mutant: name, failure: Number(failure), quoted, fresh: failureOf(report, Number(failure), file) });
    }
  }
  return found;
}

/** Rewrite every quote from a fresh run. */
function writeQuotes(quotes: readonly QuotedReport[]): void {
  for (const reading of new Set(quotes.map((q) => q.reading))) {
    const file = path.join(PROJECT_ROOT, reading);
    let text = readFileSync(file, "utf8");
    for (const q of quotes.filter((x) => x.reading === reading)) {
      text = text.replace(`<!-- quoted failure: mutant ${q.mutant}, failure ${q.failure} -->\n\`\`\`text\n${q.quoted}\n\`\`\``, `<!-- quoted failure: mutant ${q.mutant}, failure ${q.failure} -->\n\`\`\`text\n${q.fresh}\n\`\`\``);
    }
    writeFileSync(file, text);
  }
}

const COMMAND = {
  usage: "npx tsx scripts/maintainer/quoted-reports.ts [--write]",
  options: { write: { type: "boolean" as const, help: "rewrite the readings' quoted reports from fresh runs" } },
};

async function main(): Promise<number> {
  const { values } = parseCommand(COMMAND, process.argv.slice(2));
  const quotes = quotedReports();
  if (values.write) {
    writeQuotes(quotes);
    console.log(`${quotes.length} quoted reports written from fresh runs.`);
    return 0;
  }
  const stale = quotes.filter((q) => q.quoted !== q.fresh);
  for (const q of stale) console.log(`${q.reading}: the quote of mutant ${q.mutant}'s failure ${q.failure} differs from a fresh run:\n${q.fresh}\n`);
  console.log(`${quotes.length - stale.length} of ${quotes.length} quoted reports are what a fresh run prints.`);
  return stale.length === 0 ? 0 : 1;
}

if (isMain(import.meta.url)) await runMain(main);
