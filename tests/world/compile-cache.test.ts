/**
 * The compile cache's own tests (not graded): a practice run takes
 * esbuild's output for a node file from .workbook-cache/compiled when the
 * very same text was compiled before; a grade never reads it; a broken
 * entry is compiled again; a syntax error is never kept; old entries go.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeEach, expect, test } from "vitest";
import { COMPILE_CACHE_LIMIT, compileCacheFile, compileNodeFile, NodeLoadError } from "../../sandbox/node-code.ts";
import { loadNodeProgram } from "../../sandbox/node-program.ts";

const ROOT = path.resolve(import.meta.dirname, "../..", ".workbook-cache", "compile-cache-tests");
const CACHE = path.join(ROOT, ".workbook-cache", "compiled");
const FILE = path.join(ROOT, "node.ts");

beforeEach(() => {
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(ROOT, { recursive: true });
});
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

let edits = 0;
/** Write the node file; each call gives it a new modification time, so only the cache on disk can answer for it. */
function write(source: string): void {
  writeFileSync(FILE, source);
  const at = new Date(Date.UTC(2026, 0, 1) + ++edits * 1000);
  utimesSync(FILE, at, at);
}

const SOURCE = "export const answer: number = 42;\n";

test("the first compile keeps esbuild's output; the same text compiles to the same code from the cache", () => {
  write(SOURCE);
  const first = compileNodeFile(FILE, ROOT);
  expect(first.code).toContain("answer = 42");
  expect(readdirSync(CACHE)).toEqual([path.basename(compileCacheFile(FILE, ROOT))]);
  write(SOURCE);
  const again = compileNodeFile(FILE, ROOT);
  expect(again.code).toBe(first.code);
  expect(again.map?.findEntry(0, 0)).toEqual(first.map?.findEntry(0, 0));
});

test("an entry is used only for the very text it was made from, and a grade (no cache) never reads it", () => {
  write(SOURCE);
  compileNodeFile(FILE, ROOT);
  const entry = compileCacheFile(FILE, ROOT);
  const kept = JSON.parse(readFileSync(entry, "utf8")) as { code: string; map: string };
  writeFileSync(entry, JSON.stringify({ ...kept, code: kept.code.replace("42", "43") }));
  write(SOURCE);
  // A practice run believes the cache (it names the text's hash)...
  expect(compileNodeFile(FILE, ROOT).code).toContain("answer = 43");
  // ...a grade compiles the file itself.
  expect(compileNodeFile(FILE, ROOT, false).code).toContain("answer = 42");
  // Another text is another entry.
  write(SOURCE.replace("42", "7"));
  expect(compileNodeFile(FILE, ROOT).code).toContain("answer = 7");
});

test("a file loaded for a grade (fresh) runs the code compiled from it; a practice load runs the cache's", () => {
  write("export function answer(): number {\n  return 42;\n}\n");
  compileNodeFile(FILE, ROOT);
  const entry = compileCacheFile(FILE, ROOT);
  const kept = JSON.parse(readFileSync(entry, "utf8")) as { code: string; map: string };
  writeFileSync(entry, JSON.stringify({ ...kept, code: kept.code.replace("42", "43") }));
  write("export function answer(): number {\n  return 42;\n}\n");
  const answer = (fresh: boolean): unknown => loadNodeProgram(FILE, ROOT, { fresh }).instantiateExperiment(["answer"]).call("answer", []);
  expect(answer(true)).toBe(42);
  expect(answer(false)).toBe(43);
});

test("a broken entry is compiled again, and mended", () => {
  write(SOURCE);
  compileNodeFile(FILE, ROOT);
  const entry = compileCacheFile(FILE, ROOT);
  writeFileSync(entry, '{"code": 1');
  write(SOURCE);
  expect(compileNodeFile(FILE, ROOT).code).toContain("answer = 42");
  expect((JSON.parse(readFileSync(entry, "utf8")) as { code: string }).code).toContain("answer = 42");
});

test("a syntax error is told every time and never kept", () => {
  write("export const answer: number = ;\n");
  for (let i = 0; i < 2; i++) {
    expect(() => compileNodeFile(FILE, ROOT)).toThrow(NodeLoadError);
    expect(() => compileNodeFile(FILE, ROOT)).toThrow(/node\.ts, line 1, column 31: Unexpected ";"/);
  }
  expect(readdirSync(ROOT)).toEqual(["node.ts"]);
});

test("past its limit the cache lets the older half go", () => {
  mkdirSync(CACHE, { recursive: true });
  for (let i = 0; i < COMPILE_CACHE_LIMIT; i++) {
    const old = path.join(CACHE, `old${i}.json`);
    writeFileSync(old, "{}");
    const at = new Date(Date.UTC(2025, 0, 1) + i * 1000);
    utimesSync(old, at, at);
  }
  write(SOURCE);
  compileNodeFile(FILE, ROOT);
  const left = readdirSync(CACHE);
  expect(left.length).toBe(COMPILE_CACHE_LIMIT / 2 + 1);
  expect(left).toContain(path.basename(compileCacheFile(FILE, ROOT)));
  // The newest of the old ones stayed.
  expect(left).toContain(`old${COMPILE_CACHE_LIMIT - 1}.json`);
  expect(left).not.toContain("old0.json");
});
