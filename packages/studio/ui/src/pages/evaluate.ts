// Evaluate: the report `reviewtune eval` wrote (headline table, slice charts with their target lines,
// confusion matrices, flipped examples, training curves) and blind A/B rating feeding the win rate.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { EvalReport, HumanState, RunSummary, StudioReportResponse, StudioTextReportResponse, TextEvalReport } from "@reviewtune/contracts";
import { get, post, type StudioRequestError } from "../api.js";
import { BarChart, ConfusionMatrix, Empty, ErrorNotice, LineChart, Loading } from "../components.js";
import { percent } from "../format.js";
import { useLoad } from "../hooks.js";

const DIMENSIONS: Record<string, string> = { category: "Accuracy by category", sentiment_class: "Accuracy by sentiment class", length: "Accuracy by review length", tag: "Accuracy on edge cases" };

/** Where a slice's accuracy must stay for its check to pass (the check's own target, made an accuracy line). */
function targetLine(report: EvalReport, dimension: string, best: number): { value: number; label: string } | undefined {
  const { targets } = report;
  if (dimension === "category") return { value: best * (1 - targets.category_drop), label: `target: ≥ best − ${(targets.category_drop * 100).toFixed(0)}%` };
  if (dimension === "length") return { value: best * (1 - targets.length_drop), label: `target: ≥ best − ${(targets.length_drop * 100).toFixed(0)}%` };
  if (dimension === "sentiment_class") return { value: Math.max(0, best - targets.class_gap_points / 100), label: `target: ≥ best − ${targets.class_gap_points} pts` };
  return undefined;
}

function Slices(props: { report: EvalReport }) {
  const dimensions = [...new Set(props.report.slices.map((slice) => slice.dimension))];
  return html`<div class="slice-charts">${dimensions.map((dimension) => {
    const slices = props.report.slices.filter((slice) => slice.dimension === dimension && slice.accuracy.value !== null);
    if (!slices.length) return null;
    const best = Math.max(...slices.map((slice) => slice.accuracy.value!));
    return html`<${BarChart} title=${DIMENSIONS[dimension] ?? dimension} max=${1} testId="slice-chart" format=${(value: number) => `${(value * 100).toFixed(0)}%`}
      target=${targetLine(props.report, dimension, best)}
      bars=${slices.map((slice) => ({ label: `${slice.name} (n=${slice.n})`, value: slice.accuracy.value!, note: slice.n < props.report.targets.min_slice ? "too small to judge" : undefined }))} />`;
  })}</div>`;
}

/** A flipped item: the readings, and on demand the prompt and both answers (from the report's items). */
function Flips(props: { report: EvalReport; flips: EvalReport["comparisons"][number]["wrong_to_right"] }) {
  if (!props.flips.length) return html`<p class="muted">none</p>`;
  const items = new Map(props.report.items.map((item) => [item.id, item]));
  return html`<ul class="flips">${props.flips.map((flip) => {
    const item = items.get(flip.id);
    return html`<li><details><summary><span class="tag">${flip.task}</span> gold <strong>${flip.gold}</strong>: base ${flip.base} → tuned ${flip.tuned}</summary>
      ${item ? html`<p class="prompt">${item.prompt}</p><p><strong>base:</strong> ${item.answers.base ?? "–"}</p><p><strong>tuned:</strong> ${item.answers.tuned ?? "–"}</p>` : null}
    </details></li>`;
  })}</ul>`;
}

