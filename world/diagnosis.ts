/**
 * Diagnoses read from a run's trace, for failures that only detect:
 * "no leader within 1 s" says that something is wrong, not what.
 *
 * The election diary tells, term by term, who stood for election and how
 * every voter answered, with the reason a refusal had: the request's term
 * was stale, the voter had already voted (for whom), the candidate's log
 * was behind the voter's, the request or its answer was lost, or the
 * voter refused although none of the rules says so. A learner whose node
 * keeps its vote into a new term sees "had already voted for B in term 8"
 * in term 9, which is where the mistake is.
 *
 * Core code (no Node.js): it runs wherever the world does.
 */
import type { NodeId, RequestVote } from "./contract.ts";
import type { WireMessage } from "./messages.ts";
import { describeMessage } from "./message-text.ts";
import type { TraceEvent } from "./trace.ts";

interface Tracked {
  term: number;
  votedFor: NodeId | null;
  lastLogIndex: number;
  lastLogTerm: number;
  role: string;
}

interface Ask {
  readonly candidate: NodeId;
  readonly voter: NodeId;
  readonly request: RequestVote;
  /** The voter's state when the request arrived (undefined: it never arrived). */
  voterBefore: Tracked | undefined;
  answer: { granted: boolean; lost: boolean } | undefined;
  lost: boolean;
}

interface TermStory {
  readonly term: number;
  readonly stood: { node: NodeId; time: number }[];
  readonly asks: Ask[];
  winner: NodeId | undefined;
}

/** Why a voter refused, from its state when the request arrived. */
function refusalReason(ask: Ask): string {
  const v = ask.voterBefore;
  if (v === undefined) return "never received the request";
  const { request } = ask;
  if (request.term < v.term) return `was already in term ${v.term} (the request's term was stale)`;
  const votedFor = request.term > v.term ? null : v.votedFor;
  if (votedFor !== null && votedFor !== ask.candidate) {
    return votedFor === ask.voter ? `had voted for itself in term ${request.term}` : `had already voted for ${votedFor} in term ${request.term}`;
  }
  const behind = request.lastLogTerm < v.lastLogTerm || (request.lastLogTerm === v.lastLogTerm && request.lastLogIndex < v.lastLogIndex);
  if (behind) {
    return `${ask.candidate}'s log (last entry ${request.lastLogIndex}/term ${request.lastLogTerm}) was behind its own (${v.lastLogIndex}/term ${v.lastLogTerm})`;
  }
  if (v.role !== "follower") return `refused as a ${v.role}, though it had not voted in term ${request.term} and ${ask.candidate}'s log was up to date`;
  return `refused, though it had not voted in term ${request.term} and ${ask.candidate}'s log was up to date`;
}

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/**
 * Per term, who stood and how each voter answered, for the last `maxTerms`
 * terms of the run; "" when nobody stood in the trace.
 */
