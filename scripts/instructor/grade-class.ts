/**
 * npm run grade-class -- chapterN SUBMISSIONS [--out DIR] [--seed-base WORD] [--hide-seeds] [--with-earlier] [--jobs N]
 *
 * Grades a whole class: SUBMISSIONS holds one file or folder per student
 * (alice.ts, or alice/ with node.ts somewhere in it, and for Chapter 3 the
 * experiment.ts beside it). Each is graded as `npm run grade` grades one
 * node (its code in a process of its own), and DIR gets:
 *
 *   DIR/class.csv              one row per student: score, maximum, how much
 *                              of the reference's own text is in it, and the
 *                              points of every test (any gradebook reads it)
 *   DIR/STUDENT/results.json   what the student may see (Gradescope's format;
 *                              without seeds with --hide-seeds)
 *   DIR/STUDENT/report.txt     the whole report, seeds included, for you
 *   DIR/STUDENT/similarity.txt the lines of the reference found in it
 *
 * Only the node's files are used; nothing else a student hands in is read.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, resolveChapters, type Chapter } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, UsageError, wholeOption } from "../shared/cli.mjs";
import type { GradescopeResults } from "../shared/report.mjs";
import { baseSeed } from "../shared/settings.mjs";
import { similarityReport } from "./similarity.ts";

const COMMAND = {
  usage: "npm run grade-class -- chapterN SUBMISSIONS [--out DIR] [--seed-base WORD] [--hide-seeds] [--with-earlier] [--jobs N]",
  options: {
    out: { type: "string" as const, value: "DIR", help: "where the grades go (default: grades-chapterN)" },
    "seed-base": { type: "string" as const, value: "WORD", help: "grade on seeds made from this secret word (default: the published seeds)" },
    "hide-seeds": { type: "boolean" as const, help: "keep the seeds out of each student's results.json (report.txt keeps them, for you)" },
    "with-earlier": { type: "boolean" as const, help: "also run each node on the earlier chapters' suites (their points count)" },
    jobs: { type: "string" as const, value: "N", help: "how many submissions to grade at once (default: 2)" },
  },
  more: "SUBMISSIONS holds one file (alice.ts) or folder (alice/, with node.ts in it) per student.",
};

/** One student's hand-in: their name and the files the chapter's learner writes, by name. */
export interface Submission {
  readonly student: string;
  /** "node.ts" (and "experiment.ts" for Chapter 3) to their text; empty when no node.ts was found. */
  readonly files: Readonly<Record<string, string>>;
  /** Why nothing could be graded, when so. */
  readonly problem?: string;
}

/** Every node.ts under a folder (not in node_modules). */
function nodeFilesIn(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...nodeFilesIn(full));
    else if (name === "node.ts") found.push(full);
  }
  return found;
}

/**
 * The submissions in a folder, one per entry: a .ts file is the node; a
 * folder's node.ts is the one at its place in the workbook, in a folder
 * named for the chapter, at its top, or the only one anywhere in it (as the
 * Gradescope autograder finds it).
 */
export function readSubmissions(dir: string, chapter: Chapter): Submission[] {
  const submissions: Submission[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith(".")) continue;
    const full = path.join(dir, entry);
    if (statSync(full).isFile()) {
      if (!entry.endsWith(".ts")) continue;
      submissions.push({ student: entry.replace(/\.ts$/, ""), files: { "node.ts": readFileSync(full, "utf8") } });
      continue;
    }
    const candidates = [path.join(full, "chapters", chapter.dir, "node.ts"), path.join(full, chapter.dir, "node.ts"), path.join(full, "node.ts")];
    let nodeFile = candidates.find((c) => existsSync(c));
    if (nodeFile === undefined) {
      const anywhere = nodeFilesIn(full);
      if (anywhere.length === 1) nodeFile = anywhere[0];
    }
    if (nodeFile === undefined) {
      submissions.push({ student: entry, files: {}, problem: `No node.ts found. Hand in chapters/${chapter.dir}/node.ts (or just node.ts).` });
      continue;
    }
    const files: Record<string, string> = {};
    for (const file of chapter.files) {
      const beside = path.join(path.dirname(nodeFile), file);
      if (existsSync(beside)) files[file] = readFileSync(beside, "utf8");
    }
    submissions.push({ student: entry, files });
  }
  return submissions;
}

