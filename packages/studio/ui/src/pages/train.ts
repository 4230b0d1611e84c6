// Train: a preset, a model and a dataset, the main hyper-parameters (validated by the same schema
// the server uses), the memory/time estimate, start; then the run's live curves, step, tokens/s and
// ETA over server-sent events; stop and resume; the run list.
import { html } from "htm/preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { StudioTrainRequestSchema, TRAIN_METHODS, type DatasetSummary, type PresetSummary, type RunPoint, type RunSummary, type StudioTrainRequest, type TrainEstimate } from "@reviewtune/contracts";
import { post, type StudioRequestError } from "../api.js";
import { Empty, ErrorNotice, LineChart, Loading } from "../components.js";
import { bytes, number, seconds } from "../format.js";
import { useLoad } from "../hooks.js";

type Form = Record<"preset" | "model" | "dataset" | "method" | "length_kind" | "length" | "learning_rate" | "batch_size" | "max_length" | "lora_r" | "activation_checkpointing", string>;

function formFromPreset(preset: PresetSummary, dataset: string): Form {
  const d = preset.defaults;
  return {
    preset: preset.name,
    model: d.model,
    dataset,
    method: d.method,
    length_kind: d.max_steps !== undefined ? "max_steps" : "epochs",
    length: String(d.max_steps ?? d.epochs ?? 1),
    learning_rate: String(d.learning_rate),
    batch_size: String(d.batch_size),
    max_length: String(d.max_length),
    lora_r: String(d.lora_r),
    activation_checkpointing: d.activation_checkpointing ? "on" : "off",
  };
}

function toRequest(form: Form): unknown {
  const numeric = (value: string) => (value.trim() === "" ? undefined : Number(value));
  return {
    preset: form.preset,
    model: form.model.trim(),
    dataset: form.dataset,
    method: form.method,
    [form.length_kind]: numeric(form.length),
    learning_rate: numeric(form.learning_rate),
    batch_size: numeric(form.batch_size),
    max_length: numeric(form.max_length),
    lora_r: numeric(form.lora_r),
    activation_checkpointing: form.activation_checkpointing === "on",
  };
}

const STATUS_TEXT: Record<RunSummary["status"], string> = { running: "running", interrupted: "interrupted", completed: "completed", early_stopped: "stopped early", cancelled: "stopped", failed: "failed" };

export function StatusBadge(props: { run: RunSummary }) {
  return html`<span class=${`badge status-${props.run.status}`}>${STATUS_TEXT[props.run.status]}${props.run.status === "running" && !props.run.active ? " (detached)" : ""}</span>`;
}

function EstimatePanel(props: { estimate: TrainEstimate | null; error: StudioRequestError | null; measured?: RunSummary }) {
  const { estimate, measured } = props;
  if (props.error) return html`<div class="estimate"><h3>Estimate</h3><${ErrorNotice} error=${props.error} /></div>`;
  if (!estimate) return html`<div class="estimate"><h3>Estimate</h3><p class="muted">Fill in the form to see the memory and time this run needs.</p></div>`;
  return html`<div class="estimate" data-testid="estimate">
    <h3>Estimate <span class="muted">(not a measurement)</span></h3>
    <dl class="facts">
      <dt>Parameters</dt><dd>${(estimate.parameters / 1e6).toFixed(1)} M, trained ${(estimate.trainable / 1e6).toFixed(2)} M</dd>
      <dt>Memory</dt><dd><strong>${bytes(estimate.memory_bytes.total)}</strong> = weights ${bytes(estimate.memory_bytes.weights)} + optimizer ${bytes(estimate.memory_bytes.optimizer)} + activations ${bytes(estimate.memory_bytes.activations)} + runtime ${bytes(estimate.memory_bytes.runtime)}${measured?.peak_memory_bytes ? html`; <em>measured peak ${bytes(measured.peak_memory_bytes)}</em>` : null}</dd>
      <dt>Time</dt><dd><strong>${seconds(estimate.seconds)}</strong> for ${estimate.steps} steps at ${estimate.tokens_per_second.toFixed(0)} tokens/s${measured?.train_seconds ? html`; <em>measured ${seconds(measured.train_seconds)}</em>` : null}</dd>
    </dl>
    <details><summary>How it is computed</summary><p>${estimate.formula}</p><p>${estimate.basis}.</p></details>
    ${estimate.table?.length ? html`<${TimeTable} table=${estimate.table} />` : null}
  </div>`;
}