export function electionDiary(events: readonly TraceEvent[], nodes: readonly NodeId[], maxTerms = 4): string {
  const tracked = new Map<NodeId, Tracked>(nodes.map((id) => [id, { term: 0, votedFor: null, lastLogIndex: 0, lastLogTerm: 0, role: "follower" }]));
  const terms = new Map<number, TermStory>();
  const story = (term: number): TermStory => {
    let s = terms.get(term);
    if (!s) {
      s = { term, stood: [], asks: [], winner: undefined };
      terms.set(term, s);
    }
    return s;
  };
  /** The asks by message id, to match deliveries, drops and replies. */
  const byMessage = new Map<number, Ask>();
  /** The latest ask each voter received from each candidate, to match its reply. */
  const open = new Map<string, Ask>();
  const state = (id: NodeId): Tracked => {
    let t = tracked.get(id);
    if (!t) {
      t = { term: 0, votedFor: null, lastLogIndex: 0, lastLogTerm: 0, role: "follower" };
      tracked.set(id, t);
    }
    return t;
  };
  const isVote = (m: WireMessage): m is RequestVote => m.type === "RequestVote";
  for (const e of events) {
    switch (e.kind) {
      case "boot": {
        const t = state(e.node);
        Object.assign(t, { term: e.term, votedFor: null, lastLogIndex: e.logLength, lastLogTerm: e.lastLogTerm ?? t.lastLogTerm, role: "follower" });
        break;
      }
      case "term":
        state(e.node).term = e.to;
        state(e.node).votedFor = null;
        break;
      case "vote":
        state(e.node).votedFor = e.votedFor;
        // A node that votes for itself stands (a candidate that stands again stays a candidate: no role change).
        if (e.votedFor === e.node) story(e.term).stood.push({ node: e.node, time: e.time });
        break;
      case "log": {
        const t = state(e.node);
        t.lastLogIndex = e.newLength;
        if (e.lastTerm !== undefined) t.lastLogTerm = e.lastTerm;
        break;
      }
      case "role":
        state(e.node).role = e.to;
        if (e.to === "leader") story(e.term).winner ??= e.node;
        break;
      case "send":
        if (isVote(e.message)) {
          const ask: Ask = { candidate: e.from, voter: e.to, request: e.message, voterBefore: undefined, answer: undefined, lost: false };
          story(e.message.term).asks.push(ask);
          byMessage.set(e.messageId, ask);
        } else if (e.message.type === "RequestVoteReply") {
          const ask = open.get(`${e.from}>${e.to}`);
          if (ask && ask.answer === undefined) {
            ask.answer = { granted: e.message.voteGranted, lost: false };
            byMessage.set(e.messageId, ask);
          }
        }
        break;
      case "drop": {
        const ask = byMessage.get(e.messageId);
        if (!ask) break;
        if (e.message.type === "RequestVote") ask.lost = true;
        else if (ask.answer) ask.answer.lost = true;
        break;
      }
      case "deliver": {
        if (!isVote(e.message)) break;
        const ask = byMessage.get(e.messageId);
        if (!ask || ask.voterBefore !== undefined) break;
        // Deliveries come before the state changes they cause: this is the voter's state as the request arrived.
        ask.voterBefore = { ...state(e.to) };
        open.set(`${e.to}>${e.from}`, ask);
        break;
      }
      default:
        break;
    }
  }
  const stories = [...terms.values()].filter((s) => s.stood.length > 0).sort((a, b) => a.term - b.term);
  if (stories.length === 0) return "";
  const shown = stories.slice(-maxTerms);
  const majority = Math.floor(nodes.length / 2) + 1;
  const lines = [
    `Election diary (${shown.length < stories.length ? `the last ${shown.length} of ${stories.length} terms with candidates` : "every term with a candidate"}; a majority is ${majority} of ${nodes.length}):`,
  ];
  for (const s of shown) {
    const parts: string[] = [];
    for (const { node: candidate, time } of s.stood) {
      const asks = s.asks.filter((a) => a.candidate === candidate);
      const yes = asks.filter((a) => a.answer?.granted === true);
      const votes = 1 + new Set(yes.map((a) => a.voter)).size;
      const no = asks.filter((a) => a.answer?.granted === false);
      const silent = asks.filter((a) => a.answer === undefined);
      const bits: string[] = [];
      if (yes.length > 0) bits.push(`yes from ${list([...new Set(yes.map((a) => a.voter + (a.answer?.lost ? " (the answer was lost)" : "")))])}`);
      for (const a of no) bits.push(`no from ${a.voter}: ${refusalReason(a)}`);
      for (const a of silent) bits.push(`no answer from ${a.voter}${a.lost ? " (the request was lost)" : a.voterBefore === undefined ? " (the request did not arrive)" : ""}`);
      const outcome = s.winner === candidate ? "won" : `${votes} of ${nodes.length} votes, ${votes >= majority ? "a majority (but it did not become leader)" : "no majority"}`;
      parts.push(`${candidate} stood at ${time} ms; ${bits.length > 0 ? bits.join("; ") : "it asked nobody"}. ${outcome.charAt(0).toUpperCase()}${outcome.slice(1)}.`);
    }
    lines.push(`  term ${s.term}: ${parts.join(`\n  ${" ".repeat(`term ${s.term}: `.length)}`)}`);
  }
  return lines.join("\n");
}

/** "AppendEntries", "AppendEntriesReply (refused)", "RequestVoteReply (granted)" */
function kindOf(message: WireMessage): string {
  switch (message.type) {
    case "AppendEntriesReply":
      return `AppendEntriesReply (${message.success ? "success" : "refused"})`;
    case "RequestVoteReply":
      return `RequestVoteReply (${message.voteGranted ? "granted" : "refused"})`;
    case "AppendEntries":
      return message.entries.length === 0 ? "AppendEntries (heartbeat)" : "AppendEntries (with entries)";
    default:
      return message.type;
  }
}

export interface RunawayDiagnosis {
  /** What repeats, with whom, how often, and since when. */
  readonly text: string;
  /** When the repeating exchange began (as far as the trace goes back). */
  readonly beganAt: number;
}

/**
 * What a runaway node was repeating: the message it sent most in the last
 * simulated second, to whom, what came back, and when the burst began
 * (walking back while that message went out faster than one per
 * `normalGapMs / 2`).
 */
