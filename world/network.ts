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

/**
 * A message's fate, as `route` returns it: its delay in ms (0 or more), or
 * LOST_TO_PARTITION, or LOST_TO_LOSS. When the network also delivers it a
 * second time, `duplicateDelay` holds that copy's delay (else -1). Numbers,
 * not objects: every message of every run comes through here.
 */
export const LOST_TO_PARTITION = -1;
export const LOST_TO_LOSS = -2;

/** Who can reach whom right now. */
export interface Connectivity {
  /** The partition's groups (one group holding everyone when there is none). */
  readonly groups: readonly (readonly NodeId[])[];
  readonly isolated: readonly NodeId[];
  /** One-way cuts, as [from, to]. */
  readonly cuts: readonly (readonly [NodeId, NodeId])[];
}

const key = (from: NodeId, to: NodeId): string => `${from}>${to}`;

/** One direction of one link: its random stream, its settings. Made when first used. */
interface Link {
  readonly stream: RandomStream;
  settings: NetworkSettings;
  overrides: Partial<NetworkSettings> | undefined;
}

export class Network {
  private global: NetworkSettings;
  /** links[from][to], by the nodes' positions. */
  private readonly links: (Link | undefined)[][];
  /** blocked[from][to]: the three layers combined, recomputed when one changes. */
  private readonly blocked: boolean[][];
  private readonly position = new Map<NodeId, number>();
  private groupOf: Map<NodeId, number> | null = null;
  private groups: NodeId[][] | null = null;
  private readonly isolated = new Set<NodeId>();
  private readonly cuts = new Set<string>();

  /** The nodes a partition splits (the first `servers` endpoints); the rest are clients (Chapter 8). */
  private readonly servers: readonly NodeId[];

  constructor(
    private readonly seed: number,
    private readonly nodes: readonly NodeId[],
    settings: Partial<NetworkSettings> = {},
    servers = nodes.length,
  ) {
    this.servers = nodes.slice(0, servers);
    this.global = { ...DEFAULT_NETWORK, ...settings };
    nodes.forEach((id, i) => this.position.set(id, i));
    this.links = nodes.map(() => nodes.map(() => undefined));
    this.blocked = nodes.map(() => nodes.map(() => false));
  }

  /** The network-wide settings. */
  get settings(): NetworkSettings {
    return this.global;
  }

  /** Change the network-wide settings (a link's own settings stay on top of them). */
  configure(settings: Partial<NetworkSettings>): void {
    this.global = { ...this.global, ...settings };
    for (const row of this.links) for (const link of row) if (link) link.settings = { ...this.global, ...link.overrides };
  }

  /** Give one direction of one link settings of its own (latency, loss...), over the network's. */
  configureLink(from: NodeId, to: NodeId, settings: Partial<NetworkSettings>): void {
    const link = this.link(this.at(from), this.at(to));
    link.overrides = { ...link.overrides, ...settings };
    link.settings = { ...this.global, ...link.overrides };
  }

  /** The settings one link uses now. */
  linkSettings(from: NodeId, to: NodeId): NetworkSettings {
    return this.links[this.at(from)]![this.at(to)]?.settings ?? this.global;
  }

  canReach(from: NodeId, to: NodeId): boolean {
    const i = this.position.get(from);
    const j = this.position.get(to);
    return i === undefined || j === undefined || !this.blocked[i]![j]!;
  }

  /** canReach by the nodes' positions in the world's list. */
  canReachAt(i: number, j: number): boolean {
    return !this.blocked[i]![j]!;
  }

  /** The delay of the second copy of the message `route` last let through, or -1. */
  duplicateDelay = -1;

  /** Split the nodes into groups; nodes in no group form one more group together. Replaces any earlier partition. */
  partition(groups: readonly (readonly NodeId[])[]): NodeId[][] {
    const listed = new Set(groups.flat());
    // The nodes no group names form one more group; a client no group names reaches every node.
    const rest = this.servers.filter((id) => !listed.has(id));
    const all = (rest.length > 0 ? [...groups, rest] : [...groups]).map((g) => [...g]);
    const groupOf = new Map<NodeId, number>();
    all.forEach((group, i) => group.forEach((id) => groupOf.set(id, i)));
    this.groupOf = groupOf;
    this.groups = all;
    this.recompute();
    return all;
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
    this.recompute();
  }

  /** Undo isolate(id) and any one-way cut touching id. A partition stays as it is. */
  reconnect(id: NodeId): void {
    this.isolated.delete(id);
    for (const other of this.nodes) {
      this.cuts.delete(key(id, other));
      this.cuts.delete(key(other, id));
    }
    this.recompute();
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(key(from, to));
    this.recompute();
  }

  restoreOneWay(from: NodeId, to: NodeId): void {
    this.cuts.delete(key(from, to));
    this.recompute();
  }

  /** Every link works again (link settings such as latency stay). */
  heal(): void {
    this.groupOf = null;
    this.groups = null;
    this.isolated.clear();
    this.cuts.clear();
    this.recompute();
  }

  connectivity(): Connectivity {
    return {
      groups: this.groups ?? [[...this.servers]],
      isolated: this.nodes.filter((id) => this.isolated.has(id)),
      cuts: [...this.cuts].map((link) => link.split(">") as [NodeId, NodeId]),
    };
  }

  /** What happens to a message sent now from node position i to j (see LOST_TO_PARTITION). */
  route(i: number, j: number): number {
    this.duplicateDelay = -1;
    if (this.blocked[i]![j]) return LOST_TO_PARTITION;
    const link = this.links[i]![j] ?? this.link(i, j);
    const stream = link.stream;
    const net = link.settings;
    if (stream.chance(net.dropRate)) return LOST_TO_LOSS;
    const first = this.delay(stream, net);
    if (stream.chance(net.duplicateRate)) this.duplicateDelay = this.delay(stream, net);
    return first;
  }

  private at(id: NodeId): number {
    const i = this.position.get(id);
    if (i === undefined) throw new Error(`there is no node ${id}; the nodes are ${this.nodes.join(", ")}`);
    return i;
  }

  private link(i: number, j: number): Link {
    let link = this.links[i]![j];
    if (link === undefined) {
      link = { stream: new RandomStream(this.seed, `network:${key(this.nodes[i]!, this.nodes[j]!)}`), settings: this.global, overrides: undefined };
      this.links[i]![j] = link;
    }
    return link;
  }

  /** In different groups of the partition (a client in none is in every group). */
  private apart(from: NodeId, to: NodeId): boolean {
    const a = this.groupOf!.get(from);
    const b = this.groupOf!.get(to);
    return a !== undefined && b !== undefined && a !== b;
  }

  private recompute(): void {
    this.nodes.forEach((from, i) => {
      this.nodes.forEach((to, j) => {
        this.blocked[i]![j] =
          this.isolated.has(from) || this.isolated.has(to) || (this.groupOf !== null && this.apart(from, to)) || this.cuts.has(key(from, to));
      });
    });
  }

  /** One message's trip time: its latency, plus a hold-back if it is to be overtaken. */
  private delay(stream: RandomStream, net: NetworkSettings): number {
    let d = stream.int(net.latency[0], net.latency[1]);
    if (stream.chance(net.reorderRate)) d += stream.int(net.reorderDelay[0], net.reorderDelay[1]);
    return d;
  }
}
