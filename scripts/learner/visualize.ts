/**
 * npm run visualize -- chapterN [--solutions | --node FILE] [--seed N] [--run FILE] [--port N]
 *
 * Serves the cluster in a browser page (visualizer/): five servers on a
 * ring running your node (or the reference, or any node file), animated in
 * simulated time, with buttons to crash, restart, pause or time out a
 * server, cut it off or partition the cluster, and send a command; a
 * timeline to go back and forth; a link that replays the run exactly.
 *
 * vite serves and bundles the page (vitest already brings it). The node's
 * file is compiled here as the terminal compiles it, handed to the page
 * as a module, and run in a Web Worker under the terminal's rules; saving
 * the file reloads the page.
 *
 * `--recording FILE` (what `npm run replay -- … --visualize` passes) opens
 * a replayed test's run instead, at the moment it failed.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import { createServer, type Plugin, type ViteDevServer } from "vite";
import { compileNodeFile } from "../../sandbox/node-code.ts";
import { asRunDescription } from "../../visualizer/cluster-frames.ts";
import type { PageConfig, SavedRun } from "../../visualizer/protocol.ts";
import { chapterList, PROJECT_ROOT, resolveChapters } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, UsageError, wholeOption } from "../shared/cli.mjs";

const HAS_SOLUTIONS = existsSync(path.join(PROJECT_ROOT, "solutions"));

export const COMMAND = {
  usage: "npm run visualize -- chapterN [--solutions | --node FILE] [--seed N] [--run FILE] [--port N]",
  options: {
    ...(HAS_SOLUTIONS ? { solutions: { type: "boolean" as const, help: "run the chapter's reference solution instead of your node" } } : {}),
    node: { type: "string" as const, value: "FILE", help: "run this node file instead (e.g. your chapter 5 node on chapter 2's page)" },
    seed: { type: "string" as const, value: "N", help: "the run's seed (default 1; the page can start new ones)" },
    port: { type: "string" as const, value: "N", help: "the port to serve on (default 5173, or the next free one)" },
    run: { type: "string" as const, value: "FILE", help: "open a run saved with the page's Save run button (the same as its link)" },
    recording: { type: "string" as const, value: "FILE", help: "open a test's recorded run (written by npm run replay -- ... --visualize)" },
  },
  more: "Open the address it prints in a browser; stop it with Ctrl-C. Saving the node file reloads the page (a replayed test's recording stays as it was recorded).",
};

/** How long node code may run without returning before the page stops it: a test's limit in the terminal (tests/harness/graded.ts). */
const CALL_LIMIT_MS = 5000;

export interface VisualizeOptions {
  readonly chapter: number;
  readonly chapterTitle: string;
  /** The chapter's folder name (chapter8-key-value-service), where its given files are. */
  readonly chapterDir: string;
  readonly nodeFile: string;
  readonly seed: number;
  readonly port?: number;
  readonly recordingFile?: string;
  /** A run saved by the page (its Save run button): the page opens it. */
  readonly savedRun?: SavedRun;
  /** Print nothing (the check's browser tests). */
  readonly quiet?: boolean;
  /** A shorter limit than a test's (the check's browser tests, which wait for it). */
  readonly callLimitMs?: number;
}