export function runawayDiagnosis(events: readonly TraceEvent[], node: NodeId, normalGapMs: number): RunawayDiagnosis | undefined {
  const sends = events.filter((e): e is Extract<TraceEvent, { kind: "send" }> => e.kind === "send" && e.from === node);
  const last = sends.at(-1);
  if (!last) return undefined;
  const windowStart = last.time - 1000;
  const counts = new Map<string, number>();
  for (const e of sends) {
    if (e.time < windowStart) continue;
    const key = `${e.to}\u0000${kindOf(e.message)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [topKey, topCount] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
  const [peer, kind] = topKey.split("\u0000") as [NodeId, string];
  const repeated = sends.filter((e) => e.to === peer && kindOf(e.message) === kind);
  let began = repeated.length - 1;
  while (began > 0 && repeated[began]!.time - repeated[began - 1]!.time < normalGapMs / 2) began--;
  const beganAt = repeated[began]!.time;
  const traceStart = events[0]?.time ?? 0;
  const answers = new Map<string, number>();
  for (const e of events) {
    if (e.kind === "send" && e.from === peer && e.to === node && e.time >= beganAt) answers.set(kindOf(e.message), (answers.get(kindOf(e.message)) ?? 0) + 1);
  }
  const answer = [...answers.entries()].sort((a, b) => b[1] - a[1])[0];
  const first = repeated[began]!;
  const since = began === 0 && beganAt <= traceStart + normalGapMs ? `since before ${beganAt} ms (the trace kept begins there)` : `since ${beganAt} ms`;
  const sent = repeated.length - began;
  const text =
    `What repeats: ${node} → ${peer} ${kind}, sent ${sent} times in ${Math.max(1, last.time - beganAt)} ms, ${since}` +
    (answer ? `; ${peer} answered with ${answer[0]} ${answer[1]} times in that while` : "") +
    `. The first of them: ${describeMessage(first.message)}. ` +
    (answer ? `Look at what ${node} does when it receives ${answer[0]}: each one seems to make it send again at once.` : `Look at what makes ${node} send it again and again without waiting for a timer.`);
  return { text, beganAt };
}


/**
 * A run in a few lines, for a replay (the whole timeline is on request):
 * who led in which term and when, crashes and restarts, what the network
 * went through, how far commits got, and how many messages went and were
 * lost.
 */
export function runSummary(trace: readonly TraceEvent[], nodes: readonly NodeId[], atTheEnd?: readonly { readonly node: NodeId; readonly role: string; readonly term: number; readonly commitIndex: number; readonly up: boolean }[]): string {
  const leaders: string[] = [];
  const faults: string[] = [];
  let sent = 0;
  let lost = 0;
  let committed = 0;
  let firstCommit: number | undefined;
  let lastCommit: number | undefined;
  const leading = new Map<NodeId, { term: number; since: number }>();
  const closeLeadership = (node: NodeId, time: number, why: string): void => {
    const open = leading.get(node);
    if (open === undefined) return;
    leading.delete(node);
    leaders.push(`term ${open.term}: ${node}, ${open.since} to ${time} ms (${why})`);
  };
  for (const event of trace) {
    switch (event.kind) {
      case "role":
        if (event.to === "leader") leading.set(event.node, { term: event.term, since: event.time });
        else if (event.from === "leader") closeLeadership(event.node, event.time, `then ${event.to} in term ${event.term}`);
        break;
      case "crash":
        closeLeadership(event.node, event.time, "crashed");
        faults.push(`${event.time} ms: ${event.node} crashed${event.during ? ` (${event.during})` : ""}`);
        break;
      case "boot":
        if (event.restart) faults.push(`${event.time} ms: ${event.node} restarted`);
        break;
      case "network":
        faults.push(`${event.time} ms: ${event.description}`);
        break;
      case "send":
        sent++;
        break;
      case "drop":
        lost++;
        break;
      case "commit":
        if (event.commitIndex > committed) {
          committed = event.commitIndex;
          firstCommit ??= event.time;
          lastCommit = event.time;
        }
        break;
      default:
        break;
    }
  }
  const end = trace.at(-1)?.time ?? 0;
  for (const [node, open] of leading) leaders.push(`term ${open.term}: ${node}, from ${open.since} ms (still leading at ${end} ms)`);
  const lines = [
    `Leaders: ${leaders.length === 0 ? (trace[0] !== undefined && trace[0].time > 0 ? "none elected in the events kept" : "none") : ""}`,
    ...leaders.map((l) => `  ${l}`),
    ...(faults.length > 0 ? ["Crashes, restarts and the network:", ...faults.slice(0, 30).map((f) => `  ${f}`), ...(faults.length > 30 ? [`  … ${faults.length - 30} more`] : [])] : []),
    `Commits: ${committed === 0 ? "none" : `up to index ${committed} (the first at ${firstCommit} ms, the last at ${lastCommit} ms)`}`,
    `Messages: ${sent} sent, ${lost} lost; ${trace.length} events in all among ${nodes.join(", ")}${trace[0] !== undefined && trace[0].time > 0 ? ` (the trace keeps the events from ${trace[0].time} ms on)` : ""}`,
    ...(atTheEnd !== undefined && atTheEnd.length > 0
      ? [`At the end (${end} ms): ${atTheEnd.map((n) => (n.up ? `${n.node} ${n.role} t${n.term}, commit ${n.commitIndex}` : `${n.node} down`)).join("; ")}`]
      : []),
  ];
  return lines.join("\n");
}
