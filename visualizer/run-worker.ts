/**
 * The page's run, in a Web Worker of its own: the world and the node's code
 * run here, never in the page. Node code that throws stops the run with
 * the world's own failure; node code that never returns stops only this
 * worker, which the page ends after the terminal's time limit and replaces
 * (visualizer/page.ts), asking a fresh one to replay the run and name the
 * call that never returned.
 *
 * The node's file comes compiled as the terminal compiles it (esbuild, the
 * types stripped: scripts/learner/visualize.ts), and runs under the same
 * rules: no imports at run time, and Math.random, the clock and real
 * timers refused with the terminal's words, because a run must be a pure
 * function of its seed. Node code reaches nothing of the world but its
 * env: the world's objects live in this module's scope, never in a
 * global, and what would reach the page or the network (postMessage,
 * fetch, the worker's own listeners) is refused too, once this worker
 * has taken what it needs. (The page decides no grade, so this worker is
 * not a security boundary as grading's process of its own is.)
 */
import { clerkFile, nodeFile } from "virtual:raft-node";
import type { ClerkProgram } from "../world/clients.ts";
import type { CreateNode } from "../world/contract.ts";
import { watchNodeCalls } from "../world/node-host.ts";
import { CREATE_NODE_HINT, importRefusedText, missingExportText, REFUSED, refusedInPage, refusedText } from "../world/refused.ts";
import { ClusterRun, failureText, type RunDescription } from "./cluster-frames.ts";
import type { FromWorker, Target, ToWorker } from "./protocol.ts";

const scope = globalThis as unknown as { postMessage(message: FromWorker): void; addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void };
const post = scope.postMessage.bind(scope);

/** A function that refuses, in the terminal's words (world/refused.ts). */
function refuse(refused: { readonly what: string; readonly instead: string }): () => never {
  return () => {
    throw new Error(refusedText(refused));
  };
}

function lock(object: object, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: false, configurable: false, enumerable: false });
}

/** Take away from this worker's globals what node code must not use (nothing of the world uses them). */
function refuseGlobals(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  lock(Math, "random", refuse(REFUSED.random));
  const RealDate = Date;
  const SimulatedDate = function (this: unknown, ...args: unknown[]) {
    if (args.length === 0 || new.target === undefined) refuse(REFUSED.date)();
    return Reflect.construct(RealDate, args, new.target ?? RealDate) as Date;
  } as unknown as DateConstructor;
  Object.defineProperty(SimulatedDate, "prototype", { value: RealDate.prototype });
  lock(SimulatedDate, "now", refuse(REFUSED.dateNow));
  lock(SimulatedDate, "UTC", RealDate.UTC);
  lock(SimulatedDate, "parse", RealDate.parse);
  lock(g, "Date", SimulatedDate);
  lock(g, "setTimeout", refuse(REFUSED.setTimeout));
  lock(g, "setInterval", refuse(REFUSED.setInterval));
  lock(g, "queueMicrotask", refuse(REFUSED.queueMicrotask));
  lock(g, "performance", Object.freeze({ now: refuse(REFUSED.performanceNow) }));
  const show = (value: unknown): string => {
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  };
  const logger =
    (level: string) =>
    (...args: unknown[]): void =>
      post({ type: "console", level, text: args.map(show).join(" ").slice(0, 10_000) });
  lock(g, "console", Object.freeze({ log: logger("log"), info: logger("info"), warn: logger("warn"), error: logger("error"), debug: logger("debug") }));
  // The page and the network: this worker's own listener and its post are taken (above) before node code runs.
  for (const name of ["postMessage", "close", "importScripts", "fetch", "XMLHttpRequest", "WebSocket", "EventSource", "addEventListener", "removeEventListener", "dispatchEvent"]) {
    const refused = refuse(refusedInPage(`${name}()`));
    for (let holder: object | null = globalThis; holder !== null; holder = Object.getPrototypeOf(holder)) {
      if (Object.getOwnPropertyDescriptor(holder, name)?.configurable !== false && name in holder) Object.defineProperty(holder, name, { value: refused, writable: false, configurable: false });
    }
  }
  for (const name of ["onmessage", "onerror", "onmessageerror"]) {
    for (let holder: object | null = globalThis; holder !== null; holder = Object.getPrototypeOf(holder)) {
      const descriptor = Object.getOwnPropertyDescriptor(holder, name);
      if (descriptor?.configurable) Object.defineProperty(holder, name, { get: descriptor.get, set: refuse(refusedInPage(`${name} =`)), configurable: false });
    }
  }
}

