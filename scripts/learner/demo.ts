/**
 * npm run demo [-- --seed N] [--slow] [--node FILE]
 *
 * Raft's story, played on the real simulated world with the reference
 * node (or yours, with --node): five nodes keeping one log, everyone
 * starting as a follower, an election, a write replicated and committed,
 * the leader stopping and a re-election, a split vote retried in a new
 * term, a partition into two and three nodes with two leaders in
 * different terms, a write on the minority side that stays uncommitted
 * while the majority commits, and, on healing, the old leader stepping
 * down and the logs converging.
 *
 * Every caption is made from the run and checked against it: a caption
 * that is not true of the run stops the demo with the reason (the check
 * plays the demo on several seeds to make sure).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import pc from "picocolors";
import type { CreateNode, NodeId } from "../../world/contract.ts";
import { loadNodeProgram, runWithRealTimeLimit } from "../../sandbox/node-program.ts";
import { describeEvent, type TraceEvent } from "../../world/trace.ts";
import { NodeFailure, World } from "../../world/world.ts";
import { PROJECT_ROOT } from "../shared/chapters.mjs";
import { isMain, parseCommand, runMain, UsageError, wholeOption } from "../shared/cli.mjs";

const NODES: readonly NodeId[] = ["A", "B", "C", "D", "E"];

export interface Scene {
  readonly title: string;
  readonly caption: string;
  /** The events of the scene worth showing, in order. */
  readonly events: readonly TraceEvent[];
  /** The logs at the end of the scene, for the picture. */
  readonly logs: readonly string[];
}

/** A caption that is not true of the run. */
export class UntrueCaption extends Error {}

function must(ok: boolean, caption: string, why: () => string): void {
  if (!ok) throw new UntrueCaption(`The demo's caption "${caption}" is not true of this run: ${why()}`);
}

const SHOWN = new Set<TraceEvent["kind"]>(["role", "term", "propose", "commit", "log", "crash", "boot", "network", "note"]);

