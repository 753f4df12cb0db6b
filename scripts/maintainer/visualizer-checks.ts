/**
 * The cluster in a browser page (npm run visualize, visualizer/), checked
 * in headless Chromium as a learner would use it, through the page's own
 * buttons: it loads with no console error; a leader appears within a few
 * simulated seconds; crashing it through the page elects another; a
 * partition made through the page shows two leaders in different terms;
 * going back on the timeline shows what a fresh run to that time shows
 * (the same run in Node.js, frame for frame); a shared link replays the
 * same run; a node that never returns is stopped with the terminal's own
 * words and the page stays usable; a failing test's replay opens at its
 * failure. It also takes the screenshots the README and Chapter 1's
 * reading show, so they stay current.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer";
import { loadNodeProgram, RealTimeLimitExceeded, runWithRealTimeLimit } from "../../sandbox/node-program.ts";
import type { CreateNode } from "../../world/contract.ts";
import { ClusterRun, encodeRun, type Frame, type RunDescription } from "../../visualizer/cluster-frames.ts";
import { PROJECT_ROOT } from "../shared/chapters.mjs";
import { findBrowser, NO_BROWSER } from "../learner/diagrams.ts";
import { PLANTED, plantedSource } from "./planted.ts";
import { startServer } from "./servers.ts";
import type { CheckResult } from "./learner-checks.ts";

const CACHE = path.join(PROJECT_ROOT, ".workbook-cache", "visualizer");
/** Where the README's and Chapter 1's screenshots live. */
export const SCREENSHOTS = path.join(PROJECT_ROOT, "visualizer", "screenshots");
const ADDRESS = /Open (http:\/\/[^\s]+) in a browser/;

/** What the page exposes to a test (visualizer/page.ts): read-only. */
interface PageHooks {
  frame(): Frame | undefined;
  run(): RunDescription;
  busy(): boolean;
}
declare const raftPage: PageHooks;

/** A page, with every console error and uncaught exception it had. */
async function openPage(browser: Browser, url: string, height = 860): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warn") errors.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error instanceof Error ? error.message : String(error)}`));
  await page.goto(url, { waitUntil: "load", timeout: 30_000 });
  await page.waitForFunction(() => typeof raftPage === "object" && raftPage.frame() !== undefined, { timeout: 30_000 });
  return { page, errors };
}

const frameOf = (page: Page): Promise<Frame> => page.evaluate(() => raftPage.frame()!);
const runOf = (page: Page): Promise<RunDescription> => page.evaluate(() => raftPage.run());

async function setPlaying(page: Page, playing: boolean): Promise<void> {
  const text = await page.$eval("#play", (button) => button.textContent ?? "");
  if (/pause/i.test(text) === playing) return;
  await page.click("#play");
}

async function fastest(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const select = document.querySelector("#speed");
    select.selectedIndex = select.options.length - 1;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  })()`);
}

/** Play until `condition` holds of the page's frame (checked in the page), then pause. */
async function playUntil(page: Page, condition: string, withinMs = 30_000): Promise<Frame> {
  await setPlaying(page, true);
  await page.waitForFunction(`(() => { const frame = raftPage.frame(); return frame !== undefined && (${condition}); })()`, { timeout: withinMs, polling: 50 });
  await setPlaying(page, false);
  await page.waitForFunction(() => !raftPage.busy(), { timeout: withinMs });
  return frameOf(page);
}

async function nodeAction(page: Page, node: string, button: string): Promise<void> {
  await page.click(`[data-node="${node}"]`);
  await page.waitForFunction(`document.querySelector(${JSON.stringify(button)})?.disabled === false`, { timeout: 5000 });
  await page.click(button);
  await page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
}

/** Move the timeline to `time` as a person dragging it would, and wait for the page to show that moment. */
async function scrubTo(page: Page, time: number): Promise<Frame> {
  await page.evaluate(`(() => {
    const range = document.querySelector("#timeline");
    range.value = String(${time});
    range.dispatchEvent(new Event("input", { bubbles: true }));
    range.dispatchEvent(new Event("change", { bubbles: true }));
  })()`);
  await page.waitForFunction((t) => !raftPage.busy() && raftPage.frame()?.time === t, { timeout: 30_000 }, time);
  return frameOf(page);
}

const leaders = (frame: Frame) => frame.nodes.filter((n) => n.status === "up" && n.role === "leader");

/** Two frames alike, or the first difference (frames are plain data: compare as JSON). */
function difference(a: Frame, b: Frame): string | undefined {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  if (x === y) return undefined;
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  return `…${x.slice(Math.max(0, i - 80), i + 80)}… against …${y.slice(Math.max(0, i - 80), i + 80)}…`;
}

/** The planted endless-loop case's node (Chapter 2's, stuck when a RequestVote arrives), as npm run planted grades it. */
function endlessLoopNode(): string {
  const file = path.join(CACHE, "endless-loop", "node.ts");
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, plantedSource(PLANTED.find((p) => p.name === "endless-loop")!)!);
  return file;
}

/** A link's fragment: the run, paused at its last moment. */
function linkTo(run: ClusterRun): string {
  return `#run=${encodeRun(run.descriptionNow)}&at=${run.world.now}`;
}

