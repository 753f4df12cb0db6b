/**
 * Checks of the learner's own tools, run by `npm run check` in scratch
 * copies of the workbook as a learner would have them.
 *
 *   - `npm run progress` is right for a mix of finished, half-finished and
 *     untouched chapters, and for a chapter whose written steps have a
 *     mistake, and names the one next thing to do.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { listChapters, PROJECT_ROOT } from "../shared/chapters.mjs";
import { MUTANTS, mutantSource } from "./mutants.ts";
import { makeScratchProject } from "../shared/scratch.ts";
import { makeChapterSkeletons } from "../shared/skeletons.ts";

const CACHE = path.join(PROJECT_ROOT, ".workbook-cache", "learner");

export interface CheckResult {
  readonly ok: boolean;
  readonly summary: string;
}

function progressIn(dir: string): string {
  const result = spawnSync(process.execPath, [path.join("scripts", "learner", "progress.mjs")], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, encoding: "utf8" });
  return `${result.stdout ?? ""}${result.stderr ?? ""}`;
}

function chapter(short: string) {
  const found = listChapters().find((c) => c.short === short);
  if (!found) throw new Error(`no ${short}`);
  return found;
}

export function checkProgress(): CheckResult {
  const problems: string[] = [];
  const lines: string[] = [];
  const c1 = chapter("chapter1");
  const c2 = chapter("chapter2");
  const c3 = chapter("chapter3");

  // A learner who finished Chapter 1 and wrote steps 1 and 2 of Chapter 2.
  const mixed = path.join(CACHE, "progress-mixed");
  const partial = makeChapterSkeletons(c2, 2);
  makeScratchProject(mixed, {
    chapters: "skeletons",
    nodes: { [c1.dir]: readFileSync(path.join(PROJECT_ROOT, "solutions", c1.dir, "node.ts"), "utf8"), [c2.dir]: partial.get("node.ts")! },
  });
  const out = progressIn(mixed);
  const expect = (pattern: RegExp, what: string) => {
    const ok = pattern.test(out);
    if (!ok) problems.push(`progress with Chapter 1 finished and Chapter 2 at step 2: ${what} is missing:\n${out}`);
    return ok;
  };
  const mixedOk = [
    expect(/chapter1 +Timers and roles +█{10} +3\/3 steps +20\/20/, "chapter1 at 3/3 steps and 20/20"),
    expect(new RegExp(`chapter2 +RequestVote and majority +[█░]{10} +2/4 steps +${c2.steps[1]!.points}/30`), `chapter2 at 2/4 steps and ${c2.steps[1]!.points}/30`),
    expect(/chapter3 +Split votes +░{10} +0\/4 steps +0\/30/, "chapter3 untouched, 0/30"),
    expect(/Next: chapter2, step 3: Count the votes\. .*npm run hint -- chapter2 3/, 'the next line "Next: chapter2, step 3: Count the votes"'),
  ].every(Boolean);
  lines.push(`  ${mixedOk ? "ok    " : "FAILED"} chapter 1 finished, chapter 2 at step 2, the rest untouched: next is chapter2, step 3`);

  // A learner whose Chapter 1 has every step written, one of them wrong.
  const wrong = path.join(CACHE, "progress-mistake");
  const mutant = MUTANTS.find((m) => m.name === "timeout-always-150")!;
  makeScratchProject(wrong, { chapters: "skeletons", nodes: { [c1.dir]: mutantSource(mutant).replace(/^\/\/ Mutant.*\n/, "") } });
  const out2 = progressIn(wrong);
  const mistakeOk = /chapter1 .* 3\/3 steps .*\d+\/20/.test(out2) && /Next: chapter1 earns \d+ of the 20 points its steps 1 to 3 are worth: a written step has a mistake/.test(out2);
  if (!mistakeOk) problems.push(`progress with every Chapter 1 step written, one wrongly, should say a written step has a mistake:\n${out2}`);
  lines.push(`  ${mistakeOk ? "ok    " : "FAILED"} chapter 1 with every step written and a mistake: next is to fix it`);

  // Chapter 3's steps live in two files: the experiment counts too.
  const experiment = path.join(CACHE, "progress-experiment");
  const c3Files = makeChapterSkeletons(c3, 3);
  // Chapters 1 and 2 finished; Chapter 3 with steps 1 to 3 written: node.ts whole, experiment.ts with summarize() still a stub.
  makeScratchProject(experiment, { chapters: "solutions" });
  for (const [file, text] of c3Files) writeFileSync(path.join(experiment, "chapters", c3.dir, file), text);
  const out3 = progressIn(experiment);
  const experimentOk = /chapter3 +Split votes +[█░]{10} +3\/4 steps +26\/30/.test(out3) && /Next: chapter3, step 4: Sum up the trials/.test(out3);
  if (!experimentOk) problems.push(`progress with Chapter 3 written up to step 3 (experiment.ts half done) should show 3/4 steps, 26/30 and step 4 next:\n${out3}`);
  lines.push(`  ${experimentOk ? "ok    " : "FAILED"} chapter 3 with experiment.ts half done: 3/4 steps, next is step 4`);
  return { ok: problems.length === 0, summary: `npm run progress in three scratch copies\n${lines.join("\n")}${problems.length > 0 ? `\n${problems.join("\n")}` : ""}` };
}

function compareIn(dir: string, short: string): string {
  const result = spawnSync("npm", ["run", "-s", "compare", "--", short], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, encoding: "utf8" });
  return `${result.stdout ?? ""}${result.stderr ?? ""}`;
}

/** `npm run compare` on a finished chapter (the same as the reference) and an unfinished one (differences filed by step). */
export function checkCompare(): CheckResult {
  const problems: string[] = [];
  const dir = path.join(CACHE, "compare");
  const c1 = chapter("chapter1");
  const c2 = chapter("chapter2");
  makeScratchProject(dir, { chapters: "skeletons", nodes: { [c1.dir]: readFileSync(path.join(PROJECT_ROOT, "solutions", c1.dir, "node.ts"), "utf8") } });
  const finished = compareIn(dir, "chapter1");
  const finishedOk = /^ +20 +20 +of 20 points$/m.test(finished) && /the same, line for line/.test(finished);
  if (!finishedOk) problems.push(`compare on a finished Chapter 1 should show 20 beside 20 and no difference:\n${finished}`);
  const unfinished = compareIn(dir, "chapter2");
  const stepsShown = c2.steps.every((s) => unfinished.includes(`Step ${s.number}: ${s.title}`));
  const unfinishedOk = /^ +0 +30 +of 30 points$/m.test(unfinished) && stepsShown && /^-.*step 1 is not written yet/m.test(unfinished);
  if (!unfinishedOk) problems.push(`compare on an untouched Chapter 2 should show 0 beside 30 and a difference under each of its steps:\n${unfinished}`);
  const lines = [
    `  ${finishedOk ? "ok    " : "FAILED"} a finished chapter: 20 beside 20, the same line for line`,
    `  ${unfinishedOk ? "ok    " : "FAILED"} an untouched chapter: 0 beside 30, differences filed under each of its ${c2.steps.length} steps`,
  ];
  return { ok: problems.length === 0, summary: `npm run compare in a scratch copy\n${lines.join("\n")}${problems.length > 0 ? `\n${problems.join("\n")}` : ""}` };
}

