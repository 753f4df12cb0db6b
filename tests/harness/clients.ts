/**
 * Chapter 8's clients in the tests: the learner's clerk.ts loaded like a
 * node file, simulated clients that call it with a workload, and the
 * checks on what the clients saw (every history linearizable, no
 * acknowledged write lost), told first in a failure, before whatever the
 * cluster did wrong.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { ClientCall, ClientId, ClientReply, ClientRequest, NodeId } from "../../world/contract.ts";
import { clientIds, describeCall, findRepeatedWrite, SimulatedClient, type ClerkProgram, type ClientOperation } from "../../world/clients.ts";
import { checkLinearizability, decidingPart, describeVerdict, historySvg, keyValueModel } from "../../world/linearizability.ts";
import { RandomStream } from "../../world/random.ts";
import type { World } from "../../world/world.ts";
import { readSettings } from "../../scripts/shared/settings.mjs";
import { expectRule, recordHistoryFailure, RuleBroken } from "./graded.ts";
import { PROJECT_ROOT, useExperimentUnderTest } from "./node-under-test.ts";
import { RULE } from "./rules.ts";

export { clientIds };

const CLERK_FUNCTIONS = ["newClerk", "clerkCall", "clerkReceive", "clerkTimeout"] as const;

/**
 * The clerk.ts under test (beside the node file), as a ClerkProgram; with
 * `given`, the clerk the chapter gives whole (Chapter 9: chapters/…/clerk.ts,
 * Chapter 8's clerk), whatever node is graded.
 */
export function useClerkUnderTest(chapterDir: string, options: { readonly given?: boolean } = {}): ClerkProgram & { call(name: string, args: readonly unknown[]): unknown } {
  const givenFile = options.given === true ? path.join(PROJECT_ROOT, "chapters", chapterDir, "clerk.ts") : undefined;
  const clerk = useExperimentUnderTest(chapterDir, CLERK_FUNCTIONS, "clerk.ts", givenFile);
  return {
    call: (name, args) => clerk.call(name, args),
    newClerk: (clientId, servers) => clerk.call("newClerk", [clientId, servers]),
    clerkCall: (state, call) => clerk.call("clerkCall", [state, call]),
    clerkReceive: (state, from, reply) => clerk.call("clerkReceive", [state, from, reply]),
    clerkTimeout: (state) => clerk.call("clerkTimeout", [state]),
  };
}

/** Replies a scripted client received, in order: a test plays the client itself. */
export function scriptedClient(w: World, client: ClientId): { readonly from: NodeId; readonly reply: ClientReply; readonly time: number }[] {
  const replies: { from: NodeId; reply: ClientReply; time: number }[] = [];
  w.onClientReply(client, (from, reply) => replies.push({ from, reply, time: w.now }));
  return replies;
}

/** A client's request as its clerk would send it (a test plays the client itself). */
export function request(client: ClientId, sequence: number, call: ClientCall): ClientRequest {
  return { type: "ClientRequest", clientId: client, sequence, ...call };
}

/** The last answer a client heard to its request `sequence` (answers can arrive out of order). */
export function answerTo(replies: readonly { reply: ClientReply }[], sequence: number): ClientReply | undefined {
  return replies.filter((r) => r.reply.sequence === sequence).at(-1)?.reply;
}

/** What a scripted client heard, for a failure message. */
export function showReplies(replies: readonly { reply: ClientReply }[]): string {
  return replies.length === 0 ? "nothing" : replies.map((r) => JSON.stringify(r.reply)).join(", ");
}

/** A put, an append or a get. */
export const put = (key: string, value: string): ClientCall => ({ operation: "put", key, value });
export const append = (key: string, value: string): ClientCall => ({ operation: "append", key, value });
export const get = (key: string): ClientCall => ({ operation: "get", key, value: "" });

/** What a workload's clients do: keys to use, and how long to keep calling. */
export interface Workload {
  readonly keys: readonly string[];
  /** Simulated ms after which no client starts a new call. */
  readonly until: number;
  /** Wait this long between a call's answer and the next call (0: at once). */
  readonly thinkMs?: number;
}

/**
 * Clients that keep calling until `workload.until`: each call a put, an
 * append or a get of one of the keys, drawn from the world's seed. Every
 * value written is unique ("c2.7;"), so a write applied twice, or lost,
 * shows in what a later get reads.
 */
export class ClientGroup {
  readonly clients: SimulatedClient[];
  private made = 0;

