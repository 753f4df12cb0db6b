/**
 * The in-memory network: it decides each message's fate (lost, or when
 * it arrives, perhaps twice) and nothing else. Delivering, tracing and
 * counting are the world's business.
 *
 * Who can reach whom is three layers that compose:
 *
 *   partition(groups)     nodes in different groups cannot reach each other
 *   isolate(id)           a node cut off from everyone, both ways
 *   cutOneWay(from, to)   one direction of one link
 *
 * A message goes through only if no layer blocks it. `reconnect(id)`
 * undoes `isolate(id)` (and the one-way cuts touching id) without joining
 * id to other isolated nodes; `heal()` clears every layer.
 *
 * Each link draws from its own seeded random stream, so the traffic on one
 * link never changes the fate of messages on another.
 */
import type { NodeId } from "./contract.ts";
import { RandomStream } from "./random.ts";

/** How the in-memory network treats each message. */
export interface NetworkSettings {
  /** One-way delay in ms, drawn uniformly from [min, max). */
  readonly latency: readonly [number, number];
  /** Chance that a message is lost. */
  readonly dropRate: number;
  /** Chance that a message is delivered twice (each copy with its own delay). */
  readonly duplicateRate: number;
  /** Chance that a message is held back by an extra delay, so later ones overtake it. */
  readonly reorderRate: number;
  /** The extra delay of a held-back message, in ms, drawn from [min, max). */
  readonly reorderDelay: readonly [number, number];
}

export const DEFAULT_NETWORK: NetworkSettings = {
  latency: [1, 10],
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelay: [20, 100],
};

/** Why a message never arrived. */
export type DropReason = "partition" | "loss" | "crashed" | "paused" | "intercepted" | "old incarnation";

/** A message's fate: lost on the way, or its delays (two when duplicated). */
export type Fate = { readonly lost: "partition" | "loss" } | { readonly delays: readonly number[] };

/** Who can reach whom right now. */
export interface Connectivity {
  /** The partition's groups (one group holding everyone when there is none). */
  readonly groups: readonly (readonly NodeId[])[];
  readonly isolated: readonly NodeId[];
  /** One-way cuts, as [from, to]. */
  readonly cuts: readonly (readonly [NodeId, NodeId])[];
}

const key = (from: NodeId, to: NodeId): string => `${from}>${to}`;

export class Network {
  private global: NetworkSettings;
  /** Each link's own settings, and those merged over the network's. */
  private readonly linkOverrides = new Map<string, Partial<NetworkSettings>>();
  private readonly perLink = new Map<string, NetworkSettings>();
  private readonly streams = new Map<string, RandomStream>();
  private groupOf: Map<NodeId, number> | null = null;
  private groups: NodeId[][] | null = null;
  private readonly isolated = new Set<NodeId>();
  private readonly cuts = new Set<string>();

  constructor(
    private readonly seed: number,
    private readonly nodes: readonly NodeId[],
    settings: Partial<NetworkSettings> = {},
  ) {
    this.global = { ...DEFAULT_NETWORK, ...settings };
  }

  /** The network-wide settings. */
  get settings(): NetworkSettings {
    return this.global;
  }

  /** Change the network-wide settings (a link's own settings stay on top of them). */
  configure(settings: Partial<NetworkSettings>): void {
    this.global = { ...this.global, ...settings };
    for (const [link, overrides] of this.linkOverrides) this.perLink.set(link, { ...this.global, ...overrides });
  }

  /** Give one direction of one link settings of its own (latency, loss...), over the network's. */
  configureLink(from: NodeId, to: NodeId, settings: Partial<NetworkSettings>): void {
    const link = key(from, to);
    const overrides = { ...this.linkOverrides.get(link), ...settings };
    this.linkOverrides.set(link, overrides);
    this.perLink.set(link, { ...this.global, ...overrides });
  }

  /** The settings one link uses now. */
  linkSettings(from: NodeId, to: NodeId): NetworkSettings {
    return this.perLink.get(key(from, to)) ?? this.global;
  }

  canReach(from: NodeId, to: NodeId): boolean {
    if (this.isolated.size > 0 && (this.isolated.has(from) || this.isolated.has(to))) return false;
    if (this.groupOf !== null && this.groupOf.get(from) !== this.groupOf.get(to)) return false;
    return this.cuts.size === 0 || !this.cuts.has(key(from, to));
  }

  /** Split the nodes into groups; nodes in no group form one more group together. Replaces any earlier partition. */
  partition(groups: readonly (readonly NodeId[])[]): NodeId[][] {
    const listed = new Set(groups.flat());
    const rest = this.nodes.filter((id) => !listed.has(id));
    const all = (rest.length > 0 ? [...groups, rest] : [...groups]).map((g) => [...g]);
    const groupOf = new Map<NodeId, number>();
    all.forEach((group, i) => group.forEach((id) => groupOf.set(id, i)));
    this.groupOf = groupOf;
    this.groups = all;
    return all;
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Undo isolate(id) and any one-way cut touching id. A partition stays as it is. */
  reconnect(id: NodeId): void {
    this.isolated.delete(id);
    for (const other of this.nodes) {
      this.cuts.delete(key(id, other));
      this.cuts.delete(key(other, id));
    }
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(key(from, to));
  }

  restoreOneWay(from: NodeId, to: NodeId): void {
    this.cuts.delete(key(from, to));
  }

  /** Every link works again (link settings such as latency stay). */
  heal(): void {
    this.groupOf = null;
    this.groups = null;
    this.isolated.clear();
    this.cuts.clear();
  }

  connectivity(): Connectivity {
    return {
      groups: this.groups ?? [[...this.nodes]],
      isolated: this.nodes.filter((id) => this.isolated.has(id)),
      cuts: [...this.cuts].map((link) => link.split(">") as [NodeId, NodeId]),
    };
  }

  /** What happens to a message sent now from `from` to `to`. */
  route(from: NodeId, to: NodeId): Fate {
    if (!this.canReach(from, to)) return { lost: "partition" };
    const link = key(from, to);
    let stream = this.streams.get(link);
    if (stream === undefined) {
      stream = new RandomStream(this.seed, `network:${link}`);
      this.streams.set(link, stream);
    }
    const net = this.perLink.get(link) ?? this.global;
    if (stream.chance(net.dropRate)) return { lost: "loss" };
    const first = this.delay(stream, net);
    if (!stream.chance(net.duplicateRate)) return { delays: [first] };
    return { delays: [first, this.delay(stream, net)] };
  }

  /** One message's trip time: its latency, plus a hold-back if it is to be overtaken. */
  private delay(stream: RandomStream, net: NetworkSettings): number {
    let d = stream.int(net.latency[0], net.latency[1]);
    if (stream.chance(net.reorderRate)) d += stream.int(net.reorderDelay[0], net.reorderDelay[1]);
    return d;
  }
}
