// Robustness slices of the tuned model's sentiment accuracy, judged against the targets (defaults
// from recipe R1): categories (relative drop vs the best category), sentiment classes (largest gap
// in points), review length in tokens (<50, 50-200, >200: relative drop vs the best bucket) and the
// edge-case tags (the demo generator's: sarcasm, mixed, ambiguous, negation, comparison,
// understatement, implicit, typo; "graceful" = above the random baseline on the same items). A slice with fewer than targets.min_slice items is "too small": shown, never judged.
import type { EvalReport, EvalTargets, SliceCheck } from "@reviewtune/contracts";
import { bootstrap, type BootstrapOptions } from "./statistics.js";

export interface SliceInput {
  gold: string;
  correct: boolean;
  /** The random baseline on the same item (null without that baseline). */
  baselineCorrect: boolean | null;
  category: string | null;
  tags: string[];
  tokens: number;
}

export const EDGE_TAGS = ["sarcasm", "mixed", "ambiguous", "negation", "comparison", "understatement", "implicit", "typo"] as const;

export function lengthBucketOf(tokens: number): string {
  return tokens < 50 ? "short (<50 tokens)" : tokens <= 200 ? "medium (50-200)" : "long (>200)";
}

type Slice = EvalReport["slices"][number];

function slice(dimension: string, name: string, members: readonly SliceInput[], options: BootstrapOptions): Slice {
  const withBaseline = members.filter((member) => member.baselineCorrect !== null);
  return {
    dimension,
    name,
    n: members.length,
    accuracy: bootstrap(members.length, (indices) => indices.filter((index) => members[index]!.correct).length / indices.length, options),
    baseline_accuracy: withBaseline.length ? withBaseline.filter((member) => member.baselineCorrect).length / withBaseline.length : null,
  };
}

function groupBy(inputs: readonly SliceInput[], key: (input: SliceInput) => string | null): Map<string, SliceInput[]> {
  const groups = new Map<string, SliceInput[]>();
  for (const input of inputs) {
    const name = key(input);
    if (name === null) continue;
    groups.set(name, [...(groups.get(name) ?? []), input]);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** The spread check of one dimension: judged over the slices big enough; too small if fewer than two are. */
function spreadCheck(dimension: string, slices: readonly Slice[], targets: EvalTargets, kind: "relative" | "points", target: number): SliceCheck {
  const judged = slices.filter((entry) => entry.n >= targets.min_slice && entry.accuracy.value !== null);
  const small = slices.filter((entry) => entry.n < targets.min_slice).map((entry) => `${entry.name} (${entry.n})`);
  const smallNote = small.length ? `; too small to judge: ${small.join(", ")}` : "";
  const rule = kind === "relative" ? `largest relative accuracy drop vs the best ${dimension}` : `largest accuracy gap between ${dimension} values, in points`;
  if (judged.length < 2) {
    return { dimension, rule, value: null, target, status: "too_small", detail: `fewer than two slices with at least ${targets.min_slice} items${smallNote}` };
  }
  const best = judged.reduce((top, entry) => (entry.accuracy.value! > top.accuracy.value! ? entry : top));
  const worst = judged.reduce((low, entry) => (entry.accuracy.value! < low.accuracy.value! ? entry : low));
  const value = kind === "relative" ? (best.accuracy.value! === 0 ? 0 : (best.accuracy.value! - worst.accuracy.value!) / best.accuracy.value!) : (best.accuracy.value! - worst.accuracy.value!) * 100;
  return {
    dimension,
    rule,
    value,
    target,
    status: value < target ? "pass" : "fail",
    detail: `best ${best.name} ${percent(best.accuracy.value!)}, worst ${worst.name} ${percent(worst.accuracy.value!)}${smallNote}`,
  };
}

export function computeSlices(inputs: readonly SliceInput[], targets: EvalTargets, options: BootstrapOptions = {}): { slices: Slice[]; checks: SliceCheck[] } {
  const categories = [...groupBy(inputs, (input) => input.category)].map(([name, members]) => slice("category", name, members, options));
  const classes = [...groupBy(inputs, (input) => input.gold)].map(([name, members]) => slice("sentiment_class", name, members, options));
  const lengths = [...groupBy(inputs, (input) => lengthBucketOf(input.tokens))].map(([name, members]) => slice("length", name, members, options));
  const tags = EDGE_TAGS.map((tag) => slice("tag", tag, inputs.filter((input) => input.tags.includes(tag)), options)).filter((entry) => entry.n > 0);
  const checks: SliceCheck[] = [
    spreadCheck("category", categories, targets, "relative", targets.category_drop),
    spreadCheck("sentiment_class", classes, targets, "points", targets.class_gap_points),
    spreadCheck("length", lengths, targets, "relative", targets.length_drop),
    ...tags.map((entry): SliceCheck => {
      const rule = `accuracy on ${entry.name} reviews above the random baseline on the same reviews`;
      if (entry.n < targets.min_slice || entry.baseline_accuracy === null || entry.accuracy.value === null) {
        return { dimension: `tag:${entry.name}`, rule, value: entry.accuracy.value, target: entry.baseline_accuracy ?? 0, status: "too_small", detail: `${entry.n} items (need ${targets.min_slice}) or no random baseline` };
      }
      return {
        dimension: `tag:${entry.name}`,
        rule,
        value: entry.accuracy.value,
        target: entry.baseline_accuracy,
        status: entry.accuracy.value > entry.baseline_accuracy ? "pass" : "fail",
        detail: `${percent(entry.accuracy.value)} vs random ${percent(entry.baseline_accuracy)} on ${entry.n} items`,
      };
    }),
  ];
  return { slices: [...categories, ...classes, ...lengths, ...tags], checks };
}
