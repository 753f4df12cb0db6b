/**
 * What node code may not use, and what to use instead: the words both
 * places that run node code say when it tries (sandbox/sandbox-realm.ts in
 * Node.js, visualizer/run-worker.ts in a browser page), and how both say
 * that a file does not load (sandbox/node-code.ts's checkLoad, the page's
 * worker). A run must be a
 * pure function of its seed, so the real clock, real timers and real
 * randomness are refused; everything comes through env.
 */

const repeatable = ", so the same seed replays the same run.";
const timers = 'env.setTimer("election" or "heartbeat", delayMs)';

/** Each refused thing: what node code called, and what to do instead. Said as "node code called WHAT. INSTEAD". */
export const REFUSED = {
  random: { what: "Math.random()", instead: `In the simulated world use env.randomInt(min, max)${repeatable}` },
  date: { what: "Date() or new Date() for the current time", instead: `In the simulated world use env.now()${repeatable}` },
  dateNow: { what: "Date.now()", instead: `In the simulated world use env.now()${repeatable}` },
  setTimeout: { what: "setTimeout()", instead: `In the simulated world use ${timers}${repeatable}` },
  setInterval: { what: "setInterval()", instead: `In the simulated world set the timer again each time it fires: ${timers}${repeatable}` },
  setImmediate: { what: "setImmediate()", instead: `In the simulated world use ${timers}${repeatable}` },
  queueMicrotask: { what: "queueMicrotask()", instead: "A node's handlers run to the end; there is nothing to wait for." },
  performanceNow: { what: "performance.now()", instead: `In the simulated world use env.now()${repeatable}` },
  process: { what: "process (the environment, arguments, the real process)", instead: "Everything a node needs comes through env (world/contract.ts)." },
} as const;

/** In a browser page's worker (visualizer/run-worker.ts): what would reach the page, the network or the worker itself. */
export function refusedInPage(what: string): { readonly what: string; readonly instead: string } {
  return { what, instead: "A node reaches other nodes only through env.send; the page, the network and the worker that runs it are not its to use." };
}

/** The whole sentence node code is told. */
export function refusedText(refused: { readonly what: string; readonly instead: string }): string {
  return `node code called ${refused.what}. ${refused.instead}`;
}

/** What the world looks for in a node file, in the words a file that lacks it is told. */
export const CREATE_NODE_HINT = "export const createNode: CreateNode = (env, saved) => ... (see world/contract.ts)";

/** A file that imports a module at run time (`name` already cut to a readable length). */
export function importRefusedText(label: string, name: string): string {
  return (
    `${label} imports "${name}" at run time. A workbook file depends on nothing but the world's types: ` +
    `write \`import type { ... } from "../../world/contract.ts"\`. Everything else comes through what the world hands your code.`
  );
}

/** A file without a function it must export (`exports`: the names it does export, each already cut to a readable length). */
export function missingExportText(label: string, name: string, hint: string, exports: readonly string[]): string {
  return `${label} must export a function named ${name} (${hint}); it exports ${exports.length > 0 ? exports.join(", ") : "nothing"}.`;
}
