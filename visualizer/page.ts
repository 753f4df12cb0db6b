/**
 * "Watch your own node": the page. Five servers on a ring running the
 * learner's node in the simulated world, animated in simulated time, with
 * the picture of RaftScope (raft.github.io) and the buttons to break
 * things. The world never runs here: a Web Worker runs it
 * (visualizer/run-worker.ts), so node code that never returns stops only
 * that worker, which the page ends after the terminal's time limit and
 * replaces (the watchdog below).
 *
 * A live run is a RunDescription (chapter, seed, actions pinned to event
 * counts); the address's fragment holds it, so the address is the link
 * that replays the run. A replayed test's run (config.recording) is a list
 * of frames the page plays instead, opened at the moment of failure.
 */
import config from "virtual:raft-page-config";
import type { ClientCall, ClientId, KeyValueOperation, NodeId } from "../world/contract.ts";
import { didNotReturnText } from "../world/node-host.ts";
import {
  decodeRun,
  encodeRun,
  PAGE_CLIENTS,
  PAGE_NODES,
  UNRELIABLE_NETWORK,
  type Action,
  type ActionKind,
  type CallFrame,
  type Frame,
  type HistoryVerdict,
  type MessageFrame,
  type NodeFrame,
  type RecentEvent,
  type RunDescription,
} from "./cluster-frames.ts";
import { describeCall } from "../world/clients.ts";
import type { FromWorker, Target, ToWorker } from "./protocol.ts";
import {
  arcPath,
  axisTicks,
  byClientNumber,
  cutText,
  formatMs,
  legendMark,
  messageMark,
  ringPosition,
  ROLE_COLOURS,
  scalableSvg,
  svg,
  termColour,
  tickText,
  timeLeft,
  type Point,
} from "./drawing.ts";

// ---------------------------------------------------------------------------
// The page's elements
// ---------------------------------------------------------------------------

function element<T extends HTMLElement>(id: string, kind: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`index.html has no <${kind.name}> #${id}`);
  return found;
}

const ui = {
  heading: element("heading", HTMLElement),
  subheading: element("subheading", HTMLElement),
  play: element("play", HTMLButtonElement),
  step: element("step", HTMLButtonElement),
  speed: element("speed", HTMLSelectElement),
  timeline: element("timeline", HTMLInputElement),
  clock: element("clock", HTMLElement),
  eventsCount: element("events-count", HTMLElement),
  frameCount: element("frame-count", HTMLElement),
  seed: element("seed", HTMLInputElement),
  newRun: element("new-run", HTMLButtonElement),
  copyLink: element("copy-link", HTMLButtonElement),
  saveRun: element("save-run", HTMLButtonElement),
  linkActions: element("link-actions", HTMLElement),
  linkChoices: element("link-choices", HTMLElement),
  notice: element("notice", HTMLElement),
  picture: element("picture", HTMLElement),
  failureBox: element("failure-box", HTMLElement),
  failureTitle: element("failure-title", HTMLElement),
  failure: element("failure", HTMLElement),
  selectedTitle: element("selected-title", HTMLElement),
  nodeActions: element("node-actions", HTMLElement),
  crash: element("crash", HTMLButtonElement),
  restart: element("restart", HTMLButtonElement),
  pause: element("pause", HTMLButtonElement),
  resume: element("resume", HTMLButtonElement),
  timeout: element("timeout", HTMLButtonElement),
  isolate: element("isolate", HTMLButtonElement),
  reconnect: element("reconnect", HTMLButtonElement),
  proposeHere: element("propose-here", HTMLButtonElement),
  groupChoices: element("group-choices", HTMLElement),
  partition: element("partition", HTMLButtonElement),
  heal: element("heal", HTMLButtonElement),
  network: element("network", HTMLButtonElement),
  networkNote: element("network-note", HTMLElement),
  propose: element("propose", HTMLButtonElement),
  actionsNote: element("actions-note", HTMLElement),
  events: element("events", HTMLElement),
  console: element("console", HTMLElement),
  consoleCount: element("console-count", HTMLElement),
  logs: element("logs", HTMLElement),
  legend: element("legend", HTMLElement),
  tooltip: element("tooltip", HTMLElement),
  main: document.querySelector("main") ?? document.body,
  clients: element("clients", HTMLElement),
  historyStatus: element("history-status", HTMLElement),
  clientsWindow: element("clients-window", HTMLSelectElement),
  clientsPicture: element("clients-picture", HTMLElement),
  callForm: element("call-form", HTMLFormElement),
  callClient: element("call-client", HTMLSelectElement),
  callOperation: element("call-operation", HTMLSelectElement),
  callKey: element("call-key", HTMLInputElement),
  callValue: element("call-value", HTMLInputElement),
  call: element("call", HTMLButtonElement),
  callPreview: element("call-preview", HTMLElement),
  clerkNote: element("clerk-note", HTMLElement),
  historyFailure: element("history-failure", HTMLElement),
  historyText: element("history-text", HTMLElement),
  historyPicture: element("history-picture", HTMLElement),
};

const recording = config.recording;
const limitMs = config.callLimitMs;

// ---------------------------------------------------------------------------
// The run's worker: one request at a time, answered by id, with a time limit
// ---------------------------------------------------------------------------

/** A request as the page writes it; the client adds the id. */
type Request = ToWorker extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;
type Answer = Extract<FromWorker, { type: "frame" }> | Extract<FromWorker, { type: "load-error" }>;
type Calling = Extract<FromWorker, { type: "calling" }>;

class RunWorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private waiting: { readonly id: number; readonly settle: (answer: Answer) => void; readonly onCalling: ((call: Calling) => void) | undefined } | undefined;
  /** A worker that failed as a whole (its script did not load): the next request starts a fresh one. */
  private broken = false;

  constructor(private readonly onConsole: (level: string, text: string) => void) {}

  get busy(): boolean {
    return this.waiting !== undefined;
  }

  /** End the worker (node code that never returns cannot be interrupted otherwise) and start a fresh one. */
  replace(): void {
    this.worker?.terminate();
    this.worker = this.spawn();
    this.broken = false;
  }

  private spawn(): Worker {
    const worker = new Worker(new URL("./run-worker.ts", import.meta.url), { type: "module" });
    worker.addEventListener("message", (event: MessageEvent<FromWorker>) => this.receive(worker, event.data));
    worker.addEventListener("error", (event) => {
      event.preventDefault();
      if (worker !== this.worker) return;
      this.broken = true;
      const said = event instanceof ErrorEvent && event.message ? event.message : "its script did not load (see the terminal that serves this page)";
      this.settle({ type: "load-error", id: this.waiting?.id ?? 0, message: `The run's worker failed: ${said}` });
    });
    return worker;
  }

  private receive(from: Worker, message: FromWorker): void {
    if (from !== this.worker) return; // the last words of a worker already ended
    if (message.type === "console") {
      this.onConsole(message.level, message.text);
      return;
    }
    if (this.waiting === undefined || message.id !== this.waiting.id) return; // an answer nobody waits for any more
    if (message.type === "calling") {
      this.waiting.onCalling?.(message);
      return;
    }
    this.settle(message);
  }

  private settle(answer: Answer): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    waiting.settle(answer);
  }

  /**
   * Send a request. Resolves with its answer, or with undefined when none
   * came within `limit` ms of real time: then node code never returned,
   * and the worker has been ended and replaced.
   */
  send(request: Request, limit: number, onCalling?: (call: Calling) => void): Promise<Answer | undefined> {
    if (this.worker === undefined || this.broken) this.replace();
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => {
        if (this.waiting?.id !== id) return;
        this.waiting = undefined;
        this.replace();
        resolve(undefined);
      }, limit);
      this.waiting = {
        id,
        onCalling,
        settle: (answer) => {
          window.clearTimeout(timer);
          resolve(answer);
        },
      };
      this.worker!.postMessage({ ...request, id } as ToWorker);
    });
  }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/** Always built in this key order: the worker knows a run by its JSON, so the same run must be the same text. */
function makeRun(seed: number, actions: readonly Action[]): RunDescription {
  return { chapter: config.chapter, seed, actions };
}

/**
 * The address's fragment: `#run=<encodeRun(run)>&at=<ms>`. The run is what
 * replays; `at` is the moment shown when the address was last written, so
 * a shared link opens at that moment (paused), not at the start.
 */
function fromAddress(): { run: RunDescription; at: number | undefined } | undefined {
  const match = /^#run=([A-Za-z0-9_-]+)(?:&at=(\d+))?/.exec(location.hash);
  if (match === null) return undefined;
  const decoded = decodeRun(match[1]!);
  if (decoded === undefined) return undefined;
  return { run: makeRun(decoded.seed, decoded.actions), at: match[2] === undefined ? undefined : Number(match[2]) };
}

/** A run from the address, or else from a file the server was given (npm run visualize -- … --run FILE). */
const linked = recording === undefined ? (fromAddress() ?? (config.savedRun === undefined ? undefined : { run: makeRun(config.savedRun.run.seed, config.savedRun.run.actions), at: config.savedRun.at })) : undefined;
let run: RunDescription = recording !== undefined ? { chapter: recording.chapter, seed: recording.seed, actions: [] } : (linked?.run ?? makeRun(config.seed, []));
/** Changes with every new run, so a request of the run before is not taken for this one's. */
let runEpoch = 0;

let frame: Frame | undefined;
/**
 * Whether the frame shown was reached by counting events (a step, an
 * action) rather than by a play to a time: a fresh worker reaches the
 * same state the same way (see ensureSynced).
 */
let frameAtEvent = true;
/** The run, worker and event count the worker holds, when they are the frame shown: step and act then go on from it. */
let syncedKey: string | undefined;
let workerGeneration = 0;

let playing = false;
/** Simulated ms per real ms. */
let speed = 0.03;
/** The simulated time the animation wants to show. */
let targetTime = linked?.at ?? 0;
/** The time of the play on its way to the worker, if one is. */
let requestedTime: number | undefined;
/** The furthest simulated time reached: the timeline's end. */
let furthest = 0;
/** A job (a play, a step, an action) is talking to the worker. */
let working = false;
/** The watchdog is finding which call never returned. */
let watchdog = false;
/** The node file could not be used: no more plays until the run changes. */
let loadError: string | undefined;
/** Node code that never returned, in the terminal's words, and the frame time it was shown at. */
let stuck: { readonly text: string; readonly shownAt: number; readonly epoch: number } | undefined;
let scrubbing = false;

type Job = () => Promise<void>;
const jobs: Job[] = [];

/** The server the node buttons act on. */
let selected: NodeId | undefined;
/** The servers of group 1 for "partition" (the rest are group 2). */
const group = new Set<NodeId>();

// Recording mode: which frame is shown, and the playhead's simulated time.
let recordIndex = 0;
let recordTime = 0;
/** Real ms the frame shown has been held while playing, when the next frame is at the same instant. */
let heldAtInstant = 0;

