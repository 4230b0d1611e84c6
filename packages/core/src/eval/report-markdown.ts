// report.md: the headline table a person pastes into a README, then checks, significance and cost.
import type { AnalysisSystemResult, Estimate, EvalReport, SystemResult } from "@reviewtune/contracts";

export const formatEstimate = (estimate: Estimate | null | undefined, scale = 100, digits = 1): string => {
  if (!estimate || estimate.value === null) return "n/a";
  const value = (estimate.value * scale).toFixed(digits);
  return estimate.low === null || estimate.high === null ? value : `${value} [${(estimate.low * scale).toFixed(digits)}, ${(estimate.high * scale).toFixed(digits)}]`;
};

/** The headline rows: label, and how to read each system's figure. */
export const HEADLINE_ROWS: Array<{ label: string; figure: (system: SystemResult) => string }> = [
  { label: "sentiment accuracy %", figure: (system) => formatEstimate(system.sentiment?.accuracy) },
  { label: "sentiment macro F1 %", figure: (system) => formatEstimate(system.sentiment?.macro_f1) },
  { label: "sentiment AUC (one-vs-rest)", figure: (system) => formatEstimate(system.auc?.macro, 1, 3) },
  { label: "rating MAE (stars)", figure: (system) => formatEstimate(system.rating?.mae, 1, 2) },
  { label: "rating exact %", figure: (system) => formatEstimate(system.rating?.exact) },
  { label: "rating within 1 star %", figure: (system) => formatEstimate(system.rating?.within_one) },
  { label: "feature F1 %", figure: (system) => formatEstimate(system.features?.f1) },
  { label: "quality accuracy %", figure: (system) => formatEstimate(system.quality?.accuracy) },
  { label: "recommendation accuracy %", figure: (system) => formatEstimate(system.recommendation?.accuracy) },
  { label: "completeness %", figure: (system) => formatEstimate(system.completeness) },
  { label: "domain specificity %", figure: (system) => formatEstimate(system.domain_specificity) },
  { label: "perplexity under base (lower = more fluent)", figure: (system) => formatEstimate(system.coherence_perplexity, 1, 1) },
  { label: "latency p50 / p95 s (per batch)", figure: (system) => (system.latency ? `${system.latency.p50_seconds.toFixed(2)} / ${system.latency.p95_seconds.toFixed(2)}` : "n/a") },
  { label: "tokens/s", figure: (system) => (system.latency ? system.latency.tokens_per_second.toFixed(1) : "n/a") },
];

