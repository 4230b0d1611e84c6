// Prometheus metrics for /metrics, one registry per server (tests run several servers in a process).
import { readFileSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface QueueProbe {
  waiting(): number;
  running(): number;
}

/** A process's peak resident memory in bytes (Linux: VmHWM in /proc/<pid>/status), or undefined if it cannot be read. */
export function peakResidentBytes(pid: number): number | undefined {
  try {
    const kilobytes = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kilobytes === undefined ? undefined : Number(kilobytes) * 1024;
  } catch {
    return undefined;
  }
}

/** `enginePid`: the backend's separate process, if it has one (the torch engine), whose memory counts too. */
export function createMetrics(queue: QueueProbe, enginePid: () => number | undefined = () => undefined) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "reviewtune_" });
  const metrics = {
    registry,
    requestDuration: new Histogram({
      name: "reviewtune_http_request_duration_seconds",
      help: "HTTP request latency, from arrival to the last byte (streams included)",
      labelNames: ["route", "status"],
      // Review-length answers take 0.1-10 s on a CPU; health checks take microseconds.
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers: [registry],
    }),
    tokens: new Counter({ name: "reviewtune_tokens_total", help: "Tokens processed", labelNames: ["model", "kind"], registers: [registry] }),
    queueDepth: new Gauge({
      name: "reviewtune_queue_depth",
      help: "Requests waiting for the backend (not counting the ones being answered)",
      registers: [registry],
      collect() {
        this.set(queue.waiting());
      },
    }),
    inFlight: new Gauge({
      name: "reviewtune_requests_in_flight",
      help: "Requests the backend is answering now",
      registers: [registry],
      collect() {
        this.set(queue.running());
      },
    }),
    adapterLoadFailures: new Counter({
      name: "reviewtune_adapter_load_failures_total",
      help: "Adapters that could not be loaded (missing, corrupt, other base, no effect)",
      labelNames: ["adapter", "reason"],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: "reviewtune_fallback_responses_total",
      help: "Requests for an adapter answered by the base model because the adapter could not be loaded",
      labelNames: ["adapter", "reason"],
      registers: [registry],
    }),
    engineRestarts: new Counter({ name: "reviewtune_engine_restarts_total", help: "Times the engine process died and was restarted", registers: [registry] }),
    rejected: new Counter({ name: "reviewtune_rejected_requests_total", help: "Requests refused before generation", labelNames: ["reason"], registers: [registry] }),
    peakMemory: new Gauge({
      name: "reviewtune_peak_resident_memory_bytes",
      help: "Peak resident memory since start: of the server process (llama.cpp runs in it), and of the engine process (the torch backend)",
      labelNames: ["process"],
      registers: [registry],
      collect() {
        // resourceUsage().maxRSS is the server's own peak in kilobytes on every platform.
        this.set({ process: "server" }, process.resourceUsage().maxRSS * 1024);
        const pid = enginePid();
        const engine = pid === undefined ? undefined : peakResidentBytes(pid);
        if (engine !== undefined) this.set({ process: "engine" }, engine);
      },
    }),
  };
  return metrics;
}

export type ServerMetrics = ReturnType<typeof createMetrics>;
