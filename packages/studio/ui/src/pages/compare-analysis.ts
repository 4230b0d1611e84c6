// Compare, structured analysis: one review analyzed by the base model and by each chosen run
// (POST /v1/analyze, decoding constrained to the ReviewAnalysis schema), beside the rule-based
// analyzer's analysis, each as a card. A held-out test review brings its gold, and each field of
// each card is marked as matching it or not: the before/after the fine-tune is for, on one review.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { CompareLoadResponse, ReviewAnalysis, TestReview } from "@reviewtune/contracts";
import { analyzeOne, post, type AnalyzedReview, type StudioRequestError } from "../api.js";
import { Empty, ErrorNotice } from "../components.js";

interface Card {
  model: string;
  title: string;
  /** Null while the model is answering. */
  result: AnalyzedReview | null;
  load: CompareLoadResponse | null;
}

type Gold = TestReview["gold"];

const STARS = (stars: number) => "★".repeat(stars) + "☆".repeat(5 - stars);

/** ✓ or ✗ beside a field when the review came with gold; nothing for a typed review. */
function Mark(props: { gold: unknown; value: unknown; field: string }) {
  if (props.gold === undefined || props.gold === null) return null;
  const right = props.gold === props.value;
  return html`<span class=${`mark ${right ? "right" : "wrong"}`} data-testid=${`mark-${props.field}`} title=${right ? "matches the gold" : `gold: ${String(props.gold)}`}>${right ? "✓" : `✗ (gold ${String(props.gold)})`}</span>`;
}

function Fields(props: { analysis: ReviewAnalysis; gold: Gold | null }) {
  const { analysis, gold } = props;
  return html`<dl class="analysis-fields">
    <dt>Stars</dt><dd data-testid="field-stars"><span aria-label=${`${analysis.stars} of 5 stars`}>${STARS(analysis.stars)}</span> ${analysis.stars}/5 <${Mark} gold=${gold?.stars} value=${analysis.stars} field="stars" /></dd>
    <dt>Sentiment</dt><dd data-testid="field-sentiment">${analysis.sentiment} <span class="muted">(${analysis.score.toFixed(1)})</span> <${Mark} gold=${gold?.sentiment} value=${analysis.sentiment} field="sentiment" /></dd>
    <dt>Quality</dt><dd data-testid="field-quality">${analysis.quality} <${Mark} gold=${gold?.quality} value=${analysis.quality} field="quality" /></dd>
    <dt>Recommend</dt><dd data-testid="field-recommendation">${analysis.recommendation} <${Mark} gold=${gold?.recommendation} value=${analysis.recommendation} field="recommendation" /></dd>
    <dt>Aspects</dt><dd data-testid="field-aspects">${analysis.aspects.length ? analysis.aspects.map((aspect) => html`<span class=${`tag polarity-${aspect.polarity}`} title=${aspect.polarity}>${aspect.term} ${aspect.polarity === "positive" ? "+" : aspect.polarity === "negative" ? "−" : "·"}</span> `) : html`<span class="muted">none</span>`}</dd>
    <dt>Summary</dt><dd data-testid="field-summary">${analysis.summary}</dd>
  </dl>`;
}

function AnalysisCard(props: { card: Card; gold: Gold | null }) {
  const { result, load } = props.card;
  const fallback = result?.fallback ?? (load?.status === "fallback" ? load.message : null);
  return html`<article class="answer-column analysis-card" data-testid="analysis-card" aria-busy=${!result}>
    <h3>${props.card.title}</h3>
    ${fallback ? html`<p class="badge fallback" data-testid="fallback">served by base (fallback): ${fallback}</p>` : null}
    ${!result ? html`<p class="muted" role="status">Analyzing…</p>` : result.error ? html`<${ErrorNotice} error=${result.error} />` : html`<${Fields} analysis=${result.analysis!} gold=${props.gold} />`}
    ${result && props.card.model !== "rule-based" ? html`<p class="latency muted" data-testid="latency">${(result.ms / 1000).toFixed(2)} s</p>` : null}
  </article>`;
}