function Human(props: { run: string }) {
  const [state, setState] = useState<HumanState | null>(null);
  const [error, setError] = useState<StudioRequestError | null>(null);
  useEffect(() => {
    setState(null);
    get<HumanState>(`/runs/${encodeURIComponent(props.run)}/human`).then(setState, setError);
  }, [props.run]);
  const rate = async (preferred: "A" | "B" | "tie") => {
    if (!state?.pair) return;
    try {
      setState(await post<HumanState>(`/runs/${encodeURIComponent(props.run)}/human`, { pair: state.pair.pair, preferred }));
    } catch (caught) {
      setError(caught as StudioRequestError);
    }
  };
  if (error) return html`<${ErrorNotice} error=${error} />`;
  if (!state) return html`<${Loading} what="pairs to rate" />`;
  return html`<section class="human" aria-labelledby="human-heading" data-testid="human">
    <h3 id="human-heading">Blind A/B rating</h3>
    <p class="muted">Which answer is better? A and B are the base and the tuned model in random order; which is which stays on the server until you have rated.</p>
    <p data-testid="win-rate">${state.score ? html`Tuned preferred in <strong>${percent(state.score.tuned_win_rate)}</strong> of ${state.rated} rated pairs (ties count half; 95% bootstrap interval): ${state.score.tuned_wins} tuned, ${state.score.base_wins} base, ${state.score.ties} ties.` : "No pair rated yet."} ${state.rated}/${state.total} rated.</p>
    ${state.pair
      ? html`<div class="pair">
          <p class="prompt"><span class="tag">${state.pair.task}</span> ${state.pair.prompt}</p>
          <div class="columns"><article class="answer-column"><h4>A</h4><p class="answer-text">${state.pair.A}</p></article><article class="answer-column"><h4>B</h4><p class="answer-text">${state.pair.B}</p></article></div>
          <div class="actions" role="group" aria-label="your rating">
            <button type="button" onClick=${() => rate("A")}>A is better</button>
            <button type="button" onClick=${() => rate("tie")}>Tie</button>
            <button type="button" onClick=${() => rate("B")}>B is better</button>
          </div></div>`
      : html`<p>Every pair is rated.</p>`}
  </section>`;
}

const TEXT_METRICS: Array<[keyof TextEvalReport["systems"][number]["metrics"], string]> = [
  ["rouge_l", "ROUGE-L"],
  ["token_f1", "token F1"],
  ["exact_match", "exact match"],
  ["embedding_similarity", "embedding similarity"],
  ["unsupported_attributes", "unsupported attributes: not in the title"],
  ["invented_attributes", "invented attributes: in neither title nor reference (lower is better)"],
  ["keyword_recall", "keyword recall"],
  ["yes_no_accuracy", "yes/no accuracy"],
];

/** A QA or description run (recipes R2, R4): the metrics by system, the verdicts, and each answer beside its reference. */
function TextEvaluation(props: { run: string }) {
  const loaded = useLoad<StudioTextReportResponse>(`/runs/${encodeURIComponent(props.run)}/text-report`);
  if (loaded.error) return html`<${ErrorNotice} error=${loaded.error} />`;
  if (!loaded.data) return html`<${Loading} what="the report" />`;
  const { report, answers, total_answers: total } = loaded.data;
  const systems = report.systems.map((system) => system.name);
  const figure = (estimate: { value: number | null; low: number | null; high: number | null } | null | undefined) =>
    !estimate || estimate.value === null ? "–" : `${(100 * estimate.value).toFixed(1)} [${(100 * (estimate.low ?? estimate.value)).toFixed(1)}, ${(100 * (estimate.high ?? estimate.value)).toFixed(1)}]`;
  const rows = TEXT_METRICS.filter(([key]) => report.systems.some((system) => system.metrics[key] !== null && system.metrics[key] !== undefined));
  return html`<div>
    <p class="muted">${report.items} test prompts (${report.tasks.join(", ")}); headline ${report.headline === "rouge_l" ? "ROUGE-L" : "token F1"}; points with 95% bootstrap intervals.</p>
    <div class="table-scroll"><table class="data-table headline" data-testid="text-headline">
      <thead><tr><th scope="col">metric</th>${systems.map((name) => html`<th scope="col">${name}</th>`)}</tr></thead>
      <tbody>${rows.map(([key, label]) => html`<tr><th scope="row">${label}</th>${report.systems.map((system) => html`<td>${figure(system.metrics[key] as never)}</td>`)}</tr>`)}</tbody>
    </table></div>
    ${report.references
      ? html`<p class="muted" data-testid="reference-attributes">The references themselves name an attribute their title does not give in ${figure(report.references.unsupported_attributes)} % of the test items. Unsupported is not wrong; invented (in neither the title nor the reference) is made up as far as the data can tell.</p>`
      : null}
    <ul class="checks">${report.comparisons.map((comparison) => html`<li>${comparison.verdict}</li>`)}</ul>
    <h3>Answers beside the reference <span class="muted">(${answers.length} of ${total})</span></h3>
    <div class="table-scroll"><table class="data-table side-by-side" data-testid="side-by-side">
      <thead><tr><th scope="col">prompt</th><th scope="col">reference</th>${systems.map((name) => html`<th scope="col">${name}</th>`)}</tr></thead>
      <tbody>${answers.map((row) => html`<tr><td class="prompt">${row.prompt.split("\n").at(-1)}</td><td>${row.reference}</td>${systems.map((name) => html`<td>${row.answers[name] ?? "–"}</td>`)}</tr>`)}</tbody>
    </table></div>
  </div>`;
}

