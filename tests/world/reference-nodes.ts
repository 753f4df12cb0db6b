/**
 * The world's own tests that run a chapter's reference node load it here,
 * as the suites load a node file. A student edition of the workbook has no
 * solutions/: then there is none, and those tests are skipped.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { loadNodeProgram } from "../../sandbox/node-program.ts";
import type { CreateNode } from "../../world/contract.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** solutions/<chapterDir>/node.ts's createNode, or undefined where there are no solutions. */
export function referenceNode(chapterDir: string): CreateNode | undefined {
  const file = path.join(ROOT, "solutions", chapterDir, "node.ts");
  return existsSync(file) ? loadNodeProgram(file, ROOT).instantiate() : undefined;
}
