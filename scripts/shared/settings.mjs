// @ts-check
/**
 * The RAFT_* settings: how the commands tell the test workers what to run.
 *
 * The commands (scripts/*.mjs) decide, from their options, which node file
 * to test, which seed to replay, where to write results; the test files
 * run in worker processes that vitest starts, and read those decisions
 * back from the environment. This module is the only place that knows the
 * variables' names: commands write settings with `settingsEnv`, and the
 * harness reads them with `readSettings`.
 */

/**
 * @typedef {object} Settings
 * @property {"chapters" | "solutions"} nodeRoot   where each chapter's node.ts is taken from
 * @property {string | undefined} nodeFile          one node file for every suite (overrides nodeRoot)
 * @property {"chapters" | "solutions" | undefined} experimentRoot  where an experiment file (Chapter 3's experiment.ts) comes from when none is beside the node file (default: nodeRoot)
 * @property {string | undefined} subject           which code ran, for headings ("your code in chapters/")
 * @property {number | undefined} seed              replay: run each many-seed test with this one seed
 * @property {string | undefined} fcPath            replay: the fast-check path of a randomized run
 * @property {boolean} draw                         replay: draw every world a test builds
 * @property {boolean} timeline                     replay: draw each world's whole timeline (not its summary)
 * @property {string | undefined} mermaidFile       replay: also write the run as a Mermaid diagram here
 * @property {string | undefined} historyFile       replay: write the clients' history as an SVG picture here (Chapter 8 on)
 * @property {string | undefined} recordingFile     replay --visualize: write the test's last world, frame by frame, here for the page
 * @property {number | undefined} randomRuns        how many randomized runs a randomized test makes
 * @property {string | undefined} seedBase          the instructor's base seed: every graded seed is a hash of it (none: the published seeds)
 * @property {string | undefined} progressDir       where test workers note each test's start and end
 * @property {boolean} pointsInNames                 name each test with its points (for vitest's browser UI, whose list shows names only)
 * @property {boolean} isolated                      run node code in a process of its own with no rights (sandbox/node-process.ts): grading does
 * @property {boolean} submission                    the node file is a student's hand-in: replay commands leave out --node (the student runs their own copy)
 * @property {boolean} regression                    a later chapter's node on this suite (--with-earlier): only the tests that grade node.ts run
 */

/** @type {Record<keyof Settings, string>} */
export const VARIABLES = {
  nodeRoot: "RAFT_NODE_ROOT",
  nodeFile: "RAFT_NODE_FILE",
  experimentRoot: "RAFT_EXPERIMENT_ROOT",
  subject: "RAFT_SUBJECT",
  seed: "RAFT_SEED",
  fcPath: "RAFT_FC_PATH",
  draw: "RAFT_DRAW",
  timeline: "RAFT_TIMELINE",
  mermaidFile: "RAFT_MERMAID",
  historyFile: "RAFT_HISTORY",
  recordingFile: "RAFT_RECORDING",
  randomRuns: "RAFT_RANDOM_RUNS",
  seedBase: "RAFT_GRADE_SEED",
  progressDir: "RAFT_PROGRESS_DIR",
  pointsInNames: "RAFT_POINTS_IN_NAMES",
  isolated: "RAFT_ISOLATED",
  regression: "RAFT_REGRESSION",
  submission: "RAFT_SUBMISSION",
};

/**
 * @param {string | undefined} text
 * @param {string} name
 * @returns {number | undefined}
 */
function wholeNumber(text, name) {
  if (text === undefined || text === "") return undefined;
  if (!/^-?\d+$/.test(text)) throw new Error(`${name} must be a whole number, not "${text}".`);
  return Number(text);
}

/**
 * A base seed as given: any word of letters, digits, "-" and "_" (a long
 * random one is best: graded seeds are a hash of it); "0" or nothing means
 * the published seeds.
 * @param {string | undefined} text
 * @returns {string | undefined}
 */
export function baseSeed(text) {
  if (text === undefined || text === "" || text === "0") return undefined;
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) throw new Error(`a base seed is letters, digits, "-" and "_" (up to 200), not "${text}".`);
  return text;
}

/**
 * The settings as the environment holds them.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Settings}
 */
export function readSettings(env = process.env) {
  const text = (/** @type {keyof Settings} */ key) => {
    const value = env[VARIABLES[key]];
    return value === undefined || value === "" ? undefined : value;
  };
  return {
    nodeRoot: text("nodeRoot") === "solutions" ? "solutions" : "chapters",
    nodeFile: text("nodeFile"),
    experimentRoot: text("experimentRoot") === "solutions" ? "solutions" : text("experimentRoot") === "chapters" ? "chapters" : undefined,
    subject: text("subject"),
    seed: wholeNumber(text("seed"), VARIABLES.seed),
    fcPath: text("fcPath"),
    draw: text("draw") === "1",
    timeline: text("timeline") === "1",
    mermaidFile: text("mermaidFile"),
    historyFile: text("historyFile"),
    recordingFile: text("recordingFile"),
    randomRuns: wholeNumber(text("randomRuns"), VARIABLES.randomRuns),
    seedBase: baseSeed(text("seedBase")),
    progressDir: text("progressDir"),
    pointsInNames: text("pointsInNames") === "1",
    isolated: text("isolated") === "1",
    regression: text("regression") === "1",
    submission: text("submission") === "1",
  };
}

/** Remove every RAFT_* setting from this process's environment (before a run sets its own). */
export function clearSettingsEnv() {
  for (const name of Object.values(VARIABLES)) delete process.env[name];
}

/**
 * Environment variables that carry these settings to the test workers.
 * @param {Partial<Settings>} settings
 * @returns {Record<string, string>}
 */
export function settingsEnv(settings) {
  /** @type {Record<string, string>} */
  const env = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined || value === false) continue;
    env[VARIABLES[/** @type {keyof Settings} */ (key)]] = value === true ? "1" : String(value);
  }
  return env;
}