/** The demo plays its story on many seeds with every caption true, and stops on a node that cannot tell it. */
export function checkDemo(playDemo: (createNode: import("../../world/contract.ts").CreateNode, seed: number) => unknown[], load: (file: string) => import("../../world/contract.ts").CreateNode): CheckResult {
  const problems: string[] = [];
  const reference = path.join(PROJECT_ROOT, "solutions", "chapter5-log-replication", "node.ts");
  let played = 0;
  for (let seed = 1; seed <= 40; seed++) {
    try {
      if (playDemo(load(reference), seed).length !== 8) problems.push(`seed ${seed}: not eight scenes`);
      played++;
    } catch (error) {
      problems.push(`seed ${seed}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // A node that never elects a leader must stop the story at its caption, not tell it anyway.
  let stopped = false;
  try {
    playDemo(load(path.join(PROJECT_ROOT, "solutions", "chapter1-timers-and-roles", "node.ts")), 1);
  } catch (error) {
    stopped = error instanceof Error && /is not true of this run|an election/.test(error.message);
  }
  if (!stopped) problems.push("the demo told its story with a Chapter 1 node, which elects nobody: its captions are not checked");
  return {
    ok: problems.length === 0,
    summary: problems.length === 0 ? `${played} seeds played, every caption true of its run; a Chapter 1 node stops the story at its first election` : problems.join("\n"),
  };
}