/** A file compiled as the terminal compiles it, or what is wrong with it. */
function compiledFile(file: string): { code: string; label: string; problem?: string } {
  try {
    const compiled = compileNodeFile(file, PROJECT_ROOT);
    return { code: compiled.code, label: compiled.label };
  } catch (error) {
    return { code: "", label: path.relative(PROJECT_ROOT, file) || file, problem: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The clerk the page's clients use from Chapter 8 on: the clerk.ts beside
 * the node file, or else the chapter's own (Chapter 9 gives it whole).
 */
export function clerkFileFor(options: Pick<VisualizeOptions, "chapter" | "chapterDir" | "nodeFile">): string | undefined {
  if (options.chapter < 8) return undefined;
  for (const file of [path.join(path.dirname(options.nodeFile), "clerk.ts"), path.join(PROJECT_ROOT, "chapters", options.chapterDir, "clerk.ts")]) {
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** The node file (and the clerk, from Chapter 8 on) as the page's worker takes them (virtual:raft-node). */
function nodeModule(options: VisualizeOptions): string {
  const clerk = clerkFileFor(options);
  return `export const nodeFile = ${JSON.stringify(compiledFile(options.nodeFile))};\nexport const clerkFile = ${clerk === undefined ? "undefined" : JSON.stringify(compiledFile(clerk))};\n`;
}

function configModule(options: VisualizeOptions): string {
  const config: Omit<PageConfig, "recording"> = {
    chapter: options.chapter,
    chapterTitle: options.chapterTitle,
    nodeLabel: path.relative(PROJECT_ROOT, options.nodeFile) || options.nodeFile,
    seed: options.seed,
    callLimitMs: options.callLimitMs ?? CALL_LIMIT_MS,
    ...(options.savedRun === undefined ? {} : { savedRun: options.savedRun }),
  };
  if (options.recordingFile === undefined) return `export default ${JSON.stringify(config)};\n`;
  // A recording is written compact (what changed from frame to frame); the page gets whole frames back.
  // Fetched as JSON rather than written into this module: a long test's is megabytes, which the browser
  // parses as JSON far faster than vite transforms and the browser parses a module.
  return (
    `import { expandRecording } from "/recording.ts";\n` +
    `const recording = expandRecording(await (await fetch(${JSON.stringify(RECORDING_PATH)})).json());\n` +
    `export default { ...${JSON.stringify(config)}, recording };\n`
  );
}

/** Where the page fetches a replayed test's recording. */
const RECORDING_PATH = "/__raft-recording.json";

/** The two modules the server makes up: the node's compiled code, and what the page is told. */
function workbookModules(options: VisualizeOptions): Plugin {
  const ids = { node: "virtual:raft-node", config: "virtual:raft-page-config" };
  const resolved = (id: string) => `\0${id}`;
  return {
    name: "raft-workbook-page",
    resolveId(id) {
      return id === ids.node || id === ids.config ? resolved(id) : undefined;
    },
    load(id) {
      if (id === resolved(ids.node)) return nodeModule(options);
      if (id === resolved(ids.config)) return configModule(options);
      return undefined;
    },
    configureServer(server) {
      server.middlewares.use(RECORDING_PATH, (_request, response) => {
        if (options.recordingFile === undefined) {
          response.statusCode = 404;
          response.end();
          return;
        }
        response.setHeader("Content-Type", "application/json");
        response.end(readFileSync(options.recordingFile));
      });
      // A replayed test's recording is of the code as it was: it stays as it is when the file changes.
      if (options.recordingFile !== undefined) return;
      // Saving the node file reloads the page with the new code (a run is replayed, so nothing is lost but time).
      const watched = [options.nodeFile, clerkFileFor(options)].filter((f): f is string => f !== undefined).map((f) => path.resolve(f));
      server.watcher.add(watched);
      server.watcher.on("change", (changed) => {
        if (!watched.includes(path.resolve(changed))) return;
        const module = server.moduleGraph.getModuleById(resolved(ids.node));
        if (module) server.moduleGraph.invalidateModule(module);
        server.ws.send({ type: "full-reload" });
      });
    },
  };
}

/** Start the page's server; resolves once it listens. */
export async function serveVisualizer(options: VisualizeOptions): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: false,
    root: path.join(PROJECT_ROOT, "visualizer"),
    // The page imports the world's core from the folders beside it.
    server: { port: options.port ?? 5173, strictPort: false, fs: { allow: [PROJECT_ROOT] }, host: "127.0.0.1" },
    logLevel: options.quiet ? "silent" : "warn",
    clearScreen: false,
    plugins: [workbookModules(options)],
    worker: { format: "es" },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const address = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${options.port ?? 5173}/`;
  return { server, url: address };
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length !== 1) throw new UsageError(`Which chapter? One, such as: npm run visualize -- chapter5\n\n${chapterList()}`);
  const [chapter] = resolveChapters(positionals);
  const nodeFile =
    typeof values.node === "string"
      ? path.resolve(process.cwd(), values.node)
      : path.join(PROJECT_ROOT, values.solutions ? "solutions" : "chapters", chapter!.dir, "node.ts");
  if (!existsSync(nodeFile)) throw new UsageError(`There is no node file ${path.relative(process.cwd(), nodeFile) || nodeFile}.`);
  const seed = wholeOption(values.seed, "seed", { min: 0 }) ?? 1;
  const port = wholeOption(values.port, "port", { min: 1 });
  const recordingFile = typeof values.recording === "string" ? path.resolve(process.cwd(), values.recording) : undefined;
  if (recordingFile !== undefined && !existsSync(recordingFile)) throw new UsageError(`There is no recording ${recordingFile}: npm run replay -- chapterN --seed N --test "name" --visualize writes one.`);
  let savedRun: SavedRun | undefined;
  if (typeof values.run === "string") {
    const file = path.resolve(process.cwd(), values.run);
    if (!existsSync(file)) throw new UsageError(`There is no run file ${values.run}.`);
    let saved: { at?: unknown } & Record<string, unknown>;
    try {
      saved = JSON.parse(readFileSync(file, "utf8")) as typeof saved;
    } catch (error) {
      throw new UsageError(`${values.run} is not a run the page saved: ${error instanceof Error ? error.message : String(error)}`);
    }
    const run = asRunDescription(saved);
    if (run === undefined) throw new UsageError(`${values.run} is not a run the page saved (it needs chapter, seed and actions).`);
    if (run.chapter !== chapter!.number) throw new UsageError(`${values.run} is a run of Chapter ${run.chapter}'s page: npm run visualize -- chapter${run.chapter} --run ${values.run}`);
    savedRun = { run, ...(typeof saved.at === "number" ? { at: saved.at } : {}) };
  }
  const { url } = await serveVisualizer({
    chapter: chapter!.number,
    chapterTitle: chapter!.title,
    chapterDir: chapter!.dir,
    nodeFile,
    seed,
    ...(port === undefined ? {} : { port }),
    ...(recordingFile === undefined ? {} : { recordingFile }),
    ...(savedRun === undefined ? {} : { savedRun }),
  });
  const what = recordingFile !== undefined ? "a replayed test's run" : `${path.relative(process.cwd(), nodeFile)} in the simulated world, seed ${seed}`;
  console.log(`${pc.bold(chapter!.title)}: ${what}`);
  console.log(`\n  Open ${pc.cyan(url)} in a browser.\n`);
  console.log(pc.dim("  Saving the node file reloads the page. Stop with Ctrl-C."));
  // Served until stopped.
  await new Promise<never>(() => {});
  return 0;
}

if (isMain(import.meta.url)) runMain(main);