/** Run until `condition` holds (checked every 10 ms of simulated time), within `ms`. */
function runUntil(run: ClusterRun, condition: () => boolean, ms: number): void {
  const until = run.world.now + ms;
  while (!condition() && run.world.now < until && !run.failed) run.runUntilTime(run.world.now + 10);
}

/**
 * The README's picture: Chapter 5's reference elects a leader, takes three
 * commands, loses its leader to a crash, elects another, and is partitioned
 * so that the old leader's term and the new majority's leader show together.
 */
function readmeRun(createNode: CreateNode): ClusterRun {
  const run = new ClusterRun(createNode, { chapter: 5, seed: 3, actions: [] });
  const leaderNow = () => run.world.leaders()[0];
  runUntil(run, () => leaderNow() !== undefined, 3000);
  const first = leaderNow()!;
  for (const command of ["x1", "x2", "x3"]) run.act({ kind: "propose", node: first, command });
  run.runUntilTime(run.world.now + 200);
  run.act({ kind: "crash", node: first });
  runUntil(run, () => leaderNow() !== undefined && leaderNow() !== first, 3000);
  const second = leaderNow()!;
  run.act({ kind: "restart", node: first });
  run.act({ kind: "propose", node: second, command: "x4" });
  run.runUntilTime(run.world.now + 200);
  const companion = run.world.nodes.find((id) => id !== first && id !== second)!;
  run.act({ kind: "partition", groups: [[second, companion], run.world.nodes.filter((id) => id !== second && id !== companion)] });
  run.act({ kind: "propose", node: second, command: "x5" });
  runUntil(run, () => run.world.leaders().length === 2, 3000);
  const third = run.world.leaders().find((id) => id !== second)!;
  for (const command of ["x6", "x7"]) run.act({ kind: "propose", node: third, command });
  run.runUntilTime(run.world.now + 61);
  return run;
}

/** Chapter 1's picture: the first election timer runs out, and the candidate's RequestVotes are on their way. */
function chapter1Run(createNode: CreateNode): ClusterRun {
  const run = new ClusterRun(createNode, { chapter: 1, seed: 2, actions: [] });
  while (!run.world.nodes.some((id) => run.world.view(id).role === "candidate") && run.stepOnce());
  run.runUntilTime(run.world.now + 2);
  return run;
}

/**
 * Whether two PNG files hold the same picture. Not byte for byte: headless
 * Chromium draws the edge of a thin curve with slightly different shading
 * from one run to the next, so a picture counts as the same when fewer
 * than one pixel in 2000 differs.
 */
async function samePixels(browser: Browser, a: Buffer, b: Buffer): Promise<boolean> {
  const page = await browser.newPage();
  try {
    return (await page.evaluate(`(async () => {
      const load = (png) => new Promise((resolve, reject) => { const image = new Image(); image.onload = () => resolve(image); image.onerror = reject; image.src = "data:image/png;base64," + png; });
      const pixels = (image) => {
        const canvas = document.createElement("canvas");
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        return context.getImageData(0, 0, canvas.width, canvas.height).data;
      };
      const [x, y] = [pixels(await load(${JSON.stringify(a.toString("base64"))})), pixels(await load(${JSON.stringify(b.toString("base64"))}))];
      if (x.length !== y.length) return false;
      let differing = 0;
      for (let i = 0; i < x.length; i += 4) if (x[i] !== y[i] || x[i + 1] !== y[i + 1] || x[i + 2] !== y[i + 2] || x[i + 3] !== y[i + 3]) differing++;
      return differing < x.length / 4 / 2000;
    })()`)) as boolean;
  } finally {
    await page.close();
  }
}

