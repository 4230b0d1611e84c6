// Pieces every page uses: keyboard tabs, empty/error notices that say what to do next, charts
// (uPlot for curves; inline SVG for bars with target lines and the confusion matrix).
import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { StudioRequestError } from "./api.js";

/** A tablist: arrow keys, Home and End move between tabs (WAI-ARIA tabs pattern). */
export function Tabs(props: { label: string; tabs: Array<{ id: string; label: string }>; current: string; onSelect: (id: string) => void; idPrefix: string }) {
  const onKey = (event: KeyboardEvent) => {
    const index = props.tabs.findIndex((tab) => tab.id === props.current);
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: props.tabs.length - 1 };
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const next = props.tabs[(target + props.tabs.length) % props.tabs.length]!;
    props.onSelect(next.id);
    (document.getElementById(`${props.idPrefix}-tab-${next.id}`) as HTMLElement | null)?.focus();
  };
  return html`<div class="tabs" role="tablist" aria-label=${props.label} onKeyDown=${onKey}>
    ${props.tabs.map(
      (tab) => html`<button type="button" role="tab" id=${`${props.idPrefix}-tab-${tab.id}`} aria-selected=${tab.id === props.current} aria-controls=${`${props.idPrefix}-panel`}
        tabindex=${tab.id === props.current ? 0 : -1} onClick=${() => props.onSelect(tab.id)}>${tab.label}</button>`,
    )}
  </div>`;
}

export function ErrorNotice(props: { error: StudioRequestError | Error | null; onRetry?: () => void }) {
  if (!props.error) return null;
  const hint = "hint" in props.error ? props.error.hint : null;
  return html`<div class="notice error" role="alert">
    <strong>${props.error.message}</strong>
    ${hint ? html`<p>What to do: ${hint}</p>` : null}
    ${props.onRetry ? html`<button type="button" onClick=${props.onRetry}>Try again</button>` : null}
  </div>`;
}

export function Empty(props: { title: string; children?: unknown }) {
  return html`<div class="notice empty"><strong>${props.title}</strong>${props.children}</div>`;
}

export const Loading = (props: { what: string }) => html`<p class="loading" role="status">Loading ${props.what}…</p>`;

export interface Series {
  label: string;
  color: string;
  points: Array<[number, number]>;
}

/** Curves over a shared x axis (steps), drawn by uPlot; redraws when the points change. */
export function LineChart(props: { title: string; xLabel: string; series: Series[]; height?: number; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const xs = [...new Set(props.series.flatMap((series) => series.points.map(([x]) => x)))].sort((a, b) => a - b);
  const data: uPlot.AlignedData = [xs, ...props.series.map((series) => {
    const byX = new Map(series.points);
    return xs.map((x) => byX.get(x) ?? null);
  })];
  const shape = props.series.map((series) => series.label).join("|");
  useEffect(() => {
    if (!box.current) return;
    const element = box.current;
    const width = () => Math.max(260, element.clientWidth);
    const options: uPlot.Options = {
      title: props.title,
      width: width(),
      height: props.height ?? 240,
      scales: { x: { time: false } },
      // Steps are whole numbers: no 1.2, 1.4 ticks on a short run.
      axes: [{ label: props.xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000] }, {}],
      series: [{ label: props.xLabel }, ...props.series.map((series) => ({ label: series.label, stroke: series.color, width: 2, spanGaps: true, points: { show: true, size: 5 } }))],
    };
    plot.current = new uPlot(options, data, element);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: width(), height: props.height ?? 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape]);
  useEffect(() => plot.current?.setData(data), [JSON.stringify(data)]);
  const total = props.series.reduce((sum, series) => sum + series.points.length, 0);
  return html`<figure class="chart" data-testid=${props.testId} data-points=${total}>
    <div ref=${box}></div>
    <figcaption class="visually-hidden">${props.title}: ${props.series.map((series) => `${series.label} ${series.points.length} points`).join(", ")}</figcaption>
  </figure>`;
}

/**
 * Horizontal bars (value 0..max) with an optional target line, in HTML and CSS rather than SVG so the
 * labels keep their real font size at phone width.
 */
export function BarChart(props: { title: string; bars: Array<{ label: string; value: number; note?: string }>; max?: number; target?: { value: number; label: string }; format?: (value: number) => string; testId?: string }) {
  const format = props.format ?? ((value: number) => String(value));
  const max = props.max ?? Math.max(1, ...props.bars.map((bar) => bar.value));
  const share = (value: number) => `${((Math.min(value, max) / max) * 100).toFixed(2)}%`;
  return html`<figure class="bar-chart" data-testid=${props.testId}>
    <figcaption>${props.title}</figcaption>
    <div class="bars" role="img" aria-label=${`${props.title}: ${props.bars.map((bar) => `${bar.label} ${format(bar.value)}`).join(", ")}${props.target ? `; ${props.target.label} at ${format(props.target.value)}` : ""}`}>
      ${props.bars.map(
        (bar) => html`<div class="bar-row" title=${`${bar.label}: ${format(bar.value)}${bar.note ? ` (${bar.note})` : ""}`}>
          <span class="bar-label">${bar.label}</span>
          <span class="bar-track"><span class="bar" style=${`width:${share(bar.value)}`}></span>${props.target ? html`<span class="target" style=${`left:${share(props.target.value)}`}></span>` : null}</span>
          <span class="bar-value">${format(bar.value)}</span>
        </div>`,
      )}
      ${props.target ? html`<div class="bar-row target-legend"><span></span><span class="target-label">┆ ${props.target.label}</span><span></span></div>` : null}
    </div>
  </figure>`;
}

/** matrix[gold][predicted], as the report writes it: `labels` name the columns (the last counts unparseable answers), rows are the gold labels. */
export function ConfusionMatrix(props: { title: string; labels: string[]; matrix: number[][] }) {
  const max = Math.max(1, ...props.matrix.flat());
  return html`<figure class="confusion" data-testid="confusion-matrix">
    <figcaption>${props.title}</figcaption>
    <table>
      <thead><tr><th scope="col">gold ↓ · answer →</th>${props.labels.map((label) => html`<th scope="col">${label}</th>`)}</tr></thead>
      <tbody>
        ${props.matrix.map(
          (counts, row) => html`<tr><th scope="row">${props.labels[row] ?? row}</th>${props.labels.map((_, column) => {
            const count = counts[column] ?? 0;
            return html`<td class=${row === column ? "diagonal" : ""} style=${`--strength:${(count / max).toFixed(2)}`}>${count}</td>`;
          })}</tr>`,
        )}
      </tbody>
    </table>
  </figure>`;
}
