/**
 * How a message is written: one notation for failures, replays and
 * diagrams (the contract's names), and its short form for the timeline's
 * narrow columns, with the legend that spells the short forms out.
 */
import type { AppendEntriesReply } from "./contract.ts";
import type { WireMessage } from "./messages.ts";

/** A long value cut short for a line of text. */
function shorten(text: string, most = 24): string {
  return text.length <= most ? text : `${text.slice(0, most - 1)}…`;
}

/** ", conflict at 4 (term 2)": a refusal's hint, when it gives one (Chapter 7). */
function conflictText(message: AppendEntriesReply): string {
  if (message.conflictIndex === undefined && message.conflictTerm === undefined) return "";
  return `, conflict at ${message.conflictIndex ?? "?"}${message.conflictTerm === undefined ? " (log too short)" : ` (term ${message.conflictTerm})`}`;
}

/**
 * A message in a few words and the contract's names, as failures, replays
 * and diagrams all write it: `RequestVote(term 4, last log 0/0)`,
 * `AppendEntriesReply(term 4, refused, last 5, conflict at 3 (term 2))`.
 * The timeline's narrow columns shorten it (see timelineLegend).
 */
export function describeMessage(message: WireMessage): string {
  switch (message.type) {
    case "ClientRequest":
      return `ClientRequest(${message.clientId} #${message.sequence}, ${message.operation === "get" ? `get ${JSON.stringify(message.key)}` : `${message.operation} ${JSON.stringify(message.key)} ${JSON.stringify(message.value)}`})`;
    case "ClientReply":
      return message.success
        ? `ClientReply(#${message.sequence}, success${message.value === "" ? "" : `, value ${JSON.stringify(shorten(message.value))}`})`
        : `ClientReply(#${message.sequence}, refused, leader ${message.leaderId ?? "unknown"})`;
    case "RequestVote":
      return `RequestVote(term ${message.term}, last log ${message.lastLogIndex}/${message.lastLogTerm})`;
    case "RequestVoteReply":
      return `RequestVoteReply(term ${message.term}, ${message.voteGranted ? "granted" : "refused"})`;
    case "AppendEntries": {
      const what = message.entries.length === 0 ? "heartbeat" : `${message.entries.length} entr${message.entries.length === 1 ? "y" : "ies"}`;
      return `AppendEntries(term ${message.term}, ${what}, prev ${message.prevLogIndex}/${message.prevLogTerm}, commit ${message.leaderCommit})`;
    }
    case "InstallSnapshot":
      return `InstallSnapshot(term ${message.term}, through ${message.lastIncludedIndex}/${message.lastIncludedTerm}, ${message.data.length} chars)`;
    case "InstallSnapshotReply":
      return `InstallSnapshotReply(term ${message.term}, match ${message.matchIndex})`;
    case "AppendEntriesReply":
      return message.success
        ? `AppendEntriesReply(term ${message.term}, success, match ${message.matchIndex})`
        : `AppendEntriesReply(term ${message.term}, refused, last ${message.lastLogIndex}${conflictText(message)})`;
  }
}

/** A message in a few characters, for the timeline's narrow columns (see timelineLegend). */
export function shortMessage(message: WireMessage): string {
  switch (message.type) {
    case "ClientRequest":
      return `CR #${message.sequence} ${message.operation} ${shorten(message.key, 6)}`;
    case "ClientReply":
      return message.success ? `ans #${message.sequence} ok` : `ans #${message.sequence} no ${message.leaderId ?? "?"}`;
    case "RequestVote":
      return `RV t${message.term} l${message.lastLogIndex}/${message.lastLogTerm}`;
    case "RequestVoteReply":
      return `vote t${message.term} ${message.voteGranted ? "yes" : "no"}`;
    case "AppendEntries":
      return `AE t${message.term} p${message.prevLogIndex}/${message.prevLogTerm}${message.entries.length > 0 ? ` +${message.entries.length}` : ""} c${message.leaderCommit}`;
    case "InstallSnapshot":
      return `IS t${message.term} s${message.lastIncludedIndex}/${message.lastIncludedTerm}`;
    case "InstallSnapshotReply":
      return `snap t${message.term} m${message.matchIndex}`;
    case "AppendEntriesReply":
      // "h" for the hint: "c" is leaderCommit's letter, and one letter means one thing.
      return message.success ? `ok t${message.term} m${message.matchIndex}` : `no t${message.term} l${message.lastLogIndex}${message.conflictIndex === undefined ? "" : ` h${message.conflictIndex}${message.conflictTerm === undefined ? "" : `/${message.conflictTerm}`}`}`;
  }
}

/**
 * What the timeline's short forms mean: the same messages as the failure
 * texts and diagrams write out in the contract's words, each letter with
 * one meaning (t term, l last log index/term, p prevLogIndex/prevLogTerm,
 * c leaderCommit, m matchIndex, h the conflict hint).
 */
export function timelineLegend(types: ReadonlySet<WireMessage["type"]>): string {
  if (types.size === 0) return "";
  const parts: string[] = [];
  if (types.has("RequestVote")) parts.push("RV t2 l3/1: RequestVote(term 2, last log 3/1).");
  if (types.has("RequestVoteReply")) parts.push("vote t2 yes|no: RequestVoteReply(term 2, granted|refused).");
  if (types.has("AppendEntries")) parts.push("AE t2 p3/1 +2 c1: AppendEntries(term 2, 2 entries (none: a heartbeat), prev 3/1, commit 1).");
  if (types.has("AppendEntriesReply")) {
    parts.push("ok t2 m5: AppendEntriesReply(term 2, success, match 5).", "no t2 l3 h2/1: AppendEntriesReply(term 2, refused, last 3, conflict at 2 (term 1)): conflictIndex/conflictTerm.");
  }
  if (types.has("InstallSnapshot")) parts.push("IS t2 s40/1: InstallSnapshot(term 2, through 40/1): a snapshot replacing entries up to index 40 (term 1).");
  if (types.has("InstallSnapshotReply")) parts.push("snap t2 m40: InstallSnapshotReply(term 2, match 40).");
  if (types.has("ClientRequest")) parts.push('CR #3 put k: ClientRequest(c1 #3, put "k" …) (a client\'s request, number 3).');
  if (types.has("ClientReply")) parts.push("ans #3 ok|no B: ClientReply(#3, success|refused, leader B).");
  // Two short forms a line, after the arrows: the legend of the messages this timeline has, and no other.
  const lines = ["→X sent to X, ←X received from X; messages as the failures write them, shortened."];
  for (let k = 0; k < parts.length; k += 2) lines.push(parts.slice(k, k + 2).join("  "));
  return lines.join("\n");
}
