// @ts-check
/**
 * Runs the graded suites. One launcher behind four npm scripts:
 *
 *   npm test -- chapter3                 chapter 3's suite against your chapters/…/node.ts
 *   npm run test:solutions -- chapter3   the same suite against solutions/…/node.ts
 *   npm run grade -- chapter3            score table plus results.json for autograders
 *   npm run replay -- chapter3 --seed 4 --test "name"   one test, one seed, drawn
 *
 * It checks its arguments before anything starts, so a misspelt chapter
 * or option gets a message listing what exists instead of a silent run of
 * nothing. It is plain JavaScript (checked by tsc through JSDoc) and calls
 * vitest's Node API in-process, which keeps `npm test -- chapterN` near a
 * second. The score table comes from scripts/score-reporter.ts, which
 * vitest.config.ts installs; the settings travel in RAFT_* variables,
 * which the test workers inherit.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { chapterList, PROJECT_ROOT, resolveChapters, runMain, UsageError } from "./chapters.mjs";

/** @typedef {{ takesValue: boolean, help: string }} OptionSpec */

/** @type {Record<string, OptionSpec>} */
const SUBJECT_OPTIONS = {
  "--solutions": { takesValue: false, help: "run against the reference solutions in solutions/" },
  "--node": { takesValue: true, help: "run against this node.ts instead (e.g. your chapter 5 node on chapter 2's suite)" },
};

/** @type {Record<string, { usage: string, options: Record<string, OptionSpec> }>} */
const COMMANDS = {
  test: {
    usage: "npm test -- [chapterN ...] [options]",
    options: {
      ...SUBJECT_OPTIONS,
      "--test": { takesValue: true, help: "only the tests whose name contains this text (short: -t)" },
      "--seed": { takesValue: true, help: "run each many-seed test with this one seed only" },
      "--watch": { takesValue: false, help: "stay running; re-run when you save a file (short: -w)" },
      "--ui": { takesValue: false, help: "open vitest's browser UI (needs a desktop browser)" },
    },
  },
  grade: {
    usage: "npm run grade -- [chapterN ...] [options]",
    options: {
      ...SUBJECT_OPTIONS,
      "--out": { takesValue: true, help: "where to write the results (default: results.json)" },
    },
  },
  replay: {
    usage: 'npm run replay -- chapterN --seed N --test "test name" [options]',
    options: {
      ...SUBJECT_OPTIONS,
      "--seed": { takesValue: true, help: "the seed to replay (required)" },
      "--path": { takesValue: true, help: "for a randomized (fast-check) test: the path of the failing run, as printed" },
      "--test": { takesValue: true, help: "the test's full name, as the failure printed it (required)" },
      "--mermaid": { takesValue: true, help: "also write the run as a Mermaid sequence diagram to this file" },
    },
  },
};

const ALIASES = /** @type {Record<string, string>} */ ({ "-t": "--test", "-h": "--help", "-w": "--watch" });

/**
 * @param {string} usage
 * @param {Record<string, OptionSpec>} options
 */
function helpText(usage, options) {
  const lines = Object.entries(options).map(([name, o]) => `  ${`${name}${o.takesValue ? " VALUE" : ""}`.padEnd(18)} ${o.help}`);
  return [`Usage: ${usage}`, "", "Options:", ...lines, "", chapterList()].join("\n");
}

/**
 * Positional words are chapters; every option must be one the command knows.
 * @param {readonly string[]} argv
 * @param {{ usage: string, options: Record<string, OptionSpec> }} command
 */
function parseArgs(argv, command) {
  /** @type {Map<string, string | true>} */
  const flags = new Map();
  /** @type {string[]} */
  const words = [];
  for (let i = 0; i < argv.length; i++) {
    const raw = /** @type {string} */ (argv[i]);
    if (!raw.startsWith("-")) {
      words.push(raw);
      continue;
    }
    const eq = raw.indexOf("=");
    const written = eq > 0 ? raw.slice(0, eq) : raw;
    const name = ALIASES[written] ?? written;
    if (name === "--help") throw new UsageError(helpText(command.usage, command.options));
    const spec = command.options[name];
    if (!spec) throw new UsageError(`Unknown option "${raw}".\n\n${helpText(command.usage, command.options)}`);
    if (spec.takesValue) {
      const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("--"))) {
        throw new UsageError(`Option ${name} needs a value.\n\n${helpText(command.usage, command.options)}`);
      }
      flags.set(name, value);
    } else {
      flags.set(name, true);
    }
  }
  return { chapters: resolveChapters(words), flags };
}