/** Play the story on `createNode` with `seed`; returns its scenes (each checked). */
export function playDemo(createNode: CreateNode, seed: number): Scene[] {
  const w = new World({ nodes: [...NODES], createNode, seed });
  const scenes: Scene[] = [];
  let since = 0;
  const view = (id: NodeId) => w.view(id);
  const logOf = (id: NodeId) => view(id).log.map((e) => `${e.term}:${e.command}`).join(" ") || "(empty)";
  const scene = (title: string, caption: string) => {
    const trace = w.trace;
    const events = trace.slice(since).filter((e) => SHOWN.has(e.kind) && !(e.kind === "log" && e.newLength === e.oldLength));
    since = trace.length;
    const logs = NODES.map((id) => {
      const v = view(id);
      const state = w.isPaused(id) ? "stopped" : v.role;
      return `${id} ${`(${state}, term ${v.currentTerm}, commit ${v.commitIndex})`.padEnd(32)} ${logOf(id)}`;
    });
    scenes.push({ title, caption, events, logs });
  };
  const leaderAmong = (ids: readonly NodeId[]) => w.leaders().find((id) => ids.includes(id));

  // 1. Everyone starts as a follower.
  const c1 = "Five nodes, A to E, each keep a copy of one log of commands. They all start as followers in term 0, with empty logs and no leader.";
  must(NODES.every((id) => view(id).role === "follower" && view(id).currentTerm === 0 && view(id).log.length === 0), c1, () => NODES.map((id) => `${id} ${view(id).role} t${view(id).currentTerm}`).join(", "));
  scene("Everyone starts as a follower", c1);

  // 2. An election.
  const elected = w.runUntil(() => w.leaders().length > 0, 2000);
  const first = w.leaders()[0];
  must(elected && first !== undefined, "an election", () => "no leader after 2 s");
  const t1 = view(first!).currentTerm;
  const firstStood = w.trace.find((e) => e.kind === "role" && e.to === "candidate");
  const c2 = `Nobody hears from a leader, so election timers run out. ${firstStood && firstStood.kind === "role" ? `${firstStood.node}'s ran out first, at ${firstStood.time} ms: it` : "A node"} became a candidate and asked the others for their votes. ${first} won a majority and leads term ${t1}.`;
  must(w.leaders().length === 1, c2, () => `leaders: ${w.leaders().join(", ")}`);
  scene("An election", c2);

  // 3. A write, replicated and committed.
  const put = w.propose(first!, "x=1");
  must(put.accepted, "a write", () => `${first} refused the write: ${JSON.stringify(put)}`);
  const committed = w.runUntil(() => NODES.every((id) => view(id).commitIndex >= 1), 1000);
  const c3 = `A client writes x=1 at the leader ${first}. ${first} appends it to its log, sends it to the others with its next heartbeat, and once a majority holds it, it is committed; the others learn so with the heartbeat after. At ${w.now} ms every node has committed it.`;
  must(committed && NODES.every((id) => view(id).log[0]?.command === "x=1"), c3, () => NODES.map(logOf).join(" | "));
  scene("A write, replicated and committed", c3);

  // 4. The leader stops; a re-election.
  w.pause(first!);
  const stoppedAt = w.now;
  const others = NODES.filter((id) => id !== first);
  w.runUntil(() => leaderAmong(others) !== undefined, 2000);
  const second = leaderAmong(others);
  must(second !== undefined, "a re-election", () => "no new leader within 2 s");
  const t2 = view(second!).currentTerm;
  const c4 = `The leader ${first} stops at ${stoppedAt} ms. Its heartbeats stop, the others' election timers run out, and ${second} wins term ${t2}, ${w.now - stoppedAt} ms later. Its log holds x=1: a committed entry is never lost.`;
  must(t2 > t1 && view(second!).log[0]?.command === "x=1", c4, () => `term ${t2} after ${t1}; ${second}'s log ${logOf(second!)}`);
  scene("The leader stops; a new one is elected", c4);

  // 5. A split vote, retried in a new term. The leader stops too; two of
  // the three left hear its last heartbeat at the same moment and wait
  // the same time, so they stand together and split the votes.
  const remaining = others.filter((id) => id !== second) as [NodeId, NodeId, NodeId];
  const [x, y] = remaining;
  for (const id of [x, y]) {
    w.setLinkLatency(second!, id, [5, 6]);
    w.setTiming(id, { electionTimeoutMin: 200, electionTimeoutMax: 201 });
  }
  w.setTiming(remaining[2], { electionTimeoutMin: 400, electionTimeoutMax: 401 });
  w.runFor(120);
  w.pause(second!);
  const split = w.runUntil(() => view(x).role === "candidate" && view(y).role === "candidate", 600);
  const splitTerm = view(x).currentTerm;
  // Their next draws come from the usual range again: the tie will not repeat.
  for (const id of remaining) w.setTiming(id, { electionTimeoutMin: 150, electionTimeoutMax: 300 });
  const c5a = `${second} stops too. ${x} and ${y} heard its last heartbeat at the same moment and wait the same time, so both stand for term ${splitTerm} at ${w.now} ms. Each votes for itself; ${remaining[2]} can give only one vote: nobody has 3 of 5.`;
  must(split && view(y).currentTerm === splitTerm, c5a, () => `${x} ${view(x).role} t${view(x).currentTerm}, ${y} ${view(y).role} t${view(y).currentTerm}`);
  w.runUntil(() => leaderAmong(remaining) !== undefined, 3000);
  const third = leaderAmong(remaining);
  must(third !== undefined, "the split vote is retried", () => "no leader within 3 s of the split");
  const t3 = view(third!).currentTerm;
  const c5 = `${c5a} Election timers run out again, with fresh random timeouts, and ${third} wins term ${t3}: a split vote costs one more round.`;
  must(t3 > splitTerm && !w.traceOf("role").some((e) => e.to === "leader" && e.term === splitTerm), c5, () => `the leader of term ${splitTerm} was ${w.traceOf("role").find((e) => e.to === "leader" && e.term === splitTerm)?.node}`);
  scene("A split vote, retried in a new term", c5);

  // 6. Everyone back; then a partition into two and three.
  w.resume(first!);
  w.resume(second!);
  w.runUntil(() => NODES.every((id) => view(id).currentTerm === t3 && view(id).commitIndex >= 1 && view(id).leaderId === third), 1000);
  must(NODES.every((id) => view(id).leaderId === third), `${first} and ${second} come back and follow ${third}`, () => NODES.map((id) => `${id} follows ${view(id).leaderId}`).join(", "));
  const minority = [third!, NODES.find((id) => id !== third)!] as const;
  const majority = NODES.filter((id) => !minority.includes(id));
  w.partition([...minority], majority);
  const cutAt = w.now;
  w.runUntil(() => leaderAmong(majority) !== undefined, 2000);
  const fourth = leaderAmong(majority);
  must(fourth !== undefined, "a partition", () => "the majority side elected nobody within 2 s");
  const t4 = view(fourth!).currentTerm;
  const c6 = `${first} and ${second} come back and follow ${third}. At ${cutAt} ms the network splits: ${minority.join(" and ")} on one side, ${majority.join(", ")} on the other. ${third} still thinks it leads term ${t3}: nothing told it otherwise. The three others hear no heartbeat, and ${fourth} wins term ${t4} with their votes. Two leaders at once, but of different terms.`;
  must(view(third!).role === "leader" && w.leaders().length === 2 && t4 > t3, c6, () => `leaders: ${w.leaders().map((id) => `${id} t${view(id).currentTerm}`).join(", ")}`);
  scene("A partition: two leaders, of different terms", c6);

  // 7. A write on each side.
  const lost = w.propose(third!, "y=2");
  const kept = w.propose(fourth!, "z=3");
  must(lost.accepted && kept.accepted, "a write on each side", () => `${JSON.stringify(lost)} ${JSON.stringify(kept)}`);
  w.runFor(500);
  const c7 = `A client writes y=2 at ${third}, on the small side, and another writes z=3 at ${fourth}. z=3 reaches a majority and is committed (index ${kept.accepted ? kept.index : "?"}). y=2 reaches only ${minority.join(" and ")}, 2 of 5: it stays uncommitted.`;
  must(
    kept.accepted && majority.every((id) => view(id).commitIndex >= kept.index) && lost.accepted && view(third!).commitIndex < lost.index,
    c7,
    () => NODES.map((id) => `${id} commit ${view(id).commitIndex}`).join(", "),
  );
  scene("A write on each side: only the majority commits", c7);

  // 8. Healing.
  w.heal();
  const healedAt = w.now;
  w.runUntil(() => view(third!).role === "follower" && NODES.every((id) => logOf(id) === logOf(fourth!) && view(id).commitIndex === view(fourth!).log.length), 2000);
  const c8 = `At ${healedAt} ms the network heals. ${third} hears of term ${t4} and steps down. ${fourth}'s log overwrites the uncommitted y=2, and every log is the same: ${logOf(fourth!)}.`;
  must(view(third!).role === "follower" && NODES.every((id) => logOf(id) === logOf(fourth!)) && !view(third!).log.some((e) => e.command === "y=2"), c8, () => NODES.map((id) => `${id} ${logOf(id)}`).join("; "));
  scene("The partition heals; the logs converge", c8);
  return scenes;
}

