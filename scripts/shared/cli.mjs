// @ts-check
/**
 * One command line for every command of the workbook.
 *
 * Each command declares its options once (name, value or flag, short
 * form, help); `parseCommand` reads the arguments with Node's own
 * `util.parseArgs`, and answers a mistake with the command's usage, its
 * options, and a "did you mean" for a near miss (`--sed` for `--seed`).
 * `isMain` is the one way a script tells it was run directly rather than
 * imported, and `runMain` runs a command's main function so that usage
 * mistakes print plainly and exit 2.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** A mistake in how a command was called: printed without a stack trace. */
export class UsageError extends Error {
  /** @override */
  name = "UsageError";
}

/**
 * @typedef {object} OptionSpec
 * @property {"string" | "boolean"} type
 * @property {string} help
 * @property {string} [short]     a one-letter alias: "t" for -t
 * @property {string} [value]     the value's name in the help: "N", "FILE"
 */

/**
 * @typedef {object} CommandSpec
 * @property {string} usage                        e.g. "npm test -- [chapterN ...] [options]"
 * @property {Record<string, OptionSpec>} options  by long name, without the dashes
 * @property {string} [more]                       text after the options (the chapters, say)
 */

/**
 * The edit distance between two words (insertions, deletions, substitutions).
 * @param {string} a
 * @param {string} b
 */
function distance(a, b) {
  /** @type {number[]} */
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(/** @type {number} */ (previous[j]) + 1, /** @type {number} */ (current[j - 1]) + 1, /** @type {number} */ (previous[j - 1]) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return /** @type {number} */ (previous[b.length]);
}

/**
 * The candidate closest to what was typed, if it is close enough to be a
 * slip of the fingers (or the same but for leading zeros: chapter03).
 * @param {string} typed
 * @param {readonly string[]} candidates
 * @returns {string | undefined}
 */
export function didYouMean(typed, candidates) {
  const plain = typed.toLowerCase().replace(/(\D)0+(\d)/g, "$1$2");
  /** @type {string | undefined} */
  let best = undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = Math.min(distance(typed.toLowerCase(), candidate.toLowerCase()), distance(plain, candidate.toLowerCase()));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.floor((best?.length ?? 0) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/**
 * The command's help: usage, options, and whatever it adds.
 * @param {CommandSpec} spec
 */
export function helpText(spec) {
  const lines = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return `  ${flag.padEnd(24)} ${o.help}`;
  });
  return [`Usage: ${spec.usage}`, "", "Options:", ...lines, ...(spec.more ? ["", spec.more] : [])].join("\n");
}

/**
 * Read a command's arguments. Positionals are returned as they are; every
 * option must be one the command declares.
 * @param {CommandSpec} spec
 * @param {readonly string[]} argv
 * @returns {{ values: Record<string, string | boolean | undefined>, positionals: string[] }}
 */
export function parseCommand(spec, argv) {
  /** @type {Record<string, { type: "string" | "boolean", short?: string }>} */
  const options = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const code = /** @type {{ code?: string }} */ (error).code;
    const text = error instanceof Error ? error.message : String(error);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const typed = /'([^']+)'/.exec(text)?.[1] ?? argv.find((a) => a.startsWith("-")) ?? "";
      const bare = typed.replace(/^-+/, "").replace(/=.*$/, "");
      const guess = didYouMean(bare, Object.keys(spec.options));
      throw new UsageError(`Unknown option "${typed}".${guess ? ` Did you mean --${guess}?` : ""}\n\n${helpText(spec)}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new UsageError(`${text.replace(/ argument missing$/, " needs a value")}.\n\n${helpText(spec)}`);
    }
    throw new UsageError(`${text}\n\n${helpText(spec)}`);
  }
  if (parsed.values.help) throw new UsageError(helpText(spec));
  return { values: /** @type {Record<string, string | boolean | undefined>} */ (parsed.values), positionals: parsed.positionals };
}

/**
 * A whole number option, or undefined when absent.
 * @param {string | boolean | undefined} value
 * @param {string} name
 * @param {{ min?: number }} [limits]
 * @returns {number | undefined}
 */
export function wholeOption(value, name, limits = {}) {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, not "${String(value)}".`);
  const number = Number(value);
  if (limits.min !== undefined && number < limits.min) throw new UsageError(`--${name} must be ${limits.min} or more.`);
  return number;
}

/**
 * Whether the module with this URL is the script node was asked to run.
 * @param {string} moduleUrl  the module's import.meta.url
 */
export function isMain(moduleUrl) {
  const script = process.argv[1];
  if (!script) return false;
  return path.resolve(script) === fileURLToPath(moduleUrl);
}

/**
 * Run a command's main function: usage errors print plainly and exit 2.
 * @param {() => Promise<number> | number} main
 */
export async function runMain(main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
