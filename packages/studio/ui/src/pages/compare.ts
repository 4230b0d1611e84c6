// Compare: one prompt (typed, or a held-out test example) answered by the base model and by each
// chosen run, streamed side by side from the studio's own /v1/chat/completions, with latency, the
// fallback mark when the base answered for a run, and the training examples the question resembles.
// The Analysis tab asks the same models for one review's structured analysis (compare-analysis.ts).
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { CompareLoadResponse, RunSummary, TestPrompt, TestReview, TrainingReference } from "@reviewtune/contracts";
import { get, post, streamChat, type StreamedAnswer, type StudioRequestError } from "../api.js";
import { Empty, ErrorNotice, Loading, Tabs } from "../components.js";
import { useLoad } from "../hooks.js";
import { AnalysisCompare } from "./compare-analysis.js";

interface Column {
  model: string;
  title: string;
  answer: StreamedAnswer | null;
  load: CompareLoadResponse | null;
}

function References(props: { references: TrainingReference[] }) {
  if (props.references.length === 0) return null;
  return html`<section class="references" aria-labelledby="references-heading" data-testid="references">
    <h3 id="references-heading">Most similar training examples</h3>
    <ol>${props.references.map((reference) => html`<li>
      <span class="similarity" title="cosine similarity of the two prompts (MiniLM embeddings)">${(reference.similarity * 100).toFixed(0)}%</span>
      <span class="tag">${reference.task}</span> <span class="muted">${reference.review}</span>
      <p class="prompt">${reference.prompt}</p><p class="answer">${reference.answer}</p>
    </li>`)}</ol>
  </section>`;
}

function AnswerColumn(props: { column: Column }) {
  const { answer, load } = props.column;
  const fallback = answer?.servedBy?.fallback ?? null;
  const fellBack = !!fallback || !!answer?.fallbackCode || load?.status === "fallback";
  return html`<article class="answer-column" data-testid="answer" aria-busy=${!!answer && answer.totalMs === null && !answer.error}>
    <h3>${props.column.title}</h3>
    ${fellBack ? html`<p class="badge fallback" data-testid="fallback">served by base (fallback): ${fallback?.message ?? load?.message ?? answer?.fallbackCode}</p>` : null}
    ${answer?.error ? html`<${ErrorNotice} error=${answer.error} />` : null}
    <p class="answer-text" aria-live="polite">${answer ? answer.text || (answer.totalMs === null && !answer.error ? "…" : "(empty answer)") : ""}</p>
    ${answer ? html`<p class="latency muted" data-testid="latency">first token ${answer.firstTokenMs !== null ? `${(answer.firstTokenMs / 1000).toFixed(2)} s` : "–"} · total ${answer.totalMs !== null ? `${(answer.totalMs / 1000).toFixed(2)} s` : "…"}</p>` : null}
  </article>`;
}

