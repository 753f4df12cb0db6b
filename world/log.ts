/**
 * Logs, read one way everywhere.
 *
 * Raft numbers log entries from 1. A node's `log` array holds every entry,
 * index 1 at `log[0]`, until the snapshot chapter: from then on a log may
 * begin after a snapshot (lastIncludedIndex), and only these helpers need
 * to know. Tests and the world's checks read logs through them, never
 * with `log[i - 1]`.
 *
 * The LogMirror is how the world follows a node's log from event to event
 * without trusting or sharing the node's objects: it keeps its own copy of
 * every entry and reports exactly what changed.
 */
import type { LogEntry, PersistentState } from "./contract.ts";
import { checkEntry } from "./messages.ts";

/**
 * Anything with a log: a NodeView, a saved state, a scripted node's idea of
 * one. A log that begins after a snapshot (Chapter 9, the paper's §7) says
 * where: its array then holds the entries from lastIncludedIndex + 1 on,
 * and the entries up to lastIncludedIndex live only in the snapshot.
 */
export interface HasLog {
  readonly log: readonly LogEntry[];
  /** The index of the last entry the snapshot replaces (absent or 0: no snapshot, the array starts at index 1). */
  readonly lastIncludedIndex?: number;
  /** The term of that entry. */
  readonly lastIncludedTerm?: number;
}

/** The last index a snapshot replaces: 0 when the log holds everything from index 1. */
export function snapshotIndex(view: HasLog): number {
  return view.lastIncludedIndex ?? 0;
}

/** The first index the log's array holds (1 without a snapshot). */
export function firstIndex(view: HasLog): number {
  return snapshotIndex(view) + 1;
}

/** The index of the last entry (0 for an empty log; a snapshot's last index when nothing follows it). */
export function lastIndex(view: HasLog): number {
  return snapshotIndex(view) + view.log.length;
}

/** The entry at a Raft index (from 1), or undefined where there is none (past the end, or inside a snapshot). */
export function entryAt(view: HasLog, index: number): LogEntry | undefined {
  const base = snapshotIndex(view);
  return index > base ? view.log[index - base - 1] : undefined;
}

/**
 * The term of the entry at `index`; 0 at index 0 (before the first entry)
 * and where there is no entry. At a snapshot's last index, the snapshot's
 * term (lastIncludedTerm): what a consistency check or an up-to-date
 * comparison needs there. Below it, the terms are gone with the entries.
 */
export function termAt(view: HasLog, index: number): number {
  if (index > 0 && index === snapshotIndex(view)) return view.lastIncludedTerm ?? 0;
  return entryAt(view, index)?.term ?? 0;
}

/** The term of the last entry (0 for an empty log). */
export function lastTerm(view: HasLog): number {
  return termAt(view, lastIndex(view));
}

/** The entries from `index` (from 1) to the end; with a snapshot, from its first entry after it at the earliest. */
export function entriesFrom(view: HasLog, index: number): readonly LogEntry[] {
  return view.log.slice(Math.max(0, index - snapshotIndex(view) - 1));
}

/** The commands the log holds, in log order (after a snapshot, those after it). */
export function commandsOf(view: HasLog): string[] {
  return view.log.map((entry) => entry.command);
}

/**
 * A saved state's log, read with the helpers: its `log` after its
 * snapshot's last index, when it has one (PersistentState names the
 * snapshot's fields inside `snapshot`).
 */
export function savedLog(state: PersistentState): HasLog {
  const snapshot = state.snapshot;
  return snapshot === undefined ? state : { log: state.log, lastIncludedIndex: snapshot.lastIncludedIndex, lastIncludedTerm: snapshot.lastIncludedTerm };
}

/** A log in a few words: [1:a 1:b 2:x]. */
export function showLog(log: readonly LogEntry[]): string {
  let text = "";
  for (const entry of log) text += `${text === "" ? "" : " "}${entry.term}:${entry.command}`;
  return `[${text}]`;
}