/**
 * How many tests actually ran (not skipped by a name filter).
 * @param {readonly { type: string, mode?: string, result?: { state?: string }, tasks?: unknown[] }[]} tasks
 * @returns {number}
 */
function countRun(tasks) {
  let count = 0;
  for (const task of tasks) {
    if (task.type === "test") {
      if (task.result?.state === "pass" || task.result?.state === "fail") count++;
    } else if (Array.isArray(task.tasks)) {
      count += countRun(/** @type {Parameters<typeof countRun>[0]} */ (task.tasks));
    }
  }
  return count;
}

/** @param {string} text */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Point the suites at the code to test, and label it for the score table.
 * @param {Map<string, string | true>} flags
 */
function selectSubject(flags) {
  const node = flags.get("--node");
  if (typeof node === "string") {
    const file = path.resolve(process.cwd(), node);
    if (!existsSync(file)) throw new UsageError(`There is no file ${node} to test.`);
    process.env.RAFT_NODE_FILE = file;
    process.env.RAFT_SUBJECT = path.relative(PROJECT_ROOT, file);
  } else if (flags.has("--solutions")) {
    process.env.RAFT_NODE_ROOT = "solutions";
    process.env.RAFT_SUBJECT = "the reference solutions";
  } else {
    process.env.RAFT_NODE_ROOT = "chapters";
    process.env.RAFT_SUBJECT = "your code in chapters/";
  }
}

/** @param {string} name */
function main(name) {
  return async () => {
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`Unknown command ${name}.`);
    const { chapters, flags } = parseArgs(process.argv.slice(3), command);
    selectSubject(flags);
    const seed = flags.get("--seed");
    if (typeof seed === "string") {
      if (!/^-?\d+$/.test(seed)) throw new UsageError(`--seed must be a whole number, not "${seed}".`);
      process.env.RAFT_SEED = seed;
    }
    const fcPath = flags.get("--path");
    if (typeof fcPath === "string") process.env.RAFT_FC_PATH = fcPath;
    const testName = flags.get("--test");
    /** @type {RegExp | undefined} */
    let testNamePattern = typeof testName === "string" ? new RegExp(escapeRegExp(testName)) : undefined;

    if (name === "replay") {
      if (chapters.length !== 1 || typeof seed !== "string" || typeof testName !== "string") {
        throw new UsageError(`Replay needs one chapter, a --seed and a --test name.\n\n${helpText(command.usage, command.options)}`);
      }
      // The whole name as printed, or any part of it (all matching tests are replayed).
      testNamePattern = new RegExp(escapeRegExp(testName));
      process.env.RAFT_DRAW = "1";
      const mermaid = flags.get("--mermaid");
      if (typeof mermaid === "string") process.env.RAFT_MERMAID = path.resolve(process.cwd(), mermaid);
      process.env.RAFT_SCORE = "off";
    }
    if (name === "grade") {
      const out = flags.get("--out");
      process.env.RAFT_RESULTS_FILE = path.resolve(process.cwd(), typeof out === "string" ? out : "results.json");
      process.env.RAFT_SCORE = "list";
    }

    const { startVitest } = await import("vitest/node");
    const watch = flags.has("--watch");
    const ui = flags.has("--ui");
    const vitest = await startVitest("test", chapters.map((c) => path.join(PROJECT_ROOT, c.testFile)), {
      root: PROJECT_ROOT,
      run: !watch && !ui,
      watch,
      ui,
      open: ui,
      ...(testNamePattern ? { testNamePattern } : {}),
    });
    if (watch || ui) return 0;
    const failed = vitest.state.getCountOfFailedTests();
    const errors = vitest.state.getUnhandledErrors().length;
    const ran = countRun(vitest.state.getFiles());
    await vitest.close();
    if (testNamePattern && ran === 0) {
      console.error(`\nNo test of ${chapters.map((c) => c.short).join(", ")} has a name containing "${testName}". Run \`npm test -- ${chapters.map((c) => c.short).join(" ")}\` to see the names.`);
      return 2;
    }
    const mermaid = flags.get("--mermaid");
    if (name === "replay" && typeof mermaid === "string") {
      if (existsSync(path.resolve(process.cwd(), mermaid))) console.log(`Sequence diagram written to ${mermaid} (render it: npx mmdc -i ${mermaid} -o run.svg).`);
      else console.error(`No sequence diagram was written to ${mermaid}: the test built no simulated world.`);
    }
    // A low grade is a result, not an error: grade exits 0 once it has written the results.
    if (name === "grade") return 0;
    return failed === 0 && errors === 0 ? 0 : 1;
  };
}

await runMain(main(process.argv[2] ?? ""));
