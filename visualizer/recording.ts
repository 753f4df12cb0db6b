/**
 * A test's run, recorded frame by frame for the page: `npm run replay --
 * chapterN --seed N --test "name" --visualize` plays the one failing test
 * with one seed, the harness records every world the test makes
 * (tests/harness/graded.ts), and the page opens the last one at the moment
 * of failure, the failure beside the picture.
 *
 * A test drives its world with code of its own (crashes, partitions,
 * scripted messages at chosen moments), so its run cannot be replayed from
 * a RunDescription as a live run is: the page plays the recorded frames.
 */
import type { World } from "../world/world.ts";
import { callsIn, FrameRecorder, RECENT_EVENTS, type CallFrame, type Frame, type HistoryVerdict, type MessageFrame, type NodeFrame, type RecentEvent } from "./cluster-frames.ts";

export interface Recording {
  readonly testName: string;
  readonly chapter: number;
  readonly seed: number;
  /** The failure as the terminal reported it, when the test failed. */
  readonly failure?: string;
  /** One frame after every step of a node and every event of the world that changed something (the first ones left out in a long run: see firstEvent). */
  readonly frames: readonly Frame[];
  /** The number of the event the first kept frame follows (0 when none were left out). */
  readonly firstEvent: number;
  /** How many worlds the test made; the recording is of the last. */
  readonly worlds: number;
  /** Chapter 8 on: every call the clients made in that world (the page draws those made by each frame's time). */
  readonly calls?: readonly CallFrame[];
  /** Chapter 8 on: the test's history check, when it failed: which calls cannot be ordered, in words and as a picture. */
  readonly history?: HistoryVerdict;
}

/** The most frames a recording keeps: the last ones, where a failure is. */
export const MOST_FRAMES = 20_000;

/** Records the frames of every world a test makes; the last world's are kept. */
export class TestRecorder {
  private frames: Frame[] = [];
  private dropped = 0;
  private worlds = 0;
  private current: World | undefined;
  private recorder: FrameRecorder | undefined;
  private events = 0;
  /** How much of the trace the last frame had read (what happened outside events, such as a test's own sends, comes after). */
  private readAtLastFrame = 0;

  /** Follow `world` from now on (a test's newest world replaces the one before). */
  watch(world: World): void {
    this.worlds++;
    this.current = world;
    this.frames = [];
    this.dropped = 0;
    this.events = 0;
    const recorder = new FrameRecorder(world);
    this.recorder = recorder;
    this.frames.push(recorder.frame(0));
    this.readAtLastFrame = recorder.eventsRead;
    // A frame after every node step, as well as after every event: a test also hands messages to a node
    // directly (a scripted peer's send), outside any event; a frame that would show nothing new is not kept.
    const capture = (): void => {
      if (world !== this.current) return;
      recorder.follow();
      if (recorder.eventsRead === this.readAtLastFrame) return;
      this.keep(recorder.frame(this.events));
      this.readAtLastFrame = recorder.eventsRead;
    };
    world.afterEveryStep(capture);
    world.afterEveryEvent(() => {
      if (world !== this.current) return;
      this.events++;
      capture();
    });
  }

  private keep(frame: Frame): void {
    this.frames.push(frame);
    if (this.frames.length > MOST_FRAMES * 1.5) {
      const extra = this.frames.length - MOST_FRAMES;
      this.frames.splice(0, extra);
      this.dropped += extra;
    }
  }

  private history: HistoryVerdict | undefined;

  /** The test found its clients' history cannot be ordered: the recording shows why (tests/harness/clients.ts tells). */
  historyFailed(history: HistoryVerdict): void {
    this.history = history;
  }

