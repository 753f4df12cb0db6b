// vitest's settings for the graded suites and the world's own tests.
import { defineConfig } from "vitest/config";

// The graded suites are run by scripts/learner/suites.mjs (npm test, npm run grade,
// npm run replay), which adds the score report; `npx vitest` works too, with
// vitest's own report.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Each suite in a child process of its own, with a memory limit: a node
    // that eats all memory ends that process alone, and the launcher runs
    // the rest of that suite again (threads would take the whole run down).
    // The reference nodes need under 200 MB; a small limit makes a runaway
    // allocation end in seconds rather than a minute.
    pool: "forks",
    execArgv: ["--max-old-space-size=384"],
    // Keep transformed files between runs: a learner re-runs one suite often.
    experimental: { fsModuleCache: true },
    // A backstop only: the harness stops a test whose node code does not
    // return long before this (tests/harness/graded.ts).
    testTimeout: 120_000,
  },
});