  constructor(
    private readonly w: World,
    program: ClerkProgram,
    private readonly workload: Workload,
  ) {
    this.clients = w.clients.map((id) => new SimulatedClient(w, id, program));
    const random = new RandomStream(w.seed, "clients' workload");
    const next = (client: SimulatedClient): void => {
      if (w.now >= workload.until) return;
      const key = workload.keys[random.int(0, workload.keys.length)]!;
      const kind = random.int(0, 4);
      this.made++;
      const value = `${client.id}.${this.made};`;
      const call = kind === 0 ? get(key) : kind === 1 ? put(key, value) : kind === 2 ? append(key, value) : get(key);
      client.call(call, () => {
        if (workload.thinkMs) w.schedule(w.now + workload.thinkMs, () => next(client));
        else next(client);
      });
    };
    for (const client of this.clients) next(client);
  }

  /** Every client's calls, for the checker. */
  operations(): ClientOperation[] {
    return this.clients.flatMap((c) => c.operations());
  }

  /** Calls that returned. */
  finished(): number {
    return this.operations().filter((op) => op.return !== Infinity).length;
  }

  /** Clients whose current call has not returned, with the call. */
  stuck(): string[] {
    return this.clients.filter((c) => c.busy).map((c) => `${c.id} (${describeCall(c.callInProgress!)} since ${c.history.at(-1)!.calledAt} ms)`);
  }
}

/** What a failing history check knows beyond the clients' history: the run, and the step whose code keeps exactly-once. */
export interface HistoryContext {
  readonly world?: World;
  /** The step of this chapter that applies each request once (a write applied twice points there). */
  readonly exactlyOnceStep?: number;
}

/** "on node B, at index 12 (140 ms) and again at index 15 (380 ms)": where a value was applied twice, from the trace. */
function whereAppliedTwice(w: World | undefined, value: string): { readonly text: string; readonly time: number } | undefined {
  if (w === undefined) return undefined;
  const byNode = new Map<string, { index: number; time: number }[]>();
  for (const e of w.traceOf("apply")) {
    if (!e.entry.command.includes(value)) continue;
    const list = byNode.get(e.node) ?? [];
    // A node that restarts applies its log again from index 1: only a second index is a second application.
    if (!list.some((x) => x.index === e.index)) list.push({ index: e.index, time: e.time });
    byNode.set(e.node, list);
    if (list.length === 2) {
      return { text: `node ${e.node} applied it at index ${list[0]!.index} (${list[0]!.time} ms) and again at index ${list[1]!.index} (${list[1]!.time} ms)`, time: list[1]!.time };
    }
  }
  return undefined;
}

/**
 * The clients' history must be linearizable. A write applied twice is told
 * first, as what it is; otherwise a failure says which operations cannot
 * be ordered, in a few lines, and how to see the picture (a replay writes
 * it as SVG).
 */
export function expectLinearizable(operations: readonly ClientOperation[], what: string, context: HistoryContext = {}): void {
  const repeated = findRepeatedWrite(operations);
  if (repeated !== undefined) {
    const where = whereAppliedTwice(context.world, repeated.value);
    const by = repeated.writer === undefined ? "" : ` (client ${repeated.writer.client}'s ${repeated.writer.input.op}, called at ${repeated.writer.call} ms)`;
    expectRule(
      false,
      RULE.exactlyOnce,
      () =>
        `${what}: client ${repeated.read.client}'s get(${JSON.stringify(repeated.read.input.key)}), answered at ${repeated.read.return} ms, read ${JSON.stringify(repeated.read.output.value)}: ` +
        `the value ${JSON.stringify(repeated.value)} is in it twice, but one call wrote it once${by}. A request was applied more than once${where === undefined ? "." : `: ${where.text}.`}`,
      { step: context.exactlyOnceStep ?? "unknown", ...(where === undefined ? {} : { focusTime: where.time }) },
    );
  }
  const result = checkLinearizability(keyValueModel, operations);
  if (result.verdict === "linearizable") return;
  const part = decidingPart(result);
  // Replayed for the page (--visualize): the picture goes beside the run too.
  if (part !== undefined) recordHistoryFailure(() => ({ verdict: "not linearizable", text: describeVerdict(keyValueModel, part), svg: historySvg(keyValueModel, part) }));
  const { historyFile } = readSettings();
  let picture = "to see it as a picture, add --history history.svg to the Replay line below";
  if (part !== undefined && historyFile !== undefined) {
    writeFileSync(historyFile, historySvg(keyValueModel, part));
    picture = `drawn in ${historyFile}`;
  }
  const unplaceable = part?.unplaceable === undefined ? undefined : part.operations[part.unplaceable];
  const focusTime = unplaceable === undefined ? undefined : Number.isFinite(unplaceable.return) ? unplaceable.return : unplaceable.call;
  expectRule(
    false,
    RULE.linearizable,
    () =>
      result.verdict === "unknown"
        ? `${what}: the checker could not decide within its budget whether the clients' ${operations.length} operations are linearizable.`
        : `${what}: what the clients saw cannot be put in any one order.\n${part === undefined ? "" : describeVerdict(keyValueModel, part)}\n(${picture})`,
    { step: "unknown", ...(focusTime === undefined ? {} : { focusTime }) },
  );
}

