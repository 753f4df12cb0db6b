// @ts-check
/**
 * The grading manifest: a checksum of every file that decides a grade
 * (the suites, the world, the commands, the vitest config), so that
 * `npm run grade` can say when a submission's copy of them is not the one
 * the workbook shipped. `npm run check` keeps it up to date.
 *
 * It cannot stop a determined student who edits both a test and the
 * manifest; for grading that nobody can tamper with, grade only the
 * submitted node.ts against your own copy (INSTRUCTORS.md, Gradescope).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The manifest's own place. */
export const MANIFEST_FILE = path.join("scripts", "shared", "grading-manifest.json");

/** What decides a grade: these folders (all their files) and files. */
const COVERED = ["tests", "world", "sandbox", "scenarios", "scripts", "vitest.config.ts"];

/**
 * Every covered file under `root`, relative, sorted, with forward slashes.
 * @param {string} root
 * @returns {string[]}
 */
function coveredFiles(root) {
  /** @type {string[]} */
  const files = [];
  /** @param {string} relative */
  const walk = (relative) => {
    const full = path.join(root, relative);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const name of readdirSync(full).sort()) walk(path.join(relative, name));
    } else {
      files.push(relative.split(path.sep).join("/"));
    }
  };
  for (const part of COVERED) walk(part);
  // The planted cases' pinned reports describe grading; they take no part in it.
  return files.filter((f) => f !== MANIFEST_FILE.split(path.sep).join("/") && !f.startsWith("tests/planted/")).sort();
}

/**
 * @param {string} root
 * @returns {Record<string, string>} file -> sha256
 */
export function computeManifest(root) {
  /** @type {Record<string, string>} */
  const manifest = {};
  for (const file of coveredFiles(root)) manifest[file] = createHash("sha256").update(readFileSync(path.join(root, file))).digest("hex");
  return manifest;
}

/**
 * @param {string} root
 */
export function writeManifest(root) {
  writeFileSync(path.join(root, MANIFEST_FILE), `${JSON.stringify(computeManifest(root), null, 2)}\n`);
}

/**
 * @typedef {object} ManifestCheck
 * @property {boolean} found     whether there is a manifest to compare with
 * @property {string[]} changed  files whose content differs
 * @property {string[]} missing  files the manifest lists that are gone
 * @property {string[]} added    files the manifest does not list
 */

/**
 * Compare the files under `root` with its manifest.
 * @param {string} root
 * @returns {ManifestCheck}
 */
export function verifyManifest(root) {
  const file = path.join(root, MANIFEST_FILE);
  if (!existsSync(file)) return { found: false, changed: [], missing: [], added: [] };
  /** @type {Record<string, string>} */
  const shipped = JSON.parse(readFileSync(file, "utf8"));
  const now = computeManifest(root);
  return {
    found: true,
    changed: Object.keys(shipped).filter((f) => f in now && now[f] !== shipped[f]),
    missing: Object.keys(shipped).filter((f) => !(f in now)),
    added: Object.keys(now).filter((f) => !(f in shipped)),
  };
}

/**
 * What grade says about the check, in a few lines ([] when all is as shipped).
 * @param {ManifestCheck} check
 * @returns {string[]}
 */
export function manifestWarning(check) {
  if (!check.found) return [`WARNING: ${MANIFEST_FILE} is missing, so nothing shows whether tests/, world/ and scripts/ are the shipped ones; this grade cannot be trusted.`];
  const problems = [
    ...check.changed.map((f) => `  changed: ${f}`),
    ...check.missing.map((f) => `  missing: ${f}`),
    ...check.added.map((f) => `  added:   ${f}`),
  ];
  if (problems.length === 0) return [];
  return [
    "WARNING: the files that grade a node are not the ones the workbook shipped, so this grade cannot be trusted:",
    ...problems.slice(0, 20),
    ...(problems.length > 20 ? [`  ... and ${problems.length - 20} more`] : []),
    "Grade the node.ts alone against a pristine copy of the workbook (INSTRUCTORS.md).",
  ];
}
