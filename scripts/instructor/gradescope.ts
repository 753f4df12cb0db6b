/**
 * npm run gradescope -- chapterN [--seed-base N] [--with-earlier] [--visibility WHEN] [--out DIR]
 *
 * Makes a Gradescope autograder for one chapter: a pristine copy of the
 * workbook (without solutions/), gradescope/setup.sh and
 * gradescope/run_autograder at its top, and assignment.env with the
 * chapter and the switches. Zip the folder's contents and upload the zip
 * as the assignment's autograder (INSTRUCTORS.md says more). It zips it
 * itself when the zip command is there.
 *
 * run_autograder grades only the submitted node.ts, with --node, against
 * this copy: nothing else a student uploads is used.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, resolveChapters } from "../shared/chapters.mjs";
import { randomBytes } from "node:crypto";
import { isMain, parseCommand, runMain, UsageError } from "../shared/cli.mjs";
import { baseSeed } from "../shared/settings.mjs";
import { writeManifest } from "../shared/manifest.mjs";
import { makeScratchProject } from "../shared/scratch.ts";

const VISIBILITIES = ["visible", "hidden", "after_due_date", "after_published"];

const COMMAND = {
  usage: "npm run gradescope -- chapterN [--seed-base WORD | --published-seeds] [--hide-seeds] [--with-earlier] [--visibility WHEN] [--out DIR]",
  options: {
    "seed-base": { type: "string" as const, value: "WORD", help: "grade on seeds made from this secret word (default: a new random one, written to assignment.env)" },
    "published-seeds": { type: "boolean" as const, help: "grade on the published seeds, the ones students practise on" },
    "hide-seeds": { type: "boolean" as const, help: "keep the graded seeds out of what students see (Gradescope shows them to you in the autograder's output)" },
    "with-earlier": { type: "boolean" as const, help: "also run the node on the earlier chapters' suites (their points count)" },
    visibility: { type: "string" as const, value: "WHEN", help: `when students see the tests: ${VISIBILITIES.join(", ")}` },
    out: { type: "string" as const, value: "DIR", help: "where to write the autograder (default: gradescope-chapterN)" },
  },
};

export interface AutograderOptions {
  readonly chapter: string;
  readonly seedBase?: string;
  readonly hideSeeds?: boolean;
  readonly withEarlier?: boolean;
  readonly visibility?: string;
  /** Link node_modules instead of leaving them to setup.sh (for trying it out here). */
  readonly linkNodeModules?: boolean;
}

/** Write an autograder for one chapter into `dir`; returns `dir`. */
export function makeAutograder(dir: string, options: AutograderOptions): string {
  const [chapter] = resolveChapters([options.chapter]);
  if (!chapter) throw new UsageError(`There is no chapter "${options.chapter}".`);
  makeScratchProject(dir, { chapters: "skeletons", without: ["solutions", "tests/planted"], linkNodeModules: options.linkNodeModules ?? false });
  for (const file of ["setup.sh", "run_autograder"]) {
    copyFileSync(path.join(PROJECT_ROOT, "gradescope", file), path.join(dir, file));
    chmodSync(path.join(dir, file), 0o755);
  }
  const settings = [
    `# The assignment graded by run_autograder (made by npm run gradescope).`,
    `CHAPTER=${chapter.short}`,
    `CHAPTER_DIR=${chapter.dir}`,
    `CHAPTER_FILES="${chapter.files.join(" ")}"`,
    `SEED_BASE=${options.seedBase ?? ""}`,
    `HIDE_SEEDS=${options.hideSeeds ? "1" : ""}`,
    `WITH_EARLIER=${options.withEarlier ? "1" : ""}`,
    `VISIBILITY=${options.visibility ?? "visible"}`,
  ];
  writeFileSync(path.join(dir, "assignment.env"), `${settings.join("\n")}\n`);
  // The copy's own manifest: grade compares the copy with it.
  writeManifest(dir);
  return dir;
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length !== 1) throw new UsageError(`Which chapter? Give exactly one.\n\nUsage: ${COMMAND.usage}`);
  const visibility = typeof values.visibility === "string" ? values.visibility : "visible";
  if (!VISIBILITIES.includes(visibility)) throw new UsageError(`--visibility must be one of ${VISIBILITIES.join(", ")}.`);
  const [chapter] = resolveChapters(positionals);
  const dir = path.resolve(process.cwd(), typeof values.out === "string" ? values.out : `gradescope-${chapter!.short}`);
  if (values["seed-base"] !== undefined && values["published-seeds"]) throw new UsageError("Give --seed-base or --published-seeds, not both.");
  let seedBase: string | undefined;
  try {
    seedBase = values["published-seeds"] ? undefined : values["seed-base"] !== undefined ? baseSeed(String(values["seed-base"])) : randomBytes(16).toString("hex");
  } catch (error) {
    throw new UsageError(`--seed-base: ${error instanceof Error ? error.message : String(error)}`);
  }
  makeAutograder(dir, { chapter: chapter!.short, ...(seedBase !== undefined ? { seedBase } : {}), hideSeeds: values["hide-seeds"] === true, withEarlier: values["with-earlier"] === true, visibility });
  console.log(`Autograder for ${chapter!.short} written to ${path.relative(process.cwd(), dir) || dir}.`);
  console.log(
    seedBase === undefined
      ? "It grades on the published seeds, the ones students practise on."
      : values["seed-base"] !== undefined
        ? "It grades on seeds made from your base seed."
        : "It grades on seeds made from a new random base seed (in assignment.env): seeds no student has seen. To grade by hand on the same seeds: npm run grade -- ... --seed-base <that word>.",
  );
  const zip = `${dir}.zip`;
  rmSync(zip, { force: true });
  const zipped = spawnSync("zip", ["-qr", zip, "."], { cwd: dir });
  if (zipped.status === 0 && existsSync(zip)) console.log(`Upload ${path.relative(process.cwd(), zip)} as the assignment's autograder on Gradescope.`);
  else console.log(`Zip the folder's contents (cd ${path.relative(process.cwd(), dir)} && zip -r ../autograder.zip .) and upload the zip as the assignment's autograder.`);
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