export function EvaluatePage() {
  const runs = useLoad<RunSummary[]>("/runs");
  const evaluated = (runs.data ?? []).filter((run) => run.has_eval);
  const [chosen, setChosen] = useState<string | null>(null);
  const current = evaluated.find((run) => run.id === chosen) ?? evaluated[0];
  const textual = current?.eval_kind === "text";
  const report = useLoad<StudioReportResponse>(current && !textual ? `/runs/${encodeURIComponent(current.id)}/report` : null);
  if (runs.error) return html`<${ErrorNotice} error=${runs.error} onRetry=${runs.reload} />`;
  if (!runs.data) return html`<${Loading} what="runs" />`;
  if (!current) {
    const finished = runs.data.find((run) => run.status === "completed");
    return html`<${Empty} title="No evaluated run yet">
      <p>${finished ? html`Evaluate a finished run from a terminal: <code>reviewtune eval --run runs/${finished.id}</code> (add <code>--limit 20</code> for a quick one), then reload.` : html`Train a run first (Train page), then evaluate it: <code>reviewtune eval --run runs/&lt;id&gt;</code>.`}</p>
    </${Empty}>`;
  }
  const data = report.data;
  const tuned = data?.report.systems.find((system) => system.name === "tuned");
  const base = data?.report.systems.find((system) => system.name === "base");
  const flips = data?.report.comparisons[0];
  return html`<div class="page">
    <div class="toolbar"><label>Run <select value=${current.id} onChange=${(event: Event) => setChosen((event.target as HTMLSelectElement).value)}>${evaluated.map((run) => html`<option value=${run.id}>${run.id}</option>`)}</select></label></div>
    ${textual ? html`<${TextEvaluation} run=${current.id} />` : null}
    <${ErrorNotice} error=${report.error} />
    ${!data && !report.error && !textual ? html`<${Loading} what="the report" />` : null}
    ${data
      ? html`<p class="muted">${data.report.dataset.items} test items from ${data.report.dataset.reviews} reviews; figures with 95% bootstrap intervals (${data.report.bootstrap_samples} resamples). Unparseable answers count as wrong.</p>
        ${data.report.caveats.map((caveat) => html`<p class="notice empty">${caveat}</p>`)}
        <div class="table-scroll"><table class="data-table headline" data-testid="headline">
          <caption>Headline</caption>
          <thead><tr><th scope="col">metric</th>${data.headline.systems.map((system) => html`<th scope="col">${system}</th>`)}</tr></thead>
          <tbody>${data.headline.rows.map((row) => html`<tr><th scope="row">${row.label}</th>${row.figures.map((figure) => html`<td>${figure}</td>`)}</tr>`)}</tbody>
        </table></div>
        <h3>Checks</h3>
        <ul class="checks">${data.report.checks.map((check) => html`<li class=${`check-${check.status}`}><span class="badge">${check.status.replace("_", " ")}</span> ${check.dimension}: ${check.detail}</li>`)}</ul>
        <h3>Slices</h3>
        <${Slices} report=${data.report} />
        <div class="matrices">
          ${tuned?.sentiment ? html`<${ConfusionMatrix} title="Sentiment, tuned" labels=${tuned.sentiment.confusion.labels} matrix=${tuned.sentiment.confusion.matrix} />` : null}
          ${base?.sentiment ? html`<${ConfusionMatrix} title="Sentiment, base" labels=${base.sentiment.confusion.labels} matrix=${base.sentiment.confusion.matrix} />` : null}
        </div>
        ${data.report.training.loss.length ? html`<${LineChart} title="Training curves" xLabel="step" testId="eval-training-chart" series=${[{ label: "train loss", color: "#2563eb", points: data.report.training.loss.map((point) => [point.step, point.value]) }, { label: "eval loss", color: "#d97706", points: data.report.training.eval_loss.map((point) => [point.step, point.value]) }]} />` : null}
        ${flips ? html`<h3>Flipped answers (${flips.metric})</h3>
          <p class="muted">${flips.only_a} items only ${flips.a} got right, ${flips.only_b} only ${flips.b}; McNemar p = ${flips.mcnemar_p.toPrecision(2)}.</p>
          <div class="columns">
            <section><h4>Wrong → right</h4><${Flips} report=${data.report} flips=${flips.wrong_to_right} /></section>
            <section><h4>Right → wrong</h4><${Flips} report=${data.report} flips=${flips.right_to_wrong} /></section>
          </div>` : null}
        <${Human} run=${current.id} />`
      : null}
  </div>`;
}