  /** The recording, with the failure the test ended with (if it failed). */
  recording(testName: string, chapter: number, seed: number, failure: string | undefined): Recording {
    let frames = this.frames;
    let dropped = this.dropped;
    // A failure thrown from inside an event leaves that event without a frame: one more shows the world as it
    // stopped. A test that failed after its run (a check of the end state) has nothing new: its last frame says so.
    if (this.recorder !== undefined && frames.length > 0) {
      const read = this.recorder.eventsRead;
      const last = this.recorder.frame(this.events, failure);
      frames = this.recorder.eventsRead > read || this.readAtLastFrame < read ? [...frames, { ...last, events: this.events + 1 }] : [...frames.slice(0, -1), last];
    }
    if (frames.length > MOST_FRAMES) {
      dropped += frames.length - MOST_FRAMES;
      frames = frames.slice(frames.length - MOST_FRAMES);
    }
    const calls = this.current === undefined ? [] : callsIn(this.current);
    return {
      testName,
      chapter,
      seed,
      ...(failure === undefined ? {} : { failure }),
      frames,
      firstEvent: dropped,
      worlds: this.worlds,
      ...(calls.length > 0 ? { calls } : {}),
      ...(this.history === undefined ? {} : { history: this.history }),
    };
  }
}

/**
 * A frame as a recording's file holds it: what changed since the frame
 * before. A node the event left alone is null, and a log that did not
 * change is null too; the messages on their way are ids into one table
 * (a message never changes); the recent events are only the ones added.
 * A minute-long test's 20 000 frames fit in a few megabytes this way.
 */
interface CompactFrame extends Omit<Frame, "nodes" | "messages" | "recent"> {
  readonly nodes: readonly (CompactNode | null)[];
  readonly messageIds: readonly number[];
  readonly recentAdded: readonly RecentEvent[];
}
type CompactNode = Omit<NodeFrame, "log"> & { readonly log: NodeFrame["log"] | null };

/** A recording as a file holds it (see CompactFrame). */
export interface CompactRecording extends Omit<Recording, "frames"> {
  readonly frames: readonly CompactFrame[];
  readonly messages: readonly MessageFrame[];
}

function sameLog(a: NodeFrame["log"], b: NodeFrame["log"]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.term !== b[i]!.term || a[i]!.command !== b[i]!.command) return false;
  return true;
}

const sameEvent = (a: RecentEvent, b: RecentEvent): boolean => a.time === b.time && a.node === b.node && a.text === b.text;

/** The events of `after` that `before` did not end with (the recent list is a sliding window). */
function added(before: readonly RecentEvent[], after: readonly RecentEvent[]): readonly RecentEvent[] {
  for (let kept = Math.min(before.length, after.length); kept > 0; kept--) {
    let same = true;
    for (let i = 0; i < kept && same; i++) same = sameEvent(before[before.length - kept + i]!, after[i]!);
    if (same) return after.slice(kept);
  }
  return after;
}

export function compactRecording(recording: Recording): CompactRecording {
  const messages = new Map<number, MessageFrame>();
  const frames = recording.frames.map((frame, i): CompactFrame => {
    const before = i > 0 ? recording.frames[i - 1] : undefined;
    for (const m of frame.messages) messages.set(m.id, m);
    const { nodes, messages: inFlight, recent, ...rest } = frame;
    return {
      ...rest,
      nodes: nodes.map((node, n) => {
        const earlier = before?.nodes[n];
        if (earlier === undefined || earlier.id !== node.id) return node;
        const log = earlier.snapshotIndex === node.snapshotIndex && sameLog(earlier.log, node.log) ? null : node.log;
        const compact: CompactNode = { ...node, log };
        return log === null && JSON.stringify({ ...earlier, log: null }) === JSON.stringify(compact) ? null : compact;
      }),
      messageIds: inFlight.map((m) => m.id),
      recentAdded: before === undefined ? recent : added(before.recent, recent),
    };
  });
  return { ...recording, frames, messages: [...messages.values()] };
}

/** Back to whole frames; what did not change is the same object as in the frame before (no copy). */
export function expandRecording(compact: CompactRecording): Recording {
  const messages = new Map(compact.messages.map((m) => [m.id, m]));
  const frames: Frame[] = [];
  for (const frame of compact.frames) {
    const before = frames.at(-1);
    const { nodes, messageIds, recentAdded, ...rest } = frame;
    frames.push({
      ...rest,
      nodes: nodes.map((node, n) => {
        const earlier = before?.nodes[n];
        if (node === null) return earlier!;
        return { ...node, log: node.log ?? earlier?.log ?? [] };
      }),
      messages: messageIds.map((id) => messages.get(id)!),
      recent: [...(before?.recent ?? []), ...recentAdded].slice(-RECENT_EVENTS),
    });
  }
  const { messages: _table, ...rest } = compact;
  return { ...rest, frames };
}