const client = new RunWorkerClient(showConsole);

function syncKey(): string {
  return `${workerGeneration} ${JSON.stringify(run)} ${frame?.events ?? -1}`;
}

function synced(): boolean {
  return frame !== undefined && syncedKey === syncKey();
}

// ---------------------------------------------------------------------------
// Talking to the worker, with the watchdog
// ---------------------------------------------------------------------------

/**
 * Send a request; when it gets no answer within the limit, node code
 * never returned: a fresh worker replays the same run to the same target,
 * saying before every call into node code which call it begins; it hangs
 * on the same call (a run is a pure function of its description), and the
 * last call it announced is the one that never returned.
 */
async function call(request: Request, repro: { readonly run: RunDescription; readonly target: Target }): Promise<Answer | undefined> {
  const answer = await client.send(request, limitMs);
  if (answer !== undefined) return answer;
  workerGeneration++;
  watchdog = true;
  const epoch = runEpoch;
  showNotice(`Node code has not returned for ${seconds(limitMs)}: its worker was stopped. Replaying the run to find the call that did not return…`, 0);
  updateControls();
  let last: Calling | undefined;
  const found = await client.send({ type: "find-stuck-call", run: repro.run, target: repro.target }, limitMs, (calling) => (last = calling));
  workerGeneration++;
  watchdog = false;
  if (found !== undefined) {
    // It returned this time: slow, not endless. The fresh worker holds the run at the target.
    showNotice(`The run went on after all (a slow step, not an endless one).`);
    return found;
  }
  if (epoch !== runEpoch) return undefined;
  const calling = last;
  const text = didNotReturnText(limitMs, calling === undefined ? undefined : { node: calling.node, time: calling.time, seed: repro.run.seed, describe: () => calling.description });
  stuck = { text, shownAt: frame?.time ?? 0, epoch: runEpoch };
  playing = false;
  targetTime = frame?.time ?? 0;
  showNotice("The run is stopped where node code did not return. Go back on the timeline, or start a new run.", 0);
  return undefined;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

/** Take a frame the worker answered with. */
function accept(answer: Answer, atEvent: boolean): boolean {
  if (answer.type === "load-error") {
    loadError = answer.message;
    playing = false;
    return false;
  }
  loadError = undefined;
  frame = answer.frame;
  frameAtEvent = atEvent;
  syncedKey = syncKey();
  furthest = Math.max(furthest, frame.time);
  if (stuck !== undefined && (stuck.epoch !== runEpoch || frame.time < stuck.shownAt)) stuck = undefined;
  if (frame.failure !== undefined) {
    playing = false;
    targetTime = frame.time;
  }
  // While playing the address keeps the run (written when it changes); paused, it holds the moment too.
  if (!playing) writeAddress();
  return true;
}

/** Bring the worker to the frame shown when it holds something else (a fresh worker, a run cut short). */
async function ensureSynced(epoch: number): Promise<boolean> {
  if (synced()) return true;
  const shown = frame;
  if (shown === undefined) return false;
  const target: Target = frameAtEvent ? { events: shown.events } : { time: shown.time };
  const answer = await call({ type: "play", run, target }, { run, target });
  if (answer === undefined || epoch !== runEpoch) return false;
  return accept(answer, frameAtEvent);
}

async function playTo(target: { readonly time: number }): Promise<void> {
  const epoch = runEpoch;
  requestedTime = target.time;
  const answer = await call({ type: "play", run, target }, { run, target }).finally(() => (requestedTime = undefined));
  if (answer === undefined || epoch !== runEpoch) return;
  accept(answer, false);
}

/** One event more. */
async function stepOnce(): Promise<void> {
  const epoch = runEpoch;
  const shown = frame;
  if (shown === undefined || shown.failure !== undefined) return;
  const target: Target = { events: shown.events + 1 };
  const request: Request = synced() ? { type: "step" } : { type: "play", run, target };
  const answer = await call(request, { run, target });
  if (answer === undefined || epoch !== runEpoch) return;
  if (accept(answer, true)) targetTime = frame!.time;
}

/** Take an action on the live run, pinned to the event count it is taken after. */
async function act(action: ActionKind): Promise<void> {
  const epoch = runEpoch;
  if (frame === undefined) return;
  if (frame.failure !== undefined) {
    showNotice("The run has stopped on a failure: go back on the timeline to act before it.");
    return;
  }
  // Acting after going back starts a new branch: the actions of the future left behind go.
  const kept = run.actions.filter((a) => a.after <= frame!.events);
  const dropped = run.actions.length - kept.length;
  if (dropped > 0) {
    run = makeRun(run.seed, kept);
    furthest = frame.time;
  }
  if (!(await ensureSynced(epoch))) return;
  // As the worker records it (ClusterRun.act): after the events run so far, at the clock's time.
  const pinned: Action = { ...action, after: frame.events, at: frame.time };
  const target: Target = { events: frame.events };
  const answer = await call({ type: "act", action }, { run: makeRun(run.seed, [...run.actions, pinned]), target });
  if (answer === undefined || epoch !== runEpoch) return;
  if (answer.type === "frame") run = makeRun(run.seed, [...run.actions, answer.action ?? pinned]);
  if (!accept(answer, true)) return;
  targetTime = frame.time;
  writeAddress();
  const said = answer.type === "frame" && answer.notice !== undefined ? answer.notice : `${describeAction(answer.type === "frame" ? (answer.action ?? pinned) : pinned)} at ${formatMs(frame.time)}.`;
  showNotice(dropped > 0 ? `${said} ${dropped} later action${dropped === 1 ? "" : "s"} dropped: a new branch from here.` : said);
}

function describeAction(action: Action): string {
  switch (action.kind) {
    case "partition":
      return `Partitioned ${action.groups.map((g) => `{${g.join(", ")}}`).join(" | ")}`;
    case "heal":
      return "Healed the network";
    case "cut":
      return `Cut the link ${action.between[0]}–${action.between[1]}`;
    case "restore":
      return `Restored the link ${action.between[0]}–${action.between[1]}`;
    case "network":
      return action.unreliable ? `Made the network unreliable: ${UNRELIABLE_WORDS}` : "Made the network reliable again";
    case "propose":
      return `Sent command ${JSON.stringify(action.command)} to ${action.node}`;
    case "timeout":
      return `${action.node}'s election timer fired`;
    case "crash":
      return `Crashed ${action.node}`;
    case "restart":
      return `Restarted ${action.node}`;
    case "pause":
      return `Paused ${action.node}`;
    case "resume":
      return `Resumed ${action.node}`;
    case "isolate":
      return `Isolated ${action.node}`;
    case "reconnect":
      return `Reconnected ${action.node}`;
    case "call":
      return `Client ${action.client} called ${describeCall(action.call)}`;
  }
}

/** What the unreliable network does, in words (UNRELIABLE_NETWORK). */
const UNRELIABLE_WORDS = (() => {
  const percent = (rate: number) => `${Math.round(rate * 100)} %`;
  const [low, high] = UNRELIABLE_NETWORK.reorderDelay;
  return `${percent(UNRELIABLE_NETWORK.dropRate)} of messages lost, ${percent(UNRELIABLE_NETWORK.duplicateRate)} duplicated, ${percent(UNRELIABLE_NETWORK.reorderRate)} held back ${low}–${high} ms`;
})();

/** Whether the live run's network is unreliable at the frame shown: its last "network" action up to there says (reliable at first). */
function networkUnreliable(): boolean {
  if (recording !== undefined || frame === undefined) return false;
  const events = frame.events;
  let unreliable = false;
  for (const a of run.actions) if (a.kind === "network" && a.after <= events) unreliable = a.unreliable;
  return unreliable;
}

let shownNetwork: boolean | undefined;

/** The note under the picture while the network is unreliable. */
function drawNetwork(): void {
  const unreliable = networkUnreliable();
  if (unreliable === shownNetwork) return;
  shownNetwork = unreliable;
  ui.networkNote.hidden = !unreliable;
  ui.networkNote.textContent = unreliable ? `Unreliable network: ${UNRELIABLE_WORDS}.` : "";
}

/** Run the next job when the worker is free: the person's first, then the animation's play. */
function pump(): void {
  if (working || watchdog || recording !== undefined) return;
  const job = jobs.shift() ?? nextPlay();
  if (job === undefined) return;
  working = true;
  updateControls();
  job()
    .catch((error: unknown) => {
      loadError = error instanceof Error ? error.message : String(error);
      playing = false;
    })
    .finally(() => {
      working = false;
      updateControls();
      pump();
    });
}

function nextPlay(): Job | undefined {
  if (loadError !== undefined) return undefined;
  if (frame === undefined) return () => playTo({ time: Math.max(0, Math.floor(targetTime)) });
  const want = Math.max(0, Math.floor(targetTime));
  if (want === frame.time) return undefined;
  if (want > frame.time && (frame.failure !== undefined || stuck !== undefined)) return undefined;
  return () => playTo({ time: want });
}

function enqueue(job: Job): void {
  if (recording !== undefined) return;
  jobs.push(job);
  pump();
}

function newRun(seed: number): void {
  runEpoch++;
  run = makeRun(seed, []);
  frame = undefined;
  frameAtEvent = true;
  syncedKey = undefined;
  jobs.length = 0;
  furthest = 0;
  targetTime = 0;
  loadError = undefined;
  stuck = undefined;
  ui.seed.value = String(seed);
  seedEdited = false;
  writeAddress();
  setPlaying(true);
  pump();
}

/** The address as it should read now. */
function address(): string {
  return `#run=${encodeRun(run)}${frame === undefined ? "" : `&at=${Math.floor(frame.time)}`}`;
}

let addressTimer: number | undefined;
let addressWritten = 0;

/**
 * Keep the address current. The browser warns when the address changes
 * more than a few hundred times in ten seconds (dragging the timeline
 * would), so writes come at most ten times a second, the last one always.
 */
function writeAddress(): void {
  if (recording !== undefined || addressTimer !== undefined) return;
  const wait = addressWritten + 100 - performance.now();
  const write = () => {
    addressTimer = undefined;
    addressWritten = performance.now();
    const wanted = address();
    if (location.hash !== wanted) history.replaceState(null, "", wanted);
  };
  if (wait <= 0) write();
  else addressTimer = window.setTimeout(write, wait);
}

// ---------------------------------------------------------------------------
// Notices, console, failures
// ---------------------------------------------------------------------------

let noticeTimer: number | undefined;

/** A line in the status bar; it fades after a while unless `keepMs` is 0. */
function showNotice(text: string, keepMs = 8000): void {
  ui.notice.textContent = text;
  ui.notice.classList.add("shown");
  if (noticeTimer !== undefined) window.clearTimeout(noticeTimer);
  noticeTimer = keepMs > 0 ? window.setTimeout(() => ui.notice.classList.remove("shown"), keepMs) : undefined;
}

const MOST_CONSOLE_LINES = 300;
let consoleLines = 0;

function showConsole(level: string, text: string): void {
  const line = document.createElement("div");
  line.className = `console-line level-${level}`;
  line.textContent = text;
  const stick = ui.console.scrollTop + ui.console.clientHeight >= ui.console.scrollHeight - 4;
  ui.console.append(line);
  consoleLines++;
  while (ui.console.childElementCount > MOST_CONSOLE_LINES) ui.console.firstElementChild?.remove();
  ui.consoleCount.textContent = `(${consoleLines} line${consoleLines === 1 ? "" : "s"})`;
  if (stick) ui.console.scrollTop = ui.console.scrollHeight;
}

/** What the failure panel says now, if anything. */
function currentFailure(): { title: string; text: string } | undefined {
  if (recording !== undefined) {
    const text = recording.failure ?? recording.frames.at(-1)?.failure;
    if (text === undefined) return undefined;
    const end = recording.frames.at(-1);
    return { title: `The test failed${end === undefined ? "" : ` at ${formatMs(end.time)} (the last frame)`}`, text };
  }
  if (loadError !== undefined) return { title: "Your node could not be used", text: loadError };
  if (stuck !== undefined && stuck.epoch === runEpoch) return { title: "Node code did not return", text: stuck.text };
  if (frame?.failure !== undefined) return { title: `The run stopped at ${formatMs(frame.time)}`, text: frame.failure };
  // A skeleton's stub does not throw where the run can go on without it: it
  // notes the step in the trace, and the cluster just sits there. What
  // stands between the learner and a working picture goes in this panel.
  const notes = (frame?.stepsNotWritten ?? []).map((n) => n.text);
  if (notes.length > 0) {
    const [, chapter, step] = /^Chapter (\d+), step (\d+)/.exec(notes[0]!) ?? [];
    const hint = chapter === undefined ? "" : `\n\nA hint: npm run hint -- chapter${chapter} ${step}`;
    return { title: `Your node has ${notes.length === 1 ? "a step" : "steps"} not written yet`, text: `${notes.join("\n")}${hint}` };
  }
  return undefined;
}

let shownFailure = "";

function drawFailure(): void {
  const failure = currentFailure();
  const key = failure === undefined ? "" : `${failure.title}\n${failure.text}`;
  if (key === shownFailure) return;
  shownFailure = key;
  ui.failureBox.hidden = failure === undefined;
  ui.failureTitle.textContent = failure?.title ?? "";
  ui.failure.textContent = failure?.text ?? "";
}

// ---------------------------------------------------------------------------
// The picture: the ring
// ---------------------------------------------------------------------------

const CENTER: Point = { x: 0, y: 0 };
const RING = 150;
const R = 34;
/** How far out from a server's centre its letter sits (clear of its timers' arcs). */
const LETTER_OUT = R + 32;
/** The widest a caption's line can be (about 18 characters at 11.5 px: "played by the test", "candidate, paused"). */
const CAPTION_WIDTH = 118;
const CAPTION_LINE = 14;

/** The servers drawn: those of the frame shown, in its order (a test's world may have 3 or 7). */
let nodeIds: readonly NodeId[] = [];
const positions = new Map<NodeId, Point>();

interface ServerShapes {
  readonly group: SVGGElement;
  readonly label: SVGGElement;
  readonly body: SVGCircleElement;
  readonly hatch: SVGCircleElement;
  readonly ring: SVGCircleElement;
  readonly election: SVGPathElement;
  readonly heartbeat: SVGPathElement;
  readonly cross: SVGPathElement;
  readonly pauseSign: SVGGElement;
  readonly term: SVGTextElement;
  readonly termCaption: SVGTextElement;
  readonly letter: SVGTextElement;
  readonly caption: SVGTextElement;
  /** Where the caption's lines start (x) and how they are anchored. */
  readonly captionAt: { readonly x: number; readonly y: number; readonly up: boolean };
}

const picture = svg("svg", { class: "ring", role: "img", "aria-label": "The cluster: its servers on a ring, and the messages between them" });
const defs = svg("defs");
const hatchPattern = svg("pattern", { id: "hatch", width: 7, height: 7, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
hatchPattern.append(svg("line", { x1: 0, y1: 0, x2: 0, y2: 7, stroke: "#ffffff", "stroke-width": 3, "stroke-opacity": 0.75 }));
defs.append(hatchPattern);
const ringGuide = svg("circle", { cx: CENTER.x, cy: CENTER.y, r: RING, class: "ring-guide" });
const linkLayer = svg("g", { class: "links" });
const messageLayer = svg("g", { class: "messages" });
const serverLayer = svg("g", { class: "servers" });
picture.append(defs, ringGuide, linkLayer, serverLayer, messageLayer);
ui.picture.prepend(picture);

const servers = new Map<NodeId, ServerShapes>();

/**
 * Draw these servers, evenly spaced on the ring (the first at the top), and
 * offer them in the partition's choices. Nothing changes when they are the
 * servers drawn already. The viewBox is made to hold every server's letter
 * and its widest caption, so no caption is cut at the sides.
 */
function layoutServers(ids: readonly NodeId[]): void {
  if (ids.length === nodeIds.length && ids.every((id, i) => id === nodeIds[i])) return;
  nodeIds = [...ids];
  positions.clear();
  servers.clear();
  serverLayer.replaceChildren();
  for (const id of [...group]) if (!ids.includes(id)) group.delete(id);
  if (selected !== undefined && !ids.includes(selected)) selected = undefined;
  const box = { left: -RING - R - 16, right: RING + R + 16, top: -RING - R - 16, bottom: RING + R + 16 };
  const grow = (x1: number, y1: number, x2: number, y2: number) => {
    box.left = Math.min(box.left, x1);
    box.right = Math.max(box.right, x2);
    box.top = Math.min(box.top, y1);
    box.bottom = Math.max(box.bottom, y2);
  };
  ids.forEach((id, i) => {
    const p = ringPosition(i, ids.length, CENTER, RING);
    positions.set(id, p);
    const shapes = buildServer(id, p);
    servers.set(id, shapes);
    // The letter, and two lines of caption at their widest.
    const letter = { x: Number(shapes.letter.getAttribute("x")), y: Number(shapes.letter.getAttribute("y")) };
    grow(letter.x - 12, letter.y - 14, letter.x + 12, letter.y + 14);
    const { x, y, up } = shapes.captionAt;
    const anchor = shapes.caption.getAttribute("text-anchor");
    const x1 = anchor === "start" ? x : anchor === "end" ? x - CAPTION_WIDTH : x - CAPTION_WIDTH / 2;
    const lines = up ? [y - CAPTION_LINE, y] : [y, y + CAPTION_LINE];
    grow(x1, lines[0]! - 9, x1 + CAPTION_WIDTH, lines[1]! + 9);
  });
  const margin = 6;
  picture.setAttribute("viewBox", [box.left - margin, box.top - margin, box.right - box.left + 2 * margin, box.bottom - box.top + 2 * margin].map((n) => n.toFixed(0)).join(" "));
  picture.setAttribute("aria-label", `The cluster: ${ids.length} server${ids.length === 1 ? "" : "s"} on a ring (${ids.join(", ")}), and the messages between them`);
  buildGroupChoices(ids);
  drawVersion++;
  shownLogs = "";
}

function buildServer(id: NodeId, p: Point): ServerShapes {
  const group = svg("g", { class: "server", "data-node": id, "data-role": "", "data-status": "up", "data-term": 0, transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})`, tabindex: 0 });
  // The body is the group's first circle: tests click `[data-node=A] circle`.
  const body = svg("circle", { r: R, class: "body" });
  const hatch = svg("circle", { r: R, class: "hatch", fill: "url(#hatch)" });
  const cross = svg("path", { class: "cross", d: `M ${-R * 0.55} ${-R * 0.55} L ${R * 0.55} ${R * 0.55} M ${R * 0.55} ${-R * 0.55} L ${-R * 0.55} ${R * 0.55}` });
  const pauseSign = svg("g", { class: "pause-sign" });
  pauseSign.append(svg("rect", { x: -11, y: -R - 12, width: 8, height: 16, rx: 2 }), svg("rect", { x: 3, y: -R - 12, width: 8, height: 16, rx: 2 }));
  const election = svg("path", { class: "timer election" });
  const heartbeat = svg("path", { class: "timer heartbeat" });
  const ring = svg("circle", { r: R + 19, class: "select-ring" });
  const term = svg("text", { class: "term", "text-anchor": "middle", "dominant-baseline": "central", y: -3 });
  const termCaption = svg("text", { class: "term-caption", "text-anchor": "middle", y: 17 });
  termCaption.textContent = "term";
  group.append(body, hatch, cross, term, termCaption, election, heartbeat, ring, pauseSign);
  // The letter and the caption sit outside the ring of servers, away from the centre, in a group of
  // their own: the server's group stays centred on its circle, so a click on its middle hits the circle.
  const out = { x: (p.x - CENTER.x) / RING, y: (p.y - CENTER.y) / RING };
  const at = { x: p.x + out.x * LETTER_OUT, y: p.y + out.y * LETTER_OUT };
  const label = svg("g", { class: "server-label", "data-label-for": id });
  const letter = svg("text", { class: "letter", "text-anchor": "middle", "dominant-baseline": "central", x: at.x.toFixed(1), y: at.y.toFixed(1) });
  letter.textContent = id;
  // Above the letter at the top, below it elsewhere; beside servers at the sides, it reads outward, clear of the circle.
  const side = Math.abs(out.x) > 0.6 ? Math.sign(out.x) : 0;
  const up = out.y < -0.5 && side === 0;
  const captionAt = { x: at.x - side * 10, y: at.y + (up ? -20 : 20), up };
  const caption = svg("text", { class: "caption", "text-anchor": side > 0 ? "start" : side < 0 ? "end" : "middle", "dominant-baseline": "central" });
  label.append(letter, caption);
  serverLayer.append(group, label);
  group.addEventListener("click", (event) => chooseServer(id, event.shiftKey));
  label.addEventListener("click", (event) => chooseServer(id, event.shiftKey));
  group.addEventListener("keydown", (event) => {
    if (event.key === "Enter") chooseServer(id, event.shiftKey);
  });
  return { group, label, body, hatch, ring, election, heartbeat, cross, pauseSign, term, termCaption, letter, caption, captionAt };
}

/** A caption in one or two lines (the role, then the vote), each line a tspan; the lines go up from the letter at the top. */
function setCaption(shapes: ServerShapes, lines: readonly string[]): void {
  const key = lines.join("\n");
  if (shapes.caption.dataset.text === key) return;
  shapes.caption.dataset.text = key;
  const { x, y, up } = shapes.captionAt;
  const first = up ? y - (lines.length - 1) * CAPTION_LINE : y;
  shapes.caption.replaceChildren(
    ...lines.map((line, i) => {
      const span = svg("tspan", { x: x.toFixed(1), y: (first + i * CAPTION_LINE).toFixed(1) });
      span.textContent = line;
      return span;
    }),
  );
}

// A click beside the servers lets the selection go.
picture.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-node], [data-label-for]") === null && selected !== undefined) {
    selected = undefined;
    drawVersion++;
    updateControls();
  }
});

function chooseServer(id: NodeId, addToGroup: boolean): void {
  if (addToGroup) {
    if (group.has(id)) group.delete(id);
    else group.add(id);
  } else {
    selected = id;
  }
  drawVersion++;
  updateControls();
}

function roleWord(node: NodeFrame): string {
  if (node.status === "crashed") return "crashed";
  if (node.status === "scripted") return "played by the test";
  const role = node.role ?? "?";
  return node.status === "paused" ? `${role}, paused` : role;
}

function timerText(name: string, timer: { readonly setAt: number; readonly dueAt: number } | undefined): string {
  return timer === undefined ? `${name} timer: not set` : `${name} timer: set at ${formatMs(timer.setAt)}, due at ${formatMs(timer.dueAt)}`;
}

function lastLog(node: NodeFrame): string {
  const last = node.snapshotIndex + node.log.length;
  const term = node.log.length > 0 ? node.log[node.log.length - 1]!.term : node.snapshotTerm;
  return `${last}/${term}`;
}

function nodeTip(node: NodeFrame): string {
  const lines = [`${node.id}: ${roleWord(node)}`];
  if (node.status === "scripted") return `${lines[0]}\nA test plays this server itself: it has no state of its own.`;
  if (node.status === "crashed") lines.push("(what its disk holds: currentTerm, votedFor and the log survive a crash)");
  lines.push(`currentTerm ${node.currentTerm}`, `votedFor ${node.votedFor ?? "null"}`);
  if (node.status !== "crashed") lines.push(`leaderId ${node.leaderId ?? "null"}`, `commitIndex ${node.commitIndex}`, `lastApplied ${node.lastApplied}`);
  lines.push(`log: ${node.log.length} entr${node.log.length === 1 ? "y" : "ies"}, last index/term ${lastLog(node)}`);
  if (node.snapshotIndex > 0) lines.push(`snapshot through ${node.snapshotIndex} (term ${node.snapshotTerm})`);
  const peers = (record: Readonly<Record<NodeId, number>> | undefined) =>
    record === undefined
      ? ""
      : Object.entries(record)
          .map(([peer, index]) => `${peer} ${index}`)
          .join(", ");
  if (node.nextIndex !== undefined) lines.push(`nextIndex  ${peers(node.nextIndex)}`);
  if (node.matchIndex !== undefined) lines.push(`matchIndex ${peers(node.matchIndex)}`);
  if (node.status !== "crashed") lines.push(timerText("election", node.election), timerText("heartbeat", node.heartbeat));
  return lines.join("\n");
}

/** The servers the failure shown names: the live frame's, or a recording's at its last frame. */
function failureNodesShown(): readonly NodeId[] {
  const current = recording === undefined ? frame : recording.frames[recordIndex];
  return current?.failure === undefined ? [] : (current.failureNodes ?? []);
}

function drawServer(node: NodeFrame, time: number): void {
  const shapes = servers.get(node.id);
  if (shapes === undefined) return;
  const { group: g } = shapes;
  const down = node.status === "crashed";
  const role = down || node.status === "scripted" ? "" : (node.role ?? "");
  g.setAttribute("data-role", role);
  g.setAttribute("data-status", node.status);
  g.setAttribute("data-term", String(node.currentTerm));
  g.classList.toggle("selected", selected === node.id);
  g.classList.toggle("grouped", group.has(node.id));
  // The servers the failure names, ringed in red where the run stopped.
  g.classList.toggle("at-fault", failureNodesShown().includes(node.id));
  const fill = down ? ROLE_COLOURS.crashed : node.status === "scripted" ? ROLE_COLOURS.scripted : role === "" ? ROLE_COLOURS.follower : ROLE_COLOURS[role];
  shapes.body.setAttribute("fill", fill);
  shapes.hatch.style.display = node.status === "paused" ? "" : "none";
  shapes.pauseSign.style.display = node.status === "paused" ? "" : "none";
  shapes.cross.style.display = down ? "" : "none";
  const scripted = node.status === "scripted";
  shapes.term.textContent = scripted ? "" : String(node.currentTerm);
  shapes.termCaption.textContent = scripted ? "the test" : "term";
  shapes.termCaption.setAttribute("y", scripted ? "0" : "17");
  shapes.termCaption.setAttribute("dominant-baseline", scripted ? "central" : "auto");
  shapes.label.classList.toggle("scripted", scripted);
  const running = node.status === "up" || node.status === "paused";
  shapes.election.setAttribute("d", running && node.election !== undefined ? arcPath(R + 7, timeLeft(node.election, time)) : "");
  shapes.heartbeat.setAttribute("d", running && node.heartbeat !== undefined ? arcPath(R + 12, timeLeft(node.heartbeat, time)) : "");
  setCaption(shapes, node.votedFor === null || scripted ? [roleWord(node)] : [roleWord(node), `voted ${node.votedFor}`]);
  g.dataset.tip = nodeTip(node);
  shapes.label.dataset.tip = g.dataset.tip;
  shapes.label.classList.toggle("selected", selected === node.id);
}

// ---------------------------------------------------------------------------
// The picture: messages and cut links
// ---------------------------------------------------------------------------

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.slice(0, 12).map((item: unknown) => {
      if (typeof item === "object" && item !== null && "term" in item && "command" in item) {
        const entry = item as { term: unknown; command: unknown };
        return `{ term: ${String(entry.term)}, command: ${JSON.stringify(entry.command)} }`;
      }
      return JSON.stringify(item);
    });
    const more = value.length > 12 ? `\n    … ${value.length - 12} more` : "";
    return `[\n    ${items.join(",\n    ")}${more}\n  ]`;
  }
  if (value === null) return "null";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function messageTip(message: MessageFrame): string {
  const lines = [message.text, `${message.from} → ${message.to}, sent at ${formatMs(message.sentAt)}, arrives at ${formatMs(message.arrivesAt)}`, ""];
  for (const [name, value] of Object.entries(message.fields)) lines.push(`${name}: ${show(value)}`);
  return lines.join("\n");
}

/** A point `offset` px to the right of the way from `a` to `b` (so the two directions of a link do not overlap). */
function along(a: Point, b: Point, fraction: number, offset: number, inset: number): Point {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = Math.hypot(dx, dy) || 1;
  const ux = dx / length;
  const uy = dy / length;
  const start = { x: a.x + ux * inset, y: a.y + uy * inset };
  const travel = length - 2 * inset;
  return { x: start.x + ux * travel * fraction - uy * offset, y: start.y + uy * travel * fraction + ux * offset };
}

function drawMessages(messages: readonly MessageFrame[], time: number): void {
  messageLayer.replaceChildren();
  for (const message of messages) {
    const from = positions.get(message.from);
    const to = positions.get(message.to);
    if (from === undefined || to === undefined) continue; // a client's message (Chapter 8 on): not on the ring
    const span = message.arrivesAt - message.sentAt;
    const fraction = span <= 0 ? 1 : Math.max(0, Math.min(1, (time - message.sentAt) / span));
    const at = along(from, to, fraction, 7, R + 4);
    const mark = svg("g", { class: "message", transform: `translate(${at.x.toFixed(1)} ${at.y.toFixed(1)})`, "data-type": message.type });
    mark.append(messageMark(message));
    mark.dataset.tip = messageTip(message);
    messageLayer.append(mark);
  }
}

function drawCutLinks(cut: Frame["cutLinks"]): void {
  linkLayer.replaceChildren();
  for (const [from, to] of cut) {
    const a = positions.get(from);
    const b = positions.get(to);
    if (a === undefined || b === undefined) continue;
    // Each cut direction on its own side of the link, as the messages of that direction travel.
    const start = along(a, b, 0, 3, R + 2);
    const end = along(a, b, 1, 3, R + 2);
    const line = svg("line", { class: "cut", x1: start.x.toFixed(1), y1: start.y.toFixed(1), x2: end.x.toFixed(1), y2: end.y.toFixed(1) });
    line.dataset.tip = `The link ${from} → ${to} is cut: messages from ${from} to ${to} are lost.`;
    const wide = svg("line", { class: "cut-hit", x1: start.x.toFixed(1), y1: start.y.toFixed(1), x2: end.x.toFixed(1), y2: end.y.toFixed(1) });
    wide.dataset.tip = line.dataset.tip;
    linkLayer.append(line, wide);
  }
}

// ---------------------------------------------------------------------------
// The logs
// ---------------------------------------------------------------------------

/** The most log indexes shown at once (the newest): as many as the panel holds, within reason. */
function mostColumns(): number {
  return Math.max(8, Math.min(60, Math.floor((ui.logs.clientWidth - 260) / 35)));
}
let shownLogs = "";

function drawLogs(nodes: readonly NodeFrame[]): void {
  const most = mostColumns();
  const key = JSON.stringify([most, nodes.map((n) => [n.id, n.status, n.role, n.currentTerm, n.votedFor, n.commitIndex, n.snapshotIndex, n.snapshotTerm, n.log])]);
  if (key === shownLogs) return;
  shownLogs = key;
  const last = Math.max(0, ...nodes.map((n) => n.snapshotIndex + n.log.length));
  // Indexes every server holds only in a snapshot get no columns of their own: the snapshot is one block.
  const everyoneSnapshotted = Math.min(...nodes.filter((n) => n.status !== "scripted").map((n) => n.snapshotIndex), last);
  const first = Math.max(1, everyoneSnapshotted + 1, last - most + 1);
  const columns = Math.max(0, last - first + 1);
  // A column before the indexes, when something comes before them: snapshots, or entries not shown.
  const lead = first > 1 || nodes.some((n) => n.snapshotIndex > 0);
  const grid = document.createElement("div");
  grid.className = "log-grid";
  grid.style.gridTemplateColumns = `max-content${lead ? " max-content" : ""}${columns > 0 ? ` repeat(${columns}, 2rem)` : ""}`;
  const cell = (className: string, text = "", tip?: string): HTMLDivElement => {
    const element = document.createElement("div");
    element.className = className;
    element.textContent = text;
    if (tip !== undefined) element.dataset.tip = tip;
    grid.append(element);
    return element;
  };
  cell("log-corner", "index");
  if (lead) cell("log-index", first > 1 ? `1–${first - 1}` : "");
  for (let index = first; index <= last; index++) cell("log-index", String(index));
  for (const node of nodes) {
    const label = cell("log-label", "", nodeTip(node));
    label.classList.add(`status-${node.status}`);
    const name = document.createElement("strong");
    name.textContent = node.id;
    const facts = document.createElement("span");
    facts.textContent =
      node.status === "scripted"
        ? " played by the test"
        : node.status === "crashed"
          ? ` crashed · term ${node.currentTerm} · voted ${node.votedFor ?? "–"}`
          : ` term ${node.currentTerm} · voted ${node.votedFor ?? "–"} · commit ${node.commitIndex}`;
    label.append(name, facts);
    let index = first;
    if (lead) {
      if (node.snapshotIndex > 0 && node.snapshotIndex >= first - 1) {
        // The entries a snapshot replaced: one block, however many there were, up to where the log goes on.
        const through = Math.min(node.snapshotIndex, last);
        const block = cell("log-snapshot", `snapshot through ${node.snapshotIndex}`, `${node.id}'s snapshot replaces entries 1 to ${node.snapshotIndex} (last included term ${node.snapshotTerm}).`);
        block.style.gridColumn = `span ${1 + through - first + 1}`;
        index = through + 1;
      } else if (node.snapshotIndex > 0) {
        cell("log-snapshot partial", `snapshot through ${node.snapshotIndex}, …`, `${node.id}'s snapshot replaces entries 1 to ${node.snapshotIndex}; its entries ${node.snapshotIndex + 1} to ${first - 1} are not shown.`);
      } else {
        cell("log-hidden", first > 1 && node.log.length > 0 ? "…" : "", first > 1 ? `entries 1 to ${first - 1} are not shown` : undefined);
      }
    }
    for (; index <= last; index++) {
      const entry = index > node.snapshotIndex ? node.log[index - node.snapshotIndex - 1] : undefined;
      if (entry === undefined) {
        cell("log-cell empty");
        continue;
      }
      const committed = node.status !== "crashed" && index <= node.commitIndex;
      const state =
        node.status === "crashed"
          ? "on disk (a crashed server's commitIndex is not known)"
          : committed
            ? `committed (commitIndex ${node.commitIndex})`
            : `not committed yet (commitIndex ${node.commitIndex})`;
      const box = cell(`log-cell ${committed ? "committed" : "uncommitted"}`, String(entry.term), `${node.id}'s log, index ${index}\nterm ${entry.term}\ncommand ${JSON.stringify(entry.command)}\n${state}`);
      box.style.setProperty("--term-colour", termColour(entry.term));
    }
  }
  ui.logs.replaceChildren(grid);
  if (last === 0) {
    const none = document.createElement("p");
    none.className = "log-none";
    none.textContent = recording !== undefined ? "Every log is empty." : "Every log is empty. Send a command to the leader to add an entry.";
    ui.logs.append(none);
  }
}

