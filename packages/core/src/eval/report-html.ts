// report.html: one self-contained file (inline CSS and SVG, no script, no network) that opens
// offline: headline table, training curves, confusion matrices, slice bars with target lines,
// calibration, significance, unparseable answers and example answers side by side.
import type { EvalReport, SystemResult } from "@reviewtune/contracts";
import { HEADLINE_ROWS, formatEstimate } from "./report-markdown.js";

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const round = (value: number) => Math.round(value * 10) / 10;
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"];

interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

/** A line chart with axes and a legend; empty series are skipped, no series gives a note. */
export function lineChart(title: string, series: Series[], options: { xLabel: string; yLabel: string; width?: number; height?: number }): string {
  const width = options.width ?? 520;
  const height = options.height ?? 260;
  const pad = { left: 52, right: 16, top: 28, bottom: 40 };
  const drawn = series.filter((entry) => entry.points.length > 0);
  if (drawn.length === 0) return `<figure><figcaption>${escape(title)}</figcaption><p class="note">no data</p></figure>`;
  const xs = drawn.flatMap((entry) => entry.points.map((point) => point.x));
  const ys = drawn.flatMap((entry) => entry.points.map((point) => point.y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs) === Math.min(...xs) ? Math.min(...xs) + 1 : Math.max(...xs)];
  const [yMin, yMax] = [Math.min(0, ...ys), Math.max(...ys) * 1.05 || 1];
  const x = (value: number) => pad.left + ((value - xMin) / (xMax - xMin)) * (width - pad.left - pad.right);
  const y = (value: number) => height - pad.bottom - ((value - yMin) / (yMax - yMin)) * (height - pad.top - pad.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((fraction) => yMin + fraction * (yMax - yMin));
  const paths = drawn.map((entry, index) => {
    const color = COLORS[index % COLORS.length]!;
    const d = entry.points.map((point, position) => `${position === 0 ? "M" : "L"}${round(x(point.x))},${round(y(point.y))}`).join(" ");
    const dots = entry.points.length < 40 ? entry.points.map((point) => `<circle cx="${round(x(point.x))}" cy="${round(y(point.y))}" r="2.5" fill="${color}"/>`).join("") : "";
    return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${dots}<text x="${width - pad.right - 110}" y="${pad.top + 14 * index}" fill="${color}" font-size="12">${escape(entry.name)}</text>`;
  });
  return `<figure><figcaption>${escape(title)}</figcaption><svg role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#888"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#888"/>
${ticks.map((tick) => `<text x="${pad.left - 6}" y="${round(y(tick)) + 4}" font-size="11" text-anchor="end">${tick.toFixed(2)}</text>`).join("")}
<text x="${pad.left}" y="${height - 22}" font-size="11">${xMin}</text><text x="${width - pad.right}" y="${height - 22}" font-size="11" text-anchor="end">${xMax}</text>
<text x="${(width + pad.left) / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${escape(options.xLabel)}</text>
<text x="12" y="${(height - pad.bottom + pad.top) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${(height - pad.bottom + pad.top) / 2})">${escape(options.yLabel)}</text>
${paths.join("\n")}
</svg></figure>`;
}

export function confusionChart(system: SystemResult): string {
  const confusion = system.sentiment?.confusion;
  if (!confusion) return "";
  const cell = 64;
  const left = 90;
  const top = 40;
  const rows = confusion.matrix;
  const max = Math.max(1, ...rows.flat());
  const cells = rows.flatMap((row, goldIndex) =>
    row.map((count, predictedIndex) => {
      const shade = Math.round(255 - (count / max) * 200);
      return `<rect x="${left + predictedIndex * cell}" y="${top + goldIndex * cell}" width="${cell - 2}" height="${cell - 2}" fill="rgb(${shade},${shade},255)"/>` +
        `<text x="${left + predictedIndex * cell + cell / 2}" y="${top + goldIndex * cell + cell / 2 + 5}" text-anchor="middle" font-size="14">${count}</text>`;
    }),
  );
  const width = left + confusion.labels.length * cell + 10;
  const height = top + rows.length * cell + 30;
  return `<figure><figcaption>Confusion matrix: ${escape(system.name)} (rows gold, columns predicted)</figcaption><svg role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
${confusion.labels.map((label, index) => `<text x="${left + index * cell + cell / 2}" y="${top - 8}" text-anchor="middle" font-size="10">${escape(label)}</text>`).join("")}
${confusion.labels.slice(0, rows.length).map((label, index) => `<text x="${left - 6}" y="${top + index * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${escape(label)}</text>`).join("")}
${cells.join("")}
</svg></figure>`;
}

/** Horizontal bars of slice accuracy with the line each slice must clear (or "too small"). */
export function sliceChart(report: EvalReport, dimension: string, title: string): string {
  const slices = report.slices.filter((slice) => slice.dimension === dimension);
  if (slices.length === 0) return "";
  const judged = slices.filter((slice) => slice.n >= report.targets.min_slice && slice.accuracy.value !== null);
  const best = judged.length ? Math.max(...judged.map((slice) => slice.accuracy.value!)) : null;
  const lineFor = (slice: (typeof slices)[number]): number | null => {
    if (dimension === "tag") return slice.baseline_accuracy;
    if (best === null) return null;
    if (dimension === "sentiment_class") return best - report.targets.class_gap_points / 100;
    return best * (1 - (dimension === "length" ? report.targets.length_drop : report.targets.category_drop));
  };
  const barHeight = 22;
  const left = 150;
  const chartWidth = 320;
  const height = 20 + slices.length * (barHeight + 6) + 20;
  const bars = slices.map((slice, index) => {
    const yTop = 20 + index * (barHeight + 6);
    const small = slice.n < report.targets.min_slice;
    const value = slice.accuracy.value ?? 0;
    const line = lineFor(slice);
    const whisker =
      slice.accuracy.low !== null && slice.accuracy.high !== null
        ? `<line x1="${round(left + slice.accuracy.low * chartWidth)}" y1="${yTop + barHeight / 2}" x2="${round(left + slice.accuracy.high * chartWidth)}" y2="${yTop + barHeight / 2}" stroke="#111" stroke-width="1.5"/>`
        : "";
    return `<text x="${left - 6}" y="${yTop + 15}" text-anchor="end" font-size="11">${escape(slice.name)} (n=${slice.n})</text>
<rect x="${left}" y="${yTop}" width="${round(value * chartWidth)}" height="${barHeight}" fill="${small ? "#cbd5e1" : "#60a5fa"}"/>${whisker}
${line !== null ? `<line x1="${round(left + line * chartWidth)}" y1="${yTop - 2}" x2="${round(left + line * chartWidth)}" y2="${yTop + barHeight + 2}" stroke="#dc2626" stroke-width="2"/>` : ""}
<text x="${left + chartWidth + 8}" y="${yTop + 15}" font-size="11">${(value * 100).toFixed(0)}%${small ? " too small" : ""}</text>`;
  });
  return `<figure><figcaption>${escape(title)} (red line: the target to clear)</figcaption><svg role="img" viewBox="0 0 ${left + chartWidth + 90} ${height}" width="${left + chartWidth + 90}" height="${height}">${bars.join("\n")}</svg></figure>`;
}

export function calibrationChart(system: SystemResult): string {
  if (!system.calibration) return "";
  const size = 240;
  const pad = 36;
  const scale = (value: number) => pad + value * (size - 2 * pad);
  const bins = system.calibration.bins.filter((bin) => bin.count > 0);
  const points = bins.map((bin) => `<circle cx="${round(scale(bin.confidence!))}" cy="${round(size - scale(bin.accuracy!))}" r="${Math.min(9, 2.5 + Math.sqrt(bin.count))}" fill="#2563eb" fill-opacity="0.6"/>`);
  return `<figure><figcaption>Calibration: ${escape(system.name)} (ECE ${system.calibration.ece.toFixed(3)}; x confidence, y accuracy)</figcaption><svg role="img" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}">
<rect x="${pad}" y="${pad}" width="${size - 2 * pad}" height="${size - 2 * pad}" fill="none" stroke="#888"/>
<line x1="${scale(0)}" y1="${size - scale(0)}" x2="${scale(1)}" y2="${size - scale(1)}" stroke="#aaa" stroke-dasharray="4"/>
${points.join("")}
<text x="${pad}" y="${size - 12}" font-size="10">0</text><text x="${size - pad}" y="${size - 12}" font-size="10" text-anchor="end">1</text>
</svg></figure>`;
}

const htmlTable = (header: string[], rows: string[][]) =>
  `<table><thead><tr>${header.map((cell) => `<th>${escape(cell)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escape(cell)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;

export function renderHtml(report: EvalReport): string {
  const languageModels = report.systems.filter((system) => system.sentiment && system.latency);
  const sections: string[] = [];
  sections.push(`<h1>Evaluation of run ${escape(report.run.id)}</h1>
<p>${report.dataset.items} test items from ${report.dataset.reviews} reviews of <code>${escape(report.dataset.directory)}</code>. Figures: value [95% bootstrap interval, ${report.bootstrap_samples} resamples, seed ${report.seed}]. Unparseable answers count as wrong.</p>`);
  sections.push(htmlTable(["metric", ...report.systems.map((system) => system.name)], HEADLINE_ROWS.map((row) => [row.label, ...report.systems.map(row.figure)])));
  sections.push(`<ul>${report.systems.map((system) => `<li><b>${escape(system.name)}</b>: ${escape(system.description)}</li>`).join("")}</ul>`);
  sections.push(`<p>Gold labels: ${escape(Object.entries(report.gold_sources).map(([label, sources]) => `${label} from ${sources.join(" + ")}`).join("; "))}.</p>`);
  for (const caveat of report.caveats) sections.push(`<p class="note">${escape(caveat)}</p>`);
  sections.push(
    `<h2>Training</h2><div class="row">${lineChart(
      "Loss over training steps",
      [
        { name: "train loss", points: report.training.loss.map((point) => ({ x: point.step, y: point.value })) },
        { name: "eval loss", points: report.training.eval_loss.map((point) => ({ x: point.step, y: point.value })) },
      ],
      { xLabel: "step", yLabel: "loss" },
    )}</div>`,
  );
  sections.push(`<h2>Sentiment</h2><div class="row">${report.systems.map(confusionChart).join("")}</div><div class="row">${languageModels.map(calibrationChart).join("")}</div>`);
  if (report.comparisons.length) {
    sections.push(
      `<h2>Tuned vs base (paired)</h2>${htmlTable(
        ["metric", "n", "difference (points)", "only tuned right", "only base right", "McNemar p"],
        report.comparisons.map((comparison) => [comparison.metric, String(comparison.n), formatEstimate(comparison.difference), String(comparison.only_a), String(comparison.only_b), comparison.mcnemar_p.toFixed(4)]),
      )}`,
    );
    const flips = report.comparisons.flatMap((comparison) => [
      ...comparison.wrong_to_right.slice(0, 10).map((flip) => ["wrong → right", comparison.metric, flip.id, flip.gold, flip.base, flip.tuned]),
      ...comparison.right_to_wrong.slice(0, 10).map((flip) => ["right → wrong", comparison.metric, flip.id, flip.gold, flip.base, flip.tuned]),
    ]);
    if (flips.length) sections.push(`<details><summary>Flipped examples (first 10 each way)</summary>${htmlTable(["flip", "metric", "item", "gold", "base", "tuned"], flips)}</details>`);
  }
  sections.push(
    `<h2>Robustness</h2>${htmlTable(
      ["check", "rule", "value", "target", "status", "detail"],
      report.checks.map((check) => [check.dimension, check.rule, check.value === null ? "n/a" : check.value.toFixed(3), check.target.toFixed(3), check.status === "too_small" ? "too small" : check.status, check.detail]),
    )}<div class="row">${sliceChart(report, "category", "Accuracy by category")}${sliceChart(report, "sentiment_class", "Accuracy by sentiment class")}${sliceChart(report, "length", "Accuracy by review length")}${sliceChart(report, "tag", "Edge cases vs the random baseline")}</div>`,
  );
  if (report.cost) {
    const { cost } = report;
    sections.push(
      `<h2>Cost</h2><p>Per 1,000 answers: local <b>${cost.local_per_1000.toFixed(4)} ${escape(cost.settings.currency)}</b> (${cost.seconds_per_answer.toFixed(2)} s per answer measured, ${cost.settings.power_watts} W at ${cost.settings.price_per_kwh} ${escape(cost.settings.currency)}/kWh) vs ${escape(
        Object.entries(cost.api_per_1000)
          .map(([name, price]) => `${name}: ${price.toFixed(2)} ${cost.settings.currency}`)
          .join("; "),
      )}.</p>`,
    );
  }
  sections.push(
    `<h2>Unparseable answers (${report.unparseable.length})</h2>${report.unparseable.length ? `<details><summary>show</summary>${htmlTable(["system", "item", "task", "answer"], report.unparseable.map((entry) => [entry.system, entry.id, entry.task, entry.answer]))}</details>` : "<p>none</p>"}`,
  );
  const systemsWithAnswers = [...new Set(report.examples.flatMap((example) => Object.keys(example.answers)))];
  sections.push(
    `<h2>Examples</h2><details><summary>${report.examples.length} items with every model's answer</summary>${htmlTable(
      ["item", "task", "prompt", "reference", ...systemsWithAnswers],
      report.examples.map((example) => [example.id, example.task, example.prompt, example.reference, ...systemsWithAnswers.map((name) => example.answers[name] ?? "")]),
    )}</details>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>reviewtune evaluation: ${escape(report.run.id)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#111}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;max-width:420px}
th{background:#f3f4f6}.row{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600;margin:4px 0}
.note{color:#92400e;background:#fffbeb;padding:6px 10px}code{background:#f3f4f6;padding:0 4px}
</style></head><body>
${sections.join("\n")}
<p class="note">Generated ${escape(report.created)} by reviewtune eval; report.json holds every figure.</p>
</body></html>
`;
}
