/**
 * How much of a submission is the reference solution's own text: the lines
 * of the reference that a learner must write themselves (neither in the
 * skeleton they were given nor in any hint, whose last levels give most
 * code away), found word for word in the submission.
 *
 * Lines are compared whole, comments included, after collapsing
 * whitespace; a line too short to say anything (a brace, `break;`) is not
 * counted. What is left for a learner to write in their own words is mostly
 * the reference's comments and a few lines of glue, so the count is small,
 * and telling: the reference with its step markers removed has all of it,
 * a node written from the reading and the hints has little or none.
 * Renaming and rewording defeat it, as they defeat any comparison of text;
 * the number is a reason to look, not a verdict, and the report lists the
 * lines it found.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, type Chapter } from "../shared/chapters.mjs";
import { makeChapterSkeletons, solutionFile } from "../shared/skeletons.ts";

/** The lines of a text as compared: whitespace collapsed; lines too short to say anything left out. */
function lines(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const compared = line.replace(/\s+/g, " ").trim();
    if (compared.replace(/\s/g, "").length >= 16) found.push(compared);
  }
  return found;
}

/** Everything a chapter's hints say (the last levels come close to code): given away, so never counted. */
function hintLines(chapter: Chapter): string[] {
  return chapter.steps.flatMap((step) => step.hints.flatMap((hint) => lines(hint.replace(/`/g, "\n"))));
}

export interface Similarity {
  /** The file compared ("node.ts", "experiment.ts"). */
  readonly file: string;
  /** Lines of the reference a learner writes themselves. */
  readonly answerLines: number;
  /** Those found word for word in the submission. */
  readonly found: readonly string[];
  /** found / answerLines, 0 to 1 (0 when the chapter has no such lines). */
  readonly share: number;
}

/** Compare a submitted file with the chapter's reference, beyond what the skeleton and the hints give away. */
export function similarity(chapter: Chapter, file: string, submitted: string): Similarity | undefined {
  const reference = solutionFile(chapter, file);
  if (!existsSync(reference)) return undefined;
  const skeleton = makeChapterSkeletons(chapter).get(file) ?? "";
  const given = new Set([...lines(skeleton), ...hintLines(chapter)]);
  const answer = [...new Set(lines(readFileSync(reference, "utf8")).filter((line) => !given.has(line)))];
  const theirs = new Set(lines(submitted));
  const found = answer.filter((line) => theirs.has(line));
  return { file, answerLines: answer.length, found, share: answer.length === 0 ? 0 : found.length / answer.length };
}

/** A submission's report: each of its files, the share and the lines found. */
export function similarityReport(chapter: Chapter, files: Readonly<Record<string, string>>): { text: string; share: number | undefined } {
  const parts: string[] = [];
  let answer = 0;
  let found = 0;
  for (const [file, text] of Object.entries(files)) {
    const result = similarity(chapter, file, text);
    if (!result) continue;
    answer += result.answerLines;
    found += result.found.length;
    parts.push(
      `${file}: ${result.found.length} of the ${result.answerLines} lines of the reference's own code for ${chapter.short} (not in the skeleton or the hints) are in it, word for word (${Math.round(100 * result.share)} %)` +
        (result.found.length > 0 ? `:\n${result.found.slice(0, 40).map((line) => `    ${line}`).join("\n")}${result.found.length > 40 ? `\n    … and ${result.found.length - 40} more` : ""}` : "."),
    );
  }
  if (parts.length === 0) return { text: `No reference solution for ${chapter.short} here (solutions/ is not in this copy): no comparison.`, share: undefined };
  return { text: parts.join("\n\n"), share: answer === 0 ? 0 : found / answer };
}

/** The relative path of a chapter's reference file (for messages). */
export function referencePath(chapter: Chapter, file = "node.ts"): string {
  return path.relative(PROJECT_ROOT, solutionFile(chapter, file));
}