/**
 * Every write a client saw acknowledged is in the final state: each
 * acknowledged append's value appears in the key's final value (read by
 * `finalReads`), and a key last acknowledged by a put holds that put's
 * value or something written after it.
 */
export function expectNoLostWrites(operations: readonly ClientOperation[], finalValues: ReadonlyMap<string, string>, context: HistoryContext = {}): void {
  for (const op of operations) {
    if (op.return === Infinity || op.input.op !== "append") continue;
    const final = finalValues.get(op.input.key);
    if (final === undefined) continue;
    const value = op.input.value;
    // A put that may have come after it (one that had not returned when the append was called) may have replaced it.
    const replaced = operations.some((o) => o.input.key === op.input.key && o.input.op === "put" && o.return > op.call);
    const count = final.split(value).length - 1;
    expectRule(
      replaced || count === 1,
      count === 0 ? RULE.noLostWrites : RULE.exactlyOnce,
      () =>
        count === 0
          ? `client ${op.client}'s append(${JSON.stringify(op.input.key)}, ${JSON.stringify(value)}) was acknowledged at ${op.return} ms, and the key's final value ${JSON.stringify(final)} does not hold it: an acknowledged write was lost.`
          : `client ${op.client}'s append(${JSON.stringify(op.input.key)}, ${JSON.stringify(value)}) (acknowledged at ${op.return} ms) is ${count} times in the key's final value ${JSON.stringify(final)}: it was applied more than once.`,
      { step: count === 0 ? "unknown" : (context.exactlyOnceStep ?? "unknown") },
    );
  }
}

/**
 * Run the world for `ms`; if something breaks on the way (a guarantee of
 * Figure 3, a node's error), what the clients saw so far is told first,
 * when it already shows the problem.
 */
export function runWithClients(w: World, group: ClientGroup, ms: number, what: string, context: HistoryContext = {}): void {
  try {
    w.runFor(ms);
  } catch (error) {
    if (error instanceof RuleBroken) throw error;
    // What the clients saw is told first when it already shows the problem: a write applied twice, or no order at all.
    const operations = group.operations();
    if (findRepeatedWrite(operations) !== undefined) {
      expectLinearizable(operations, `${what}, before the run stopped (then, in the cluster: ${error instanceof Error ? error.message.split("\n")[0] : String(error)})`, { ...context, world: w });
    }
    const result = checkLinearizability(keyValueModel, operations);
    if (result.verdict === "not linearizable") {
      const part = decidingPart(result);
      const clientsSaw = `${what}: before the run stopped, what the clients saw could already not be put in any one order.\n${part === undefined ? "" : describeVerdict(keyValueModel, part)}`;
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const told = new RuleBroken(RULE.linearizable, `${clientsSaw}\n\nThen, in the cluster: ${cause}`, "unknown");
      told.stack = `${told.name}: ${told.message}`;
      throw told;
    }
    throw error;
  }
}

/**
 * Heal the network, restart every crashed node, let the cluster settle,
 * and read every key with a fresh call of the first client. Returns the
 * final values (and the reads join the history).
 */
export function finalReads(w: World, group: ClientGroup, keys: readonly string[], withinMs = 5000): Map<string, string> {
  w.heal();
  for (const id of w.nodes) if (w.isCrashed(id)) w.restart(id);
  for (const id of w.nodes) if (w.isPaused(id)) w.resume(id);
  w.setNetwork({ dropRate: 0, duplicateRate: 0, reorderRate: 0 });
  // Let every call in progress finish first.
  w.runUntil(() => group.clients.every((c) => !c.busy), withinMs);
  expectRule(group.clients.every((c) => !c.busy), RULE.clerkRetries, () => `the network healed and every node is back, yet after ${withinMs} ms these calls had still not returned: ${group.stuck().join(", ")}.`);
  const values = new Map<string, string>();
  const reader = group.clients[0]!;
  for (const key of keys) {
    reader.call(get(key), (value) => values.set(key, value));
    w.runUntil(() => !reader.busy, withinMs);
    expectRule(!reader.busy, RULE.clerkRetries, () => `the network healed and every node is back, yet client ${reader.id}'s get(${JSON.stringify(key)}) had not returned after ${withinMs} ms.`);
  }
  return values;
}