// ---------------------------------------------------------------------------
// Recent events
// ---------------------------------------------------------------------------

let shownEvents = "";

function drawEvents(recent: readonly RecentEvent[]): void {
  const key = JSON.stringify(recent);
  if (key === shownEvents) return;
  shownEvents = key;
  const lines = recent.map((event) => ({ time: formatMs(event.time), node: event.node ?? "", what: event.text }));
  // The time and node columns as wide as their widest entry: the events line up under each other.
  ui.events.style.setProperty("--time-width", `${Math.max(4, ...lines.map((l) => l.time.length))}ch`);
  ui.events.style.setProperty("--node-width", `${Math.max(1, ...lines.map((l) => l.node.length))}ch`);
  ui.events.replaceChildren(
    ...lines.map((line) => {
      const item = document.createElement("li");
      const time = document.createElement("span");
      time.className = "event-time";
      time.textContent = line.time;
      const node = document.createElement("span");
      node.className = "event-node";
      node.textContent = line.node;
      const what = document.createElement("span");
      what.className = "event-what";
      what.textContent = line.what;
      item.append(time, node, what);
      item.title = `${line.time}  ${line.node === "" ? "" : `${line.node}  `}${line.what}`;
      return item;
    }),
  );
  ui.events.scrollTop = ui.events.scrollHeight;
}

