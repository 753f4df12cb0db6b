/**
 * Randomized runs driven by fast-check, shared by the suites of Chapters
 * 5 to 7: the faults a run may meet, how each is applied to a world and
 * told in a failure, and the graded body that checks many runs, shrinks a
 * failing one to a short schedule, and replays it as a graded world so
 * its failure shows the trace and the replay command.
 *
 * Each suite composes its own case from these faults (which faults, how
 * lossy a network); the arbitraries are built the same way whichever
 * suite uses them, so a seed draws the same cases it always did.
 */
import fc from "fast-check";
import type { NodeId } from "../../world/contract.ts";
import { World, type WorldOptions } from "../../world/world.ts";
import { overrideReplay, world } from "./graded.ts";

export const NODES = ["A", "B", "C", "D", "E"] as const;

export type Fault =
  | { readonly at: number; readonly kind: "partition"; readonly minority: readonly NodeId[] }
  | { readonly at: number; readonly kind: "isolate"; readonly node: NodeId }
  | { readonly at: number; readonly kind: "cut"; readonly from: NodeId; readonly to: NodeId }
  | { readonly at: number; readonly kind: "heal" }
  | { readonly at: number; readonly kind: "crash"; readonly node: NodeId }
  | { readonly at: number; readonly kind: "crash point"; readonly node: NodeId; readonly when: "before" | "after"; readonly what: "send" | "save"; readonly nth: number }
  | { readonly at: number; readonly kind: "restart"; readonly node: NodeId };

const at = fc.integer({ min: 0, max: 3000 });
const nodeArb = fc.constantFrom(...NODES);

/** One arbitrary per kind of fault, at a moment in the first 3 s. */
export const FAULT = {
  partition: fc.record({ at, kind: fc.constant("partition" as const), minority: fc.subarray([...NODES], { minLength: 1, maxLength: 2 }) }),
  isolate: fc.record({ at, kind: fc.constant("isolate" as const), node: nodeArb }),
  cut: fc.record({ at, kind: fc.constant("cut" as const), from: nodeArb, to: nodeArb }),
  heal: fc.record({ at, kind: fc.constant("heal" as const) }),
  crash: fc.record({ at, kind: fc.constant("crash" as const), node: nodeArb }),
  crashPoint: fc.record({ at, kind: fc.constant("crash point" as const), node: nodeArb, when: fc.constantFrom("before" as const, "after" as const), what: fc.constantFrom("send" as const, "save" as const), nth: fc.integer({ min: 1, max: 4 }) }),
  restart: fc.record({ at, kind: fc.constant("restart" as const), node: nodeArb }),
} satisfies Record<string, fc.Arbitrary<Fault>>;

/** Schedule each fault in the world at its moment. */
export function scheduleFaults(w: World, faults: readonly Fault[]): void {
  for (const f of faults) {
    w.at(f.at, `fault: ${f.kind}`, () => {
      switch (f.kind) {
        case "partition":
          w.partition(f.minority);
          return;
        case "isolate":
          w.isolate(f.node);
          return;
        case "cut":
          if (f.from !== f.to) w.cutOneWay(f.from, f.to);
          return;
        case "heal":
          w.heal();
          return;
        case "crash":
          w.crash(f.node);
          return;
        case "crash point":
          if (!w.isCrashed(f.node)) w.crashAt(f.node, f);
          return;
        case "restart":
          if (w.isCrashed(f.node)) w.restart(f.node);
          return;
      }
    });
  }
}

/** "120 ms crash C, 800 ms heal", in the order they happen; "none" for none. */
export function describeFaults(faults: readonly Fault[]): string {
  const told = [...faults]
    .sort((x, y) => x.at - y.at)
    .map((f) => {
      switch (f.kind) {
        case "partition":
          return `${f.at} ms partition {${f.minority.join(",")}}`;
        case "isolate":
          return `${f.at} ms isolate ${f.node}`;
        case "cut":
          return `${f.at} ms cut ${f.from}→${f.to}`;
        case "heal":
          return `${f.at} ms heal`;
        case "crash":
          return `${f.at} ms crash ${f.node}`;
        case "crash point":
          return `${f.at} ms arm a crash of ${f.node} ${f.when} its ${f.nth}. ${f.what}`;
        case "restart":
          return `${f.at} ms restart ${f.node}`;
      }
    });
  return told.length > 0 ? told.join(", ") : "none";
}

/**
 * The body of a randomized graded test: `numRuns` cases from `cases`, each
 * run by `run` on a world it builds with the given function. A failing
 * case is shrunk by fast-check, then run once more as a graded world, so
 * its report carries the trace and a replay command with fast-check's
 * seed and path.
 */
export function checkRandomizedRuns<C>(
  runs: { readonly seed: number; readonly path: string | undefined; readonly numRuns: number },
  cases: fc.Arbitrary<C>,
  describe: (c: C) => string,
  run: (c: C, build: (options: WorldOptions) => World) => void,
): void {
  const { seed: fcSeed, path, numRuns } = runs;
  const details = fc.check(
    fc.property(cases, (c) => {
      run(c, (options) => new World(options));
    }),
    { seed: fcSeed, numRuns, ...(path ? { path, endOnFailure: true } : {}) },
  );
  if (!details.failed) return;
  const c = details.counterexample![0];
  overrideReplay(`--seed ${details.seed} --path ${details.counterexamplePath}`);
  try {
    // Run the shrunk case once more as a graded world, so the failure shows its trace.
    run(c, world);
  } catch (error) {
    // A step not written yet fails every case alike: nothing about this case to tell.
    if (error instanceof Error && /^Chapter \d+, step \d+ is not written yet/.test(error.message)) throw error;
    // A replay runs the one case its path names: no run count or shrinking to tell of then.
    const how = path ? `the case fast-check's seed ${details.seed} and path ${path} name, replayed` : `run ${details.numRuns} of ${numRuns}; fast-check shrank it in ${details.numShrinks} step${details.numShrinks === 1 ? "" : "s"}`;
    if (error instanceof Error) error.message = `A randomized run failed (${how}). The case:\n  ${describe(c)}\n\n${error.message}`;
    throw error;
  }
  throw new Error(`A randomized run failed but passed when run again: ${describe(c)}\n${String(details.errorInstance ?? "")}`);
}
