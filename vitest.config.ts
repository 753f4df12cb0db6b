import { defineConfig } from "vitest/config";
import { ScoreReporter } from "./scripts/score-reporter.ts";

// How scores are shown, set by scripts/suites.mjs:
//   (unset)  vitest's usual report, then the score table (npm test)
//   "list"   every test with its points, the table, and a results file (npm run grade)
//   "off"    vitest's usual report only (npm run replay)
const score = process.env.RAFT_SCORE;
const subject = process.env.RAFT_SUBJECT;
const resultsFile = process.env.RAFT_RESULTS_FILE;

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Threads start faster than processes; the suites share no state.
    pool: "threads",
    // Keep transformed files between runs: a learner re-runs one suite often.
    experimental: { fsModuleCache: true },
    // The simulated world never waits for real time, so a test that takes
    // long is a node stuck in a loop: fail it rather than hang.
    testTimeout: 30_000,
    reporters:
      score === "off"
        ? ["default"]
        : score === "list"
          ? [new ScoreReporter({ listTests: true, ...(subject ? { subject } : {}), ...(resultsFile ? { resultsFile } : {}) })]
          : ["default", new ScoreReporter(subject ? { subject } : {})],
  },
});