export const sameEntry = (a: LogEntry, b: LogEntry): boolean => a.term === b.term && a.command === b.command;

/** How a node's log changed during one event. */
export interface LogChange {
  /** The first Raft index whose entry changed, appeared or disappeared (one past the last index when only the snapshot moved). */
  readonly from: number;
  /** The last index before the change (the log's length, without a snapshot). */
  readonly oldLength: number;
  /** The last index after the change. */
  readonly newLength: number;
  /** The world's copies of the entries that were there before, from `from` on. */
  readonly removed: readonly LogEntry[];
  /** The term of the last entry after the change (0 for an empty log): what a RequestVote compares. */
  readonly lastTerm: number;
  /** The snapshot's last index before and after (Chapter 9); equal when it did not move. */
  readonly oldSnapshotIndex: number;
  readonly newSnapshotIndex: number;
}

/** A node's log reported something that is not a log. */
export class MalformedLog extends Error {}

/**
 * The world's copy of one node's log. `update` compares the node's array
 * with what it held last time: positions that still hold the same entry
 * object cost one comparison each; entries never seen before are checked,
 * copied, and frozen, because the contract's LogEntry is read-only and a
 * frozen entry cannot change behind the world's back (a node that tries
 * gets an error at the line that tried).
 *
 * From Chapter 9 a log may begin after a snapshot: the mirror keeps the
 * entries after it, and when the snapshot moves forward it lets go of the
 * entries the snapshot now replaces, so its cost follows the log the node
 * keeps, not the history of the run.
 */
export class LogMirror implements HasLog {
  /** The node's own entry objects, position by position (after the snapshot), as last seen. */
  private seen: unknown[] = [];
  /** The world's copies, position by position. */
  private copies: LogEntry[] = [];
  private frozenCopy: readonly LogEntry[] | null = null;
  /** The snapshot's last index and term, as last seen (0 and 0: none). */
  lastIncludedIndex = 0;
  lastIncludedTerm = 0;
  /** How the node's own entries are frozen (a sandboxed node's: with its realm's freeze). */
  freeze: (value: unknown) => void = (value) => void Object.freeze(value);

  /** The world's copy of the log as last seen (a snapshot: it never changes afterwards). */
  get log(): readonly LogEntry[] {
    this.frozenCopy ??= Object.freeze(this.copies.slice());
    return this.frozenCopy;
  }

  /** The live copy, for the checker, which reads it right away and never keeps it. */
  get entries(): readonly LogEntry[] {
    return this.copies;
  }

  get length(): number {
    return this.copies.length;
  }

  /** Start over from a log the world already trusts (a boot from disk). */
  reset(): void {
    this.seen = [];
    this.copies = [];
    this.frozenCopy = null;
    this.lastIncludedIndex = 0;
    this.lastIncludedTerm = 0;
  }

  /**
   * Compare the node's log with the last one seen; returns what changed, or
   * undefined. `base` and `baseTerm` are its snapshot's last index and term
   * (0 without one), already checked as whole numbers.
   */
  update(log: unknown, base = 0, baseTerm = 0): LogChange | undefined {
    if (!Array.isArray(log)) throw new MalformedLog(`its log is ${log === null ? "null" : typeof log}, not an array of entries.`);
    const oldBase = this.lastIncludedIndex;
    const oldLast = oldBase + this.copies.length;
    if (base !== oldBase || baseTerm !== this.lastIncludedTerm) return this.rebase(log, base, baseTerm, oldBase, oldLast);
    const seen = this.seen;
    const length = log.length;
    const oldLength = seen.length;
    const shared = length < oldLength ? length : oldLength;
    const i = firstDifference(seen, log, shared);
    if (i === shared && length === oldLength) return undefined;
    // Past the first new object: entries equal in content are not a change.
    const copies = this.copies;
    let from = -1;
    for (let j = i; j < shared; j++) {
      const raw: unknown = log[j];
      if (raw === seen[j]) continue;
      const entry = adopt(raw, j, this.freeze);
      seen[j] = raw;
      if (!sameEntry(entry, copies[j]!)) {
        from = j;
        break;
      }
    }
    if (from === -1) {
      if (length === oldLength) return undefined;
      from = shared;
    }
    const removed = copies.slice(from);
    copies.length = from;
    seen.length = from;
    for (let j = from; j < length; j++) {
      const raw: unknown = log[j];
      copies.push(adopt(raw, j, this.freeze));
      seen.push(raw);
    }
    this.frozenCopy = null;
    return { from: base + from + 1, oldLength: oldLast, newLength: base + length, removed, lastTerm: copies.at(-1)?.term ?? baseTerm, oldSnapshotIndex: base, newSnapshotIndex: base };
  }

