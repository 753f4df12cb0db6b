// @ts-check
/**
 * Runs the graded suites. One launcher behind four npm scripts:
 *
 *   npm test -- chapter3                 chapter 3's suite against your chapters/…/node.ts
 *   npm run test:solutions -- chapter3   the same suite against solutions/…/node.ts
 *   npm run grade -- chapter3            every test with its points, plus results.json
 *   npm run replay -- chapter3 --seed 4 --test "name"   one test, one seed, drawn
 *
 * It calls vitest's Node API in-process (plain JavaScript, so no
 * TypeScript loader slows the start), with scripts/shared/report.mjs as the only
 * reporter. Each suite runs in a child process of its own with a memory
 * limit: a node that eats all memory kills only that process. The launcher
 * notices, marks the test that was running, and runs the rest of that
 * suite again in a fresh process, so every other test is still scored and
 * the report always ends with the score table.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import pc from "picocolors";
import { chapterList, PROJECT_ROOT, resolveChapters } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, UsageError, wholeOption } from "../shared/cli.mjs";
import { failureGroups, fullReport, ScoreReporter, scoreTable, testList, failuresText, toGradescope, withoutSeeds } from "../shared/report.mjs";
import { manifestWarning, verifyManifest } from "../shared/manifest.mjs";
import { nextLine, progressOf } from "./next-step.mjs";
import { baseSeed, clearSettingsEnv, readSettings, settingsEnv } from "../shared/settings.mjs";

/** What a learner reads when node code ran out of memory: sandbox/node-code.ts says it, for both kinds of sandbox. */
const OUT_OF_MEMORY =
  "the node's code ran out of memory while this test ran, and was stopped with it. " +
  "Does a handler build an ever-growing array, map or string (a log appended to in a loop that never ends, say)? " +
  "Every other test still runs, in a fresh process.";

const VISIBILITIES = ["visible", "hidden", "after_due_date", "after_published"];

/** @typedef {import("../shared/report.mjs").ChapterResult} ChapterResult */
/** @typedef {import("../shared/report.mjs").TestResult} TestResult */
/** @typedef {import("../shared/chapters.mjs").Chapter} Chapter */
/** @typedef {import("../shared/settings.mjs").Settings} Settings */

/** A student edition of the workbook has no solutions/, and no option that points to them. */
const HAS_SOLUTIONS = existsSync(path.join(PROJECT_ROOT, "solutions"));

/** @type {Record<string, import("../shared/cli.mjs").OptionSpec>} */
const SUBJECT_OPTIONS = {
  ...(HAS_SOLUTIONS ? { solutions: { type: "boolean", help: "run against the reference solutions in solutions/" } } : {}),
  node: { type: "string", value: "FILE", help: "run against this node file instead (e.g. your chapter 5 node on chapter 2's suite)" },
};