/** The analysis side of the Compare page; `chosen` are the run ids ticked above it, `tests` the run's held-out reviews. */
export function AnalysisCompare(props: { chosen: string[]; model: string; tests: TestReview[] }) {
  const [text, setText] = useState("The strap broke after a week, but support replaced it quickly. Not sure I would buy it again.");
  const [title, setTitle] = useState("");
  const [gold, setGold] = useState<Gold | null>(null);
  const [cards, setCards] = useState<Card[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<StudioRequestError | null>(null);
  const pick = (event: Event) => {
    const picked = props.tests[Number((event.target as HTMLSelectElement).value)];
    if (!picked) return;
    setText(picked.text);
    setTitle(picked.title ?? "");
    setGold(picked.gold);
  };
  const analyze = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const review = { text, ...(title.trim() ? { title } : {}) };
      const loads = await Promise.all(props.chosen.map((run) => post<CompareLoadResponse>("/compare/models", { run })));
      const initial: Card[] = [
        { model: "base", title: `base (${props.model.split("/").at(-1)})`, result: null, load: null },
        ...loads.map((load, index) => ({ model: load.model, title: `tuned: ${props.chosen[index]}`, result: null, load })),
        { model: "rule-based", title: "rule-based analyzer", result: null, load: null },
      ];
      setCards(initial);
      const started = performance.now();
      const rule = await post<ReviewAnalysis>("/analyze/rule-based", review).then(
        (analysis) => ({ analysis, error: null, ms: performance.now() - started, fallback: null }),
        (caught: StudioRequestError) => ({ analysis: null, error: caught, ms: 0, fallback: null }),
      );
      setCards((current) => current.map((card) => (card.model === "rule-based" ? { ...card, result: rule } : card)));
      // One model after the other, as the engine answers one request at a time: each card's time is its own.
      for (const [index, card] of initial.entries()) {
        if (card.model === "rule-based") continue;
        const result = await analyzeOne(card.model, review);
        setCards((current) => current.map((entry, position) => (position === index ? { ...entry, result } : entry)));
      }
    } catch (caught) {
      setError(caught as StudioRequestError);
    } finally {
      setBusy(false);
    }
  };
  return html`<div>
    <form class="analysis-form" onSubmit=${analyze} aria-label="analyze one review with the base and tuned models">
      ${props.tests.length ? html`<div class="field"><label for="test-review">Or a held-out test review (with its gold)</label>
        <select id="test-review" onChange=${pick}>
          <option value="">choose…</option>${props.tests.map((test, index) => html`<option value=${index}>${test.gold.stars !== null ? `${test.gold.stars}★ ` : ""}${(test.title ? `${test.title}. ` : "") + test.text.replace(/\s+/g, " ").slice(0, 80)}</option>`)}
        </select></div>` : null}
      <div class="field"><label for="analysis-title">Review title (optional)</label><input id="analysis-title" value=${title} onInput=${(event: Event) => { setTitle((event.target as HTMLInputElement).value); setGold(null); }} /></div>
      <div class="field"><label for="analysis-review">Review</label><textarea id="analysis-review" rows="4" value=${text} onInput=${(event: Event) => { setText((event.target as HTMLTextAreaElement).value); setGold(null); }}></textarea></div>
      <button type="submit" class="primary" disabled=${busy || !text.trim()}>${busy ? "Analyzing…" : props.chosen.length ? `Analyze with base + ${props.chosen.length} run${props.chosen.length > 1 ? "s" : ""}` : "Analyze with the base model"}</button>
    </form>
    <${ErrorNotice} error=${error} />
    ${gold ? html`<p class="muted" data-testid="gold">Gold of this held-out review: ${gold.stars !== null ? `${gold.stars}/5 stars, ` : ""}${gold.sentiment}, quality ${gold.quality}, recommendation ${gold.recommendation}${gold.aspects.length ? `, aspects ${gold.aspects.join(", ")}` : ""}.</p>` : null}
    ${cards.length ? html`<div class="columns" data-testid="analyses">${cards.map((card) => html`<${AnalysisCard} card=${card} gold=${gold} />`)}</div>`
      : html`<${Empty} title="Analyze a review"><p>Each model's analysis (stars, sentiment, quality, recommendation, aspects, summary) appears here as a card beside the rule-based analyzer's, each field marked against the gold when the review is a held-out one.</p></${Empty}>`}
  </div>`;
}