/** Recipe R4's training-time table: rows samples x epochs, columns batch sizes, from the same estimate. */
function TimeTable(props: { table: NonNullable<TrainEstimate["table"]> }) {
  const batches = [...new Set(props.table.map((row) => row.batch_size))];
  const rows = [...new Map(props.table.map((row) => [`${row.samples}/${row.epochs}`, row])).values()];
  const cell = (samples: number, epochs: number, batch: number) => props.table.find((row) => row.samples === samples && row.epochs === epochs && row.batch_size === batch);
  return html`<details open><summary>Training time by samples × epochs × batch size</summary>
    <div class="table-scroll"><table class="data-table" data-testid="estimate-table">
      <thead><tr><th scope="col">samples</th><th scope="col">epochs</th>${batches.map((batch) => html`<th scope="col">batch ${batch}</th>`)}</tr></thead>
      <tbody>${rows.map((row) => html`<tr><td>${row.samples.toLocaleString("en-US")}</td><td>${row.epochs}</td>${batches.map((batch) => {
        const found = cell(row.samples, row.epochs, batch);
        return html`<td>${found ? html`${seconds(found.seconds)} <span class="muted">(${found.steps} steps)</span>` : "–"}</td>`;
      })}</tr>`)}</tbody>
    </table></div></details>`;
}

function TrainForm(props: { presets: PresetSummary[]; datasets: DatasetSummary[]; onStarted: (run: RunSummary) => void; engineProblem: string | null }) {
  const [form, setForm] = useState<Form>(() => formFromPreset(props.presets[0]!, props.datasets[0]?.name ?? ""));
  const [estimate, setEstimate] = useState<{ value: TrainEstimate | null; error: StudioRequestError | null }>({ value: null, error: null });
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<StudioRequestError | null>(null);
  const parsed = useMemo(() => StudioTrainRequestSchema.safeParse(toRequest(form)), [form]);
  const problems: Record<string, string> = {};
  if (!parsed.success) for (const issue of parsed.error.issues) problems[String(issue.path[0] ?? "form")] ??= issue.message;
  if (problems.epochs || problems.max_steps) problems.length = problems.epochs ?? problems.max_steps!;
  const valid = parsed.success;
  const request = parsed.success ? (parsed.data as StudioTrainRequest) : null;
  useEffect(() => {
    if (!request) return setEstimate({ value: null, error: null });
    const timer = setTimeout(() => post<TrainEstimate>("/estimate", request).then((value) => setEstimate({ value, error: null }), (error: StudioRequestError) => setEstimate({ value: null, error })), 250);
    return () => clearTimeout(timer);
  }, [JSON.stringify(request)]);
  const set = (key: keyof Form) => (event: Event) => setForm({ ...form, [key]: (event.target as HTMLInputElement).value });
  const choosePreset = (event: Event) => {
    const preset = props.presets.find((entry) => entry.name === (event.target as HTMLSelectElement).value);
    if (preset) setForm(formFromPreset(preset, form.dataset));
  };
  const start = async (event: Event) => {
    event.preventDefault();
    if (!request) return;
    setStarting(true);
    setStartError(null);
    try {
      props.onStarted(await post<RunSummary>("/train", request));
    } catch (error) {
      setStartError(error as StudioRequestError);
    } finally {
      setStarting(false);
    }
  };
  const field = (key: keyof Form, label: string, attributes: Record<string, unknown> = {}) => html`<div class="field">
    <label for=${`train-${key}`}>${label}</label>
    <input id=${`train-${key}`} name=${key} value=${form[key]} onInput=${set(key)} aria-invalid=${!!problems[key]} aria-describedby=${problems[key] ? `train-${key}-error` : undefined} ...${attributes} />
    ${problems[key] ? html`<p class="field-error" id=${`train-${key}-error`}>${problems[key]}</p>` : null}
  </div>`;
  return html`<form class="train-form" onSubmit=${start} aria-label="start a training run" novalidate>
    <div class="grid">
      <div class="field"><label for="train-preset">Preset</label>
        <select id="train-preset" value=${form.preset} onChange=${choosePreset}>${props.presets.map((preset) => html`<option value=${preset.name}>${preset.name}</option>`)}</select>
        <p class="hint">${props.presets.find((preset) => preset.name === form.preset)?.description}</p></div>
      ${field("model", "Model (name, local folder or hub id)", { list: "model-choices", autocomplete: "off" })}
      <datalist id="model-choices">${[...new Set(props.presets.map((preset) => preset.defaults.model))].map((model) => html`<option value=${model} />`)}</datalist>
      <div class="field"><label for="train-dataset">Dataset</label>
        <select id="train-dataset" value=${form.dataset} onChange=${set("dataset")} aria-invalid=${!!problems.dataset}>${props.datasets.map((dataset) => html`<option value=${dataset.name}>${dataset.name}</option>`)}</select>
        ${problems.dataset ? html`<p class="field-error">${problems.dataset}</p>` : null}</div>
      <div class="field"><label for="train-method">Method</label>
        <select id="train-method" value=${form.method} onChange=${set("method")}>${TRAIN_METHODS.map((method) => html`<option value=${method}>${method}</option>`)}</select></div>
      <div class="field"><label for="train-length_kind">Length in</label>
        <select id="train-length_kind" value=${form.length_kind} onChange=${set("length_kind")}><option value="epochs">epochs</option><option value="max_steps">steps</option></select></div>
      ${field("length", form.length_kind === "epochs" ? "Epochs" : "Steps", { type: "number", min: form.length_kind === "epochs" ? "0.1" : "1", step: form.length_kind === "epochs" ? "0.1" : "1", inputmode: "decimal" })}
      ${field("learning_rate", "Learning rate", { type: "number", step: "any", min: "0", inputmode: "decimal" })}
      ${field("batch_size", "Batch size", { type: "number", min: "1", step: "1", inputmode: "numeric" })}
      ${field("max_length", "Max length (tokens)", { type: "number", min: "16", step: "1", inputmode: "numeric" })}
      ${form.method === "full" ? null : field("lora_r", "LoRA rank r", { type: "number", min: "1", step: "1", inputmode: "numeric" })}
      <div class="field"><label for="train-activation_checkpointing">Activation checkpointing</label>
        <select id="train-activation_checkpointing" value=${form.activation_checkpointing} onChange=${set("activation_checkpointing")}><option value="off">off (faster)</option><option value="on">on (less memory, slower)</option></select></div>
    </div>
    <${EstimatePanel} estimate=${estimate.value} error=${estimate.error} />
    <${ErrorNotice} error=${startError} />
    ${props.engineProblem ? html`<p class="field-error">${props.engineProblem}</p>` : null}
    <button type="submit" class="primary" disabled=${!valid || starting || !!props.engineProblem}>${starting ? "Starting (loading the model)…" : "Start training"}</button>
  </form>`;
}

