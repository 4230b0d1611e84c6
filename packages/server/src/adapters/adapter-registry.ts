// Which names the server answers to: the base model (under its id and "base") and each adapter.
// An adapter that cannot be used (missing, corrupt, made for another base, changes nothing) stays
// listed in "fallback" state: requests for it are answered by the base model and marked, the reason
// is logged once and counted, and the server never refuses them.
import { EngineRequestError } from "@reviewtune/core";
import { EMBEDDING_MODEL_ID, type LoadAdapterResult } from "@reviewtune/contracts";
import type { GenerationBackend } from "@reviewtune/core";
import { ApiError } from "../http/api-error.js";
import type { ServerMetrics } from "../metrics/metrics.js";

export interface AdapterEntry {
  name: string;
  dir: string;
  status: "loaded" | "fallback";
  error: { code: string; message: string } | null;
  probe: LoadAdapterResult | null;
  created: number;
}

/** What a request's `model` resolves to. */
export interface ModelRoute {
  model: string;
  adapter: AdapterEntry | null;
  /** The adapter asked for but not usable: the base answers. */
  fallback: { adapter: string; code: string; message: string } | null;
}

export const BASE_ALIAS = "base";

// What clients are told about an unusable adapter: the engine's message names server paths, which
// stay in the server log.
const FALLBACK_REASONS: Readonly<Record<string, string>> = Object.freeze({
  adapter_not_found: "the adapter folder is missing or holds no adapter_config.json",
  adapter_weights_missing: "the adapter folder has no weights file (adapter_model.safetensors)",
  adapter_config_invalid: "the adapter's adapter_config.json is not valid JSON",
  corrupt_weights: "the adapter's weights file is damaged (truncated or not safetensors)",
  adapter_incompatible: "the adapter does not fit the base model (other shapes)",
  adapter_wrong_base: "the adapter was trained on another base model",
  adapter_no_effect: "the adapter does not change the model's outputs (untrained or scaled to zero)",
  adapter_not_upstream: "the upstream server does not serve this adapter",
  adapter_upstream_fallback: "the upstream server answers this adapter with its base model",
});

export class AdapterRegistry {
  private readonly adapters = new Map<string, AdapterEntry>();
  readonly created = Math.floor(Date.now() / 1000);

  constructor(
    readonly baseId: string,
    private readonly backend: GenerationBackend,
    private readonly metrics: ServerMetrics,
    private readonly log: (level: "info" | "warn" | "error", message: string) => void,
  ) {
    // A restarted engine has no adapters: load them again (and probe again).
    backend.onRestart(async () => {
      for (const entry of [...this.adapters.values()]) await this.load(entry.name, entry.dir);
    });
  }

  /** Loads (or re-loads) an adapter under `name`. Never throws for a bad adapter: it becomes a fallback. */
  async load(name: string, dir: string): Promise<AdapterEntry> {
    if (name === this.baseId || name === BASE_ALIAS) throw new ApiError(409, "invalid_request_error", "name_taken", `"${name}" is the base model's name; pick another adapter name`, "name");
    // /v1/models would list the id twice, and `model` could not tell the two apart.
    if (name === EMBEDDING_MODEL_ID) throw new ApiError(409, "invalid_request_error", "name_taken", `"${name}" is the embedding model's name; pick another adapter name`, "name");
    const previous = this.adapters.get(name);
    if (previous?.status === "loaded" && previous.dir !== dir) await this.backend.unloadAdapter(previous.dir);
    let entry: AdapterEntry;
    try {
      const probe = await this.backend.loadAdapter(dir);
      entry = { name, dir, status: "loaded", error: null, probe, created: Math.floor(Date.now() / 1000) };
      this.log("info", `adapter ${name} loaded from ${dir} (probe: max |logit difference| ${probe.max_abs_logit_diff.toFixed(4)}, top-1 token ${probe.top1_changed ? "changed" : "unchanged"})`);
    } catch (error) {
      if (!(error instanceof EngineRequestError)) throw error; // the engine itself failed: not the adapter's fault
      const message = `${FALLBACK_REASONS[error.code] ?? "the adapter could not be loaded"}; the base model answers instead`;
      entry = { name, dir, status: "fallback", error: { code: error.code, message }, probe: null, created: Math.floor(Date.now() / 1000) };
      this.metrics.adapterLoadFailures.inc({ adapter: name, reason: error.code });
      this.log("warn", `adapter ${name} cannot be used (${error.code}: ${error.message}); requests for it will be answered by the base model ${this.baseId}`);
    }
    this.adapters.set(name, entry);
    return entry;
  }

  async unload(name: string): Promise<boolean> {
    const entry = this.adapters.get(name);
    if (!entry) return false;
    this.adapters.delete(name);
    if (entry.status === "loaded") await this.backend.unloadAdapter(entry.dir);
    return true;
  }

  list(): AdapterEntry[] {
    return [...this.adapters.values()];
  }

  /** The request's `model` to what answers it; unknown names are a 404 listing the known ones. */
  route(model: string): ModelRoute {
    if (model === this.baseId || model === BASE_ALIAS) return { model, adapter: null, fallback: null };
    const entry = this.adapters.get(model);
    if (!entry) {
      // Through an upstream, a model it lists but this server was not told of: say how to serve it here.
      const upstream = this.backend.otherModels?.includes(model)
        ? `; the upstream lists "${model}": start this server with --adapter ${model}=<its adapter folder> (or --run of the run that trained it) to serve it here, probed and with fallback`
        : "";
      throw new ApiError(404, "invalid_request_error", "model_not_found", `model "${model}" does not exist; this server has: ${[this.baseId, ...this.adapters.keys()].join(", ")}${upstream}`, "model");
    }
    if (entry.status === "loaded") return { model, adapter: entry, fallback: null };
    this.metrics.fallbacks.inc({ adapter: model, reason: entry.error!.code });
    return { model, adapter: null, fallback: { adapter: model, ...entry.error! } };
  }
}