export function ComparePage(props: { engineProblem: string | null; model: string }) {
  const runs = useLoad<RunSummary[]>("/runs");
  const [chosen, setChosen] = useState<string[]>([]);
  const [prompt, setPrompt] = useState("Analyze the sentiment of this review: \"The strap broke after a week, but support replaced it quickly.\"");
  const [maxTokens, setMaxTokens] = useState(64);
  const [columns, setColumns] = useState<Column[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<StudioRequestError | null>(null);
  const [tests, setTests] = useState<TestPrompt[]>([]);
  const [testReviews, setTestReviews] = useState<TestReview[]>([]);
  const [mode, setMode] = useState("chat");
  const finished = (runs.data ?? []).filter((run) => run.has_adapter && (run.status === "completed" || run.status === "early_stopped"));
  const toggle = (id: string) => {
    const next = chosen.includes(id) ? chosen.filter((entry) => entry !== id) : [...chosen, id];
    setChosen(next);
    if (next[0] && tests.length === 0) get<TestPrompt[]>(`/runs/${encodeURIComponent(next[0])}/test-prompts`).then(setTests, () => setTests([]));
    if (next[0] && testReviews.length === 0) get<TestReview[]>(`/runs/${encodeURIComponent(next[0])}/test-reviews`).then(setTestReviews, () => setTestReviews([]));
  };
  const ask = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const loads = await Promise.all(chosen.map((run) => post<CompareLoadResponse>("/compare/models", { run })));
      const initial: Column[] = [{ model: "base", title: `base (${props.model.split("/").at(-1)})`, answer: null, load: null }, ...loads.map((load, index) => ({ model: load.model, title: `tuned: ${chosen[index]}`, answer: null, load }))];
      setColumns(initial);
      // One after the other, as the engine answers one request at a time: each column's latency is its own.
      for (const [index, column] of initial.entries()) {
        await streamChat(column.model, prompt, maxTokens, (answer) => setColumns((current) => current.map((entry, position) => (position === index ? { ...entry, answer } : entry))));
      }
    } catch (caught) {
      setError(caught as StudioRequestError);
    } finally {
      setBusy(false);
    }
  };
  const references = columns.find((column) => column.answer?.servedBy?.references?.length)?.answer?.servedBy?.references ?? [];
  if (props.engineProblem) return html`<div class="notice error" role="alert"><strong>Answers need the engine: ${props.engineProblem}</strong></div>`;
  return html`<div class="page">
    <fieldset class="compare-runs"><legend>Runs to compare with the base model</legend>
      ${runs.error ? html`<${ErrorNotice} error=${runs.error} />` : !runs.data ? html`<${Loading} what="runs" />`
        : finished.length === 0 ? html`<p class="muted">No finished run yet: the base model answers alone. Train one on the Train page.</p>`
        : finished.map((run) => html`<label class="check"><input type="checkbox" checked=${chosen.includes(run.id)} onChange=${() => toggle(run.id)} /> ${run.id} <span class="muted">(${run.method}, loss ${run.train_loss?.toFixed(3) ?? "–"})</span></label>`)}
    </fieldset>
    <${Tabs} label="what to ask" idPrefix="compare" current=${mode} onSelect=${setMode} tabs=${[{ id: "chat", label: "Chat question" }, { id: "analysis", label: "Structured analysis" }]} />
    <div id="compare-panel" role="tabpanel" aria-labelledby=${`compare-tab-${mode}`}>
    ${mode === "analysis" ? html`<${AnalysisCompare} chosen=${chosen} model=${props.model} tests=${testReviews} />` : html`
    <form class="compare-form" onSubmit=${ask} aria-label="ask the base and tuned models">
      ${tests.length ? html`<div class="field"><label for="test-example">Or a held-out test example</label>
        <select id="test-example" onChange=${(event: Event) => { const picked = tests[Number((event.target as HTMLSelectElement).value)]; if (picked) setPrompt(picked.prompt); }}>
          <option value="">choose…</option>${tests.map((test, index) => html`<option value=${index}>${test.task}: ${test.prompt.replace(/\s+/g, " ").slice(0, 80)}</option>`)}
        </select></div>` : null}
      <div class="field"><label for="compare-prompt">Prompt</label><textarea id="compare-prompt" rows="4" value=${prompt} onInput=${(event: Event) => setPrompt((event.target as HTMLTextAreaElement).value)}></textarea></div>
      <div class="field inline"><label for="compare-max-tokens">Max new tokens</label><input id="compare-max-tokens" type="number" min="1" max="1024" value=${maxTokens} onInput=${(event: Event) => setMaxTokens(Number((event.target as HTMLInputElement).value) || 1)} /></div>
      <button type="submit" class="primary" disabled=${busy || !prompt.trim()}>${busy ? "Answering…" : chosen.length ? `Ask base + ${chosen.length} run${chosen.length > 1 ? "s" : ""}` : "Ask the base model"}</button>
    </form>
    <${ErrorNotice} error=${error} />
    ${columns.length ? html`<div class="columns" data-testid="answers">${columns.map((column) => html`<${AnswerColumn} column=${column} />`)}</div>` : html`<${Empty} title="Ask something"><p>The answers appear here side by side, streamed, with their latency and the training examples the question resembles.</p></${Empty}>`}
    <${References} references=${references} />`}
    </div>
  </div>`;
}
