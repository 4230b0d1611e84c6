// Datasets: list, paged rows with filters, the exact training string of a row (the part that
// carries the loss highlighted), the card's charts, and the rejected rows with their reasons.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { STUDIO_SPLITS, type DatasetRowsResponse, type DatasetSummary, type RejectedResponse, type RenderedRow } from "@reviewtune/contracts";
import { get, query, type StudioRequestError } from "../api.js";
import { useLoad } from "../hooks.js";
import { BarChart, Empty, ErrorNotice, Loading, Tabs } from "../components.js";

type Card = Record<string, unknown> & {
  splits?: Record<string, { reviews: number; examples: number }>;
  by_category?: Record<string, number>;
  by_sentiment?: Record<string, number>;
  by_rating?: Record<string, number>;
  by_length?: Record<string, number>;
  by_task?: Record<string, Record<string, number>>;
  rejected?: Record<string, number>;
  review_words?: { mean: number; p50: number; p95: number; max: number };
  tokens?: { tokenizer: string; total: { mean: number; p95: number; max: number }; truncated_examples: number } | null;
};

const bars = (counts: Record<string, number> | undefined) => Object.entries(counts ?? {}).map(([label, value]) => ({ label, value }));

function Rows(props: { dataset: string }) {
  const [filters, setFilters] = useState({ split: "train", task: "", category: "", sentiment: "", offset: 0 });
  const limit = 20;
  const rows = useLoad<DatasetRowsResponse>(`/datasets/${encodeURIComponent(props.dataset)}/rows${query({ ...filters, limit })}`);
  const [open, setOpen] = useState<number | null>(null);
  const [rendered, setRendered] = useState<{ index: number; row: RenderedRow | null; error: StudioRequestError | null } | null>(null);
  useEffect(() => {
    setOpen(null);
    setRendered(null);
  }, [props.dataset, filters.split]);
  const set = (key: string, value: string) => setFilters({ ...filters, [key]: value, offset: 0 });
  const show = (index: number) => {
    if (open === index) return setOpen(null);
    setOpen(index);
    setRendered({ index, row: null, error: null });
    get<RenderedRow>(`/datasets/${encodeURIComponent(props.dataset)}/rendered${query({ split: filters.split, index })}`).then(
      (row) => setRendered({ index, row, error: null }),
      (error: StudioRequestError) => setRendered({ index, row: null, error }),
    );
  };
  const facets = rows.data?.facets ?? { task: [], category: [], sentiment: [] };
  const select = (key: "task" | "category" | "sentiment", label: string) => html`<label>${label}
    <select value=${filters[key]} onChange=${(event: Event) => set(key, (event.target as HTMLSelectElement).value)}>
      <option value="">all</option>
      ${facets[key].map((value) => html`<option value=${value}>${value}</option>`)}
    </select></label>`;
  const data = rows.data;
  return html`<section aria-label="rows">
    <div class="filters">
      <label>Split <select value=${filters.split} onChange=${(event: Event) => set("split", (event.target as HTMLSelectElement).value)}>
        ${STUDIO_SPLITS.map((split) => html`<option value=${split}>${split}</option>`)}
      </select></label>
      ${select("task", "Task")} ${select("category", "Category")} ${select("sentiment", "Sentiment")}
    </div>
    <${ErrorNotice} error=${rows.error} onRetry=${rows.reload} />
    ${!data && !rows.error ? html`<${Loading} what="rows" />` : null}
    ${data && data.total === 0 ? html`<${Empty} title="No rows match"><p>This split has no rows with these filters: choose "all" in a filter, or another split.</p></${Empty}>` : null}
    ${data && data.total > 0
      ? html`<p class="count" data-testid="row-count">Rows ${data.offset + 1}–${Math.min(data.total, data.offset + data.rows.length)} of ${data.total}</p>
        <ol class="rows" data-testid="dataset-rows">
          ${data.rows.map(
            (row) => html`<li class="row">
              <div class="row-meta"><span class="tag">${row.task}</span>${row.category ? html`<span class="tag">${row.category}</span>` : null}${row.sentiment ? html`<span class=${`tag sentiment-${row.sentiment}`}>${row.sentiment}</span>` : null}<span class="muted">#${row.index} ${row.review ?? ""}</span></div>
              <p class="prompt">${row.prompt}</p>
              <p class="answer">${row.answer}</p>
              <button type="button" aria-expanded=${open === row.index} onClick=${() => show(row.index)}>${open === row.index ? "Hide" : "Show"} the training string</button>
              ${open === row.index && rendered?.index === row.index
                ? rendered.error
                  ? html`<${ErrorNotice} error=${rendered.error} />`
                  : rendered.row
                    ? html`<div class="rendered" data-testid="rendered-row"><p class="legend">Exactly what ${rendered.row.model} trains on. <mark>Highlighted</mark>: the answer, which carries the loss; the rest is the prompt, masked out of the loss.</p>
                        <pre><span class="masked">${rendered.row.prompt}</span><mark class="loss">${rendered.row.completion}</mark></pre></div>`
                    : html`<${Loading} what="the training string" />`
                : null}
            </li>`,
          )}
        </ol>
        <div class="pager">
          <button type="button" disabled=${data.offset === 0} onClick=${() => setFilters({ ...filters, offset: Math.max(0, data.offset - limit) })}>← Previous</button>
          <button type="button" disabled=${data.offset + limit >= data.total} onClick=${() => setFilters({ ...filters, offset: data.offset + limit })}>Next →</button>
        </div>`
      : null}
  </section>`;
}

