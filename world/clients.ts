/**
 * The key-value service's clients (Chapter 8): simulated people calling
 * put, append and get through a clerk, and the history of what they saw.
 *
 * A client makes one call at a time. It hands the call to its clerk (the
 * learner's clerk.ts, through a ClerkProgram), does what the clerk's step
 * says (send a request over the world's network, start the retry timer),
 * feeds the clerk the replies and timeouts, and records the call's
 * history: when it was called and when (if ever) it returned, in
 * simulated time, with the result. That history is what the
 * linearizability checker (world/linearizability.ts) judges.
 *
 * No Node.js module here: the browser page runs clients too.
 */
import type { ClerkStep, ClientCall, ClientId, ClientReply, NodeId } from "./contract.ts";
import type { KvInput, KvOutput, Operation } from "./linearizability.ts";
import { checkClientRequest, MalformedMessage } from "./messages.ts";
import { ContractBroken, type World } from "./world.ts";

/** A clerk's functions, however they are run (in a sandbox, for a learner's clerk.ts). Every value in and out is plain data. */
export interface ClerkProgram {
  newClerk(clientId: ClientId, servers: readonly NodeId[]): unknown;
  clerkCall(clerk: unknown, call: ClientCall): unknown;
  clerkReceive(clerk: unknown, from: NodeId, reply: ClientReply): unknown;
  clerkTimeout(clerk: unknown): unknown;
}

/** One call of a client, as the history records it. */
export type ClientOperation = Operation<KvInput, KvOutput> & { readonly client: ClientId };

/** Client ids: "c1", "c2"... */
export function clientIds(count: number): ClientId[] {
  return Array.from({ length: count }, (_, i) => `c${i + 1}`);
}

/** A call in words: put("x", "1"), get("x"). */
export function describeCall(call: ClientCall): string {
  return call.operation === "get" ? `get(${JSON.stringify(call.key)})` : `${call.operation}(${JSON.stringify(call.key)}, ${JSON.stringify(call.value)})`;
}

/** The history's input for a call. */
function inputOf(call: ClientCall): KvInput {
  return call.operation === "get" ? { op: "get", key: call.key } : { op: call.operation, key: call.key, value: call.value };
}

/** One call as a client saw it: when it called, and when (Infinity: not yet, or never) and what it was answered. */
export interface CallRecord {
  readonly call: ClientCall;
  readonly calledAt: number;
  returnedAt: number;
  result: string | undefined;
}

/** The clients made in each world, in the order they were made (what a picture of the run shows under the cluster). */
const clientsOfWorld = new WeakMap<World, SimulatedClient[]>();

/** Every SimulatedClient made in `world` so far. */
export function clientsIn(world: World): readonly SimulatedClient[] {
  return clientsOfWorld.get(world) ?? [];
}

/** One simulated client of the service, driving its clerk in a world. */
export class SimulatedClient {
  private clerk: unknown;
  private timerGeneration = 0;
  /** The call in progress (the last of the history), and who hears its result. */
  private current: { readonly record: CallRecord; readonly done: ((result: string) => void) | undefined } | undefined;
  /** Every call this client made, finished or not, in the order it made them. */
  readonly history: CallRecord[] = [];

  constructor(
    private readonly world: World,
    readonly id: ClientId,
    private readonly program: ClerkProgram,
  ) {
    this.clerk = program.newClerk(id, world.nodes);
    const known = clientsOfWorld.get(world);
    if (known === undefined) clientsOfWorld.set(world, [this]);
    else known.push(this);
    world.onClientReply(id, (from, reply) => this.take(this.program.clerkReceive(this.clerk, from, reply), "clerkReceive"));
  }

  /** Whether a call is in progress. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** The call in progress, if any. */
  get callInProgress(): ClientCall | undefined {
    return this.current?.record.call;
  }

  /** Call an operation now; `done` hears its result when the clerk gives it. */
  call(call: ClientCall, done?: (result: string) => void): void {
    if (this.current !== undefined) throw new Error(`client ${this.id} called ${describeCall(call)} while ${describeCall(this.current.record.call)} was in progress`);
    const record: CallRecord = { call, calledAt: this.world.now, returnedAt: Infinity, result: undefined };
    this.history.push(record);
    this.current = { record, done };
    this.world.mark(`client ${this.id} calls ${describeCall(call)}`);
    this.take(this.program.clerkCall(this.clerk, call), "clerkCall");
  }