/** @type {Record<string, import("../shared/cli.mjs").CommandSpec>} */
export const COMMANDS = {
  test: {
    usage: "npm test -- [chapterN ...] [options]",
    options: {
      ...SUBJECT_OPTIONS,
      test: { type: "string", short: "t", value: "TEXT", help: "only the tests whose name contains this text" },
      seed: { type: "string", value: "N", help: "run each many-seed test with this one seed only" },
      watch: { type: "boolean", short: "w", help: "stay running; re-run when you save a file" },
      ui: { type: "boolean", help: "serve vitest's browser UI until stopped" },
      isolated: { type: "boolean", help: "run node code in a process of its own with no rights, as grade does (slower; the same report)" },
    },
  },
  grade: {
    usage: "npm run grade -- [chapterN ...] [options]",
    options: {
      ...SUBJECT_OPTIONS,
      out: { type: "string", value: "FILE", help: "where to write the results (default: results.json)" },
      "seed-base": { type: "string", value: "WORD", help: "grade on seeds no student has seen: each is a hash of this secret word and a published seed (or RAFT_GRADE_SEED=WORD)" },
      "with-earlier": { type: "boolean", help: "also run each chapter's node on every earlier chapter's suite, as a regression section" },
      visibility: { type: "string", value: "WHEN", help: "when Gradescope shows the tests: visible (default), hidden, after_due_date, after_published" },
      "hide-seeds": { type: "boolean", help: "keep graded seeds out of results.json (what students see): this output keeps them, for you" },
      submission: { type: "boolean", help: "the --node file is a student's hand-in: failures tell the student to replay in their own copy, without --node" },
      "in-process": { type: "boolean", help: "run node code in the test process, as npm test does: faster, but only for code you trust (the project's own checks)" },
    },
  },
  replay: {
    usage: 'npm run replay -- chapterN --seed N --test "test name" [options]',
    options: {
      ...SUBJECT_OPTIONS,
      seed: { type: "string", value: "N", help: "the seed to replay (required)" },
      test: { type: "string", short: "t", value: "NAME", help: "the test's name, or part of it, as the failure printed it (required)" },
      path: { type: "string", value: "PATH", help: "for a randomized (fast-check) test: the path of the failing run, as printed" },
      timeline: { type: "boolean", help: "draw the whole run as a timeline (by default a long run is summed up: who led, what committed, how a failed run ended)" },
      mermaid: { type: "string", value: "FILE", help: "also write the run as a Mermaid sequence diagram to this file" },
      svg: { type: "string", value: "FILE", help: "also draw the run as a sequence diagram in SVG (needs Chromium, as npm run diagrams does)" },
      history: { type: "string", value: "FILE", help: "Chapter 8 on: draw the clients' history as an SVG picture (clients as rows, calls as bars, what cannot be ordered in red)" },
      visualize: { type: "boolean", help: "then open the run in the browser page (npm run visualize), at the moment it failed" },
    },
  },
};

/**
 * --seed-base WORD, checked.
 * @param {unknown} value
 */
