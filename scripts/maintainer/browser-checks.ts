/**
 * The world's core in a browser page (principle 9), checked: every file
 * of world/ and scenarios/ builds for a browser (esbuild, with no Node.js
 * module to fall back on; how a node file runs under Node.js is sandbox/), and a run of the world in headless
 * Chromium writes the same trace as the same run in Node.js, seed for
 * seed (principle 1). The cluster-in-a-page chapter will stand on this.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildSync, type BuildFailure } from "esbuild";
import puppeteer from "puppeteer";
import type { CreateNode } from "../../world/contract.ts";
import { listChapters, PROJECT_ROOT } from "../shared/chapters.mjs";
import { findBrowser, NO_BROWSER } from "../learner/diagrams.ts";
import { pageScenario, type PageScenarioResult } from "./page-scenario.ts";

/** The folders that must run in a browser page as they do in Node.js. */
const BROWSER_FOLDERS = ["world", "scenarios"];

const SEEDS = [1, 2, 3];

/** The world's core and the scenario as one script for a page; it defines globalThis.raftPageScenario(seed). */
export function buildPageScript(nodeFile: string): string {
  const core = BROWSER_FOLDERS.flatMap((folder) => readdirSync(path.join(PROJECT_ROOT, folder)).filter((f) => f.endsWith(".ts")).map((f) => `./${folder}/${f}`));
  const contents = [
    // Every core file, so that one importing Node.js fails the build even if the scenario does not use it.
    ...core.map((f) => `import ${JSON.stringify(f)};`),
    `import { pageScenario } from "./scripts/maintainer/page-scenario.ts";`,
    `import { createNode } from ${JSON.stringify(`./${path.relative(PROJECT_ROOT, nodeFile).split(path.sep).join("/")}`)};`,
    `globalThis.raftPageScenario = (seed) => pageScenario(createNode, seed);`,
  ].join("\n");
  const result = buildSync({
    stdin: { contents, resolveDir: PROJECT_ROOT, loader: "ts", sourcefile: "page-entry.ts" },
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

export async function checkWorldInABrowserPage(): Promise<{ ok: boolean; summary: string }> {
  const executablePath = findBrowser();
  if (!executablePath) return { ok: false, summary: NO_BROWSER };
  const last = listChapters().at(-1)!;
  const nodeFile = path.join(PROJECT_ROOT, "solutions", last.dir, "node.ts");
  let script: string;
  try {
    script = buildPageScript(nodeFile);
  } catch (error) {
    const errors = (error as BuildFailure).errors ?? [];
    const lines = errors.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`);
    return { ok: false, summary: `the world's core does not build for a browser page (a Node.js import in world/ or scenarios/?):\n${lines.join("\n") || String(error)}` };
  }
  const { createNode } = (await import(pathToFileURL(nodeFile).href)) as { createNode: CreateNode };
  const inNode = SEEDS.map((seed) => pageScenario(createNode, seed));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  let inPage: PageScenarioResult[];
  try {
    const page = await browser.newPage();
    await page.setContent("<!doctype html><title>Raft Workbook: the world in a page</title>");
    await page.addScriptTag({ content: script });
    inPage = [];
    for (const seed of SEEDS) {
      inPage.push((await page.evaluate(`globalThis.raftPageScenario(${seed})`)) as PageScenarioResult);
    }
  } finally {
    await browser.close();
  }
  const problems: string[] = [];
  const lines: string[] = [];
  for (const [i, seed] of SEEDS.entries()) {
    const a = inNode[i]!;
    const b = inPage[i]!;
    if (a.trace !== b.trace || a.committed.join() !== b.committed.join()) {
      const nodeLines = a.trace.split("\n");
      const pageLines = b.trace.split("\n");
      const at = nodeLines.findIndex((line, n) => line !== pageLines[n]);
      const where = at === -1 ? `the page's trace goes on past Node.js's ${nodeLines.length} lines` : `line ${at + 1}: Node.js wrote "${nodeLines[at]}", the page "${pageLines[at] ?? "(nothing)"}"`;
      problems.push(`seed ${seed}: ${where} (commits ${a.committed.join(" ")} in Node.js, ${b.committed.join(" ")} in the page)`);
    }
    lines.push(`  seed ${seed}: ${a.events} events, commits ${a.committed.join(" ")}; ${a.speed} simulated ms per real ms in Node.js, ${b.speed} in the page`);
  }
  const size = `${Math.round(script.length / 1024)} KB`;
  return problems.length === 0
    ? { ok: true, summary: `world/ and scenarios/ build for a browser page (${size} with ${last.short}'s reference); the same seed writes the same trace in headless Chromium as in Node.js\n${lines.join("\n")}` }
    : { ok: false, summary: `the same seed wrote a different trace in the page:\n${problems.map((p) => `  ${p}`).join("\n")}` };
}