// ---------------------------------------------------------------------------
// The tooltip
// ---------------------------------------------------------------------------

let pointer: { x: number; y: number } | undefined;

function hideTooltip(): void {
  ui.tooltip.hidden = true;
  if (ui.tooltip.textContent !== "") ui.tooltip.textContent = "";
}

/** The tooltip shows the words of what is under the pointer now, or hides (called on every move, scroll and animation frame). */
function updateTooltip(): void {
  if (pointer === undefined) {
    hideTooltip();
    return;
  }
  const under = document.elementFromPoint(pointer.x, pointer.y);
  const holder = under?.closest<HTMLElement | SVGElement>("[data-tip]");
  const tip = holder?.dataset.tip;
  if (tip === undefined || tip === "") {
    // Nothing to say here: hidden, and emptied, so no earlier words can show again.
    hideTooltip();
    return;
  }
  if (ui.tooltip.textContent !== tip) ui.tooltip.textContent = tip;
  ui.tooltip.hidden = false;
  const box = ui.tooltip.getBoundingClientRect();
  const x = pointer.x + 16 + box.width > window.innerWidth ? pointer.x - 12 - box.width : pointer.x + 16;
  const y = pointer.y + 16 + box.height > window.innerHeight ? Math.max(4, pointer.y - 12 - box.height) : pointer.y + 16;
  ui.tooltip.style.left = `${Math.max(4, x)}px`;
  ui.tooltip.style.top = `${y}px`;
}

