// @ts-check
/**
 * npm run progress [-- chapterN ...]
 *
 * Where you stand in the workbook, like `rustlings list`: for every
 * chapter, the steps you have written, your points with a bar, and then
 * the one next thing to do, with the command that helps. It runs every
 * chapter's graded suite against your code (a few seconds for all).
 */
import pc from "picocolors";
import { chapterList, resolveChapters } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain } from "../shared/cli.mjs";
import { nextLine, progressOf, progressTable } from "./next-step.mjs";
import { runSuites } from "./suites.mjs";

const COMMAND = {
  usage: "npm run progress [-- chapterN ...]",
  options: {},
};

async function main() {
  const { positionals } = parseCommand({ ...COMMAND, more: chapterList() }, process.argv.slice(2));
  const chapters = resolveChapters(positionals);
  const { results } = await runSuites(chapters, { settings: { nodeRoot: "chapters", subject: "your code in chapters/" } });
  const progress = progressOf(chapters, results);
  console.log(pc.bold("Your progress (your code in chapters/)"));
  console.log(progressTable(progress));
  const next = nextLine(progress);
  console.log("");
  console.log(next ? pc.cyan(next) : pc.green(`Every chapter${chapters.length === 1 ? "" : " here"} is done: full points.`));
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