function RunDetail(props: { run: RunSummary; onChange: (run: RunSummary) => void }) {
  const [points, setPoints] = useState<RunPoint[]>([]);
  const [run, setRun] = useState(props.run);
  const [actionError, setActionError] = useState<StudioRequestError | null>(null);
  const [streamKey, setStreamKey] = useState(0);
  useEffect(() => {
    setPoints([]);
    const source = new EventSource(`/studio/api/runs/${encodeURIComponent(props.run.id)}/events`);
    const collected: RunPoint[] = [];
    source.addEventListener("point", (event) => {
      collected.push(JSON.parse((event as MessageEvent).data) as RunPoint);
      setPoints([...collected]);
    });
    const onRun = (event: Event) => {
      const next = JSON.parse((event as MessageEvent).data) as RunSummary;
      setRun(next);
      props.onChange(next);
    };
    source.addEventListener("run", onRun);
    source.addEventListener("end", (event) => {
      onRun(event);
      source.close();
    });
    return () => source.close();
  }, [props.run.id, streamKey]);
  const act = async (action: "stop" | "resume") => {
    setActionError(null);
    try {
      const next = await post<RunSummary>(`/runs/${encodeURIComponent(run.id)}/${action}`);
      setRun(next);
      props.onChange(next);
      if (action === "resume") setStreamKey((key) => key + 1);
    } catch (error) {
      setActionError(error as StudioRequestError);
    }
  };
  const train = points.filter((point) => point.kind === "train" && point.loss !== null).map((point): [number, number] => [point.step, point.loss!]);
  const evals = points.filter((point) => point.kind === "eval" && point.eval_loss !== null).map((point): [number, number] => [point.step, point.eval_loss!]);
  const canResume = !run.active && (run.status === "cancelled" || run.status === "failed" || run.status === "interrupted" || run.status === "running");
  return html`<section class="run-detail" aria-label=${`run ${run.id}`} data-testid="run-detail">
    <h3>${run.id} <${StatusBadge} run=${run} /></h3>
    <dl class="stats">
      <div><dt>Step</dt><dd data-testid="run-step">${run.step}${run.max_steps ? ` / ${run.max_steps}` : ""}</dd></div>
      <div><dt>Train loss</dt><dd>${number(run.train_loss)}</dd></div>
      <div><dt>Eval loss</dt><dd>${number(run.eval_loss)}</dd></div>
      <div><dt>Tokens/s</dt><dd>${number(run.tokens_per_second, 1)}</dd></div>
      <div><dt>ETA</dt><dd>${run.status === "running" ? seconds(run.eta_seconds) : "–"}</dd></div>
    </dl>
    <${LineChart} title="Loss" xLabel="step" testId="loss-chart" series=${[{ label: "train loss", color: "#2563eb", points: train }, { label: "eval loss", color: "#d97706", points: evals }]} />
    <div class="actions">
      ${run.active && run.status === "running" ? html`<button type="button" onClick=${() => act("stop")}>Stop (saves a checkpoint)</button>` : null}
      ${canResume ? html`<button type="button" onClick=${() => act("resume")}>Resume from the last checkpoint</button>` : null}
    </div>
    <${ErrorNotice} error=${actionError} />
    ${run.error ? html`<div class="notice error" role="alert"><strong>Training failed: ${run.error}</strong></div>` : null}
    ${run.next ? html`<p class="next">Next: ${run.next}</p>` : null}
    ${run.log_tail.length && run.status === "failed" ? html`<details open><summary>Last lines of the training log</summary><pre class="log">${run.log_tail.join("\n")}</pre></details>` : null}
    ${run.estimate ? html`<${EstimatePanel} estimate=${run.estimate} error=${null} measured=${run.status === "completed" || run.status === "early_stopped" ? run : undefined} />` : null}
  </section>`;
}

