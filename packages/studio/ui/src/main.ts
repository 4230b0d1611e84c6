// The studio's shell: a header with the engine's state (and what to do when it is not ready), the
// page tabs (keyboard: arrows, Home, End; the URL hash keeps the page), and the page itself.
import { html } from "htm/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { StudioStatus } from "@reviewtune/contracts";
import { ErrorNotice, Tabs } from "./components.js";
import { useLoad } from "./hooks.js";
import { ComparePage } from "./pages/compare.js";
import { DatasetsPage } from "./pages/datasets.js";
import { EvaluatePage } from "./pages/evaluate.js";
import { TrainPage } from "./pages/train.js";

const PAGES = [
  { id: "datasets", label: "Datasets" },
  { id: "train", label: "Train" },
  { id: "compare", label: "Compare" },
  { id: "evaluate", label: "Evaluate" },
];

const pageFromHash = () => {
  const id = location.hash.replace(/^#\/?/, "");
  return PAGES.some((page) => page.id === id) ? id : "datasets";
};

function App() {
  const status = useLoad<StudioStatus>("/status");
  const [page, setPage] = useState(pageFromHash);
  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    document.title = `${PAGES.find((entry) => entry.id === page)?.label} · reviewtune studio`;
  }, [page]);
  const select = (id: string) => {
    history.replaceState(null, "", `#/${id}`);
    setPage(id);
  };
  const engine = status.data?.engine;
  // A problem has a fix (not installed, failed to start); without one the engine is still starting:
  // requests wait for it, and the status is asked again until it is ready.
  const engineProblem = engine && !engine.ready && engine.fix ? `${engine.problem}. What to do: ${engine.fix}` : null;
  const starting = !!engine && !engine.ready && !engine.fix;
  useEffect(() => {
    if (!starting) return;
    const timer = setTimeout(status.reload, 2000);
    return () => clearTimeout(timer);
  }, [starting, status.data]);
  return html`<div class="app">
    <header class="top">
      <h1>reviewtune <span>studio</span></h1>
      ${status.data ? html`<p class="model muted">model <code>${status.data.model}</code> · runs in <code>${status.data.runs_dir}</code></p>` : null}
    </header>
    <${ErrorNotice} error=${status.error} onRetry=${status.reload} />
    ${engineProblem ? html`<div class="notice error" role="alert" data-testid="engine-problem"><strong>${engine!.problem}</strong><p>What to do: ${engine!.fix}</p></div>` : null}
    ${starting ? html`<p class="notice" role="status">The engine is starting (loading the model${status.data?.references ? " and indexing the training references" : ""}); answers wait for it.</p>` : null}
    <nav><${Tabs} label="Studio pages" idPrefix="page" tabs=${PAGES} current=${page} onSelect=${select} /></nav>
    <main id="page-panel" role="tabpanel" aria-labelledby=${`page-tab-${page}`} tabindex="-1">
      ${page === "datasets" ? html`<${DatasetsPage} dataDirs=${status.data?.data_dirs ?? []} />` : null}
      ${page === "train" ? html`<${TrainPage} engineProblem=${engineProblem} />` : null}
      ${page === "compare" ? html`<${ComparePage} engineProblem=${engineProblem} model=${status.data?.model ?? "base"} />` : null}
      ${page === "evaluate" ? html`<${EvaluatePage} />` : null}
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById("app")!);
