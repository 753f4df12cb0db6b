/**
 * What the page and its run worker say to each other (visualizer/page.ts,
 * visualizer/run-worker.ts), and what the server tells the page about the
 * node it runs (scripts/learner/visualize.ts).
 *
 * The page never runs the world or node code itself: a Web Worker does,
 * so node code that never returns stops only the worker, which the page
 * ends and replaces (the page stays usable).
 */
import type { Action, ActionKind, Frame, RunDescription } from "./cluster-frames.ts";
import type { Recording } from "./recording.ts";

/** Where the page's run is wanted: a simulated time, or a count of events (single steps, scrubbing by event). */
export type Target = { readonly time: number } | { readonly events: number };

/** Page → worker. Every request carries an id; the answer repeats it. */
export type ToWorker =
  /**
   * Play `run` up to `target`. The worker goes on from where it is when the
   * run is the same and the target lies ahead; otherwise it starts the run
   * again from the beginning (going back in time is replaying).
   */
  | { readonly type: "play"; readonly id: number; readonly run: RunDescription; readonly target: Target }
  /** Run exactly one more event of the current run. */
  | { readonly type: "step"; readonly id: number }
  /** Take an action now, after the events run so far; the answer says how it was recorded. */
  | { readonly type: "act"; readonly id: number; readonly action: ActionKind }
  /**
   * Like play, but telling the page of every call into node code before it
   * begins: after node code did not return, a fresh worker replays the run
   * this way to say which call it was.
   */
  | { readonly type: "find-stuck-call"; readonly id: number; readonly run: RunDescription; readonly target: Target };

/** Worker → page. */
export type FromWorker =
  | {
      readonly type: "frame";
      readonly id: number;
      readonly frame: Frame;
      /** For "act": the action as the run description records it. */
      readonly action?: Action;
      /** Something an action could not do (time out a node with no election timer...). */
      readonly notice?: string;
    }
  /** A call into node code is about to begin (find-stuck-call only). */
  | { readonly type: "calling"; readonly id: number; readonly node: string; readonly time: number; readonly description: string }
  /** The node file could not be used at all (it did not load, it has no createNode...). */
  | { readonly type: "load-error"; readonly id: number; readonly message: string }
  /** A line the node's code printed with console.log (shown under the picture). */
  | { readonly type: "console"; readonly level: string; readonly text: string };

/** What the server tells the page (virtual:raft-page-config). */
export interface PageConfig {
  readonly chapter: number;
  readonly chapterTitle: string;
  /** The node file the page runs, as the terminal names it (chapters/…/node.ts). */
  readonly nodeLabel: string;
  readonly seed: number;
  /** How long node code may run without returning before the page stops it (the terminal's limit). */
  readonly callLimitMs: number;
  /** A replayed test's run, when the page was opened for one (npm run replay -- … --visualize). */
  readonly recording?: Recording;
  /**
   * A run saved to a file (the page's "Save run"; npm run visualize -- … --run FILE): the page opens it,
   * paused at `at` when given, unless its address holds a run of its own.
   */
  readonly savedRun?: SavedRun;
}

/** A run as a file holds it: the run's description, and the moment to open it at. */
export interface SavedRun {
  readonly run: RunDescription;
  readonly at?: number;
}
