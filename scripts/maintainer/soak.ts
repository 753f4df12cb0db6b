/**
 * npm run soak [-- --runs N] [--node FILE]
 *
 * The long randomized runs, too slow for `npm run check`: the randomized
 * fault tests of Chapters 5, 6 and 7 (partitions, loss, duplicates,
 * reordering, crashes, crashes in the middle of a step, restarts) with N
 * fast-check runs each (default 10 000), and the lab's Figure 8
 * (unreliable) on 500 seeds, all against the last chapter's reference
 * node (or FILE). Every guarantee is checked after every event of every
 * run; a failure prints the shrunk case and its replay command.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import pc from "picocolors";
import { listChapters, PROJECT_ROOT } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, wholeOption } from "../shared/cli.mjs";
import { settingsEnv } from "../shared/settings.mjs";
import { figure8UnreliableExperiment, figure8UnreliableLine } from "../learner/experiment.ts";
import { loadNodeProgram } from "../../sandbox/node-program.ts";

const COMMAND = {
  usage: "npm run soak [-- --runs N] [--seeds N] [--node FILE]",
  options: {
    runs: { type: "string" as const, value: "N", help: "fast-check runs per randomized test (default 10000)" },
    seeds: { type: "string" as const, value: "N", help: "seeds of Figure 8 (unreliable) (default 500)" },
    node: { type: "string" as const, value: "FILE", help: "soak this node file instead of the last chapter's reference" },
  },
};

async function main(): Promise<number> {
  const { values } = parseCommand(COMMAND, process.argv.slice(2));
  const runs = wholeOption(values.runs, "runs", { min: 1 }) ?? 10_000;
  const seeds = wholeOption(values.seeds, "seeds", { min: 1 }) ?? 500;
  const chapters = listChapters();
  const last = chapters.at(-1)!;
  const file = typeof values.node === "string" ? path.resolve(process.cwd(), values.node) : path.join(PROJECT_ROOT, "solutions", last.dir, "node.ts");
  const randomized = chapters.filter((c) => c.number >= 5);
  console.log(pc.bold(`Soaking ${path.relative(PROJECT_ROOT, file)}: ${runs} randomized runs in each of ${randomized.map((c) => c.short).join(", ")}, then Figure 8 (unreliable) on ${seeds} seeds\n`));
  let failed = false;
  for (const chapter of randomized) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "node_modules", "vitest", "vitest.mjs"), "run", chapter.testFile, "-t", "randomized"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...settingsEnv({ nodeFile: file, randomRuns: runs }) },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    if (result.status === 0) console.log(`  ${pc.green("ok")}      ${chapter.short}: ${runs} randomized runs, no guarantee broken (${seconds} s)`);
    else {
      failed = true;
      console.log(`  ${pc.red("FAILED")}  ${chapter.short} (${seconds} s):\n${`${result.stdout}${result.stderr}`.trim()}`);
    }
  }
  const started = performance.now();
  const figure8 = figure8UnreliableExperiment(loadNodeProgram(file, PROJECT_ROOT).instantiate(), seeds);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const ok = figure8.converged === figure8.seeds;
  if (!ok) failed = true;
  console.log(`  ${ok ? pc.green("ok") : pc.red("FAILED")}${ok ? "    " : ""}  Figure 8 (unreliable): ${figure8UnreliableLine(figure8)} (${seconds} s)`);
  return failed ? 1 : 0;
}

if (isMain(import.meta.url)) await runMain(main);
