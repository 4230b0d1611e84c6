// The training progress bar: step, loss, tokens/s and ETA, fed by the engine's progress events.
import cliProgress from "cli-progress";
import type { EngineEvent } from "@reviewtune/contracts";

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "--:--";
  const total = Math.round(seconds);
  const minutes = Math.floor(total / 60);
  return `${String(minutes).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
}

export function trainingProgress(): { onEvent: (event: EngineEvent) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: "  {bar} step {value}/{total} | loss {loss} | {tps} tok/s | elapsed {elapsed} | ETA {eta_text}",
      barsize: 24,
      hideCursor: true,
      etaBuffer: 1,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let lastStep = -1;
  // Clear the bar's line first; its next update draws it again below the message.
  const log = (line: string) => process.stderr.write(`${started && process.stderr.isTTY ? "\r\x1b[K" : ""}${line}\n`);
  return {
    onEvent(event) {
      if (event.kind === "progress") {
        const payload = {
          loss: event.loss?.toFixed(4) ?? "-",
          tps: event.tokens_per_second.toFixed(0),
          elapsed: duration(event.elapsed_seconds),
          eta_text: duration(event.eta_seconds),
        };
        if (!process.stderr.isTTY) {
          // A log, not a terminal: one plain line per new step (a redrawn bar would repeat itself).
          if (event.step === lastStep) return;
          lastStep = event.step;
          log(`  step ${event.step}/${event.max_steps} | loss ${payload.loss} | ${payload.tps} tok/s | elapsed ${payload.elapsed} | ETA ${payload.eta_text}`);
          return;
        }
        if (!started) {
          bar.start(event.max_steps, event.step, payload);
          started = true;
        } else {
          // A time-budget run re-planned shorter ends earlier than it first said.
          if (bar.getTotal() !== event.max_steps) bar.setTotal(event.max_steps);
          bar.update(event.step, payload);
        }
      } else if (event.kind === "eval") {
        const figures = event.accuracy !== undefined ? `, accuracy ${event.accuracy.toFixed(4)}, macro F1 ${event.macro_f1?.toFixed(4) ?? "-"}, AUC ${event.auc?.toFixed(4) ?? "-"}` : "";
        log(`  eval at step ${event.step} (epoch ${event.epoch.toFixed(2)}): eval loss ${event.eval_loss.toFixed(4)}${figures}`);
      } else if (event.kind === "status") {
        log(`  ${event.message}`);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/**
 * A count-up bar for work on items (`reviewtune analyze`): done/total, rate per minute and ETA.
 * `update(done, fresh)`: `fresh` counts only this session's items (a resumed run skips the earlier
 * ones in no time), so the rate and ETA stay true. `log` prints a line above the bar; off a
 * terminal, one plain line per update instead of a bar.
 */
export function itemProgress(total: number, unit: string): { update: (done: number, fresh: number) => void; log: (line: string) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `  {bar} {value}/{total} ${unit} | {rate}/min | elapsed {elapsed} | ETA {eta_text}`,
      barsize: 24,
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let drawn = false;
  const payload = (done: number, fresh: number) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? (fresh / seconds) * 60 : 0;
    return { rate: rate.toFixed(1), elapsed: duration(seconds), eta_text: duration(rate > 0 ? ((total - done) / rate) * 60 : null) };
  };
  return {
    update(done, fresh) {
      if (!process.stderr.isTTY) {
        const figures = payload(done, fresh);
        process.stderr.write(`  ${done}/${total} ${unit} | ${figures.rate}/min | elapsed ${figures.elapsed} | ETA ${figures.eta_text}\n`);
        return;
      }
      if (!drawn) {
        bar.start(total, done, payload(done, fresh));
        drawn = true;
      } else bar.update(done, payload(done, fresh));
    },
    log(line) {
      process.stderr.write(`${drawn && process.stderr.isTTY ? "\r\x1b[K" : ""}${line}\n`);
    },
    stop() {
      if (drawn) bar.stop();
    },
  };
}
