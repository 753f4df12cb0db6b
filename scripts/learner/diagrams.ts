/**
 * npm run diagrams [-- --out DIR]
 *
 * Renders every diagrams/*.mmd to an SVG beside it (or into DIR) with
 * mermaid-cli, driving Debian's chromium through Puppeteer. Puppeteer
 * never downloads a browser here (see .puppeteerrc.cjs); it uses the one
 * installed on the machine.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderMermaid } from "@mermaid-js/mermaid-cli";
import puppeteer from "puppeteer";
import { PROJECT_ROOT, runMain, UsageError } from "../shared/chapters.mjs";
import { helpText, isMain, parseCommand } from "../shared/cli.mjs";

const BROWSERS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

export function findBrowser(): string | undefined {
  const configured = process.env.PUPPETEER_EXECUTABLE_PATH ?? process.env.CHROME_PATH;
  if (configured) return existsSync(configured) ? configured : undefined;
  return BROWSERS.find((file) => existsSync(file));
}

export const NO_BROWSER = [
  "No Chromium or Chrome was found to render the diagrams with.",
  "  Debian or Ubuntu:  sudo apt-get install -y chromium",
  "  macOS:             brew install --cask chromium",
  "  Or point to a browser you have:  PUPPETEER_EXECUTABLE_PATH=/path/to/chrome npm run diagrams",
  `Looked for: ${BROWSERS.join(", ")}`,
].join("\n");

/** Render Mermaid definitions to SVG text, all in one browser. */
export async function renderSvgs(definitions: readonly { name: string; definition: string }[]): Promise<Map<string, string>> {
  const executablePath = findBrowser();
  if (!executablePath) throw new UsageError(NO_BROWSER);
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Flags for a sandboxed machine with no network: no sandbox (often run
    // as root in CI), no GPU, and no background calls home.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const svgs = new Map<string, string>();
  try {
    // One page per diagram, all at once: most of the time is spent waiting on the browser.
    await Promise.all(
      definitions.map(async ({ name, definition }) => {
        let svg: Uint8Array;
        try {
          ({ data: svg } = await renderMermaid(browser, definition, "svg", {
            backgroundColor: "white",
            svgId: name,
            // A replayed run can be long: let Mermaid take all of it.
            mermaidConfig: { theme: "neutral", maxTextSize: 5_000_000, maxEdges: 100_000 } as Record<string, unknown>,
          }));
        } catch (error) {
          throw new Error(`${name} does not render: ${error instanceof Error ? error.message : String(error)}`);
        }
        svgs.set(name, new TextDecoder().decode(svg));
      }),
    );
  } finally {
    await browser.close();
  }
  return svgs;
}

/** Render every diagram into `outDir`; returns the files written. */
export async function renderDiagrams(outDir: string): Promise<string[]> {
  const sourceDir = path.join(PROJECT_ROOT, "diagrams");
  const sources = readdirSync(sourceDir).filter((f) => f.endsWith(".mmd")).sort();
  mkdirSync(outDir, { recursive: true });
  const svgs = await renderSvgs(sources.map((source) => ({ name: source.replace(/\.mmd$/, ""), definition: readFileSync(path.join(sourceDir, source), "utf8") })));
  const written: string[] = [];
  for (const [name, svg] of svgs) {
    const target = path.join(outDir, `${name}.svg`);
    writeFileSync(target, svg);
    written.push(target);
  }
  return written.sort();
}

const COMMAND = {
  usage: "npm run diagrams [-- --out DIR] [--from FILE.mmd --out FILE.svg]",
  options: {
    out: { type: "string" as const, value: "DIR|FILE", help: "write the SVGs there instead of diagrams/ (with --from: the SVG file)" },
    from: { type: "string" as const, value: "FILE", help: "render this one Mermaid file instead (npm run replay -- ... --svg uses it)" },
  },
};

async function main(): Promise<number> {
  const { values, positionals } = parseCommand(COMMAND, process.argv.slice(2));
  if (positionals.length > 0) throw new UsageError(`npm run diagrams takes no arguments, only --out DIR.\n\n${helpText(COMMAND)}`);
  if (typeof values.from === "string") {
    const from = path.resolve(process.cwd(), values.from);
    const out = typeof values.out === "string" ? path.resolve(process.cwd(), values.out) : from.replace(/\.mmd$/, "") + ".svg";
    if (!existsSync(from)) throw new UsageError(`${values.from} does not exist.`);
    const svgs = await renderSvgs([{ name: path.basename(from).replace(/\.mmd$/, ""), definition: readFileSync(from, "utf8") }]);
    writeFileSync(out, [...svgs.values()][0]!);
    console.log(`Drawn to ${path.relative(process.cwd(), out)} with ${findBrowser()}.`);
    return 0;
  }
  const outDir = typeof values.out === "string" ? path.resolve(process.cwd(), values.out) : path.join(PROJECT_ROOT, "diagrams");
  const written = await renderDiagrams(outDir);
  for (const file of written) console.log(`rendered ${path.relative(process.cwd(), file)}`);
  console.log(`${written.length} diagram(s) rendered with ${findBrowser()}.`);
  return 0;
}

if (isMain(import.meta.url)) await runMain(main);
