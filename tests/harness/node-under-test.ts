/**
 * Which node code a suite runs against, and how it is loaded.
 *
 *   npm test -- chapter3                 chapters/chapter3-split-votes/node.ts   (yours)
 *   npm run test:solutions -- chapter3   solutions/chapter3-split-votes/node.ts  (the reference)
 *
 * The scripts choose by setting RAFT_NODE_ROOT (a folder holding one folder
 * per chapter) or RAFT_NODE_FILE (one node file for every suite, which is
 * how the check runs earlier chapters' suites against later references).
 *
 * The file runs in the sandbox of sandbox/node-program.ts: compiled once per
 * suite, and evaluated afresh for every test, so nothing a node keeps in
 * module-level variables carries over from one test to the next.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll } from "vitest";
import type { CreateNode } from "../../world/contract.ts";
import type { HostLab } from "../../world/lab.ts";
import { endNodeProcesses, isolationAvailable, isolationDescription } from "../../sandbox/node-process.ts";
import { loadNodeProgram, NodeLoadError, type ExperimentModule, type NodeProgram } from "../../sandbox/node-program.ts";
import { markCopiesMessages } from "../../world/world.ts";
import { readSettings } from "../../scripts/shared/settings.mjs";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The file a suite loads for `chapterDir` (e.g. "chapter1-timers-and-roles"). */
export function nodeFileFor(chapterDir: string): string {
  const { nodeFile, nodeRoot } = readSettings();
  if (nodeFile) return path.resolve(PROJECT_ROOT, nodeFile);
  return path.resolve(PROJECT_ROOT, nodeRoot, chapterDir, "node.ts");
}

/** Every suite's node and experiment, so each test can start from fresh sandboxes. */
const loaded: { instance: CreateNode | undefined }[] = [];
const loadedExperiments: { instance: ExperimentModule | undefined }[] = [];

/** Called at the start of every graded test: the next world gets a freshly evaluated node file. */
export function freshNodesForNextTest(): void {
  for (const slot of loaded) slot.instance = undefined;
  for (const slot of loadedExperiments) slot.instance = undefined;
  // Graded in a process of its own: a fresh one for every test.
  endNodeProcesses();
}

/**
 * How node files load: in a process of their own when grading
 * (RAFT_ISOLATED), where this platform can (not on Windows). What the
 * node's processes had is noted for the grade's notes (isolation.txt in
 * the progress folder: written here, in the test process, never by node code).
 */
function loadOptions(): { isolated: boolean; fresh: boolean } {
  const { isolated, progressDir } = readSettings();
  const available = isolated && isolationAvailable();
  if (isolated && progressDir !== undefined && !noted) {
    noted = true;
    writeFileSync(
      path.join(progressDir, "isolation.txt"),
      available ? `${isolationDescription()}.` : "node code ran in the test process: this platform cannot give it a process of its own (the grade is what the node earned, but it does not hold against code that gets out of node:vm).",
    );
  }
  // A grade compiles node files from the files themselves, never from the compile cache.
  return { isolated: available, fresh: isolated };
}
let noted = false;

/**
 * The node under test for a suite. The file is compiled before the
 * suite's first test; a node.ts that does not load (missing, a syntax
 * error, no createNode) fails every test with the same plain message,
 * which the score report prints once, first.
 */
export function useNodeUnderTest(chapterDir: string): CreateNode {
  let program: NodeProgram | undefined;
  let loadError: NodeLoadError | undefined;
  const slot: { instance: CreateNode | undefined } = { instance: undefined };
  loaded.push(slot);
  beforeAll(() => {
    try {
      program = loadNodeProgram(nodeFileFor(chapterDir), PROJECT_ROOT, loadOptions());
    } catch (error) {
      if (!(error instanceof NodeLoadError)) throw error;
      loadError = error;
    }
  });
  return markCopiesMessages((env, saved) => {
    if (loadError) throw loadError;
    if (!program) throw new Error(`${path.relative(PROJECT_ROOT, nodeFileFor(chapterDir))} was not loaded before the test began.`);
    slot.instance ??= program.instantiate();
    return slot.instance(env, saved);
  });
}

/**
 * The experiment file a suite loads for `chapterDir` (Chapter 3's
 * experiment.ts). It goes with the node: beside the node file when one is
 * given (a submission, a partial node of the step-score check), else in
 * the same root as the node file (a later chapter's reference is graded
 * with the reference experiment), else from RAFT_EXPERIMENT_ROOT (a
 * regression section grades only the node), else from the node's root.
 */
export function experimentFileFor(chapterDir: string, name = "experiment.ts"): string {
  const { nodeFile, nodeRoot, experimentRoot } = readSettings();
  if (nodeFile) {
    const nodeDir = path.dirname(path.resolve(PROJECT_ROOT, nodeFile));
    const beside = path.join(nodeDir, name);
    if (existsSync(beside)) return beside;
    const sameRoot = path.join(path.dirname(nodeDir), chapterDir, name);
    if (existsSync(sameRoot)) return sameRoot;
    // Graded with --node and nothing beside it: never someone else's file
    // in its place (the test says the file is missing).
    if (experimentRoot === undefined) return beside;
  }
  return path.resolve(PROJECT_ROOT, experimentRoot ?? nodeRoot, chapterDir, name);
}

/** An experiment's functions, called with a lab (the world's side) and JSON values. */
export interface ExperimentUnderTest {
  call(name: string, args: readonly unknown[], lab?: HostLab): unknown;
}

/**
 * The experiment file under test, loaded like a node file: compiled before
 * the suite's first test, evaluated afresh for each test, and stopped with
 * a plain message if it does not load.
 */
export function useExperimentUnderTest(chapterDir: string, functions: readonly string[], name = "experiment.ts", givenFile?: string): ExperimentUnderTest {
  let program: NodeProgram | undefined;
  let loadError: NodeLoadError | undefined;
  const slot: { instance: ExperimentModule | undefined } = { instance: undefined };
  loadedExperiments.push(slot);
  beforeAll(() => {
    // A file the chapter gives whole (Chapter 9's clerk.ts) is always the workbook's own, whatever node is graded.
    const file = givenFile ?? experimentFileFor(chapterDir, name);
    const { nodeFile } = readSettings();
    if (nodeFile && !existsSync(file)) {
      const label = path.relative(PROJECT_ROOT, file);
      loadError = new NodeLoadError(
        file,
        "missing",
        `${label} is missing. This chapter's tests of ${name} grade the ${name} beside the node file given with --node ` +
          `(${path.relative(PROJECT_ROOT, path.resolve(PROJECT_ROOT, nodeFile))}); put yours there (a submission: upload ${name} with node.ts).`,
      );
      return;
    }
    try {
      program = loadNodeProgram(file, PROJECT_ROOT, loadOptions());
    } catch (error) {
      if (!(error instanceof NodeLoadError)) throw error;
      loadError = error;
    }
  });
  return {
    call(name, args, lab) {
      if (loadError) throw loadError;
      if (!program) throw new Error(`${path.relative(PROJECT_ROOT, experimentFileFor(chapterDir, name))} was not loaded before the test began.`);
      slot.instance ??= program.instantiateExperiment(functions);
      return slot.instance.call(name, args, lab);
    },
  };
}
