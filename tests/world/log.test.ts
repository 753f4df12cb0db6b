/**
 * The log helpers of world/log.ts: every read of a log by Raft index goes
 * through them, so that a log that begins after a snapshot (Chapter 9)
 * reads right everywhere the moment nodes start taking snapshots.
 */
import { describe, expect, test } from "vitest";
import type { LogEntry } from "../../world/contract.ts";
import { commandsOf, entriesFrom, entryAt, firstIndex, lastIndex, lastTerm, LogMirror, snapshotIndex, termAt, type HasLog } from "../../world/log.ts";

const entries = (spec: string): LogEntry[] =>
  spec
    .split(" ")
    .filter((s) => s !== "")
    .map((s) => {
      const [term, command] = s.split(":");
      return { term: Number(term), command: command! };
    });

describe("a whole log, index 1 at log[0]", () => {
  const view: HasLog = { log: entries("1:a 1:b 2:c") };

  test("indexes from 1, with 0 before the first entry", () => {
    expect([snapshotIndex(view), firstIndex(view), lastIndex(view), lastTerm(view)]).toEqual([0, 1, 3, 2]);
    expect(entryAt(view, 1)).toEqual({ term: 1, command: "a" });
    expect([entryAt(view, 0), entryAt(view, 4)]).toEqual([undefined, undefined]);
    expect([termAt(view, 0), termAt(view, 2), termAt(view, 3), termAt(view, 4)]).toEqual([0, 1, 2, 0]);
    expect(entriesFrom(view, 2).map((e) => e.command)).toEqual(["b", "c"]);
    expect(entriesFrom(view, 0).map((e) => e.command)).toEqual(["a", "b", "c"]);
    expect(commandsOf(view)).toEqual(["a", "b", "c"]);
  });

  test("an empty log", () => {
    const empty: HasLog = { log: [] };
    expect([lastIndex(empty), lastTerm(empty), termAt(empty, 0), entriesFrom(empty, 1).length]).toEqual([0, 0, 0, 0]);
  });
});

describe("a log that begins after a snapshot", () => {
  // Entries 1 to 5 are in the snapshot (the 5th of term 2); the array holds 6 and 7.
  const view: HasLog = { log: entries("3:f 3:g"), lastIncludedIndex: 5, lastIncludedTerm: 2 };

  test("the array's first entry is the one after the snapshot", () => {
    expect([snapshotIndex(view), firstIndex(view), lastIndex(view), lastTerm(view)]).toEqual([5, 6, 7, 3]);
    expect(entryAt(view, 6)).toEqual({ term: 3, command: "f" });
    expect(entryAt(view, 7)).toEqual({ term: 3, command: "g" });
  });

  test("entries inside the snapshot are gone; the term at its last index is the snapshot's", () => {
    expect([entryAt(view, 5), entryAt(view, 1), entryAt(view, 0)]).toEqual([undefined, undefined, undefined]);
    expect([termAt(view, 5), termAt(view, 4), termAt(view, 0), termAt(view, 8)]).toEqual([2, 0, 0, 0]);
  });

  test("entries from an index read from the first one held", () => {
    expect(entriesFrom(view, 7).map((e) => e.command)).toEqual(["g"]);
    expect(entriesFrom(view, 6).map((e) => e.command)).toEqual(["f", "g"]);
    expect(entriesFrom(view, 2).map((e) => e.command)).toEqual(["f", "g"]);
    expect(commandsOf(view)).toEqual(["f", "g"]);
  });

  test("a snapshot with nothing after it: the log ends where the snapshot does", () => {
    const bare: HasLog = { log: [], lastIncludedIndex: 5, lastIncludedTerm: 2 };
    expect([lastIndex(bare), lastTerm(bare), firstIndex(bare), entriesFrom(bare, 6).length]).toEqual([5, 2, 6, 0]);
  });
});

describe("the world's mirror of a log whose snapshot moves", () => {
  const entries = (n: number, term = 1): LogEntry[] => Array.from({ length: n }, (_, i) => ({ term, command: `x${i + 1}` }));

  test("a snapshot that moves forward lets go of the entries it replaces and reports no entry changed", () => {
    const mirror = new LogMirror();
    const log = entries(10);
    mirror.update(log);
    const change = mirror.update(log.slice(6), 6, 1);
    expect(change).toMatchObject({ from: 11, oldLength: 10, newLength: 10, removed: [], oldSnapshotIndex: 0, newSnapshotIndex: 6 });
    expect(mirror.entries).toHaveLength(4);
    expect(entryAt(mirror, 7)).toEqual({ term: 1, command: "x7" });
    expect(termAt(mirror, 6)).toBe(1);
    expect(mirror.update(log.slice(6), 6, 1)).toBeUndefined();
  });

  test("entries appended after a snapshot are reported from their own index", () => {
    const mirror = new LogMirror();
    const log = entries(5);
    mirror.update(log.slice(3), 3, 1);
    const change = mirror.update([...log.slice(3), { term: 2, command: "y" }], 3, 1);
    expect(change).toMatchObject({ from: 6, oldLength: 5, newLength: 6, lastTerm: 2 });
  });

  test("a snapshot installed past the end of a log replaces it: everything after the snapshot is new", () => {
    const mirror = new LogMirror();
    mirror.update(entries(3));
    const change = mirror.update([], 20, 4);
    expect(change).toMatchObject({ from: 21, oldLength: 3, newLength: 20, lastTerm: 4, newSnapshotIndex: 20 });
    expect(lastIndex(mirror)).toBe(20);
  });

  test("a snapshot that goes back, or another term at the same index, leaves nothing comparable", () => {
    const mirror = new LogMirror();
    const log = entries(10);
    mirror.update(log.slice(6), 6, 1);
    expect(mirror.update(log.slice(2), 2, 1)).toMatchObject({ from: 3, oldSnapshotIndex: 6, newSnapshotIndex: 2 });
    expect(mirror.update(log.slice(2), 2, 3)).toMatchObject({ from: 3 });
  });
});
