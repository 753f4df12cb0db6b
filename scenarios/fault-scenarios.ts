/**
 * Fault scenarios shared by Chapter 7's suite and `npm run experiment`:
 * the suite grades a node on them, the experiment measures any node on
 * many seeds (so the reading can compare Chapter 6's node with Chapter
 * 7's, and the check can hold the reading to a fresh run).
 *
 * Each drives a world it is given; it asserts nothing, and says what
 * happened.
 */
import type { NodeId } from "../world/contract.ts";
import type { NetworkSettings } from "../world/network.ts";
import { RandomStream } from "../world/random.ts";
import type { World } from "../world/world.ts";

/**
 * The leader everyone can follow: a running node that leads a term at
 * least as high as every other running node's. A leader cut off in a
 * minority, or not yet told of a newer term, does not count.
 */
export function currentLeader(w: World, among: readonly NodeId[] = w.runningNodes()): NodeId | undefined {
  // Read through stateOf, not view: a busy run asks this for every command.
  let highest = 0;
  for (const id of among) highest = Math.max(highest, w.stateOf(id).currentTerm);
  return among.find((id) => w.stateOf(id).role === "leader" && w.stateOf(id).currentTerm === highest);
}

/**
 * Get one command committed on every listed node: propose it to the
 * current leader and wait; if that leader is deposed before it commits,
 * propose it again to the next. Returns the index, or undefined.
 */
export function commitOnAll(w: World, command: string, withinMs = 3000, ids: readonly NodeId[] = w.nodes): number | undefined {
  const deadline = w.now + withinMs;
  let attempt = 0;
  while (w.now < deadline) {
    const leader = currentLeader(w, ids);
    if (leader === undefined) {
      w.runUntil(() => currentLeader(w, ids) !== undefined, Math.min(100, deadline - w.now));
      continue;
    }
    const result = w.propose(leader, attempt === 0 ? command : `${command}#${attempt}`);
    attempt++;
    if (!result.accepted) continue;
    if (w.runUntil(() => ids.every((id) => w.view(id).commitIndex >= result.index), Math.min(500, deadline - w.now))) return result.index;
  }
  return undefined;
}

/**
 * A client: from `from` ms on, every `everyMs` ms up to and including
 * `through`, it proposes a new command ("c1", "c2", ...) to the current
 * leader, if there is one. Scheduled now, as "client" actions.
 */
export function proposeEvery(w: World, schedule: { readonly from: number; readonly everyMs: number; readonly through: number }): void {
  let next = 1;
  w.every(schedule.from, schedule.everyMs, schedule.through, "client", () => {
    const leader = currentLeader(w);
    if (leader !== undefined) w.propose(leader, `c${next++}`);
  });
}

/** Modelled on the best-known lab's unreliable network: 10 % of requests and replies lost, 0 to 26 ms of delay; the duplicates are this workbook's own (the lab never duplicates). */
export const UNRELIABLE: Partial<NetworkSettings> = { dropRate: 0.1, latency: [0, 27], duplicateRate: 0.02 };

/**
 * And long reordering: one message in three held back 0.2 to 2.2 s. (The
 * lab holds back two in three, with longer election timeouts than the
 * workbook's 150-300 ms; at that rate, here, heartbeats are late so often
 * that elections never stop, whatever the log code does.)
 */
export const LONG_REORDERING: Partial<NetworkSettings> = { reorderRate: 0.34, reorderDelay: [200, 2200] };

/**
 * The lab's "Figure 8 (unreliable)": on a lossy network that soon
 * reorders heavily too, commands are proposed to every node each round,
 * the leader is cut off half the time, and cut-off nodes are let back
 * whenever three are out. At the end everyone is reconnected; the
 * network stays as it is. Build the world with UNRELIABLE. With
 * `crashes`, half the leaders cut off crash instead, and restart from
 * their disks when let back.
 */
export function figure8Unreliable(w: World, rounds: number, options: { readonly crashes?: boolean } = {}): void {
  const random = new RandomStream(w.seed, "figure 8 unreliable");
  const cutOff = new Set<NodeId>();
  for (let round = 0; round < rounds; round++) {
    if (round === Math.floor(rounds / 5)) w.setNetwork(LONG_REORDERING);
    let leader: NodeId | undefined;
    for (const id of w.nodes) {
      if (cutOff.has(id)) continue;
      if (w.propose(id, `f${round}-${random.int(0, 10_000)}`).accepted) leader = id;
    }
    w.runFor(random.chance(0.1) ? random.int(0, 500) : random.int(0, 13));
    if (leader !== undefined && random.chance(0.5)) {
      // With crashes, half the leaders cut off crash instead (and restart when let back).
      if (options.crashes === true && random.chance(0.5)) w.crash(leader);
      else w.isolate(leader);
      cutOff.add(leader);
    }
    if (cutOff.size > 2) {
      const back = [...cutOff][random.int(0, cutOff.size)]!;
      bringBack(w, back);
      cutOff.delete(back);
    }
  }
  for (const id of cutOff) bringBack(w, id);
}

function bringBack(w: World, id: NodeId): void {
  if (w.isCrashed(id)) w.restart(id);
  else w.reconnect(id);
}

