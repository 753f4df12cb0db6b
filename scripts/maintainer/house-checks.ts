/**
 * The check's proofs that the house stays in order: imports run one way
 * (the rules in .dependency-cruiser.cjs, with no circles), every source
 * file opens with a comment that says what it is for, and a newcomer's
 * first command, `npm install`, warns about nothing on any Node.js version
 * the project declares.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { PROJECT_ROOT } from "../shared/chapters.mjs";
import type { CheckResult } from "./learner-checks.ts";

/** The folders that hold the project's own code (chapters/ and solutions/ are the learner's and the reference's). */
const CODE_FOLDERS = ["world", "sandbox", "scenarios", "visualizer", "scripts", "tests/harness", "tests/world"];

/** Every import of the project's code obeys .dependency-cruiser.cjs: no circles, and each folder imports only what sits below it. */
export function checkImportsRunOneWay(): CheckResult {
  const bin = path.join(PROJECT_ROOT, "node_modules", ".bin", "depcruise");
  const folders = [...CODE_FOLDERS.filter((f) => !f.startsWith("tests/")), "tests"];
  const result = spawnSync(bin, [...folders, "--config", ".dependency-cruiser.cjs", "--output-type", "err"], { cwd: PROJECT_ROOT, encoding: "utf8" });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
  if (result.status !== 0) return { ok: false, summary: output };
  const counted = /\((\d+) modules, (\d+) dependencies cruised\)/.exec(output);
  return {
    ok: true,
    summary: `no circles, and world/ ← sandbox/, scenarios/, visualizer/ ← scripts/shared/ ← scripts/learner/, tests/ ← scripts/instructor/, scripts/study-group/ ← scripts/maintainer/${counted ? ` (${counted[1]} modules, ${counted[2]} imports)` : ""}`,
  };
}

function sourceFiles(relative: string): string[] {
  const full = path.join(PROJECT_ROOT, relative);
  if (statSync(full).isFile()) return /\.(ts|mjs|cjs)$/.test(relative) ? [relative] : [];
  return readdirSync(full).flatMap((name) => sourceFiles(path.join(relative, name)));
}

/** Every source file of the project opens with a comment (after `// @ts-check`) that says what it is for. */
export function checkOpeningComments(): CheckResult {
  const files = [...CODE_FOLDERS.flatMap(sourceFiles), ...readdirSync(path.join(PROJECT_ROOT, "tests")).filter((f) => f.endsWith(".test.ts")).map((f) => path.join("tests", f)), "vitest.config.ts", ".dependency-cruiser.cjs"];
  const bare: string[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(PROJECT_ROOT, file), "utf8").split("\n").filter((line) => line.trim() !== "" && line.trim() !== "// @ts-check");
    const first = lines[0]?.trim() ?? "";
    const said = first.startsWith("/**") ? (first.length > 3 ? first.slice(3) : (lines[1] ?? "")).replace(/^\s*\*\s?/, "").trim() : first.startsWith("//") ? first.slice(2).trim() : "";
    if (said.length < 10) bare.push(file);
  }
  return bare.length === 0
    ? { ok: true, summary: `${files.length} source files each open with a comment saying what they are for` }
    : { ok: false, summary: `these files do not open with a comment that says what they are for:\n${bare.map((f) => `  ${f}`).join("\n")}` };
}

interface LockedPackage {
  readonly version?: string;
  readonly engines?: { readonly node?: string } | readonly string[];
  readonly hasInstallScript?: boolean;
  readonly optional?: boolean;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
}

/**
 * `npm install` prints no warning: every package in package-lock.json
 * accepts every Node.js version package.json declares (no EBADENGINE on
 * any of them), and every package with an install script has a decision
 * in package.json's allowScripts (npm 11 names each one it skipped
 * otherwise). Packages only installed on other platforms are left out:
 * npm neither installs nor checks them here.
 */
export function checkInstallIsQuiet(): CheckResult {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { engines?: { node?: string }; allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockedPackage> };
  const declared = pkg.engines?.node;
  if (!declared || semver.validRange(declared) === null) return { ok: false, summary: `package.json declares no Node.js range npm can read (engines.node: ${JSON.stringify(declared)})` };
  const allowed = pkg.allowScripts ?? {};
  const problems: string[] = [];
  let withEngines = 0;
  let withScripts = 0;
  for (const [where, locked] of Object.entries(lock.packages)) {
    if (where === "") continue;
    const name = where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length);
    const elsewhereOnly = locked.optional === true && (locked.os !== undefined || locked.cpu !== undefined);
    const engines = locked.engines && !Array.isArray(locked.engines) ? (locked.engines as { node?: string }).node : undefined;
    if (engines !== undefined && !elsewhereOnly) {
      withEngines++;
      if (!semver.subset(declared, engines)) problems.push(`${name}@${locked.version} wants Node.js ${engines}, narrower than the project's ${declared}: npm install warns (EBADENGINE) on the versions between`);
    }
    if (locked.hasInstallScript === true && !elsewhereOnly) {
      withScripts++;
      const decided = Object.keys(allowed).some((key) => key === name || key === `${name}@${locked.version}`);
      if (!decided) problems.push(`${name}@${locked.version} has an install script and no entry in package.json's allowScripts: npm install names it as skipped (decide with npm install-scripts approve|deny ${name})`);
    }
  }
  return problems.length === 0
    ? { ok: true, summary: `${withEngines} packages that name a Node.js range accept all of ${declared}; the ${withScripts} with install scripts are decided in allowScripts` }
    : { ok: false, summary: problems.join("\n") };
}