const ROLE_COLOUR: Record<string, (s: string) => string> = { follower: pc.blue, candidate: pc.yellow, leader: pc.green };

/** A scene as text: the title, the caption, what happened, the logs. */
export function formatScene(scene: Scene, index: number, total: number): string {
  const lines = [pc.bold(`${index + 1}/${total}  ${scene.title}`), "", wrap(scene.caption, 78, "  "), ""];
  for (const e of scene.events.slice(-18)) {
    const who = "node" in e ? e.node : "";
    let text = `${String(e.time).padStart(6)} ms  ${String(who).padEnd(2)} ${describeEvent(e)}`;
    if (e.kind === "role") text = (ROLE_COLOUR[e.to] ?? ((s: string) => s))(text);
    else if (e.kind === "commit") text = pc.cyan(text);
    else if (e.kind === "network" || e.kind === "crash") text = pc.magenta(text);
    lines.push(`  ${text}`);
  }
  if (scene.events.length > 18) lines.splice(4, 0, pc.dim(`  (... ${scene.events.length - 18} earlier events)`));
  lines.push("", ...scene.logs.map((l) => `  ${l}`), "");
  return lines.join("\n");
}

function wrap(text: string, width: number, indent: string): string {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if ((line + " " + word).trim().length > width) {
      out.push(indent + line.trim());
      line = word;
    } else line += ` ${word}`;
  }
  if (line.trim() !== "") out.push(indent + line.trim());
  return out.join("\n");
}

