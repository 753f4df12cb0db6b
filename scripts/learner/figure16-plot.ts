/**
 * Figure 16's two graphs, drawn like the paper's: for each range of
 * election timeouts, the cumulative share of trials (y) that had a leader
 * again within a given time (x). The top graph's time axis is
 * logarithmic, as in the paper. Rendered to SVG with Vega-Lite (compiled
 * to Vega, whose SVG renderer needs no browser), not by hand.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Figure16Row } from "../../scenarios/figure16.ts";

/** One point per trial: the downtime, and the percentage of all trials done by then. */
function cdfPoints(rows: readonly Figure16Row[]): { range: string; downtime: number; percent: number }[] {
  const points: { range: string; downtime: number; percent: number }[] = [];
  for (const row of rows) {
    const range = `${row.range[0]}-${row.range[1]} ms`;
    row.downtimes.forEach((downtime, i) => points.push({ range, downtime, percent: ((i + 1) / row.trials) * 100 }));
  }
  return points;
}

/** The SVG of one graph. `log` draws the time axis on a log scale (the paper's top graph). */
export async function figure16Svg(rows: readonly Figure16Row[], options: { readonly title: string; readonly log: boolean; readonly maxMs: number; readonly note: string }): Promise<string> {
  const order = rows.map((r) => `${r.range[0]}-${r.range[1]} ms`);
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: options.title, subtitle: options.note, fontSize: 14, subtitleFontSize: 11 },
    width: 560,
    height: 260,
    background: "white",
    data: { values: cdfPoints(rows) },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 1.8 },
    encoding: {
      x: {
        field: "downtime",
        type: "quantitative",
        title: "time without leader (ms)",
        scale: options.log ? { type: "log", domain: [100, options.maxMs] } : { domain: [0, options.maxMs] },
        axis: { grid: true },
      },
      y: { field: "percent", type: "quantitative", title: "cumulative percent of trials", scale: { domain: [0, 100] } },
      color: { field: "range", type: "nominal", title: "election timeout", sort: order, scale: { scheme: "category10" } },
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

/** Both graphs of a run, as the paper draws them: the top one (randomness) on a log time axis up to 10 s, the bottom one (scaled-down timeouts) linear up to 600 ms. */
export async function figure16Graphs(result: { readonly top: readonly Figure16Row[]; readonly bottom: readonly Figure16Row[] }, note: string): Promise<{ top: string; bottom: string }> {
  return {
    top: await figure16Svg(result.top, { title: "Time without a leader: varying the randomness", log: true, maxMs: 10_000, note }),
    bottom: await figure16Svg(result.bottom, { title: "Time without a leader: scaling the timeouts down", log: false, maxMs: 600, note }),
  };
}