export function TrainPage(props: { engineProblem: string | null }) {
  const presets = useLoad<PresetSummary[]>("/presets");
  const datasets = useLoad<DatasetSummary[]>("/datasets");
  const runs = useLoad<RunSummary[]>("/runs");
  const [selected, setSelected] = useState<RunSummary | null>(null);
  const [updates, setUpdates] = useState<Record<string, RunSummary>>({});
  const list = (runs.data ?? []).map((run) => updates[run.id] ?? run);
  if (selected && !list.some((run) => run.id === selected.id)) list.unshift(updates[selected.id] ?? selected);
  const onStarted = (run: RunSummary) => {
    setSelected(run);
    runs.reload();
  };
  const onChange = (run: RunSummary) => setUpdates((previous) => ({ ...previous, [run.id]: run }));
  return html`<div class="page train-page">
    <section aria-labelledby="new-run"><h2 id="new-run">New run</h2>
      <${ErrorNotice} error=${presets.error ?? datasets.error} />
      ${!presets.data || !datasets.data ? html`<${Loading} what="presets and datasets" />`
        : datasets.data.length === 0 ? html`<${Empty} title="No dataset to train on"><p>Make one with <code>reviewtune data demo --out data/demo</code> and restart the studio with <code>--data data</code>.</p></${Empty}>`
        : html`<${TrainForm} presets=${presets.data} datasets=${datasets.data} onStarted=${onStarted} engineProblem=${props.engineProblem} />`}
    </section>
    <section aria-labelledby="runs-heading"><h2 id="runs-heading">Runs</h2>
      <${ErrorNotice} error=${runs.error} onRetry=${runs.reload} />
      ${runs.data && list.length === 0 ? html`<${Empty} title="No run yet"><p>Start one with the form above (a few steps on the demo dataset take a minute on a laptop CPU), or from a terminal: <code>reviewtune train --preset demo</code>.</p></${Empty}>` : null}
      ${list.length > 0 ? html`<table class="data-table runs" data-testid="run-list">
        <thead><tr><th scope="col">run</th><th scope="col">status</th><th scope="col">step</th><th scope="col">loss</th><th scope="col">model</th><th scope="col"><span class="visually-hidden">actions</span></th></tr></thead>
        <tbody>${list.map((run) => html`<tr aria-current=${selected?.id === run.id ? "true" : undefined}>
          <td>${run.id}</td><td><${StatusBadge} run=${run} /></td><td>${run.step}${run.max_steps ? `/${run.max_steps}` : ""}</td><td>${number(run.train_loss)}</td><td class="truncate">${run.model.split("/").at(-1)} · ${run.method}</td>
          <td><button type="button" onClick=${() => setSelected(run)}>${selected?.id === run.id ? "Shown" : "Show"}</button></td></tr>`)}</tbody>
      </table>` : null}
      ${selected ? html`<${RunDetail} key=${selected.id} run=${updates[selected.id] ?? selected} onChange=${onChange} />` : null}
    </section>
  </div>`;
}
