// Which folder may import which: the tree reads like a table of contents
// only while imports run one way. `npm run check` holds every rule here
// (dependency-cruiser); README.md's "Layout" draws the same picture.
//
//   world/       the simulated world's core: imports nothing but itself
//   sandbox/     how a node file runs (Node.js only): world/
//   scenarios/   runs built on the world: world/
//   visualizer/  the cluster in a browser page, and its worker: world/
//   scripts/shared/   plumbing of every command: world/, sandbox/, scenarios/
//   scripts/learner/  the learner's commands: the above and shared/
//   tests/       the graded suites and the world's tests: the same as a learner's command
//   scripts/instructor/, scripts/study-group/: the learner's commands too
//   scripts/maintainer/: anything
const COMMAND_FOLDERS = "^scripts/(learner|instructor|study-group|maintainer)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-import-circles",
      comment: "An import circle makes two files one: neither can be read, tested or moved alone.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "the-world-imports-only-itself",
      comment: "world/ is the core every command stands on, and it runs in a browser page: it imports nothing outside world/ and no Node.js module.",
      severity: "error",
      from: { path: "^world/" },
      to: { pathNot: ["^world/", "^node_modules/"] },
    },
    {
      name: "the-world-runs-in-a-browser",
      comment: "No Node.js module in world/ or scenarios/ (principle 9).",
      severity: "error",
      from: { path: "^(world|scenarios)/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "the-page-stands-on-the-world",
      comment: "visualizer/ is a browser page and its Web Worker: it imports the world and itself (and the modules its server makes up), no Node.js module, no command.",
      severity: "error",
      from: { path: "^visualizer/" },
      to: { pathNot: ["^(visualizer|world)/", "^node_modules/", "^virtual:"] },
    },
    {
      name: "the-page-runs-in-a-browser",
      comment: "No Node.js module in visualizer/ (principle 9).",
      severity: "error",
      from: { path: "^visualizer/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "the-sandbox-and-scenarios-stand-on-the-world",
      comment: "sandbox/ and scenarios/ import the world, never a command or a test.",
      severity: "error",
      from: { path: "^(sandbox|scenarios)/" },
      to: { path: "^(scripts|tests|chapters|solutions)/" },
    },
    {
      name: "shared-plumbing-imports-no-command",
      comment: "scripts/shared/ is what every command uses; it imports no command.",
      severity: "error",
      from: { path: "^scripts/shared/" },
      to: { path: COMMAND_FOLDERS },
    },
    {
      name: "a-learners-command-imports-no-other-audience",
      comment: "What a learner runs (and the graded suites) import nothing from the instructors', the study groups' or the project's own checks: the student edition leaves those folders out.",
      severity: "error",
      from: { path: "^(scripts/learner|tests)/" },
      to: { path: "^scripts/(instructor|study-group|maintainer)/" },
    },
    {
      name: "instructors-and-study-groups-import-no-checks",
      comment: "An instructor's or a study group's command works without the project's own checks.",
      severity: "error",
      from: { path: "^scripts/(instructor|study-group)/" },
      to: { path: "^scripts/maintainer/" },
    },
    {
      name: "nothing-imports-a-solution",
      comment: "The reference solutions are loaded as node files (through the sandbox), never imported by the project's code.",
      severity: "error",
      from: { path: "^(world|sandbox|scenarios|scripts|tests)/" },
      to: { path: "^solutions/" },
    },
    {
      name: "every-import-resolves",
      severity: "error",
      from: {},
      // The page's two made-up modules exist only in its server (scripts/learner/visualize.ts).
      to: { couldNotResolve: true, pathNot: "^virtual:" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|\\.workbook-cache)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".mjs", ".js", ".cjs", ".json"],
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "types", "default"],
      mainFields: ["module", "main", "types"],
    },
  },
};