document.addEventListener("mousemove", (event) => {
  pointer = { x: event.clientX, y: event.clientY };
  updateTooltip();
});
// The pointer left the window (or the window lost focus): nothing is under it.
document.documentElement.addEventListener("mouseleave", () => {
  pointer = undefined;
  updateTooltip();
});
window.addEventListener("blur", () => {
  pointer = undefined;
  updateTooltip();
});
// The page scrolled under a pointer that stayed still.
window.addEventListener("scroll", () => updateTooltip(), { capture: true, passive: true });

// ---------------------------------------------------------------------------
// The clients (Chapter 8 on): one row per client, one bar per call
// ---------------------------------------------------------------------------

/** How much simulated time the clients' picture shows, up to the moment shown (Infinity: the whole run). */
const CALL_WINDOWS: readonly { readonly label: string; readonly ms: number }[] = [
  { label: "1 s", ms: 1000 },
  { label: "3 s", ms: 3000 },
  { label: "10 s", ms: 10_000 },
  { label: "whole run", ms: Number.POSITIVE_INFINITY },
];
let callWindow = 3000;

for (const choice of CALL_WINDOWS) {
  const option = document.createElement("option");
  option.value = String(choice.ms);
  option.textContent = choice.label;
  option.selected = choice.ms === callWindow;
  ui.clientsWindow.append(option);
}
ui.clientsWindow.addEventListener("change", () => {
  callWindow = Number(ui.clientsWindow.value);
  drawVersion++;
});

/** The clients' calls and the checker's verdict at the moment shown, or undefined when this run has no clients. */
function clientsAt(current: Frame): { readonly calls: readonly CallFrame[]; readonly history: HistoryVerdict | undefined; readonly clients: readonly ClientId[] } | undefined {
  if (config.chapter < 8) return undefined;
  if (recording !== undefined) {
    const all = recording.calls;
    if (all === undefined) return undefined;
    // The calls made by the frame's time; one answered later is not answered yet.
    const calls = all.filter((c) => c.calledAt <= current.time).map((c) => (c.returnedAt !== null && c.returnedAt > current.time ? { ...c, returnedAt: null, result: null } : c));
    return { calls, history: recording.history, clients: [...new Set(all.map((c) => c.client))].sort(byClientNumber) };
  }
  if (current.calls === undefined) return undefined;
  return { calls: current.calls, history: current.history, clients: [...new Set([...PAGE_CLIENTS, ...current.calls.map((c) => c.client)])].sort(byClientNumber) };
}

/** get("x") → "1"; put("x", "1") → ok; not answered: … */
function callResult(call: CallFrame): string {
  if (call.returnedAt === null) return "…";
  return call.operation === "get" ? `→ ${JSON.stringify(call.result ?? "")}` : "ok";
}

function callTip(call: CallFrame, time: number): string {
  const lines = [`client ${call.client}: ${call.text}`, `called at   ${formatMs(call.calledAt)}`];
  if (call.returnedAt === null) {
    lines.push(`answered at not yet (waiting for ${formatMs(time - call.calledAt)})`, "result      –");
  } else {
    lines.push(`answered at ${formatMs(call.returnedAt)} (after ${formatMs(call.returnedAt - call.calledAt)})`, `result      ${call.operation === "get" ? JSON.stringify(call.result ?? "") : "ok"}`);
  }
  return lines.join("\n");
}

const CALLS = { gutter: 70, right: 14, axis: 22, row: 32, bar: 20, charWidth: 6.7 };