/** Open a link, take the picture the README or a reading shows, and say whether it changed. */
async function screenshot(browser: Browser, link: string, name: string, height: number): Promise<string> {
  const { page, errors } = await openPage(browser, link, height);
  const at = Number(/&at=(\d+)/.exec(link)![1]);
  await page.waitForFunction((t) => !raftPage.busy() && raftPage.frame()?.time === t, { timeout: 30_000 }, at);
  // Fonts and the last drawing settle before the picture is taken.
  await page.evaluate("document.fonts.ready");
  await new Promise((resolve) => setTimeout(resolve, 300));
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  const before = existsSync(file) ? readFileSync(file) : undefined;
  const picture = Buffer.from(await page.screenshot({ type: "png" }));
  await page.close();
  if (errors.length > 0) throw new Error(`the page for ${name} said: ${errors.join("; ")}`);
  if (before !== undefined && (before.equals(picture) || (await samePixels(browser, before, picture)))) return `${name} as committed`;
  writeFileSync(file, picture);
  return `${name} remade: commit it`;
}

export async function checkVisualizer(): Promise<CheckResult> {
  const executablePath = findBrowser();
  if (!executablePath) return { ok: false, summary: NO_BROWSER };
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const problems: string[] = [];
  const lines: string[] = [];
  const say = (ok: boolean, text: string, problem?: string) => {
    lines.push(`  ${ok ? "ok    " : "FAILED"} ${text}`);
    if (!ok) problems.push(problem ?? text);
  };
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const servers: { stop: () => Promise<void> }[] = [];
  const serve = async (args: readonly string[]): Promise<string> => {
    const server = await startServer(["visualize", "--", ...args], PROJECT_ROOT, ADDRESS, 60_000);
    servers.push(server);
    return server.match[1]!;
  };
  try {
    // 1. Chapter 5's reference, through the page's buttons.
    const url = await serve(["chapter5", "--solutions", "--seed", "3", "--port", "5311"]);
    const { page, errors } = await openPage(browser, url);
    await fastest(page);
    const elected = await playUntil(page, `frame.nodes.some((n) => n.role === "leader")`);
    const first = leaders(elected)[0];
    say(first !== undefined && elected.time <= 5000, `a leader within a few simulated seconds (${first?.id ?? "none"}, term ${first?.currentTerm ?? "?"}, at ${elected.time} ms)`);
    for (let i = 0; i < 3; i++) await page.click("#propose");
    await page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    await nodeAction(page, first!.id, "#crash");
    const reelected = await playUntil(page, `frame.nodes.some((n) => n.role === "leader" && n.status === "up" && n.id !== ${JSON.stringify(first!.id)} && n.currentTerm > ${first!.currentTerm})`);
    const second = leaders(reelected)[0];
    say(second !== undefined, `crashing ${first!.id} through the page elects another (${second?.id}, term ${second?.currentTerm}, at ${reelected.time} ms)`);
    await nodeAction(page, first!.id, "#restart");
    // One link, cut through the selected server's "Link to" buttons, and mended the same way.
    const neighbour = reelected.nodes.find((n) => n.id !== first!.id)!.id;
    const linkButton = `#link-choices button[data-link="${neighbour}"]`;
    await page.click(linkButton);
    await page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    const cut = (await frameOf(page)).cutLinks.map(([a, b]) => `${a}${b}`).sort();
    await page.click(linkButton);
    await page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    const mended = (await frameOf(page)).cutLinks.length;
    say(cut.join(" ") === [`${first!.id}${neighbour}`, `${neighbour}${first!.id}`].sort().join(" ") && mended === 0, `the link between ${first!.id} and ${neighbour} is cut through the page, both ways, and mended (cut: ${cut.join(", ")})`);
    // Cut the leader and one more off from the other three: the three elect a leader of their own.
    const companion = reelected.nodes.find((n) => n.id !== second!.id && n.id !== first!.id)!.id;
    for (const id of [second!.id, companion]) await page.click(`[data-select="${id}"]`);
    await page.click("#partition");
    await page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    const split = await playUntil(page, `frame.nodes.filter((n) => n.role === "leader" && n.status === "up").length === 2`);
    const shown = await page.$$eval("[data-node][data-role=leader]", (nodes) => nodes.map((n) => `${n.getAttribute("data-node")} term ${n.getAttribute("data-term")}`));
    const terms = new Set(leaders(split).map((n) => n.currentTerm));
    say(shown.length === 2 && terms.size === 2, `a partition made through the page shows two leaders in different terms (${shown.join(", ")})`);
    for (let i = 0; i < 2; i++) await page.click("#propose");
    await page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    const later = await playUntil(page, `frame.time >= ${split.time + 300}`);
    problems.push(...errors.map((e) => `the page said: ${e}`));

    // 2. Back on the timeline: what a fresh run of the same description shows at that time, in Node.js.
    const description = await runOf(page);
    const back = await scrubTo(page, Math.round(later.time / 2));
    const createNode = loadNodeProgram(path.join(PROJECT_ROOT, "solutions", "chapter5-log-replication", "node.ts"), PROJECT_ROOT).instantiate();
    const fresh = new ClusterRun(createNode, description);
    fresh.runUntilTime(back.time);
    const apart = difference(back, fresh.frame());
    say(apart === undefined, `back on the timeline at ${back.time} ms, the page shows what a fresh run of its ${description.actions.length} actions shows then in Node.js`, `going back on the timeline differs from a fresh run: ${apart}`);
    const forth = await scrubTo(page, later.time);
    say(difference(forth, later) === undefined, "forward again, the page shows the same moment as before", `forward again differs: ${difference(forth, later)}`);

    // 3. A shared link: the same run, in a page of its own.
    const link = page.url();
    const other = await openPage(browser, link);
    const linked = await other.page.waitForFunction((t) => !raftPage.busy() && raftPage.frame()?.time === t, { timeout: 30_000 }, later.time).then(
      () => frameOf(other.page),
      () => undefined,
    );
    const sameRun = linked !== undefined && difference(linked, later) === undefined;
    say(sameRun, "a shared link opens the same run at the same moment", linked === undefined ? `the link ${link} did not open at ${later.time} ms` : `the link's run differs: ${difference(linked, later)}`);
    problems.push(...other.errors.map((e) => `the linked page said: ${e}`));
    await other.page.close();

    // 4. A run saved to a file (what the page's Save run writes) opens the same, from the command line.
    const runFile = path.join(CACHE, "saved-run.json");
    writeFileSync(runFile, `${JSON.stringify({ ...description, at: later.time }, null, 2)}\n`);
    const savedUrl = await serve(["chapter5", "--solutions", "--run", runFile, "--port", "5317"]);
    const saved = await openPage(browser, savedUrl);
    const fromFile = await saved.page.waitForFunction((t) => !raftPage.busy() && raftPage.frame()?.time === t, { timeout: 30_000 }, later.time).then(
      () => frameOf(saved.page),
      () => undefined,
    );
    say(fromFile !== undefined && difference(fromFile, later) === undefined, "a run saved to a file opens the same run at the same moment (npm run visualize -- chapter5 --run FILE)", fromFile === undefined ? `the saved run did not open at ${later.time} ms` : `the saved run differs: ${difference(fromFile, later)}`);
    problems.push(...saved.errors.map((e) => `the saved run's page said: ${e}`));
    await saved.page.close();
    await page.close();

    // 5. A node that never returns: stopped with the terminal's words, and the page still works.
    const endless = endlessLoopNode();
    const stuckUrl = await serve(["chapter2", "--node", endless, "--seed", "1", "--port", "5312"]);
    const stuck = await openPage(browser, stuckUrl);
    await setPlaying(stuck.page, true);
    const failure = await stuck.page
      .waitForFunction(`document.querySelector("#failure")?.textContent?.includes("did not return") === true`, { timeout: 40_000 })
      .then(() => stuck.page.$eval("#failure", (f) => f.textContent ?? ""));
    // The terminal's report of the same run: the world in Node.js, under the same limit.
    let terminal = "";
    try {
      const looping = loadNodeProgram(endless, PROJECT_ROOT).instantiate();
      runWithRealTimeLimit(5000, () => new ClusterRun(looping, { chapter: 2, seed: 1, actions: [] }).runUntilTime(10_000));
    } catch (error) {
      if (error instanceof RealTimeLimitExceeded) terminal = error.message;
      else throw error;
    }
    say(terminal !== "" && failure.includes(terminal), "a node that never returns is stopped with the terminal's words", `the page said:\n${failure}\nthe terminal says:\n${terminal}`);
    const early = await scrubTo(stuck.page, 50);
    say(early.failure === undefined && early.time === 50, "after it, the page still works: back on the timeline, the run shows again");
    problems.push(...stuck.errors.filter((e) => !/did not return/.test(e)).map((e) => `the page of a stuck node said: ${e}`));
    await stuck.page.close();

    // 6. The screenshots: runs made here and opened from their links, paused at a chosen moment, so the
    // same code draws the same picture every time (the interactive runs above depend on real time).
    lines.push(`  ${await screenshot(browser, `${url}${linkTo(readmeRun(createNode))}`, "cluster.png", 1060)}`);
    const chapter1Url = await serve(["chapter1", "--solutions", "--port", "5313"]);
    const chapter1Node = loadNodeProgram(path.join(PROJECT_ROOT, "solutions", "chapter1-timers-and-roles", "node.ts"), PROJECT_ROOT).instantiate();
    lines.push(`  ${await screenshot(browser, `${chapter1Url}${linkTo(chapter1Run(chapter1Node))}`, "chapter1-election.png", 720)}`);

    // 7. Chapter 8: a client's calls through the page's form, drawn as bars, with the checker's verdict.
    const chapter8Url = await serve(["chapter8", "--solutions", "--seed", "4", "--port", "5316"]);
    const chapter8 = await openPage(browser, chapter8Url);
    await fastest(chapter8.page);
    await playUntil(chapter8.page, `frame.nodes.some((n) => n.role === "leader")`);
    await chapter8.page.select("#call-operation", "put");
    await chapter8.page.evaluate(`(() => { const key = document.querySelector("#call-key"); key.value = "x"; key.dispatchEvent(new Event("input", { bubbles: true })); const value = document.querySelector("#call-value"); value.value = "hello"; value.dispatchEvent(new Event("input", { bubbles: true })); })()`);
    await chapter8.page.click("#call");
    await chapter8.page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    await chapter8.page.select("#call-client", "c2");
    await chapter8.page.select("#call-operation", "get");
    await chapter8.page.click("#call");
    await chapter8.page.waitForFunction(() => !raftPage.busy(), { timeout: 10_000 });
    const answered = await playUntil(chapter8.page, `(frame.calls ?? []).length === 2 && frame.calls.every((c) => c.returnedAt !== null)`);
    // The bars are labelled with their calls (a label may be cut short to fit: the call's name is enough).
    const drawn = (await chapter8.page.evaluate(`document.querySelector("#clients")?.textContent ?? ""`)) as string;
    const calls = (answered.calls ?? []).map((c) => `${c.client} ${c.text} → ${JSON.stringify(c.result)}`);
    say(
      calls.join("; ") === 'c1 put("x", "hello") → ""; c2 get("x") → "hello"' && answered.history?.verdict === "linearizable" && drawn.includes("put(") && drawn.includes("get("),
      `Chapter 8: two clients' calls made through the page are answered and drawn (${calls.join("; ")}; history ${answered.history?.verdict})`,
    );
    problems.push(...chapter8.errors.map((e) => `the Chapter 8 page said: ${e}`));
    await chapter8.page.close();

    // 8. A failing test's replay opens at its failure: the untouched Chapter 1 skeleton.
    const replay = await startServer(["replay", "--", "chapter1", "--seed", "7", "--test", "one timeout, one election", "--visualize"], PROJECT_ROOT, ADDRESS, 120_000).catch((error: unknown) => error as Error);
    if (replay instanceof Error) {
      say(false, "a failing test's replay opens in the page", replay.message);
    } else {
      servers.push(replay);
      const replayed = await openPage(browser, replay.match[1]!);
      const shownFailure = await replayed.page.$eval("#failure", (f) => f.textContent ?? "");
      const last = await frameOf(replayed.page);
      say(/not written yet/.test(shownFailure) && last.failure !== undefined, "a failing test's replay opens in the page at its failure, the failure beside it", `the replay's page shows: ${shownFailure.slice(0, 300)}`);
      problems.push(...replayed.errors.map((e) => `the replay's page said: ${e}`));
    }
  } catch (error) {
    problems.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    await browser.close();
    for (const server of servers) await server.stop();
  }
  return { ok: problems.length === 0, summary: `npm run visualize in headless Chromium\n${lines.join("\n")}${problems.length > 0 ? `\n${problems.join("\n")}` : ""}` };
}

/** The page in a student edition: it loads, and shows the untouched skeleton's first step to write (Chapter 2's: the edition check has finished Chapter 1 by then). */
export async function checkVisualizerInEdition(dir: string): Promise<CheckResult> {
  const executablePath = findBrowser();
  if (!executablePath) return { ok: false, summary: NO_BROWSER };
  const server = await startServer(["visualize", "--", "chapter2", "--port", "5315"], dir, ADDRESS, 60_000);
  const browser = await puppeteer.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
  try {
    const { page, errors } = await openPage(browser, server.match[1]!);
    await fastest(page);
    await setPlaying(page, true);
    await page.waitForFunction(`(document.querySelector("#failure")?.textContent ?? "").includes("not written yet")`, { timeout: 30_000 });
    const servers = await page.$$eval("[data-node]", (nodes) => nodes.length);
    const ok = errors.length === 0 && servers === 5;
    return { ok, summary: ok ? "npm run visualize -- chapter2 serves the page; it draws five servers and shows the skeleton's first step to write" : `the student edition's page: ${servers} servers drawn; ${errors.join("; ")}` };
  } catch (error) {
    return { ok: false, summary: `the student edition's page: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    await browser.close();
    await server.stop();
  }
}