/** A student's name as a folder and a CSV cell can hold it. */
function safeName(student: string): string {
  return student.replace(/[^\w.@-]+/g, "_").slice(0, 100) || "student";
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

interface Graded {
  readonly submission: Submission;
  readonly results: GradescopeResults | undefined;
  readonly share: number | undefined;
}

/** Grade one submission into `dir`; the grade command's own output is the instructor's report. */
function gradeOne(chapter: Chapter, submission: Submission, dir: string, options: { seedBase?: string; hideSeeds: boolean; withEarlier: boolean }): Promise<Graded> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const resultsFile = path.join(dir, "results.json");
  const similarity = similarityReport(chapter, submission.files);
  writeFileSync(path.join(dir, "similarity.txt"), `${similarity.text}\n`);
  if (submission.files["node.ts"] === undefined) {
    // The chapter's points, from its chapter file (the score after its last step).
    const results = { score: 0, max_score: chapter.steps.at(-1)?.points ?? 0, output: submission.problem ?? "No node.ts found.", visibility: "visible", tests: [] };
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(path.join(dir, "report.txt"), `${results.output}\n`);
    return Promise.resolve({ submission, results: results as unknown as GradescopeResults, share: undefined });
  }
  // The files graded, copied: the submission's own folder is never run from, or read again.
  const submitted = path.join(dir, "submitted");
  mkdirSync(submitted, { recursive: true });
  for (const [file, text] of Object.entries(submission.files)) writeFileSync(path.join(submitted, file), text);
  const args = [
    path.join(PROJECT_ROOT, "scripts", "learner", "suites.mjs"),
    "grade",
    chapter.short,
    "--node",
    path.join(submitted, "node.ts"),
    "--submission",
    "--out",
    resultsFile,
    ...(options.seedBase !== undefined ? ["--seed-base", options.seedBase] : []),
    ...(options.hideSeeds ? ["--hide-seeds"] : []),
    ...(options.withEarlier ? ["--with-earlier"] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, NO_COLOR: "1", RAFT_GRADE_SEED: "" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", () => {
      writeFileSync(path.join(dir, "report.txt"), output);
      const results = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, "utf8")) as GradescopeResults) : undefined;
      resolve({ submission, results, share: similarity.share });
    });
  });
}

/** The class's CSV: a row per student, a column per test (every test any result has, in order). */
export function classCsv(chapter: Chapter, graded: readonly Graded[]): string {
  const tests: string[] = [];
  for (const g of graded) for (const t of g.results?.tests ?? []) if (!tests.includes(t.name)) tests.push(t.name);
  const header = ["student", "chapter", "score", "max_score", "reference_text_share", ...tests];
  const maxScore = Math.max(0, ...graded.map((g) => g.results?.max_score ?? 0));
  const rows = graded.map((g) => {
    const byName = new Map((g.results?.tests ?? []).map((t) => [t.name, t.score]));
    return [
      g.submission.student,
      chapter.short,
      g.results?.score ?? 0,
      g.results?.max_score ?? maxScore,
      g.share === undefined ? "" : g.share.toFixed(2),
      ...tests.map((name) => byName.get(name) ?? 0),
    ];
  });
  return `${[header, ...rows].map((row) => row.map(csvCell).join(",")).join("\n")}\n`;
}

/** Grade every submission in `submissionsDir` into `outDir`; returns what each earned. */
export async function gradeClass(chapter: Chapter, submissionsDir: string, outDir: string, options: { seedBase?: string; hideSeeds: boolean; withEarlier: boolean; jobs: number }): Promise<Graded[]> {
  const submissions = readSubmissions(submissionsDir, chapter);
  mkdirSync(outDir, { recursive: true });
  const graded: Graded[] = new Array(submissions.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.jobs, submissions.length)) }, async () => {
      while (next < submissions.length) {
        const i = next++;
        const submission = submissions[i]!;
        graded[i] = await gradeOne(chapter, submission, path.join(outDir, safeName(submission.student)), options);
      }
    }),
  );
  writeFileSync(path.join(outDir, "class.csv"), classCsv(chapter, graded));
  return graded;
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length !== 2) throw new UsageError(`Give a chapter and the folder of submissions.\n\nUsage: ${COMMAND.usage}`);
  const [chapter] = resolveChapters([positionals[0]!]);
  const submissionsDir = path.resolve(process.cwd(), positionals[1]!);
  if (!existsSync(submissionsDir) || !statSync(submissionsDir).isDirectory()) throw new UsageError(`${positionals[1]} is not a folder of submissions.`);
  const outDir = path.resolve(process.cwd(), typeof values.out === "string" ? values.out : `grades-${chapter!.short}`);
  let seedBase: string | undefined;
  try {
    seedBase = values["seed-base"] !== undefined ? baseSeed(String(values["seed-base"])) : undefined;
  } catch (error) {
    throw new UsageError(`--seed-base: ${error instanceof Error ? error.message : String(error)}`);
  }
  const jobs = wholeOption(values.jobs, "jobs", { min: 1 }) ?? 2;
  const graded = await gradeClass(chapter!, submissionsDir, outDir, { ...(seedBase !== undefined ? { seedBase } : {}), hideSeeds: values["hide-seeds"] === true, withEarlier: values["with-earlier"] === true, jobs });
  const width = Math.max(8, ...graded.map((g) => g.submission.student.length));
  console.log(`${"student".padEnd(width)}  score    reference text`);
  for (const g of graded) {
    const score = g.results ? `${g.results.score} / ${g.results.max_score ?? "?"}` : "not graded";
    const share = g.share === undefined ? "" : `${Math.round(100 * g.share)} %`;
    console.log(`${g.submission.student.padEnd(width)}  ${score.padEnd(8)} ${share}${g.submission.problem ? `  (${g.submission.problem})` : ""}`);
  }
  console.log(`\n${graded.length} submissions graded into ${path.relative(process.cwd(), outDir) || outDir}: class.csv, and for each student results.json, report.txt and similarity.txt.`);
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