  /**
   * The snapshot moved (or a node reported another term for it): the
   * entries it now replaces are let go of, the rest compared as usual.
   * Once per snapshot, so a plain copy of what remains is cheap enough.
   */
  private rebase(log: unknown[], base: number, baseTerm: number, oldBase: number, oldLast: number): LogChange {
    const oldCopies = this.copies;
    const oldSeen = this.seen;
    // Where the old copies hold the entry the new log puts at its position j (when the snapshot moved forward).
    const shift = base - oldBase;
    // The same snapshot index with another term, or a snapshot that went back: nothing before is comparable.
    const comparable = shift > 0 || (shift === 0 && baseTerm === this.lastIncludedTerm);
    const copies: LogEntry[] = [];
    const seen: unknown[] = [];
    let from = -1;
    for (let j = 0; j < log.length; j++) {
      const raw: unknown = log[j];
      const old = shift + j;
      const before = comparable && old < oldCopies.length ? oldCopies[old] : undefined;
      // The same object as before needs no second check.
      const entry = before !== undefined && oldSeen[old] === raw ? before : adopt(raw, j, this.freeze);
      copies.push(entry);
      seen.push(raw);
      if (from === -1 && (before === undefined || !sameEntry(before, entry))) from = j;
    }
    const newLast = base + log.length;
    // One past the end when every entry the new log holds is the one held before (entries past it may be gone).
    const first = !comparable ? base + 1 : from === -1 ? newLast + 1 : base + from + 1;
    const removed = first <= oldLast ? oldCopies.slice(Math.max(0, first - oldBase - 1)) : [];
    this.copies = copies;
    this.seen = seen;
    this.frozenCopy = null;
    this.lastIncludedIndex = base;
    this.lastIncludedTerm = baseTerm;
    return { from: first, oldLength: oldLast, newLength: newLast, removed, lastTerm: copies.at(-1)?.term ?? baseTerm, oldSnapshotIndex: oldBase, newSnapshotIndex: base };
  }
}

/**
 * The first position below `end` where the two arrays hold different
 * objects (`end` when none does). The world runs this over every node's
 * whole log after every event, so it compares eight positions a turn:
 * about twice as fast as one at a time.
 */
export function firstDifference(seen: readonly unknown[], log: readonly unknown[], end: number): number {
  let i = 0;
  for (; i + 8 <= end; i += 8) {
    if (
      seen[i] !== log[i] ||
      seen[i + 1] !== log[i + 1] ||
      seen[i + 2] !== log[i + 2] ||
      seen[i + 3] !== log[i + 3] ||
      seen[i + 4] !== log[i + 4] ||
      seen[i + 5] !== log[i + 5] ||
      seen[i + 6] !== log[i + 6] ||
      seen[i + 7] !== log[i + 7]
    ) {
      break;
    }
  }
  while (i < end && seen[i] === log[i]) i++;
  return i;
}

/** Check a node's entry, freeze it, and return the world's copy. */
function adopt(raw: unknown, position: number, freeze: (value: unknown) => void): LogEntry {
  let entry: LogEntry;
  try {
    entry = checkEntry(raw, "log", position);
  } catch (error) {
    throw new MalformedLog(`its ${error instanceof Error ? error.message : String(error)}`);
  }
  freeze(raw);
  return entry;
}