const table = (header: string[], rows: string[][]) =>
  [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.map((cell) => cell.replace(/\|/g, "\\|").replace(/\n/g, " ")).join(" | ")} |`)].join("\n");

/**
 * The chat tasks' rows, one column a system. Its corner names what was answered, beside the
 * analysis table printed above it; a row no system has a figure for (the AUC without
 * classification heads, the perplexity when it was not measured) is left out.
 */
export function headlineTable(report: EvalReport): string {
  const adherence = report.format_adherence;
  const rows = HEADLINE_ROWS.map((row) => [row.label, ...report.systems.map(row.figure)]).filter((row) => row.slice(1).some((cell) => cell !== "n/a"));
  if (adherence) {
    rows.push([
      "format adherence % (held-out phrasings)",
      ...report.systems.map((system) => {
        const overall = adherence[system.name]?.overall;
        return overall && overall.share !== null ? `${(100 * overall.share).toFixed(1)} (${overall.adherent}/${overall.total})` : "n/a";
      }),
    ]);
  }
  return table([`chat answers (${report.dataset.items})`, ...report.systems.map((system) => system.name)], rows);
}

const floor = (majority: { label: string; share: number } | null | undefined) => (majority ? ` (floor ${(100 * majority.share).toFixed(1)}: always "${majority.label}")` : "");

/** The analysis rows: every field of the one-pass analysis, each with its interval; accuracies with the majority-class floor. */
export function analysisTable(report: EvalReport): string {
  const analysis = report.analysis;
  if (!analysis) return "";
  return analysisColumns(analysis, analysis.systems.map((system) => [system.name, system]), `one-pass analysis (${analysis.items} reviews)`);
}

/** The analysis rows for the given columns (`eval --compare`: each report's tuned system; floors from `analysis`). */
export function analysisColumns(analysis: NonNullable<EvalReport["analysis"]>, columns: ReadonlyArray<readonly [string, AnalysisSystemResult]>, corner = "analysis"): string {
  const rows: Array<{ label: string; figure: (system: AnalysisSystemResult) => string }> = [
    { label: "sentiment macro F1 %", figure: (system) => formatEstimate(system.sentiment?.macro_f1) },
    { label: `sentiment accuracy %${floor(analysis.majority.sentiment)}`, figure: (system) => formatEstimate(system.sentiment?.accuracy) },
    { label: "rating MAE (stars)", figure: (system) => formatEstimate(system.rating?.mae, 1, 2) },
    { label: "rating within 1 star %", figure: (system) => formatEstimate(system.rating?.within_one) },
    { label: `rating exact %${floor(analysis.majority.stars)}`, figure: (system) => formatEstimate(system.rating?.exact) },
    { label: `quality accuracy %${floor(analysis.majority.quality)}`, figure: (system) => formatEstimate(system.quality?.accuracy) },
    { label: `recommendation accuracy %${floor(analysis.majority.recommendation)}`, figure: (system) => formatEstimate(system.recommendation?.accuracy) },
    { label: "aspect F1 %", figure: (system) => formatEstimate(system.aspects?.f1) },
    { label: "unparseable", figure: (system) => `${system.unparseable}/${system.n}` },
    { label: "analyses per minute", figure: (system) => (system.latency ? system.latency.analyses_per_minute.toFixed(1) : "n/a") },
  ];
  return table([corner, ...columns.map(([name]) => name)], rows.map((row) => [row.label, ...columns.map(([, system]) => row.figure(system))]));
}

/**
 * The paired comparisons as the terminal prints them after the tables: the analysis of every test
 * review first (tuned against each other system), then the chat answers' (a few per task, the tasks
 * in turn), each with its n, so a difference on 7 chat answers does not read as one on 40 reviews.
 */
export function comparisonLines(report: Pick<EvalReport, "comparisons" | "analysis">): string[] {
  const line = (comparison: EvalReport["comparisons"][number], what: string) =>
    `${comparison.a} vs ${comparison.b}, ${what} (n=${comparison.n}): ${formatEstimate(comparison.difference)} points, McNemar p=${comparison.mcnemar_p.toFixed(4)} (${comparison.only_a} only ${comparison.a} right, ${comparison.only_b} only ${comparison.b} right)`;
  return [
    ...(report.analysis?.comparisons ?? []).map((comparison) => line(comparison, comparison.metric)),
    ...report.comparisons.map((comparison) => line(comparison, `${comparison.metric} of the chat answers`)),
  ];
}

export function renderMarkdown(report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`# Evaluation of run ${report.run.id}`, "");
  lines.push(
    `${report.dataset.items} test items from ${report.dataset.reviews} reviews of ${report.dataset.directory} (held-out phrasings). ` +
      `Figures: value [95% bootstrap interval, ${report.bootstrap_samples} resamples, seed ${report.seed}]. Unparseable answers count as wrong.`,
    "",
  );
  if (report.analysis) {
    lines.push(`## One-pass analysis (${report.analysis.items} test reviews, one JSON answer each)`, "");
    lines.push(analysisTable(report), "");
    lines.push(`Gold: ${Object.entries(report.analysis.gold_sources).map(([field, sources]) => `${field} from ${sources.join(" + ")}`).join("; ")}.`, "");
    lines.push("## Chat tasks", "");
  }
  lines.push(headlineTable(report), "");
  lines.push(...report.systems.map((system) => `- **${system.name}**: ${system.description}`), "");
  lines.push(`Gold labels: ${Object.entries(report.gold_sources).map(([label, sources]) => `${label} from ${sources.join(" + ")}`).join("; ")}.`, "");
  for (const caveat of report.caveats) lines.push(`> ${caveat}`, "");
  if (report.comparisons.length) {
    lines.push("## Tuned vs base (paired, same items)", "");
    lines.push(
      table(
        ["metric", "n", "difference (points)", "only tuned right", "only base right", "McNemar p"],
        report.comparisons.map((comparison) => [
          comparison.metric,
          String(comparison.n),
          formatEstimate(comparison.difference),
          String(comparison.only_a),
          String(comparison.only_b),
          comparison.mcnemar_p < 0.001 ? "< 0.001" : comparison.mcnemar_p.toFixed(3),
        ]),
      ),
      "",
    );
  }
  lines.push("## Robustness checks (tuned model, sentiment accuracy)", "");
  lines.push(
    table(
      ["check", "rule", "value", "target", "status", "detail"],
      report.checks.map((check) => [
        check.dimension,
        check.rule,
        check.value === null ? "n/a" : check.dimension.startsWith("tag:") || check.rule.includes("relative") ? `${(check.value * 100).toFixed(1)}%` : check.value.toFixed(1),
        check.dimension.startsWith("tag:") || check.rule.includes("relative") ? `${check.dimension.startsWith("tag:") ? ">" : "<"} ${(check.target * 100).toFixed(1)}%` : `< ${check.target}`,
        check.status === "too_small" ? "too small" : check.status,
        check.detail,
      ]),
    ),
    "",
  );
  if (report.cost) {
    const { cost } = report;
    const api = Object.entries(cost.api_per_1000).map(([name, price]) => `${name}: ${price.toFixed(2)} ${cost.settings.currency}`).join("; ");
    lines.push(
      `**Cost per 1,000 answers**: local ${cost.local_per_1000.toFixed(4)} ${cost.settings.currency} (${cost.seconds_per_answer.toFixed(2)} s per answer measured, ` +
        `${cost.settings.power_watts} W at ${cost.settings.price_per_kwh} ${cost.settings.currency}/kWh) vs ${api}.`,
      "",
    );
  }
  lines.push(`${report.unparseable.length} unparseable answer(s) (listed in report.json and report.html).`, "");
  return `${lines.join("\n")}\n`;
}
