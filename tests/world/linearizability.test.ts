// The linearizability checker (world/linearizability.ts): published Jepsen and Porcupine histories with known verdicts, and hand-made ones.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  checkLinearizability,
  decidingPart,
  describeVerdict,
  historySvg,
  keyValueModel,
  parseJepsenKeyValueLog,
  parseJepsenRegisterLog,
  registerModel,
  type KvInput,
  type KvOutput,
  type Operation,
} from "../../world/linearizability.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");

describe("published histories", () => {
  test("every one of Porcupine's 102 Jepsen etcd histories gets its known verdict", () => {
    const dir = path.join(FIXTURES, "porcupine-jepsen");
    const verdicts = JSON.parse(readFileSync(path.join(dir, "verdicts.json"), "utf8")) as Record<string, string>;
    const logs = readdirSync(dir).filter((f) => f.endsWith(".log"));
    expect(logs.length).toBe(102);
    expect(Object.keys(verdicts).sort()).toEqual(logs.sort());
    const wrong = logs.filter((log) => checkLinearizability(registerModel, parseJepsenRegisterLog(readFileSync(path.join(dir, log), "utf8"))).verdict !== verdicts[log]);
    expect(wrong).toEqual([]);
    expect(Object.values(verdicts).filter((v) => v === "linearizable").length).toBe(23);
  });

  test("Porcupine's key-value histories: each -ok is linearizable and each -bad is not, split by key", () => {
    for (const name of ["c01", "c10", "c50"]) {
      for (const [suffix, verdict] of [["ok", "linearizable"], ["bad", "not linearizable"]] as const) {
        const history = parseJepsenKeyValueLog(readFileSync(path.join(FIXTURES, "porcupine-kv", `${name}-${suffix}.txt`), "utf8"));
        expect(history.length).toBeGreaterThan(30);
        expect(checkLinearizability(keyValueModel, history).verdict, `${name}-${suffix}`).toBe(verdict);
      }
    }
  });
});

/** A hand-made history: [client, operation, call, return, what a get saw]. */
function kv(...ops: [client: number, op: string, call: number, ret: number, seen?: string][]): Operation<KvInput, KvOutput>[] {
  return ops.map(([client, text, call, ret, seen]) => {
    const [op, key, value] = text.split(" ") as ["get" | "put" | "append", string, string];
    const input: KvInput = op === "get" ? { op, key } : { op, key, value };
    return { client, input, output: op === "get" ? { value: seen ?? "" } : {}, call, return: ret };
  });
}

describe("hand-made histories", () => {
  test("a stale read: a get after a put has returned sees the value before it", () => {
    const history = kv([1, "put x 1", 0, 10], [2, "put x 2", 20, 30], [3, "get x", 40, 50, "1"]);
    const result = checkLinearizability(keyValueModel, history);
    expect(result.verdict).toBe("not linearizable");
    const part = decidingPart(result)!;
    expect(part.name).toBe("x");
    expect(part.unplaceable).toBe(2);
    expect(part.longestPrefix).toEqual([0, 1]);
  });

  test("a lost update: two appends both acknowledged, a later get sees only one", () => {
    const history = kv([1, "append x a", 0, 10], [2, "append x b", 5, 15], [3, "get x", 20, 30, "b"]);
    expect(checkLinearizability(keyValueModel, history).verdict).toBe("not linearizable");
  });

  test("a get that sees a value nobody wrote", () => {
    expect(checkLinearizability(keyValueModel, kv([1, "put x 1", 0, 10], [2, "get x", 20, 30, "7"])).verdict).toBe("not linearizable");
  });

  test("a read that goes back in time: once a get has seen the new value, a later get may not see the old one", () => {
    const history = kv([1, "put x 1", 0, 10], [2, "put x 2", 20, 100], [3, "get x", 30, 40, "2"], [4, "get x", 50, 60, "1"]);
    expect(checkLinearizability(keyValueModel, history).verdict).toBe("not linearizable");
  });

  test("overlapping operations may take effect in either order", () => {
    expect(checkLinearizability(keyValueModel, kv([1, "append x a", 0, 20], [2, "append x b", 5, 25], [3, "get x", 30, 40, "ba"])).verdict).toBe("linearizable");
    expect(checkLinearizability(keyValueModel, kv([1, "append x a", 0, 20], [2, "append x b", 5, 25], [3, "get x", 30, 40, "ab"])).verdict).toBe("linearizable");
  });

  test("a get during a put may see the old value or the new one", () => {
    for (const seen of ["1", "2"]) {
      expect(checkLinearizability(keyValueModel, kv([1, "put x 1", 0, 10], [2, "put x 2", 20, 40], [3, "get x", 25, 35, seen])).verdict).toBe("linearizable");
    }
  });

  test("an operation whose answer never came may have taken effect, or not", () => {
    const lost = { client: 1, input: { op: "put", key: "x", value: "1" } as const, output: {}, call: 0, return: Infinity };
    expect(checkLinearizability(keyValueModel, [lost, ...kv([2, "get x", 10, 20, "1"])]).verdict).toBe("linearizable");
    expect(checkLinearizability(keyValueModel, [lost, ...kv([2, "get x", 10, 20, ""])]).verdict).toBe("linearizable");
  });

  test("keys are judged apart: a bad key among good ones is named, the others not blamed", () => {
    const history = kv([1, "put a 1", 0, 10], [2, "get a", 20, 30, "1"], [1, "put b 1", 40, 50], [2, "put b 2", 60, 70], [3, "get b", 80, 90, "1"]);
    const result = checkLinearizability(keyValueModel, history);
    expect(result.verdict).toBe("not linearizable");
    expect(result.parts.map((p) => [p.name, p.verdict])).toEqual([
      ["a", "linearizable"],
      ["b", "not linearizable"],
    ]);
  });
});

