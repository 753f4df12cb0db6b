/**
 * SVG drawing helpers for the page (visualizer/page.ts): the ring's
 * geometry, timer arcs, the colours of roles and terms, the shapes of
 * messages. Nothing here knows about the worker or the page's state.
 */
import type { MessageFrame } from "./cluster-frames.ts";

export const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with its attributes set. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Where server `i` of `count` sits on the ring: the first at the top, the others clockwise. */
export function ringPosition(i: number, count: number, center: Point, radius: number): Point {
  const angle = -Math.PI / 2 + (2 * Math.PI * i) / count;
  return { x: center.x + radius * Math.cos(angle), y: center.y + radius * Math.sin(angle) };
}

/**
 * An arc around (0, 0) from the top, clockwise, over `fraction` of the
 * circle: a timer's time left. Empty for nothing left; a whole circle
 * is drawn as two halves (one arc command cannot close on itself).
 */
export function arcPath(radius: number, fraction: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  if (f <= 0.0005) return "";
  if (f >= 0.9995) return `M 0 ${-radius} A ${radius} ${radius} 0 1 1 0 ${radius} A ${radius} ${radius} 0 1 1 0 ${-radius}`;
  const angle = -Math.PI / 2 + 2 * Math.PI * f;
  const x = radius * Math.cos(angle);
  const y = radius * Math.sin(angle);
  return `M 0 ${-radius} A ${radius} ${radius} 0 ${f > 0.5 ? 1 : 0} 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
}

/** How much of a timer is left at `time`: 1 when just set, 0 when due. */
export function timeLeft(timer: { readonly setAt: number; readonly dueAt: number }, time: number): number {
  const span = timer.dueAt - timer.setAt;
  if (span <= 0) return 0;
  return Math.max(0, Math.min(1, (timer.dueAt - time) / span));
}

/** The roles' colours (the legend in index.html uses the same). */
export const ROLE_COLOURS = {
  follower: "#8aa4c4",
  candidate: "#f2a93b",
  leader: "#3aa76d",
  crashed: "#3b4048",
  scripted: "#d9dde3",
} as const;

/** A term's colour: neighbouring terms differ clearly; the palette repeats after ten terms. */
const TERM_PALETTE = ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fc9272", "#fdd0a2", "#c7e9c0", "#9e9ac8", "#fbb4c4", "#c6dbef"];

export function termColour(term: number): string {
  if (term <= 0) return "#e6e8eb";
  return TERM_PALETTE[(term - 1) % TERM_PALETTE.length]!;
}

/** Each message type's colour, and whether it is a reply (replies are drawn hollow). */
export const MESSAGE_STYLE: Readonly<Record<MessageFrame["type"], { readonly colour: string; readonly reply: boolean; readonly shape: "circle" | "square" | "diamond" }>> = {
  RequestVote: { colour: "#e08a00", reply: false, shape: "circle" },
  RequestVoteReply: { colour: "#e08a00", reply: true, shape: "circle" },
  AppendEntries: { colour: "#2f6fd0", reply: false, shape: "circle" },
  AppendEntriesReply: { colour: "#2f6fd0", reply: true, shape: "circle" },
  InstallSnapshot: { colour: "#8a4fc8", reply: false, shape: "square" },
  InstallSnapshotReply: { colour: "#8a4fc8", reply: true, shape: "square" },
  ClientRequest: { colour: "#6b7280", reply: false, shape: "diamond" },
  ClientReply: { colour: "#6b7280", reply: true, shape: "diamond" },
};

/** Whether a reply says no (a vote refused, entries refused): drawn with a red rim. */
export function refused(message: MessageFrame): boolean {
  const fields = message.fields;
  switch (fields.type) {
    case "RequestVoteReply":
      return !fields.voteGranted;
    case "AppendEntriesReply":
      return !fields.success;
    case "ClientReply":
      return !fields.success;
    default:
      return false;
  }
}

/** How big a message's mark is: AppendEntries carrying entries is bigger than a heartbeat. */
function markSize(message: MessageFrame): number {
  const fields = message.fields;
  if (fields.type === "AppendEntries") return fields.entries.length > 0 ? 8 : 5.5;
  return 6.5;
}

/** A message's mark, centred on (0, 0). */
export function messageMark(message: MessageFrame): SVGElement {
  const style = MESSAGE_STYLE[message.type];
  const size = markSize(message);
  const fill = style.reply ? "#ffffff" : style.colour;
  const stroke = style.reply && refused(message) ? "#d62828" : style.colour;
  const common = { fill, stroke, "stroke-width": style.reply ? 2.5 : 1.5 };
  let mark: SVGElement;
  if (style.shape === "square") mark = svg("rect", { x: -size, y: -size, width: 2 * size, height: 2 * size, rx: 1.5, ...common });
  else if (style.shape === "diamond") mark = svg("polygon", { points: `0,${-size * 1.2} ${size * 1.2},0 0,${size * 1.2} ${-size * 1.2},0`, ...common });
  else mark = svg("circle", { r: size, ...common });
  const fields = message.fields;
  if (fields.type === "AppendEntries" && fields.entries.length > 0) {
    // The number of entries it carries, on the mark itself.
    const group = svg("g");
    group.append(mark);
    const count = svg("text", { class: "mark-count", "text-anchor": "middle", "dominant-baseline": "central", y: 0.5 });
    count.textContent = String(fields.entries.length);
    group.append(count);
    return group;
  }
  return mark;
}

/** A small inline SVG of a message's mark, for the legend. */
export function legendMark(message: Pick<MessageFrame, "type" | "fields">): SVGSVGElement {
  const box = svg("svg", { width: 20, height: 20, viewBox: "-10 -10 20 20", "aria-hidden": "true" });
  box.append(messageMark({ id: 0, from: "", to: "", sentAt: 0, arrivesAt: 0, text: "", ...message }));
  return box;
}

/** "1 234 ms": a simulated time as the page shows it (a space between thousands, as the terminal writes). */
export function formatMs(time: number): string {
  const whole = Math.floor(time);
  return `${String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, " ")} ms`;
}

/**
 * Round times for an axis from `start` to `end` (ms): a step of 1, 2 or 5
 * times a power of ten, giving about `about` ticks.
 */
export function axisTicks(start: number, end: number, about: number): { readonly step: number; readonly ticks: readonly number[] } {
  const span = Math.max(1, end - start);
  const rough = span / Math.max(1, about);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end + 1e-9; t += step) ticks.push(t);
  return { step, ticks };
}

/** A tick's words: in seconds for steps of 100 ms or more ("1.5 s"), in ms below ("1 250 ms"). */
export function tickText(time: number, step: number): string {
  if (time === 0) return "0";
  if (step >= 100) return `${(time / 1000).toFixed(step >= 1000 ? 0 : 1)} s`;
  return formatMs(time);
}

/** Clients in their natural order: c2 before c10. */
export function byClientNumber(a: string, b: string): number {
  const na = Number(/\d+$/.exec(a)?.[0] ?? Number.NaN);
  const nb = Number(/\d+$/.exec(b)?.[0] ?? Number.NaN);
  if (Number.isFinite(na) && Number.isFinite(nb) && a.replace(/\d+$/, "") === b.replace(/\d+$/, "")) return na - nb;
  return a.localeCompare(b);
}

/** Words cut to at most `most` characters, with an ellipsis when cut. */
export function cutText(text: string, most: number): string {
  if (most <= 0) return "";
  if (text.length <= most) return text;
  return most <= 1 ? "…" : `${text.slice(0, most - 1)}…`;
}

/**
 * The linearizability checker's picture (world/linearizability.ts
 * historySvg, markup our own code made), as an element that scales to the
 * width of its container: its fixed width and height become a viewBox.
 */
export function scalableSvg(markup: string): SVGSVGElement | undefined {
  const parsed = new DOMParser().parseFromString(markup, "image/svg+xml");
  const root = parsed.documentElement;
  if (root.nodeName !== "svg" || parsed.getElementsByTagName("parsererror").length > 0) return undefined;
  const picture = document.importNode(root, true) as unknown as SVGSVGElement;
  const width = Number.parseFloat(picture.getAttribute("width") ?? "");
  const height = Number.parseFloat(picture.getAttribute("height") ?? "");
  if (!picture.hasAttribute("viewBox") && Number.isFinite(width) && Number.isFinite(height)) picture.setAttribute("viewBox", `0 0 ${width} ${height}`);
  picture.removeAttribute("width");
  picture.removeAttribute("height");
  picture.setAttribute("preserveAspectRatio", "xMinYMin meet");
  picture.setAttribute("role", "img");
  return picture;
}
