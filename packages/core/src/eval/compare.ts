// Is a better than b on the same items? The paired bootstrap interval of the accuracy difference,
// the exact McNemar test on the items where exactly one of them is right, and those items listed.
import type { Comparison, EvalReport } from "@reviewtune/contracts";
import { bootstrap, mcnemarExact, type BootstrapOptions } from "./statistics.js";

export interface PairedItem {
  id: string;
  task: string;
  gold: string;
  a: { correct: boolean; answer: string };
  b: { correct: boolean; answer: string };
}

export function compareCorrectness(input: { a: string; b: string; metric: string; items: readonly PairedItem[]; bootstrap?: BootstrapOptions }): Comparison {
  const { items } = input;
  const difference = bootstrap(
    items.length,
    (indices) => indices.reduce((sum, index) => sum + Number(items[index]!.a.correct) - Number(items[index]!.b.correct), 0) / indices.length,
    input.bootstrap,
  );
  const flip = (item: PairedItem) => ({ id: item.id, task: item.task, gold: item.gold, tuned: item.a.answer, base: item.b.answer });
  const onlyA = items.filter((item) => item.a.correct && !item.b.correct);
  const onlyB = items.filter((item) => !item.a.correct && item.b.correct);
  return {
    a: input.a,
    b: input.b,
    metric: input.metric,
    n: items.length,
    difference,
    only_a: onlyA.length,
    only_b: onlyB.length,
    mcnemar_p: mcnemarExact(onlyA.length, onlyB.length),
    wrong_to_right: onlyA.map(flip),
    right_to_wrong: onlyB.map(flip),
  };
}

/** Two runs' reports on the same items: the tuned systems paired item by item, per task. */
export function compareReports(a: EvalReport, b: EvalReport, options: BootstrapOptions = {}): Comparison[] {
  const byId = new Map(b.items.map((item) => [item.id, item]));
  // Paired only where both reports hold the same item with the same gold (a test split rebuilt with
  // other labels keeps its ids).
  const shared = a.items.filter((item) => item.gold !== null && byId.get(item.id)?.gold === item.gold);
  const comparisons: Comparison[] = [];
  for (const task of ["sentiment", "rating", "quality", "recommendation", "features"]) {
    const items = shared.filter((item) => item.task === task);
    if (items.length === 0) continue;
    comparisons.push(
      compareCorrectness({
        a: a.run.id,
        b: b.run.id,
        metric: `${task} (exact match of the answer's ${task === "features" ? "feature set" : "label"})`,
        items: items.map((item) => {
          const other = byId.get(item.id)!;
          return {
            id: item.id,
            task,
            gold: item.gold!,
            a: { correct: item.correct.tuned ?? false, answer: item.predicted.tuned ?? "(unparseable)" },
            b: { correct: other.correct.tuned ?? false, answer: other.predicted.tuned ?? "(unparseable)" },
          };
        }),
        ...(options ? { bootstrap: options } : {}),
      }),
    );
  }
  comparisons.push(...compareAnalyses(a, b, options));
  return comparisons;
}

/** The one-pass analyses of two reports' tuned systems, paired on the test reviews both analyzed, field by field. */
function compareAnalyses(a: EvalReport, b: EvalReport, options: BootstrapOptions): Comparison[] {
  const rowsA = a.analysis?.rows;
  const rowsB = new Map((b.analysis?.rows ?? []).map((row) => [row.id, row]));
  if (!rowsA || rowsB.size === 0) return [];
  const comparisons: Comparison[] = [];
  const show = (value: unknown) => (value === undefined || value === null ? "(unparseable)" : String(value));
  for (const field of ["sentiment", "stars", "quality", "recommendation"]) {
    const items: PairedItem[] = [];
    for (const row of rowsA) {
      const other = rowsB.get(row.id);
      const gold = row.gold[field];
      if (!other || gold === undefined || gold === null || other.gold[field] !== gold) continue;
      const answerA = row.predicted.tuned?.[field];
      const answerB = other.predicted.tuned?.[field];
      items.push({ id: row.id, task: "analysis", gold: String(gold), a: { correct: answerA === gold, answer: show(answerA) }, b: { correct: answerB === gold, answer: show(answerB) } });
    }
    if (items.length === 0) continue;
    comparisons.push(compareCorrectness({ a: a.run.id, b: b.run.id, metric: `analysis: ${field} ${field === "stars" ? "exact" : "accuracy"}`, items, bootstrap: options }));
  }
  return comparisons;
}
