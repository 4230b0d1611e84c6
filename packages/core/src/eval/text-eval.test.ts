import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TextEvalReport } from "@reviewtune/contracts";
import { textTable } from "./text-eval.js";

const estimate = (value: number | null) => ({ value, low: value, high: value, n: 10 });
const metrics = (extra: Partial<TextEvalReport["systems"][number]["metrics"]>): TextEvalReport["systems"][number]["metrics"] => ({
  n: 10,
  rouge_l: estimate(0.5),
  token_f1: estimate(0.5),
  exact_match: estimate(0.1),
  length_ratio: estimate(1.04),
  keyword_recall: null,
  yes_no_accuracy: null,
  ...extra,
});
const report = (systems: Array<[string, TextEvalReport["systems"][number]["metrics"]]>) =>
  ({ systems: systems.map(([name, figures]) => ({ name, description: name, metrics: figures })) }) as unknown as TextEvalReport;

describe("textTable", () => {
  it("leaves out the columns no system has a figure for", () => {
    const qa = textTable(report([["tuned", metrics({ yes_no_accuracy: estimate(0.7) })], ["retrieval", metrics({})]]));
    assert.equal(qa.split("\n")[0], "| system | ROUGE-L | token F1 | exact match | length ratio | yes/no accuracy |");
    assert.equal(qa.split("\n")[3], "| retrieval | 50.0 [50.0, 50.0] | 50.0 [50.0, 50.0] | 10.0 [10.0, 10.0] | 1.04 | n/a |", "a system without the figure shows n/a in a column another has");
    const descriptions = textTable(report([["tuned", metrics({ embedding_similarity: estimate(0.9), unsupported_attributes: estimate(0.4), invented_attributes: estimate(0.2) })]]));
    assert.equal(descriptions.split("\n")[0], "| system | ROUGE-L | token F1 | exact match | length ratio | embedding similarity | unsupported attributes | invented attributes (lower is better) |");
    assert.equal(descriptions.split("\n")[1], "|---|---|---|---|---|---|---|---|");
  });
});