function CardView(props: { dataset: string }) {
  const card = useLoad<Card>(`/datasets/${encodeURIComponent(props.dataset)}/card`);
  if (card.error) return html`<${ErrorNotice} error=${card.error} />`;
  if (!card.data) return html`<${Loading} what="the card" />`;
  const c = card.data;
  const trainTasks = c.by_task?.train ?? {};
  return html`<section class="card-charts" aria-label="dataset card">
    <${BarChart} title="Examples per split" bars=${Object.entries(c.splits ?? {}).map(([label, split]) => ({ label, value: split.examples }))} testId="card-chart" />
    <${BarChart} title="Reviews per category" bars=${bars(c.by_category)} testId="card-chart" />
    <${BarChart} title="Reviews per sentiment" bars=${bars(c.by_sentiment)} testId="card-chart" />
    <${BarChart} title="Reviews per star rating" bars=${bars(c.by_rating)} testId="card-chart" />
    <${BarChart} title="Reviews per length" bars=${bars(c.by_length)} testId="card-chart" />
    <${BarChart} title="Training examples per task" bars=${bars(trainTasks)} testId="card-chart" />
    <dl class="facts">
      ${c.review_words ? html`<dt>Review words</dt><dd>mean ${c.review_words.mean.toFixed(1)}, median ${c.review_words.p50}, p95 ${c.review_words.p95}, max ${c.review_words.max}</dd>` : null}
      ${c.tokens ? html`<dt>Tokens (${c.tokens.tokenizer})</dt><dd>mean ${c.tokens.total.mean.toFixed(0)}, p95 ${c.tokens.total.p95}, max ${c.tokens.total.max}; ${c.tokens.truncated_examples} shortened to fit</dd>` : html`<dt>Tokens</dt><dd>not counted (build with --model to count them with a tokenizer)</dd>`}
    </dl>
  </section>`;
}

function Rejected(props: { dataset: string }) {
  const [offset, setOffset] = useState(0);
  const rejected = useLoad<RejectedResponse>(`/datasets/${encodeURIComponent(props.dataset)}/rejected${query({ offset, limit: 20 })}`);
  if (rejected.error) return html`<${ErrorNotice} error=${rejected.error} />`;
  if (!rejected.data) return html`<${Loading} what="rejected rows" />`;
  const data = rejected.data;
  if (data.total === 0) return html`<${Empty} title="No row was rejected"><p>Every input row became a review in this dataset.</p></${Empty}>`;
  return html`<section aria-label="rejected rows">
    <${BarChart} title="Rejected rows by reason" bars=${bars(data.counts)} />
    <table class="data-table">
      <caption>Rejected rows ${offset + 1}–${offset + data.rows.length} of ${data.total}</caption>
      <thead><tr><th scope="col">where</th><th scope="col">reason</th><th scope="col">detail</th></tr></thead>
      <tbody>${data.rows.map((row) => html`<tr><td>${row.file.split("/").at(-1)}:${row.line}</td><td>${row.reason}</td><td>${row.detail}</td></tr>`)}</tbody>
    </table>
    <div class="pager">
      <button type="button" disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - 20))}>← Previous</button>
      <button type="button" disabled=${offset + 20 >= data.total} onClick=${() => setOffset(offset + 20)}>Next →</button>
    </div>
  </section>`;
}

export function DatasetsPage(props: { dataDirs: string[] }) {
  const list = useLoad<DatasetSummary[]>("/datasets");
  const [chosen, setChosen] = useState<string | null>(null);
  const [view, setView] = useState("rows");
  if (list.error) return html`<${ErrorNotice} error=${list.error} onRetry=${list.reload} />`;
  if (!list.data) return html`<${Loading} what="datasets" />`;
  if (list.data.length === 0) {
    return html`<${Empty} title="No dataset yet">
      <p>The studio looks for dataset folders in: <code>${props.dataDirs.join(", ") || "(no --data given)"}</code>.</p>
      <p>Make one with <code>reviewtune data demo --out data/demo</code> (or <code>reviewtune data build --input reviews.csv --out data/mine</code>), then restart with <code>reviewtune studio --data data</code>.</p>
    </${Empty}>`;
  }
  const current = list.data.find((dataset) => dataset.name === chosen) ?? list.data[0]!;
  return html`<div class="page">
    <div class="toolbar">
      <label>Dataset <select value=${current.name} onChange=${(event: Event) => setChosen((event.target as HTMLSelectElement).value)}>
        ${list.data.map((dataset) => html`<option value=${dataset.name}>${dataset.name}</option>`)}
      </select></label>
      <span class="muted">${current.reviews ?? "?"} reviews → ${current.examples ?? "?"} examples; ${Object.entries(current.splits).map(([split, count]) => `${split} ${count}`).join(", ")}; ${current.rejected} rejected</span>
      ${current.problem ? html`<p class="field-error" role="alert">${current.problem}</p>` : null}
    </div>
    <${Tabs} label="Dataset views" idPrefix="dataset" current=${view} onSelect=${setView} tabs=${[{ id: "rows", label: "Rows" }, { id: "card", label: "Card" }, { id: "rejected", label: `Rejected (${current.rejected})` }]} />
    <div id="dataset-panel" role="tabpanel" aria-labelledby=${`dataset-tab-${view}`}>
      ${view === "rows" ? html`<${Rows} dataset=${current.name} />` : view === "card" ? html`<${CardView} dataset=${current.name} />` : html`<${Rejected} dataset=${current.name} />`}
    </div>
  </div>`;
}