  /** The history in the checker's terms: a call never answered may have taken effect, or not. */
  operations(): ClientOperation[] {
    return this.history.map((h) => ({
      client: this.id,
      input: inputOf(h.call),
      output: h.call.operation === "get" && h.result !== undefined ? { value: h.result } : {},
      call: h.calledAt,
      return: h.returnedAt,
    }));
  }

  /** Do what a clerk's step says, having checked it. */
  private take(raw: unknown, from: string): void {
    const step = this.checkStep(raw, from);
    this.clerk = step.clerk;
    if (step.send !== undefined) this.world.sendFromClient(this.id, step.send.to, step.send.request);
    if (step.result !== undefined) {
      const { record, done } = this.current!;
      this.current = undefined;
      record.returnedAt = this.world.now;
      record.result = step.result;
      this.timerGeneration++;
      this.world.mark(`client ${this.id}'s ${describeCall(record.call)} returns${record.call.operation === "get" ? ` ${JSON.stringify(step.result)}` : ""}`);
      done?.(step.result);
      return;
    }
    if (step.retryAfterMs !== undefined) {
      const generation = ++this.timerGeneration;
      this.world.schedule(this.world.now + step.retryAfterMs, () => {
        if (generation === this.timerGeneration) this.take(this.program.clerkTimeout(this.clerk), "clerkTimeout");
      });
    }
  }

  /** A clerk's step as the contract has it, or a ContractBroken that says what is wrong. */
  private checkStep(raw: unknown, from: string): ClerkStep<unknown> {
    const fail = (detail: string): never => {
      throw new ContractBroken(`client ${this.id}'s clerk: ${from}() ${detail} (see ClerkStep in world/contract.ts).`);
    };
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(`returned ${JSON.stringify(raw) ?? String(raw)}, not { clerk, send?, retryAfterMs?, result? }`);
    const step = raw as Record<string, unknown>;
    for (const key of Object.keys(step)) if (!["clerk", "send", "retryAfterMs", "result"].includes(key)) fail(`returned a step with a field "${key}" the contract does not have`);
    if (!("clerk" in step)) fail("returned a step without the clerk's new state (its clerk field)");
    let send: ClerkStep<unknown>["send"];
    if (step.send !== undefined) {
      const s = step.send as Record<string, unknown>;
      if (typeof s !== "object" || s === null || typeof s.to !== "string" || !this.world.nodes.includes(s.to)) {
        fail(`asked to send to ${JSON.stringify(typeof s === "object" && s !== null ? s.to : s)}; send is { to, request } with to one of the servers (${this.world.nodes.join(", ")})`);
      }
      try {
        send = { to: s.to as NodeId, request: checkClientRequest(s.request, this.id) };
      } catch (error) {
        if (error instanceof MalformedMessage) fail(`asked to send a malformed request: ${error.message}`);
        throw error;
      }
    }
    const retry = step.retryAfterMs;
    if (retry !== undefined && !(typeof retry === "number" && Number.isFinite(retry) && retry > 0)) fail(`asked for a retry after ${JSON.stringify(retry)} ms; the delay must be a positive number`);
    const result = step.result;
    if (result !== undefined) {
      if (typeof result !== "string") fail(`gave the result ${JSON.stringify(result)}; a result is a string ("" for put and append)`);
      if (this.current === undefined) fail(`gave a result (${JSON.stringify(result)}) when no call was in progress: a call is answered once`);
    }
    return { clerk: step.clerk, ...(send === undefined ? {} : { send }), ...(retry === undefined ? {} : { retryAfterMs: retry as number }), ...(result === undefined ? {} : { result: result as string }) };
  }
}

/** A value that a read shows twice although one call wrote it once: a write applied more than once. */
export interface RepeatedWrite {
  /** The get that read it. */
  readonly read: ClientOperation;
  /** The value written twice ("c3.29;"). */
  readonly value: string;
  /** The call that wrote it, if the history has it. */
  readonly writer: ClientOperation | undefined;
}

/**
 * Find a write applied twice, from what the clients read. Every value a
 * workload writes is unique and ends with ";" ("c3.29;"), so a read that
 * holds one value twice shows an append that took effect twice.
 */
export function findRepeatedWrite(operations: readonly ClientOperation[]): RepeatedWrite | undefined {
  for (const read of operations) {
    if (read.input.op !== "get" || read.return === Infinity) continue;
    const values = (read.output.value ?? "").split(";").slice(0, -1);
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) {
        const value = `${v};`;
        const writer = operations.find((o) => o.input.op !== "get" && o.input.key === read.input.key && o.input.value === value);
        return { read, value, writer };
      }
      seen.add(v);
    }
  }
  return undefined;
}