const COMMAND = {
  usage: "npm run demo [-- --seed N] [--slow] [--node FILE]",
  options: {
    seed: { type: "string" as const, value: "N", help: "the seed of the run (default 1): another seed, another run of the same story" },
    slow: { type: "boolean" as const, help: "pause longer between scenes, for reading along" },
    node: { type: "string" as const, value: "FILE", help: "play the story with this node file (a finished Chapter 5 node)" },
  },
};

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length > 0) throw new UsageError(`npm run demo takes no arguments.\n\nUsage: ${COMMAND.usage}`);
  const seed = wholeOption(values.seed, "seed") ?? 1;
  const reference = path.join(PROJECT_ROOT, "solutions", "chapter5-log-replication", "node.ts");
  const own = path.join(PROJECT_ROOT, "chapters", "chapter5-log-replication", "node.ts");
  const needs = "The demo tells Raft's story with a finished Chapter 5 node: elections, heartbeats, and a log that is replicated and committed.";
  if (typeof values.node !== "string" && !existsSync(reference) && !existsSync(own)) {
    throw new UsageError(`${needs} This copy of the workbook has no Chapter 5 yet: your course opens it later. Until then, npm run demo -- --node FILE plays a finished Chapter 5 node you have.`);
  }
  const file = typeof values.node === "string" ? path.resolve(process.cwd(), values.node) : existsSync(reference) ? reference : own;
  const program = loadNodeProgram(file, PROJECT_ROOT);
  let scenes: Scene[];
  try {
    scenes = runWithRealTimeLimit(20_000, () => playDemo(program.instantiate(), seed));
  } catch (error) {
    // Without the reference, the demo plays the learner's Chapter 5 node: say so plainly when it is not finished.
    if (file !== reference && typeof values.node !== "string") {
      // What stopped it, in one line: what the node threw (a step not written yet, most likely), not the world's heading for it.
      const reason = error instanceof NodeFailure ? (error.thrown instanceof Error ? error.thrown.message : String(error.thrown)) : error instanceof Error ? error.message : String(error);
      throw new UsageError(
        `${needs} This copy of the workbook has no reference solution, so it played yours (${program.label}), and the story stopped ` +
          `because ${reason.split("\n")[0]!.replace(/[.:]$/, "")}.\nFinish Chapter 5 (npm run progress says where you are), then run it again.`,
      );
    }
    throw error;
  }
  const pause = values.slow ? 4000 : 400;
  console.log(pc.bold(`Raft in eight scenes, on the simulated world (${program.label}, seed ${seed})\n`));
  for (const [i, s] of scenes.entries()) {
    console.log(formatScene(s, i, scenes.length));
    if (i < scenes.length - 1 && process.stdout.isTTY) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  console.log(pc.dim(`Another run of the same story: npm run demo -- --seed ${seed + 1}. Build it yourself, from Chapter 1: chapters/chapter1-timers-and-roles/README.md`));
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