/**
 * A history that is linearizable by construction: operations applied one
 * by one to a real map, each at an instant, and each given a call before
 * and a return after its instant (so they overlap at random).
 */
const linearizableHistory = fc
  .array(
    fc.record({
      client: fc.integer({ min: 1, max: 4 }),
      op: fc.constantFrom("get", "put", "append"),
      key: fc.constantFrom("x", "y"),
      value: fc.constantFrom("a", "b", "c"),
      before: fc.integer({ min: 0, max: 30 }),
      after: fc.integer({ min: 0, max: 30 }),
    }),
    { minLength: 1, maxLength: 24 },
  )
  .map((steps) => {
    const map = new Map<string, string>();
    const busyUntil = new Map<number, number>();
    const history: Operation<KvInput, KvOutput>[] = [];
    steps.forEach((s, i) => {
      const at = i * 10 + 5;
      // One client calls one operation at a time: its next call comes after its last return.
      const call = Math.max(at - s.before, (busyUntil.get(s.client) ?? -1) + 1);
      if (call > at) return;
      const ret = at + s.after;
      busyUntil.set(s.client, ret);
      const now = map.get(s.key) ?? "";
      if (s.op === "get") history.push({ client: s.client, input: { op: "get", key: s.key }, output: { value: now }, call, return: ret });
      else {
        map.set(s.key, s.op === "put" ? s.value : now + s.value);
        history.push({ client: s.client, input: { op: s.op, key: s.key, value: s.value }, output: {}, call, return: ret });
      }
    });
    return history;
  });

describe("histories made at random (fast-check)", () => {
  test("a history made by applying operations one at a time is always linearizable", () => {
    fc.assert(
      fc.property(linearizableHistory, (history) => {
        expect(checkLinearizability(keyValueModel, history).verdict).toBe("linearizable");
      }),
      { numRuns: 300, seed: 8 },
    );
  });

  test("one get that saw a value nobody ever wrote makes it not linearizable, is never in the order that fits, and an operation that cannot be placed is named", () => {
    fc.assert(
      fc.property(linearizableHistory, fc.nat(), (history, pick) => {
        const gets = history.map((o, i) => ({ o, i })).filter(({ o }) => o.input.op === "get");
        fc.pre(gets.length > 0);
        const { i } = gets[pick % gets.length]!;
        const broken = history.map((o, j) => (j === i ? { ...o, output: { value: "never written" } } : o));
        const result = checkLinearizability(keyValueModel, broken);
        expect(result.verdict).toBe("not linearizable");
        const part = decidingPart(result)!;
        expect(part.unplaceable).toBeDefined();
        expect(part.longestPrefix.map((k) => part.operations[k])).not.toContain(broken[i]);
      }),
      { numRuns: 300, seed: 9 },
    );
  });
});

describe("a budget, not a guess", () => {
  test("when the search runs out of steps the verdict is unknown, and says so", () => {
    const history = parseJepsenRegisterLog(readFileSync(path.join(FIXTURES, "porcupine-jepsen", "etcd_002.log"), "utf8"));
    const result = checkLinearizability(registerModel, history, { budget: 1000 });
    expect(result.verdict).toBe("unknown");
    expect(result.steps).toBeLessThanOrEqual(1001);
    expect(describeVerdict(registerModel, decidingPart(result)!)).toMatch(/unknown\. The checker's budget ran out .* it does not guess/);
  });
});

describe("pictures", () => {
  const history = kv([1, "put x 1", 0, 10], [2, "put x 2", 20, 30], [3, "get x", 40, 50, "1"]);
  const part = decidingPart(checkLinearizability(keyValueModel, history))!;

  test("in text: the longest order that fits, then the operation that cannot follow it", () => {
    const text = describeVerdict(keyValueModel, part);
    expect(text).toContain('key "x": not linearizable');
    expect(text).toContain('client 1: put(x, "1"), called at 0, answered at 10 ms');
    expect(text).toContain('Cannot be placed after it: client 3: get(x) → "1", called at 40, answered at 50 ms.');
  });

  test("as SVG: a row per client, the fitting order numbered in green, the operation that cannot be placed in red", () => {
    const svg = historySvg(keyValueModel, part);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("client 1</text>");
    expect(svg).toContain("client 3</text>");
    expect(svg).toContain('fill="#e76f51"');
    expect(svg).toContain("1. put(x, &quot;1&quot;)");
    expect((svg.match(/fill="#b7e4c7"/g) ?? []).length).toBe(2);
  });
});