/** A compiled file's exports: run once, as the terminal runs it (sandbox/sandbox-realm.ts: CommonJS, strict as any module is). */
function runFile(file: { readonly code: string; readonly label: string }): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  const requireRefused = (name: string): never => {
    throw new Error(importRefusedText(file.label, name));
  };
  const run = new Function("exports", "module", "require", `"use strict";\n${file.code}\n//# sourceURL=${file.label}`) as (exports: unknown, module: unknown, require: unknown) => void;
  run(module.exports, module, requireRefused);
  return module.exports;
}

const CLERK_FUNCTIONS = ["newClerk", "clerkCall", "clerkReceive", "clerkTimeout"] as const;

/** A compiled file's exports, or why it has none (it did not compile, or threw as it loaded). */
function loadFile(file: { readonly code: string; readonly label: string; readonly problem?: string }): { exports: Record<string, unknown> } | { problem: string } {
  if (file.problem !== undefined) return { problem: file.problem };
  try {
    return { exports: runFile(file) };
  } catch (error) {
    return { problem: `${file.label} threw while loading: ${failureText(error)}` };
  }
}

/** The node file's createNode (and the clerk, from Chapter 8 on), or what is wrong with them (in the terminal's words where it has them). */
function loadNode(): { createNode?: CreateNode; clerk?: ClerkProgram; problem?: string } {
  const node = loadFile(nodeFile);
  if ("problem" in node) return node;
  const exports = node.exports;
  const createNode = exports.createNode;
  if (typeof createNode !== "function") {
    const names = Object.keys(exports);
    return { problem: missingExportText(nodeFile.label, "createNode", CREATE_NODE_HINT, names) };
  }
  if (clerkFile === undefined) return { createNode: createNode as CreateNode };
  const clerk = loadFile(clerkFile);
  if ("problem" in clerk) return clerk;
  const clerkExports = clerk.exports;
  const missing = CLERK_FUNCTIONS.find((name) => typeof clerkExports[name] !== "function");
  if (missing !== undefined) return { problem: missingExportText(clerkFile.label, missing, "see the chapter's reading", Object.keys(clerkExports)) };
  return { createNode: createNode as CreateNode, clerk: clerkExports as unknown as ClerkProgram };
}

// The page's requests come in through this listener, registered before anything is refused.
scope.addEventListener("message", (event) => handle(event.data));
refuseGlobals();
const loaded = loadNode();

/** The run this worker holds (its description as it stands, actions taken since included, is run.descriptionNow). */
let current: ClusterRun | undefined;

/** The run wanted, from where this worker is when it can, or from the start. */
function runTo(description: RunDescription, target: Target): ClusterRun {
  const ahead =
    current !== undefined &&
    JSON.stringify(current.descriptionNow) === JSON.stringify(description) &&
    ("time" in target ? target.time >= current.world.now : target.events >= current.events);
  if (!ahead || current === undefined) current = new ClusterRun(loaded.createNode!, description, loaded.clerk);
  const run = current;
  if ("time" in target) run.runUntilTime(target.time);
  else run.runUntilEvent(target.events);
  return run;
}

function handle(request: ToWorker): void {
  if (loaded.createNode === undefined) {
    post({ type: "load-error", id: request.id, message: loaded.problem ?? "the node file did not load" });
    return;
  }
  try {
    switch (request.type) {
      case "play": {
        const run = runTo(request.run, request.target);
        post({ type: "frame", id: request.id, frame: run.frame() });
        return;
      }
      case "find-stuck-call": {
        watchNodeCalls((call) => post({ type: "calling", id: request.id, node: call.node, time: call.time, description: call.describe() }));
        current = undefined;
        const run = runTo(request.run, request.target);
        watchNodeCalls(undefined);
        post({ type: "frame", id: request.id, frame: run.frame() });
        return;
      }
      case "step": {
        if (current === undefined) return post({ type: "load-error", id: request.id, message: "step before any run: play first" });
        current.stepOnce();
        post({ type: "frame", id: request.id, frame: current.frame() });
        return;
      }
      case "act": {
        if (current === undefined) return post({ type: "load-error", id: request.id, message: "an action before any run: play first" });
        const run = current;
        // The run's description now holds the action too (descriptionNow): the next play of it goes on from here.
        const action = run.act(request.action);
        post({ type: "frame", id: request.id, frame: run.frame(), action, ...(run.notice === undefined ? {} : { notice: run.notice }) });
        return;
      }
    }
  } catch (error) {
    // Not a failure of the run (those are in the frame): the world itself could not go on.
    post({ type: "load-error", id: request.id, message: failureText(error) });
  }
}

