/**
 * Which node code a suite runs against.
 *
 *   npm test -- chapter3                 chapters/chapter3-split-votes/node.ts   (yours)
 *   npm run test:solutions -- chapter3   solutions/chapter3-split-votes/node.ts  (the reference)
 *
 * The scripts choose by setting RAFT_NODE_ROOT (a folder holding one folder
 * per chapter) or RAFT_NODE_FILE (one node file for every suite, which is
 * how the check runs earlier chapters' suites against later references).
 */
import path from "node:path";
import { beforeAll } from "vitest";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CreateNode } from "../../world/contract.ts";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The file a suite loads for `chapterDir` (e.g. "chapter1-timers-and-roles"). */
export function nodeFileFor(chapterDir: string): string {
  const file = process.env.RAFT_NODE_FILE;
  if (file) return path.resolve(PROJECT_ROOT, file);
  const root = process.env.RAFT_NODE_ROOT ?? "chapters";
  return path.resolve(PROJECT_ROOT, root, chapterDir, "node.ts");
}

export async function loadNodeUnderTest(chapterDir: string): Promise<CreateNode> {
  const file = nodeFileFor(chapterDir);
  const module: { createNode?: unknown } = await import(pathToFileURL(file).href);
  if (typeof module.createNode !== "function") {
    throw new Error(`${path.relative(PROJECT_ROOT, file)} must export a function named createNode (see world/contract.ts).`);
  }
  return module.createNode as CreateNode;
}

/**
 * The node under test for a suite. The file is loaded before the suite's
 * first test, so a node.ts that fails to load fails every test (each
 * with its points on the score table) instead of hiding the suite.
 */
export function useNodeUnderTest(chapterDir: string): CreateNode {
  let loaded: CreateNode | undefined;
  beforeAll(async () => {
    loaded = await loadNodeUnderTest(chapterDir);
  });
  return (env, saved) => {
    if (!loaded) throw new Error(`${path.relative(PROJECT_ROOT, nodeFileFor(chapterDir))} did not load; see the error above.`);
    return loaded(env, saved);
  };
}