const callsPicture = svg("svg", { class: "calls", role: "img", "aria-label": "The clients' calls: one row per client, one bar per call from when it was called to when it was answered" });
const callsDefs = svg("defs");
for (const [id, back, stripe] of [
  ["call-waiting", "#e9eef5", "#bccadb"],
  ["call-waiting-broken", "#fbe3e3", "#eea3a3"],
] as const) {
  const pattern = svg("pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  pattern.append(svg("rect", { width: 6, height: 6, fill: back }), svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: stripe, "stroke-width": 3 }));
  callsDefs.append(pattern);
}
const callsLayer = svg("g");
callsPicture.append(callsDefs, callsLayer);
ui.clientsPicture.append(callsPicture);

let shownHistorySvg: string | undefined;

function drawClients(current: Frame, time: number): void {
  const data = clientsAt(current);
  ui.clients.hidden = data === undefined;
  ui.main.classList.toggle("with-clients", data !== undefined);
  if (data === undefined) return;
  const { calls, history, clients } = data;

  // The verdict: of the history so far (a live run), or of the test's whole history (a recording).
  const verdict = history?.verdict;
  const whose = recording !== undefined ? "the test's history" : "history so far";
  ui.historyStatus.dataset.verdict = verdict ?? "none";
  ui.historyStatus.textContent =
    verdict === undefined
      ? recording !== undefined
        ? `${whose}: no verdict recorded`
        : `${whose}: not checked yet`
      : verdict === "unknown"
        ? `${whose}: undecided`
        : `${whose}: ${verdict}`;
  ui.historyStatus.title =
    verdict === "unknown"
      ? "The checker could not decide in the time it has (a long history of overlapping calls)."
      : recording !== undefined && verdict === undefined
        ? "The test records the checker's verdict only when the history cannot be put in one order."
        : "Whether the calls can be put in one order that respects their times, each call taking effect at once between its call and its answer.";
  const broken = verdict === "not linearizable";
  ui.historyFailure.hidden = !broken;
  if (broken) {
    if (ui.historyText.textContent !== (history?.text ?? "")) ui.historyText.textContent = history?.text ?? "";
    if (shownHistorySvg !== history?.svg) {
      shownHistorySvg = history?.svg;
      const picture = history?.svg === undefined ? undefined : scalableSvg(history.svg);
      ui.historyPicture.replaceChildren(...(picture === undefined ? [] : [picture]));
    }
  }

  // The time axis: the last `callWindow` ms up to the moment shown (a strip that scrolls), or the whole run.
  const runStart = recording !== undefined ? (recording.frames[0]?.time ?? 0) : 0;
  const runEnd = recording !== undefined ? (recording.frames.at(-1)?.time ?? time) : Math.max(furthest, time);
  let start: number;
  let end: number;
  if (!Number.isFinite(callWindow) || (recording !== undefined && runEnd - runStart <= callWindow)) {
    start = runStart;
    end = Math.max(runEnd, time, start + 100);
  } else {
    start = Math.max(runStart, time - callWindow);
    end = start + callWindow;
  }
  const width = Math.max(320, Math.floor(ui.clientsPicture.clientWidth || 600));
  const height = CALLS.axis + clients.length * CALLS.row + 4;
  const left = CALLS.gutter;
  const right = width - CALLS.right;
  const x = (t: number): number => left + ((Math.max(start, Math.min(end, t)) - start) / (end - start)) * (right - left);
  callsPicture.setAttribute("viewBox", `0 0 ${width} ${height}`);
  callsPicture.setAttribute("height", String(height));
  callsPicture.classList.toggle("broken", broken);

  const parts: SVGElement[] = [];
  const { step, ticks } = axisTicks(start, end, Math.max(3, Math.floor((right - left) / 90)));
  for (const t of ticks) {
    const tick = svg("g", { class: "tick" });
    const at = x(t);
    tick.append(svg("line", { x1: at.toFixed(1), y1: CALLS.axis - 4, x2: at.toFixed(1), y2: height - 2 }));
    const words = svg("text", { x: at.toFixed(1), y: CALLS.axis - 8, "text-anchor": "middle" });
    words.textContent = tickText(t, step);
    tick.append(words);
    parts.push(tick);
  }
  clients.forEach((id, row) => {
    const top = CALLS.axis + row * CALLS.row;
    parts.push(svg("line", { class: "row-line", x1: 0, y1: top + CALLS.row, x2: width, y2: top + CALLS.row }));
    const name = svg("text", { class: "client-name", x: 4, y: top + 14 });
    name.textContent = id;
    const waiting = calls.some((c) => c.client === id && c.returnedAt === null);
    const state = svg("text", { class: "client-state", x: 4, y: top + 26 });
    state.textContent = waiting ? "waiting" : calls.some((c) => c.client === id) ? "idle" : "no calls yet";
    parts.push(name, state);
    const mine = calls.filter((c) => c.client === id).sort((a, b) => a.calledAt - b.calledAt);
    mine.forEach((call, i) => {
      const until = call.returnedAt ?? time;
      if (until < start || call.calledAt > end) return;
      const x1 = x(call.calledAt);
      const x2 = Math.max(x(until), x1 + 3);
      const answered = call.returnedAt !== null;
      const group = svg("g", { class: `call ${call.operation === "get" ? "read" : "write"}${answered ? "" : " waiting"}`, "data-client": call.client });
      const y = top + (CALLS.row - CALLS.bar) / 2;
      group.append(svg("rect", { class: "bar", x: x1.toFixed(1), y, width: (x2 - x1).toFixed(1), height: CALLS.bar, rx: 3 }));
      // The words go in the bar when they fit, else just after it, up to this client's next call.
      const label = `${call.text} ${callResult(call)}`;
      const inside = label.length * CALLS.charWidth + 8 <= x2 - x1;
      const next = mine[i + 1];
      const from = inside ? x1 + 4 : x2 + 4;
      const room = (next === undefined ? width : x(next.calledAt)) - from - 4;
      const shown = cutText(label, Math.floor(room / CALLS.charWidth));
      if (shown.length >= 3) {
        const text = svg("text", { x: from.toFixed(1), y: y + CALLS.bar / 2 + 4 });
        text.textContent = shown;
        group.append(text);
      }
      group.dataset.tip = callTip(call, time);
      parts.push(group);
    });
  });
  if (calls.length === 0) {
    const note = svg("text", { class: "empty-note", x: left + 8, y: CALLS.axis + CALLS.row / 2 + 4 });
    note.textContent = recording !== undefined ? "No client has called yet at this moment." : "No calls yet: make one below.";
    parts.push(note);
  }
  if (time >= start && time <= end) parts.push(svg("line", { class: "now-line", x1: x(time).toFixed(1), y1: CALLS.axis - 4, x2: x(time).toFixed(1), y2: height - 2 }));
  callsLayer.replaceChildren(...parts);
}

// A new width: draw the clients' axis again to fit.
window.addEventListener("resize", () => drawVersion++);

// ---------------------------------------------------------------------------
// Calling the service (Chapter 8 on)
// ---------------------------------------------------------------------------

for (const id of PAGE_CLIENTS) {
  const option = document.createElement("option");
  option.value = id;
  option.textContent = id;
  ui.callClient.append(option);
}

/** The highest "vN" value sent so far in this run (a call on its way to the worker counts too). */
let valuesReserved = { epoch: -1, most: 0 };
/** The value box was changed by hand: keep what was typed until the next call. */
let valueEdited = false;

/** v1, v2, ...: a value no call of this run's branch has written yet, so each write can be told apart in the history. */
function nextValue(): string {
  const events = frame?.events ?? Number.POSITIVE_INFINITY;
  let most = valuesReserved.epoch === runEpoch ? valuesReserved.most : 0;
  for (const a of run.actions) {
    if (a.kind !== "call" || a.after > events) continue;
    const n = /^v(\d+)$/.exec(a.call.value);
    if (n !== null) most = Math.max(most, Number(n[1]));
  }
  return `v${most + 1}`;
}

/** Whether a call can be made now, and why not. */
function callBlocked(stopped: boolean, current: Frame | undefined): string | undefined {
  if (recording !== undefined) return "A test's run plays what its clients did: calls are for live runs (npm run visualize).";
  if (config.chapter < 8) return "Clients call the key-value service from Chapter 8 on.";
  if (current === undefined) return "The run has not started yet.";
  if (current.calls === undefined) return "This run has no clients (no clerk.ts beside the node file).";
  if (stopped) return "The run has stopped.";
  return undefined;
}

function updateCallForm(stopped: boolean, current: Frame | undefined): void {
  const blocked = callBlocked(stopped, current);
  const get = ui.callOperation.value === "get";
  ui.callForm.dataset.disabled = String(blocked !== undefined);
  ui.callForm.setAttribute("aria-disabled", String(blocked !== undefined));
  ui.call.title = blocked ?? "The client calls the service through its clerk";
  for (const control of [ui.callClient, ui.callOperation, ui.callKey, ui.call]) control.disabled = blocked !== undefined;
  ui.callValue.disabled = blocked !== undefined || get;
  if (!valueEdited && recording === undefined) {
    const fresh = nextValue();
    if (ui.callValue.value !== fresh) ui.callValue.value = fresh;
  }
  const client = ui.callClient.value;
  const waitingFor = current?.calls?.find((c) => c.client === client && c.returnedAt === null);
  const preview = waitingFor !== undefined && blocked === undefined ? `${client} is still waiting for ${waitingFor.text}` : "";
  if (ui.callPreview.textContent !== preview) ui.callPreview.textContent = preview;
}

ui.callValue.addEventListener("input", () => (valueEdited = true));
for (const control of [ui.callClient, ui.callOperation]) control.addEventListener("change", () => updateControls());

ui.callForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (ui.call.disabled) return;
  const operation = ui.callOperation.value as KeyValueOperation;
  const call: ClientCall = { operation, key: ui.callKey.value, value: operation === "get" ? "" : ui.callValue.value };
  const action: ActionKind = { kind: "call", client: ui.callClient.value, call };
  if (operation !== "get") {
    const n = /^v(\d+)$/.exec(call.value);
    const most = valuesReserved.epoch === runEpoch ? valuesReserved.most : 0;
    valuesReserved = { epoch: runEpoch, most: Math.max(most, n === null ? 0 : Number(n[1])) };
    valueEdited = false;
  }
  takeAction(action);
  updateControls();
});

// ---------------------------------------------------------------------------
// Drawing a frame
// ---------------------------------------------------------------------------

/** Bumped when the selection changes, so a paused picture is drawn again. */
let drawVersion = 0;
let drawnKey = "";
let drawnFrame: Frame | undefined;

/** The frame shown and the simulated time it is drawn at (between two frames, messages move on). */
function shown(): { frame: Frame; time: number } | undefined {
  if (recording !== undefined) {
    const current = recording.frames[recordIndex];
    if (current === undefined) return undefined;
    const next = recording.frames[recordIndex + 1];
    const time = Math.max(current.time, Math.min(recordTime, next?.time ?? current.time));
    return { frame: current, time };
  }
  if (frame === undefined) return undefined;
  // While playing, draw up to a millisecond past the frame (plays go to whole milliseconds).
  const time = playing ? Math.max(frame.time, Math.min(targetTime, frame.time + 1)) : frame.time;
  return { frame, time };
}

function draw(): void {
  const now = shown();
  drawFailure();
  if (now === undefined) return;
  layoutServers(now.frame.nodes.map((n) => n.id));
  const key = `${drawVersion} ${now.time}`;
  if (now.frame === drawnFrame && key === drawnKey) return;
  drawnFrame = now.frame;
  drawnKey = key;
  for (const node of now.frame.nodes) drawServer(node, now.time);
  drawCutLinks(now.frame.cutLinks);
  drawMessages(now.frame.messages, now.time);
  drawLogs(now.frame.nodes);
  drawEvents(now.frame.recent);
  drawClients(now.frame, now.time);
  ui.clock.textContent = formatMs(now.time);
  ui.eventsCount.textContent = `${now.frame.events} event${now.frame.events === 1 ? "" : "s"}`;
  if (recording !== undefined) ui.frameCount.textContent = `frame ${recordIndex + 1} of ${recording.frames.length}`;
  drawTimeline(now.frame);
  drawNetwork();
  updateControls();
  updateTooltip();
}

function drawTimeline(current: Frame): void {
  if (recording !== undefined) {
    // A recording's timeline goes frame by frame: several frames can share one simulated time.
    ui.timeline.min = "0";
    ui.timeline.max = String(Math.max(0, recording.frames.length - 1));
    if (!scrubbing) ui.timeline.value = String(recordIndex);
    ui.timeline.setAttribute("aria-valuetext", `frame ${recordIndex + 1} of ${recording.frames.length}, at ${formatMs(current.time)}`);
    return;
  }
  ui.timeline.min = "0";
  ui.timeline.max = String(Math.max(1, Math.ceil(furthest), current.time));
  if (!scrubbing) ui.timeline.value = String(Math.floor(current.time));
}

// ---------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------

