// Recipe R3's report for a run: what was trained (parameters, quantization, LoRA settings), what it
// cost (peak memory, wall time) and how good it is (eval loss, accuracy, macro F1, AUC). One row per
// run; `compare-methods` puts several in one table.
import type { MethodReport, TrainConfig, TrainResult } from "@reviewtune/contracts";

export type { MethodReport };

export function methodReport(config: TrainConfig, result: TrainResult, device: string | undefined): MethodReport {
  const { quantization, lora } = config;
  const figures = result.classification ?? null;
  return {
    method: config.method,
    model: config.model.source,
    trainable_params: result.parameters.trainable,
    total_params: result.parameters.total,
    trainable_percent: result.parameters.trainable_percent,
    quantization: quantization ? `${quantization.bits}-bit ${quantization.quant_type}, compute ${quantization.compute_dtype}, double quant ${quantization.double_quant ? "on" : "off"}` : "none",
    lora: config.method === "full" ? "-" : `r${lora.r} alpha${lora.alpha} dropout${lora.dropout} ${lora.target_modules.join(",")}`,
    peak_memory_bytes: result.peak_memory_bytes,
    peak_memory_of: device === "cuda" ? "cuda" : "cpu-rss",
    wall_seconds: result.wall_seconds ?? null,
    train_seconds: result.train_seconds,
    steps: result.global_step,
    eval_loss: figures?.eval_loss ?? result.final_eval_loss,
    accuracy: figures?.accuracy ?? null,
    macro_f1: figures?.macro_f1 ?? null,
    auc: figures?.auc ?? null,
  };
}

/** A row of the comparison table: a report, or why the method did not run here. */
export type MethodRow = { method: string; report: MethodReport } | { method: string; report: null; reason: string };

const fixed = (value: number | null, digits: number) => (value === null ? "-" : value.toFixed(digits));

/**
 * Markdown table, one row per method; a method that could not run says why in place of its figures.
 * The classifier's columns (accuracy, macro F1, AUC) only when a row has them: a generative run's
 * table would carry three columns of dashes.
 */
export function formatMethodTable(rows: MethodRow[]): string {
  const scored = rows.some((row) => row.report && (row.report.accuracy !== null || row.report.macro_f1 !== null || row.report.auc !== null));
  const header = ["method", "trainable params", "total params", "trainable %", "quantization", "LoRA", "peak memory GiB", "wall s", "steps", "eval loss", ...(scored ? ["accuracy", "macro F1", "AUC"] : [])];
  const lines = rows.map((row) => {
    if (!row.report) return [row.method, `not run: ${row.reason}`, ...Array(header.length - 2).fill("")];
    const report = row.report;
    return [
      row.method,
      report.trainable_params.toLocaleString("en-US"),
      report.total_params.toLocaleString("en-US"),
      report.trainable_percent.toFixed(4),
      report.quantization,
      report.lora,
      `${(report.peak_memory_bytes / 2 ** 30).toFixed(2)} (${report.peak_memory_of})`,
      fixed(report.wall_seconds, 0),
      String(report.steps),
      fixed(report.eval_loss, 4),
      ...(scored ? [fixed(report.accuracy, 4), fixed(report.macro_f1, 4), fixed(report.auc, 4)] : []),
    ];
  });
  const escape = (cell: string) => cell.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [header, header.map(() => "---"), ...lines].map((cells) => `| ${cells.map(escape).join(" | ")} |`).join("\n");
}