function baseSeedOption(value) {
  try {
    return baseSeed(String(value));
  } catch (error) {
    throw new UsageError(`--seed-base: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** @param {string} text */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Which code the suites run against, and how the report names it.
 * @param {Record<string, string | boolean | undefined>} values
 * @returns {Partial<Settings>}
 */
function subjectSettings(values) {
  const node = values.node;
  if (typeof node === "string") {
    const file = path.resolve(process.cwd(), node);
    if (!existsSync(file)) throw new UsageError(`There is no file ${node} to test.`);
    return { nodeFile: file, subject: path.relative(PROJECT_ROOT, file) };
  }
  if (values.solutions) return { nodeRoot: "solutions", subject: "the reference solutions" };
  return { nodeRoot: "chapters", subject: "your code in chapters/" };
}

/**
 * The standard error of the suites' child processes, without the pages of
 * native stack that V8 prints when a process runs out of memory (the
 * report says it more plainly).
 */
class ChildErrors extends Writable {
  skipping = false;
  pending = "";

  /**
   * @override
   * @param {Buffer | string} chunk
   * @param {BufferEncoding} _encoding
   * @param {() => void} done
   */
  _write(chunk, _encoding, done) {
    this.pending += chunk.toString();
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.line(line);
    done();
  }

  /** @param {string} line */
  line(line) {
    // V8's last words when a process runs out of memory, or builds an array
    // past its size limit; several processes may write them at once, so a
    // line can begin in the middle of another's.
    const crashNoise = /Last few GCs|JS stacktrace|FATAL ERROR|Native stack trace|Mark-Compact|Scavenge|Security context|FailureMessage|Fatal error in|Fatal JavaScript|^\s*\d+: 0x[0-9a-f]+ |^\s*#|^\s*\[\d+:0x[0-9a-f]+\]|^\s*<---.*--->\s*$/;
    if (crashNoise.test(line)) {
      this.skipping = true;
      return;
    }
    if (this.skipping && /^\s*$/.test(line)) return;
    this.skipping = false;
    process.stderr.write(`${line}\n`);
  }
}

/**
 * The progress notes a suite's child process wrote (see tests/harness/graded.ts):
 * which tests started, and the results of those that finished.
 * @param {string} dir
 * @param {Chapter} chapter
 * @returns {{ started: string[], finished: Map<string, TestResult>, replay: Map<string, string[]> }}
 */
function readProgress(dir, chapter) {
  const file = path.join(dir, `${chapter.dir}.jsonl`);
  /** @type {string[]} */
  const started = [];
  /** @type {Map<string, TestResult>} */
  const finished = new Map();
  /** @type {Map<string, string[]>} the step, seed and replay lines of the last world each test built */
  const replay = new Map();
  if (!existsSync(file)) return { started, finished, replay };
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const note = JSON.parse(line);
    if (note.event === "start") started.push(note.test);
    else if (note.event === "replay") replay.set(note.test, note.lines);
    else finished.set(note.test, { chapter: chapter.short, name: note.test, points: note.points, state: note.state, output: note.output ?? "", ...(note.failure ? { failure: note.failure } : {}) });
  }
  return { started, finished, replay };
}

/** What the test processes noted of how node code ran (grade's notes say it). */
let isolationNote = "";

/**
 * Run chapters' suites and return every test's result. A suite whose
 * process died (out of memory) is run again for the tests it did not
 * reach; the test that was running when it died fails with the reason.
 * @param {readonly Chapter[]} chapters
 * @param {{ settings: Partial<Settings>, testNamePattern?: RegExp, quiet?: boolean }} options
 * @returns {Promise<{ results: ChapterResult[], filtered: boolean, printedFile?: string }>}
 */
export async function runSuites(chapters, options) {
  const { startVitest } = await import("vitest/node");
  const progressDir = path.join(PROJECT_ROOT, ".workbook-cache", "progress", String(process.pid));
  rmSync(progressDir, { recursive: true, force: true });
  mkdirSync(progressDir, { recursive: true });
  clearSettingsEnv();
  Object.assign(process.env, settingsEnv({ ...options.settings, progressDir }));
  /** @type {Map<string, ChapterResult>} */
  const results = new Map();
  /** @type {Map<string, string[]>} chapter -> the tests still to run (undefined: all) */
  let todo = new Map(chapters.map((c) => [c.short, /** @type {string[]} */ ([])]));
  let firstRound = true;
  let outOfMemoryBefore = false;
  /** @type {string | undefined} */
  let printedFile;
  try {
    for (let round = 0; todo.size > 0 && round < 100; round++) {
      const runChapters = chapters.filter((c) => todo.has(c.short));
      const names = [...todo.values()].flat();
      const pattern = firstRound ? options.testNamePattern : new RegExp(`^(?:${names.map(escapeRegExp).join("|")})$`);
      const reporter = new ScoreReporter({ print: false, echo: options.settings.draw === true });
      const errors = new ChildErrors();
      for (const c of runChapters) rmSync(path.join(progressDir, `${c.dir}.jsonl`), { force: true });
      const vitest = await startVitest(
        "test",
        runChapters.map((c) => path.join(PROJECT_ROOT, c.testFile)),
        {
          root: PROJECT_ROOT,
          run: true,
          watch: false,
          reporters: [reporter],
          ...(pattern ? { testNamePattern: pattern } : {}),
          // After a process ran out of memory, the next ones get less: the same
          // allocation is likely to come again, and a small heap fills faster.
          ...(outOfMemoryBefore ? { execArgv: ["--max-old-space-size=256"] } : {}),
        },
        undefined,
        { stderr: errors },
      );
      await vitest.close();
      printedFile = reporter.printedFile ?? printedFile;
      /** @type {Map<string, string[]>} */
      const next = new Map();
      for (const chapter of runChapters) {
        const ran = reporter.results.get(chapter.short);
        const previous = results.get(chapter.short);
        const wanted = firstRound ? undefined : new Set(todo.get(chapter.short));
        const progress = readProgress(progressDir, chapter);
        /** @type {TestResult[]} */
        const merged = [];
        const unfinished = [];
        for (const test of ran?.tests ?? []) {
          const before = previous?.tests.find((t) => t.name === test.name);
          if (wanted && !wanted.has(test.name)) {
            if (before) merged.push(before);
            continue;
          }
          if (test.state !== "not run" || test.notRunBecause === "filtered") {
            merged.push(test);
            continue;
          }
          // The process died before this test reported: take what it noted itself.
          const noted = progress.finished.get(test.name);
          if (noted) merged.push(noted);
          else if (progress.started.includes(test.name)) {
            // (Node code cannot exit or crash its process in any other way: the
            // sandbox has no process, and a stack overflow is an ordinary error.)
            merged.push({
              ...test,
              state: "failed",
              // The same words as a node's own process that ran out of memory.
              output: `Stopped: ${OUT_OF_MEMORY}${progress.replay.has(test.name) ? `\n\n${(progress.replay.get(test.name) ?? []).join("\n")}` : ""}`,
              failure: { kind: "stopped", key: "crashed:memory", summary: "the node's code ran out of memory" },
            });
          } else {
            merged.push(test);
            unfinished.push(test.name);
          }
        }
        if (ran) results.set(chapter.short, { ...ran, tests: merged });
        // Run the rest again if the process got anywhere (each round settles at least the test it died in).
        if (unfinished.length > 0 && progress.started.length > 0) next.set(chapter.short, unfinished);
      }
      todo = next;
      firstRound = false;
      outOfMemoryBefore ||= next.size > 0;
    }
    const isolation = path.join(progressDir, "isolation.txt");
    if (existsSync(isolation)) isolationNote = readFileSync(isolation, "utf8").trim();
  } finally {
    rmSync(progressDir, { recursive: true, force: true });
  }
  const ordered = chapters.map((c) => results.get(c.short)).filter((r) => r !== undefined);
  return { results: ordered, filtered: options.testNamePattern !== undefined, ...(printedFile ? { printedFile } : {}) };
}

/** @param {string} name */
function main(name) {
  return async () => {
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`Unknown command ${name}.`);
    const spec = { ...command, more: chapterList() };
    const { values, positionals } = parseCommand(spec, process.argv.slice(3));
    const chapters = resolveChapters(positionals);
    /** @type {Partial<Settings>} */
    const settings = subjectSettings(values);
    const seed = wholeOption(values.seed, "seed");
    if (seed !== undefined) settings.seed = seed;
    const seedBase = values["seed-base"] !== undefined ? baseSeedOption(values["seed-base"]) : readSettings().seedBase;
    if (seedBase !== undefined) settings.seedBase = seedBase;
    // The check grades mutants of later references with the reference's experiment files.
    const experimentRoot = readSettings().experimentRoot;
    if (experimentRoot !== undefined) settings.experimentRoot = experimentRoot;
    // The check and the soak ask for more randomized runs (RAFT_RANDOM_RUNS); the run's own settings replace the environment's, so carry it over.
    const randomRuns = readSettings().randomRuns;
    if (randomRuns !== undefined) settings.randomRuns = randomRuns;
    if (typeof values.path === "string") settings.fcPath = values.path;
    // Grading runs node code in a process of its own (sandbox/node-process.ts); practice runs keep it here, unless asked.
    if (name === "grade" ? values["in-process"] !== true : values.isolated === true) settings.isolated = true;
    if (values.submission === true) settings.submission = true;
    const testName = typeof values.test === "string" ? values.test : undefined;
    const testNamePattern = testName !== undefined ? new RegExp(escapeRegExp(testName)) : undefined;

    if (name === "replay") {
      if (chapters.length !== 1 || seed === undefined || testName === undefined) {
        throw new UsageError(`Replay needs one chapter, a --seed and a --test name.\n\n${spec.usage}`);
      }
      settings.draw = true;
      if (values.timeline === true) settings.timeline = true;
      if (typeof values.mermaid === "string") settings.mermaidFile = path.resolve(process.cwd(), values.mermaid);
      if (typeof values.history === "string") settings.historyFile = path.resolve(process.cwd(), values.history);
      // An SVG is drawn from the Mermaid text (written beside it when no --mermaid file was asked for).
      if (typeof values.svg === "string" && !settings.mermaidFile) settings.mermaidFile = path.resolve(process.cwd(), `${values.svg.replace(/\.svg$/i, "")}.mmd`);
      if (values.visualize === true) {
        settings.recordingFile = path.join(PROJECT_ROOT, ".workbook-cache", "replay-recording.json");
        mkdirSync(path.dirname(settings.recordingFile), { recursive: true });
        rmSync(settings.recordingFile, { force: true });
      }
    }

    if (values.watch || values.ui) {
      const { startVitest } = await import("vitest/node");
      Object.assign(process.env, settingsEnv({ ...settings, pointsInNames: Boolean(values.ui) }));
      // On your own code, every re-run ends with the one next thing to do (as npm run progress says it).
      const ownCode = settings.nodeFile === undefined && settings.nodeRoot !== "solutions";
      /** @type {Map<string, ChapterResult>} the latest result of each chapter (a re-run may run only some) */
      const latest = new Map();
      const after = (/** @type {ChapterResult[]} */ ran) => {
        for (const result of ran) latest.set(result.chapter, result);
        const next = nextLine(progressOf(chapters, [...latest.values()]));
        return next ? pc.cyan(next) : pc.green("Every chapter run here is done: full points.");
      };
      const reporter = new ScoreReporter({
        print: true,
        ...(settings.subject ? { subject: settings.subject } : {}),
        filtered: testNamePattern !== undefined,
        ...(ownCode && testNamePattern === undefined ? { after } : {}),
      });
      const vitest = await startVitest("test", chapters.map((c) => path.join(PROJECT_ROOT, c.testFile)), {
        root: PROJECT_ROOT,
        run: false,
        watch: true,
        ui: Boolean(values.ui),
        open: false,
        reporters: [reporter],
        ...(testNamePattern ? { testNamePattern } : {}),
      });
      if (values.ui) {
        const port = vitest.config.api?.port ?? 51204;
        console.log(`\nThe browser UI is at http://localhost:${port}/__vitest__/ (Ctrl-C to stop). Each test shows its points.`);
      } else {
        console.log("\nWatching for changes (Ctrl-C to stop).");
      }
      return 0;
    }

    const started = Date.now();
    const { results, filtered, printedFile } = await runSuites(chapters, { settings, ...(testNamePattern ? { testNamePattern } : {}) });
    // A suite that did not load at all (a file of the workbook's own missing or broken): say so, before anything else.
    for (const result of results) {
      if (result.loadErrors) console.error(pc.red(`\n${result.chapter}'s suite did not load, so none of its tests ran:\n${result.loadErrors.join("\n")}`));
    }
    const ran = results.reduce((n, c) => n + c.tests.filter((t) => t.state !== "not run").length, 0);
    if (ran === 0 && results.some((r) => r.loadErrors)) return 2;
    if (testNamePattern && ran === 0) {
      console.error(`\nNo test of ${chapters.map((c) => c.short).join(", ")} has a name containing "${testName}". Run \`npm test -- ${chapters.map((c) => c.short).join(" ")}\` to see the names.`);
      return 2;
    }
    const subject = settings.subject;

    if (name === "replay") {
      // The worlds were drawn by the tests themselves; the failure, if any, follows.
      const failures = failuresText(results);
      console.log(failures === "" ? pc.green("\nThe replayed test passed.") : failures);
      if (settings.mermaidFile) {
        const shown = path.relative(process.cwd(), settings.mermaidFile);
        if (!existsSync(settings.mermaidFile)) console.error(`No sequence diagram was written to ${shown}: the test built no simulated world.`);
        else {
          console.log(`Sequence diagram written to ${shown}.`);
          if (typeof values.svg === "string") {
            // Through the project's own renderer: the browser settings of npm run diagrams.
            const svg = path.resolve(process.cwd(), values.svg);
            const render = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "learner", "diagrams.ts"), "--from", settings.mermaidFile, "--out", svg], {
              cwd: PROJECT_ROOT,
              stdio: "inherit",
            });
            if (render.status !== 0) return render.status ?? 1;
          }
        }
      }
      if (settings.recordingFile) {
        if (!existsSync(settings.recordingFile)) {
          console.error("There is nothing to open in the page: the test built no simulated world.");
          return 1;
        }
        // The page serves until stopped (Ctrl-C), as npm run visualize does.
        const subjectArgs = settings.nodeFile ? ["--node", settings.nodeFile] : settings.nodeRoot === "solutions" ? ["--solutions"] : [];
        const page = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_ROOT, "scripts", "learner", "visualize.ts"), chapters[0].short, ...subjectArgs, "--seed", String(seed), "--recording", settings.recordingFile], {
          cwd: PROJECT_ROOT,
          stdio: "inherit",
        });
        return page.status ?? 1;
      }
      console.log(pc.dim("To watch this run in a browser page, at the moment it ended: add --visualize to this command."));
      return failures === "" ? 0 : 1;
    }

    console.log(fullReport(results, { ...(subject ? { subject } : {}), filtered, ...(printedFile ? { printedFile } : {}) }));
    if (name === "grade") {
      const visibility = typeof values.visibility === "string" ? values.visibility : "visible";
      if (!VISIBILITIES.includes(visibility)) throw new UsageError(`--visibility must be one of ${VISIBILITIES.join(", ")}, not "${visibility}".`);
      // Regressions: each chapter's node on every earlier chapter's suite.
      /** @type {ChapterResult[]} */
      const regressions = [];
      if (values["with-earlier"]) {
        for (const chapter of chapters) {
          const earlier = resolveChapters([]).filter((c) => c.number < chapter.number);
          if (earlier.length === 0) continue;
          const file = settings.nodeFile ?? path.join(PROJECT_ROOT, settings.nodeRoot ?? "chapters", chapter.dir, "node.ts");
          const label = path.relative(PROJECT_ROOT, file);
          // A regression section grades the node, and only the node: the
          // tests of an earlier chapter's other files (Chapter 3's
          // experiment.ts) are left out, wherever the node file sits.
          const run = await runSuites(earlier, { settings: { ...settings, nodeFile: file, subject: label, regression: true } });
          console.log(`\n${pc.bold(`Regression: ${label} on the suites of the chapters before ${chapter.short}`)}`);
          console.log(fullReport(run.results, { subject: label }));
          for (const result of run.results) {
            const section = `${chapter.short} regression ${result.chapter}`;
            regressions.push({ ...result, chapter: section, regressionOf: chapter.number, tests: result.tests.map((t) => ({ ...t, chapter: section })) });
          }
        }
      }
      const manifest = manifestWarning(verifyManifest(PROJECT_ROOT));
      if (manifest.length > 0) console.log(`\n${pc.red(manifest.join("\n"))}`);
      const notes = [
        ...manifest,
        ...(isolationNote !== "" ? [isolationNote.charAt(0).toUpperCase() + isolationNote.slice(1)] : []),
        ...(settings.seedBase ? ["Graded on seeds made from the instructor's base seed (not the published ones)."] : []),
        ...(regressions.length > 0 ? ["The regression tests run each chapter's node on the earlier chapters' suites; their points count."] : []),
      ];
      const out = path.resolve(process.cwd(), typeof values.out === "string" ? values.out : "results.json");
      const hideSeeds = values["hide-seeds"] === true;
      const graded = toGradescope([...results, ...regressions], {
        elapsedMs: Date.now() - started,
        visibility: /** @type {import("../shared/report.mjs").GradescopeResults["visibility"]} */ (visibility),
        notes: [...notes, ...(hideSeeds ? ["The seeds of this grade are kept by your instructor."] : [])],
      });
      // Students read results.json; with --hide-seeds the seeds (and replay commands) stay in this output only.
      writeFileSync(out, `${JSON.stringify(hideSeeds ? withoutSeeds(graded) : graded, null, 2)}\n`);
      console.log(`Results written to ${path.relative(process.cwd(), out) || out} (Gradescope's results.json format${hideSeeds ? ", without seeds" : ""}).`);
      // With regression sections, the last thing printed is the whole grade.
      if (regressions.length > 0) console.log(scoreTable([...results, ...regressions], { heading: "Grade", ...(subject ? { subject } : {}) }));
      // A low grade is a result, not an error: grade exits 0 once it has written the results.
      return 0;
    }
    return failureGroups(results).length === 0 ? 0 : 1;
  };
}

// Re-exported for the check and other commands that print reports.
export { scoreTable, testList };

if (isMain(import.meta.url)) await runMain(main(process.argv[2] ?? ""));