function setPlaying(on: boolean): void {
  if (recording !== undefined && on && recordIndex >= recording.frames.length - 1) {
    // At the end: play from the start.
    showRecordedFrame(0);
  }
  if (recording === undefined && on && frame !== undefined) {
    if (frame.failure !== undefined || stuck !== undefined) on = false;
    else targetTime = frame.time;
  }
  if (recording === undefined && !on && playing) {
    // Stop where the play on its way ends: going back to the frame shown would replay the run from the start.
    targetTime = requestedTime ?? frame?.time ?? targetTime;
    writeAddress();
  }
  playing = on;
  updateControls();
}

/** The current leader: the running leader of the highest term. */
function leader(nodes: readonly NodeFrame[]): NodeFrame | undefined {
  let best: NodeFrame | undefined;
  for (const node of nodes) if (node.status === "up" && node.role === "leader" && (best === undefined || node.currentTerm > best.currentTerm)) best = node;
  return best;
}

/** x1, x2, ...: numbered along the run's branch (the actions after the moment shown are dropped when one is taken). */
function nextCommand(): string {
  const events = frame?.events ?? Number.POSITIVE_INFINITY;
  return `x${run.actions.filter((a) => a.kind === "propose" && a.after <= events).length + 1}`;
}

function linksOf(id: NodeId, cut: Frame["cutLinks"]): { cut: number; total: number } {
  const total = 2 * (nodeIds.length - 1);
  return { cut: cut.filter(([a, b]) => a === id || b === id).length, total };
}

function updateControls(): void {
  const live = recording === undefined;
  ui.play.textContent = playing ? "Pause" : "Play";
  ui.play.classList.toggle("playing", playing);
  ui.step.disabled = live ? frame === undefined || frame.failure !== undefined || stuck !== undefined : recording.frames.length === 0 || recordIndex >= recording.frames.length - 1;

  const current = live ? frame : recording.frames[recordIndex];
  const stopped = !live || current === undefined || current.failure !== undefined || watchdog || loadError !== undefined;
  const node = selected === undefined ? undefined : current?.nodes.find((n) => n.id === selected);
  ui.selectedTitle.textContent = node === undefined ? "No server selected" : `Server ${node.id}: ${roleWord(node)}`;
  const status = node?.status;
  const links = node === undefined || current === undefined ? undefined : linksOf(node.id, current.cutLinks);
  const able = (yes: boolean) => !stopped && node !== undefined && yes;
  ui.crash.disabled = !able(status === "up" || status === "paused");
  ui.restart.disabled = !able(status === "crashed");
  ui.pause.disabled = !able(status === "up");
  ui.resume.disabled = !able(status === "paused");
  ui.timeout.disabled = !able(status === "up" && node?.election !== undefined);
  ui.isolate.disabled = !able(links !== undefined && links.cut < links.total);
  ui.reconnect.disabled = !able(links !== undefined && links.cut > 0);
  ui.proposeHere.disabled = !able(status === "up");
  ui.proposeHere.textContent = node === undefined ? "Send command here" : `Send ${nextCommand()} to ${node.id}`;

  for (const box of ui.groupChoices.querySelectorAll<HTMLInputElement>("input[data-select]")) {
    box.checked = group.has(box.dataset.select ?? "");
    box.disabled = !live;
  }
  const groupOne = nodeIds.filter((id) => group.has(id));
  const rest = nodeIds.filter((id) => !group.has(id));
  ui.partition.disabled = stopped || groupOne.length === 0 || rest.length === 0;
  ui.partition.textContent = groupOne.length === 0 || rest.length === 0 ? "Partition" : `Partition {${groupOne.join(", ")}} | {${rest.join(", ")}}`;
  ui.heal.disabled = stopped || current === undefined || current.cutLinks.length === 0;
  const unreliable = networkUnreliable();
  ui.network.disabled = stopped;
  ui.network.textContent = unreliable ? "Reliable network" : "Unreliable network";
  ui.network.title = unreliable ? "Carry every message again, once and in order" : `Lose, duplicate and hold back messages: ${UNRELIABLE_WORDS}`;
  ui.network.setAttribute("aria-pressed", String(unreliable));
  const target = current === undefined ? undefined : (leader(current.nodes) ?? node);
  ui.propose.disabled = stopped || target === undefined || target.status !== "up";
  ui.propose.textContent = target === undefined ? "Send command" : `Send command ${nextCommand()} to ${target.id}`;

  updateLinkChoices(node, current, stopped);
  ui.seed.disabled = !live;
  ui.newRun.disabled = !live;
  ui.copyLink.disabled = !live;
  ui.saveRun.disabled = !live;
  updateCallForm(stopped, current);
}

/** Take an action when the worker is free; `choose` runs then, so a command's number and the leader are those of that moment. */
function takeAction(choose: ActionKind | (() => ActionKind | undefined)): void {
  if (recording !== undefined) {
    showNotice("A test's run plays what the test did: actions are for live runs (npm run visualize).");
    return;
  }
  enqueue(async () => {
    const action = typeof choose === "function" ? choose() : choose;
    if (action !== undefined) await act(action);
  });
}

function nodeAction(kind: "crash" | "restart" | "pause" | "resume" | "timeout" | "isolate" | "reconnect"): void {
  if (selected === undefined) return;
  takeAction({ kind, node: selected });
}

for (const kind of ["crash", "restart", "pause", "resume", "timeout", "isolate", "reconnect"] as const) ui[kind].addEventListener("click", () => nodeAction(kind));

/**
 * The selected server's links, one button per other server: cut the link
 * both ways, or mend it. (Isolate cuts them all; Partition cuts between
 * groups.) The buttons are made again only when the servers change.
 */
function updateLinkChoices(node: NodeFrame | undefined, current: Frame | undefined, stopped: boolean): void {
  ui.linkActions.hidden = node === undefined || recording !== undefined;
  if (node === undefined || current === undefined) return;
  const others = current.nodes.filter((n) => n.id !== node.id && n.status !== "scripted").map((n) => n.id);
  const shown = [...ui.linkChoices.querySelectorAll<HTMLButtonElement>("button[data-link]")].map((b) => b.dataset.link);
  if (shown.join(",") !== others.join(",") || ui.linkChoices.dataset.node !== node.id) {
    ui.linkChoices.replaceChildren(
      ...others.map((id) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.link = id;
        button.textContent = id;
        button.addEventListener("click", () => {
          const from = ui.linkChoices.dataset.node;
          if (from === undefined) return;
          const cut = button.classList.contains("cut");
          takeAction({ kind: cut ? "restore" : "cut", between: [from, id] });
        });
        return button;
      }),
    );
    ui.linkChoices.dataset.node = node.id;
  }
  for (const button of ui.linkChoices.querySelectorAll<HTMLButtonElement>("button[data-link]")) {
    const other = button.dataset.link ?? "";
    const cut = current.cutLinks.some(([a, b]) => (a === node.id && b === other) || (a === other && b === node.id));
    button.classList.toggle("cut", cut);
    button.title = cut ? `Mend the link between ${node.id} and ${other}` : `Cut the link between ${node.id} and ${other}, both ways`;
    button.disabled = stopped;
  }
}

ui.saveRun.addEventListener("click", () => {
  // The run as a file: what a link holds, readable, for npm run visualize -- chapterN --run FILE.
  const saved = { ...run, ...(frame === undefined ? {} : { at: Math.floor(frame.time) }) };
  const file = new Blob([`${JSON.stringify(saved, null, 2)}\n`], { type: "application/json" });
  const anchor = document.createElement("a");
  anchor.href = URL.createObjectURL(file);
  anchor.download = `chapter${run.chapter}-seed${run.seed}-run.json`;
  anchor.click();
  URL.revokeObjectURL(anchor.href);
  showNotice(`Saved as ${anchor.download}: npm run visualize -- chapter${run.chapter} --run ${anchor.download} opens it (with the same node file).`);
});

ui.proposeHere.addEventListener("click", () => {
  const node = selected;
  if (node !== undefined) takeAction(() => ({ kind: "propose", node, command: nextCommand() }));
});

ui.propose.addEventListener("click", () => {
  takeAction(() => {
    const current = frame;
    if (current === undefined) return undefined;
    const target = leader(current.nodes)?.id ?? selected;
    if (target === undefined) {
      showNotice("No leader yet: select a server to send the command to.");
      return undefined;
    }
    return { kind: "propose", node: target, command: nextCommand() };
  });
});

ui.partition.addEventListener("click", () => {
  const groupOne = nodeIds.filter((id) => group.has(id));
  const rest = nodeIds.filter((id) => !group.has(id));
  if (groupOne.length === 0 || rest.length === 0) return;
  takeAction({ kind: "partition", groups: [groupOne, rest] });
});

ui.heal.addEventListener("click", () => takeAction({ kind: "heal" }));

// Decided when the action is taken: the network as the frame of that moment has it.
ui.network.addEventListener("click", () => takeAction(() => ({ kind: "network", unreliable: !networkUnreliable() })));

/** The partition's choices: one box per server drawn. */
function buildGroupChoices(ids: readonly NodeId[]): void {
  ui.groupChoices.replaceChildren(
    ...ids.map((id) => {
      const label = document.createElement("label");
      label.className = "group-choice";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.dataset.select = id;
      box.addEventListener("change", () => {
        if (box.checked) group.add(id);
        else group.delete(id);
        drawVersion++;
        updateControls();
      });
      label.append(box, document.createTextNode(id));
      return label;
    }),
  );
}

ui.play.addEventListener("click", () => setPlaying(!playing));

ui.step.addEventListener("click", () => {
  if (recording !== undefined) {
    playing = false;
    showRecordedFrame(recordIndex + 1);
    updateControls();
    return;
  }
  playing = false;
  updateControls();
  enqueue(stepOnce);
});

const SPEEDS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10];
for (const value of SPEEDS) {
  const option = document.createElement("option");
  option.value = String(value);
  option.textContent = `${value}× real time`;
  option.selected = value === speed;
  ui.speed.append(option);
}
ui.speed.addEventListener("change", () => {
  speed = Number(ui.speed.value);
});

ui.timeline.addEventListener("pointerdown", () => (scrubbing = true));
window.addEventListener("pointerup", () => (scrubbing = false));
ui.timeline.addEventListener("change", () => (scrubbing = false));
ui.timeline.addEventListener("input", () => {
  const value = Number(ui.timeline.value);
  playing = false;
  if (recording !== undefined) {
    // In a recording the timeline's value is a frame's index.
    showRecordedFrame(value);
  } else {
    targetTime = value;
    pump();
  }
  updateControls();
});

/** Show a recording's frame `index` (clamped), at its own time. */
function showRecordedFrame(index: number): void {
  const frames = recording?.frames ?? [];
  recordIndex = Math.max(0, Math.min(frames.length - 1, Number.isFinite(index) ? Math.round(index) : 0));
  recordTime = frames[recordIndex]?.time ?? 0;
  heldAtInstant = 0;
}