/** What `divergedTwiceOver` saw: how the last leader repaired the two followers astray. */
export interface RepairCount {
  /** The nodes of each stage: the first leader and its follower (astray twice), the second leader, the one that wins at the end. */
  readonly astray: readonly [NodeId, NodeId];
  readonly finalLeader: NodeId | undefined;
  /** AppendEntries the last leader sent the two followers astray, from the end of the partition until both were repaired. */
  readonly appendEntries: number;
  /** Entries those AppendEntries carried. */
  readonly entries: number;
  /** Every message the three reunited nodes sent over the same time (the election, 50 commands, the repair). */
  readonly messages: number;
  /** Simulated ms from the last 50 commands to both followers repaired, or null if they were not within 2 s. */
  readonly repairMs: number | null;
  /** Why the scenario could not go on, if it could not. */
  readonly stuck?: string;
}

/**
 * The lab's fast-backup scenario ("fast backup over 50 divergent entries
 * in each of two rounds"), on five nodes: a leader and one follower,
 * cut off, collect 50 entries nobody else keeps; the majority commits
 * 50 of its own; then its leader and one follower, cut off in turn,
 * collect 50 more; finally the first two come back with the one node
 * that holds every committed entry, which must win and repair both.
 */
export function divergedTwiceOver(w: World, awaitLeader: (among: readonly NodeId[], withinMs: number) => NodeId | undefined): RepairCount {
  const none = { astray: ["?", "?"] as [NodeId, NodeId], finalLeader: undefined, appendEntries: 0, entries: 0, messages: 0, repairMs: null };
  const first = awaitLeader(w.nodes, 1000);
  if (first === undefined) return { ...none, stuck: "5 healthy nodes elected no leader within 1 s" };
  const commit = (leader: NodeId, prefix: string, index: number, among: readonly NodeId[], withinMs: number): boolean => {
    for (let i = 1; i <= 50; i++) w.propose(leader, `${prefix}${i}`);
    return w.runUntil(() => among.every((id) => w.view(id).commitIndex >= index), withinMs);
  };
  w.propose(first, "common");
  w.runUntil(() => w.nodes.every((id) => w.view(id).commitIndex >= 1), 500);
  const [, second, third, fourth, fifth] = [first, ...w.nodes.filter((id) => id !== first)] as [NodeId, NodeId, NodeId, NodeId, NodeId];
  w.partition([first, second], [third, fourth, fifth]);
  for (let i = 1; i <= 50; i++) w.propose(first, `stale-a${i}`);
  const leader2 = awaitLeader([third, fourth, fifth], 1500);
  if (leader2 === undefined) return { ...none, astray: [first, second], stuck: "the three-node majority elected no leader within 1.5 s" };
  if (!commit(leader2, "kept-b", 51, [third, fourth, fifth], 1000)) return { ...none, astray: [first, second], stuck: "the majority did not commit its 50 entries within 1 s" };
  const otherTwo = [third, fourth, fifth].filter((id) => id !== leader2) as [NodeId, NodeId];
  w.partition([leader2, otherTwo[0]], [otherTwo[1]], [first, second]);
  for (let i = 1; i <= 50; i++) w.propose(leader2, `stale-c${i}`);
  const astray: [NodeId, NodeId] = [first, second];
  const reunited = [first, second, otherTwo[1]];
  // Per sender: the old leader of the second round, still cut off, keeps sending too; only the last leader's count.
  const appendEntriesFrom = new Map<NodeId, { messages: number; entries: number }>();
  let messages = 0;
  let counting = true;
  w.afterEveryStep((step) => {
    if (!counting || !reunited.includes(step.node)) return;
    for (const effect of step.effects) {
      if (effect.kind !== "deliver" && effect.kind !== "lost") continue;
      messages++;
      if (astray.includes(effect.to) && effect.message.type === "AppendEntries") {
        const sent = appendEntriesFrom.get(step.node) ?? { messages: 0, entries: 0 };
        sent.messages++;
        sent.entries += effect.message.entries.length;
        appendEntriesFrom.set(step.node, sent);
      }
    }
  });
  w.partition([leader2, otherTwo[0]], [first, second, otherTwo[1]]);
  const leader3 = awaitLeader([first, second, otherTwo[1]], 2000);
  if (leader3 !== otherTwo[1]) {
    counting = false;
    return { ...none, astray, finalLeader: leader3, stuck: `of ${first}, ${second} and ${otherTwo[1]}, only ${otherTwo[1]} holds the committed entries and may win; the leader is ${leader3 ?? "nobody"}` };
  }
  for (let i = 1; i <= 50; i++) w.propose(leader3, `kept-d${i}`);
  const startedAt = w.now;
  const repaired = w.runUntil(() => [first, second, leader3].every((id) => w.view(id).commitIndex >= 101), 2000);
  counting = false;
  const fromLeader = appendEntriesFrom.get(leader3) ?? { messages: 0, entries: 0 };
  return { astray, finalLeader: leader3, appendEntries: fromLeader.messages, entries: fromLeader.entries, messages, repairMs: repaired ? w.now - startedAt : null };
}