/**
 * Play a recording on by `elapsed` ms of real time. Time runs at the
 * chosen speed from frame to frame; frames at one simulated instant (a test
 * handing a node several messages at once) are shown one after another,
 * each for a moment of real time, instead of all at once.
 */
function playRecording(elapsed: number): void {
  const frames = recording?.frames ?? [];
  const dwell = Math.min(800, 15 / speed);
  let left = elapsed;
  for (;;) {
    const current = frames[recordIndex];
    const next = frames[recordIndex + 1];
    if (current === undefined || next === undefined) {
      recordTime = current?.time ?? 0;
      playing = false;
      updateControls();
      return;
    }
    if (next.time <= current.time) {
      const wait = dwell - heldAtInstant;
      if (left < wait) {
        heldAtInstant += left;
        return;
      }
      left -= wait;
    } else {
      const needed = (next.time - recordTime) / speed;
      if (left < needed) {
        recordTime += left * speed;
        return;
      }
      left -= Math.max(0, needed);
    }
    recordIndex++;
    recordTime = next.time;
    heldAtInstant = 0;
  }
}

/** The seed box was changed by hand since the run began: "new run" takes that seed. */
let seedEdited = false;
ui.seed.addEventListener("input", () => (seedEdited = true));
ui.seed.addEventListener("keydown", (event) => {
  if (event.key === "Enter") ui.newRun.click();
});
ui.newRun.addEventListener("click", () => {
  const typed = Number(ui.seed.value);
  const seed = seedEdited && ui.seed.value.trim() !== "" && Number.isSafeInteger(typed) && typed >= 0 ? typed : Math.floor(Math.random() * 1_000_000);
  newRun(seed);
  showNotice(`A new run with seed ${seed}.`);
});

ui.copyLink.addEventListener("click", () => {
  if (recording === undefined) history.replaceState(null, "", address());
  const link = location.href;
  const copied = () => showNotice("The link to this run is copied: it replays the run exactly, actions and all.");
  const fallback = () => {
    const field = document.createElement("textarea");
    field.value = link;
    document.body.append(field);
    field.select();
    const ok = document.execCommand("copy");
    field.remove();
    if (ok) copied();
    else showNotice(`Copy this link: ${link}`, 0);
  };
  if (navigator.clipboard === undefined) fallback();
  else navigator.clipboard.writeText(link).then(copied, fallback);
});

document.addEventListener("keydown", (event) => {
  if (event.key !== " " || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  // A focused button presses itself with the space bar; a text box wants its spaces.
  if (target instanceof HTMLButtonElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  if (target instanceof HTMLInputElement && target.type !== "range") return;
  event.preventDefault();
  setPlaying(!playing);
});

// ---------------------------------------------------------------------------
// The legend
// ---------------------------------------------------------------------------

function legendItem(symbol: Element, text: string): HTMLElement {
  const item = document.createElement("li");
  const words = document.createElement("span");
  words.textContent = text;
  item.append(symbol, words);
  return item;
}

function swatch(fill: string, extra: Record<string, string | number> = {}): SVGSVGElement {
  const box = svg("svg", { width: 20, height: 20, viewBox: "-10 -10 20 20", "aria-hidden": "true" });
  box.append(svg("circle", { r: 8, fill, ...extra }));
  return box;
}

function buildLegend(): void {
  const list = document.createElement("ul");
  const crashed = swatch(ROLE_COLOURS.crashed);
  crashed.append(svg("path", { d: "M -4 -4 L 4 4 M 4 -4 L -4 4", stroke: "#ff8080", "stroke-width": 2 }));
  const paused = swatch(ROLE_COLOURS.follower);
  paused.append(svg("circle", { r: 8, fill: "url(#hatch)" }));
  const timer = svg("svg", { width: 20, height: 20, viewBox: "-10 -10 20 20", "aria-hidden": "true" });
  timer.append(svg("path", { d: arcPath(7, 0.7), class: "timer election" }));
  const cut = svg("svg", { width: 20, height: 20, viewBox: "0 0 20 20", "aria-hidden": "true" });
  cut.append(svg("line", { x1: 1, y1: 10, x2: 19, y2: 10, class: "cut" }));
  const entry = { term: 1, command: "x1" };
  list.append(
    legendItem(swatch(ROLE_COLOURS.follower), "follower"),
    legendItem(swatch(ROLE_COLOURS.candidate), "candidate"),
    legendItem(swatch(ROLE_COLOURS.leader), "leader"),
    legendItem(crashed, "crashed"),
    legendItem(paused, "paused"),
    ...(recording?.frames.some((f) => f.nodes.some((n) => n.status === "scripted")) === true
      ? [legendItem(swatch(ROLE_COLOURS.scripted, { stroke: "#6b7683", "stroke-width": 1.6, "stroke-dasharray": "3 2" }), "played by the test (no state of its own)")]
      : []),
    legendItem(timer, "election timer: time left (thin: heartbeat)"),
    legendItem(legendMark({ type: "RequestVote", fields: { type: "RequestVote", term: 1, candidateId: "A", lastLogIndex: 0, lastLogTerm: 0 } }), "RequestVote"),
    legendItem(legendMark({ type: "RequestVoteReply", fields: { type: "RequestVoteReply", term: 1, voteGranted: true } }), "vote granted"),
    legendItem(legendMark({ type: "AppendEntries", fields: { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 } }), "AppendEntries (heartbeat)"),
    legendItem(legendMark({ type: "AppendEntries", fields: { type: "AppendEntries", term: 1, leaderId: "A", prevLogIndex: 0, prevLogTerm: 0, entries: [entry, entry], leaderCommit: 0 } }), "AppendEntries with entries"),
    legendItem(legendMark({ type: "AppendEntriesReply", fields: { type: "AppendEntriesReply", term: 1, success: true, matchIndex: 1, lastLogIndex: 1 } }), "AppendEntriesReply"),
    legendItem(legendMark({ type: "AppendEntriesReply", fields: { type: "AppendEntriesReply", term: 1, success: false, matchIndex: 0, lastLogIndex: 0 } }), "a reply that refuses (red rim)"),
  );
  if (config.chapter >= 9) {
    list.append(legendItem(legendMark({ type: "InstallSnapshot", fields: { type: "InstallSnapshot", term: 1, leaderId: "A", lastIncludedIndex: 1, lastIncludedTerm: 1, data: "" } }), "InstallSnapshot"));
  }
  list.append(legendItem(cut, "cut link (each direction on its own side)"));
  const cells = document.createElement("span");
  cells.className = "legend-cells";
  const committed = document.createElement("span");
  committed.className = "log-cell committed";
  committed.style.setProperty("--term-colour", termColour(2));
  committed.textContent = "2";
  const uncommitted = document.createElement("span");
  uncommitted.className = "log-cell uncommitted";
  uncommitted.style.setProperty("--term-colour", termColour(2));
  uncommitted.textContent = "2";
  cells.append(committed, uncommitted);
  list.append(legendItem(cells, "log entry of term 2: committed, not yet committed (colour by term)"));
  ui.legend.append(list);
}

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------

let lastTick: number | undefined;

function tick(now: number): void {
  const elapsed = lastTick === undefined ? 0 : Math.min(250, now - lastTick);
  lastTick = now;
  if (recording !== undefined) {
    if (playing && recording.frames.length > 0) playRecording(elapsed);
  } else {
    if (playing && frame !== undefined && !watchdog) {
      // Keep the wanted time no more than a quarter second of real time ahead of the worker.
      targetTime = Math.min(targetTime + elapsed * speed, frame.time + Math.max(20, 250 * speed));
    }
    pump();
  }
  draw();
  updateTooltip();
  requestAnimationFrame(tick);
}

function start(): void {
  document.title = recording !== undefined ? `${recording.testName} · Raft Workbook` : `${config.chapterTitle} · Raft Workbook`;
  ui.heading.textContent = recording !== undefined ? `Test: ${recording.testName}` : config.chapterTitle;
  if (recording !== undefined) {
    const replay = `npm run replay -- chapter${recording.chapter} --seed ${recording.seed} --test ${JSON.stringify(recording.testName)} --visualize`;
    ui.subheading.textContent =
      `${config.chapterTitle} · seed ${recording.seed} · a recording of the test as it ran when replayed: ${recording.frames.length} frame${recording.frames.length === 1 ? "" : "s"}` +
      `${recording.firstEvent > 0 ? ` (the first ${recording.firstEvent} events left out)` : ""}${recording.worlds > 1 ? `, the last of the ${recording.worlds} worlds the test made` : ""}. ` +
      `It does not change when you save ${config.nodeLabel}: replay the test again to see your new code.`;
    ui.subheading.title = `To see your new code: ${replay} (with the same --node, if you gave one)`;
  } else {
    ui.subheading.textContent = `running ${config.nodeLabel}`;
  }
  buildLegend();
  // The servers to draw before the first frame comes: a live run's five, a recording's own.
  layoutServers(recording !== undefined ? (recording.frames[0]?.nodes.map((n) => n.id) ?? []) : PAGE_NODES);
  ui.seed.value = String(run.seed);
  ui.clerkNote.textContent =
    recording !== undefined
      ? "A test's run plays what its clients did; hover a call for its times and result."
      : "Clients call through their clerk (clerk.ts), as Chapter 8 teaches; “Send command” proposes a raw command to the leader instead.";
  if (recording !== undefined) {
    ui.actionsNote.textContent = "A test's run plays what the test did: the actions are for live runs.";
    ui.actionsNote.hidden = false;
    showRecordedFrame(recording.frames.length - 1);
    playing = false;
    ui.frameCount.hidden = false;
    for (const item of document.querySelectorAll<HTMLElement>(".help-live")) item.hidden = true;
    for (const item of document.querySelectorAll<HTMLElement>(".help-recording")) item.hidden = false;
    ui.timeline.setAttribute("aria-label", "Frame of the recording");
    ui.timeline.title = "The recording frame by frame: several frames can share one simulated time (a test hands a node several messages at once)";
    ui.step.title = "Show the next frame";
    if (recording.frames.length === 0) showNotice("The recording holds no frames.", 0);
  } else {
    if (linked !== undefined) {
      showNotice(`The run from the link: seed ${run.seed}, ${run.actions.length} action${run.actions.length === 1 ? "" : "s"}${linked.at === undefined ? "" : `, at ${formatMs(linked.at)}`}.`);
    }
    // A link opens at its moment, paused; otherwise the run starts playing.
    playing = linked?.at === undefined;
    furthest = linked?.at ?? 0;
    writeAddress();
  }
  updateControls();
  draw();
  pump();
  requestAnimationFrame(tick);
}

declare global {
  interface Window {
    raftPage: { frame(): Frame | undefined; run(): RunDescription; busy(): boolean };
  }
}

window.raftPage = {
  frame: () => (recording !== undefined ? recording.frames[recordIndex] : frame),
  run: () => run,
  busy: () => working || watchdog || client.busy || jobs.length > 0 || addressTimer !== undefined,
};

start();
