import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { protocolJsonSchema } from "./json-schema.js";
import { parseJson, JsonParseError } from "./json.js";
import { EngineMessageSchema, EngineRequestSchema, OrdinalChoiceSchema, ResultSchemas, jointChoice, medianIndex, type EngineMethod } from "./protocol.js";

const fixture = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const transcriptLines = readFileSync(fixture("__fixtures__/transcripts/session.jsonl"), "utf8").split("\n").filter(Boolean);

describe("protocol schemas", () => {
  it("the engine's JSON Schema file is generated from these schemas (run `npm run schemas` when this fails)", () => {
    const committed = readFileSync(fixture("../../engine/src/reviewtune_engine/protocol.schema.json"), "utf8");
    assert.equal(committed, protocolJsonSchema());
  });

  it("every line of the engine transcript (recorded by engine/tests/record_transcripts.py) validates", () => {
    const methods = new Map<string, EngineMethod>();
    const seen = new Set<string>();
    for (const [index, line] of transcriptLines.entries()) {
      const { direction, message } = JSON.parse(line) as { direction: string; message: { id?: string; method?: string } };
      const where = `session.jsonl:${index + 1}`;
      if (direction === "to_engine") {
        const parsed = EngineRequestSchema.safeParse(message);
        // The transcript records requests the engine must reject, too (unknown method, bad params).
        if (parsed.success) methods.set(message.id!, parsed.data.method);
        continue;
      }
      const parsed = parseJson(JSON.stringify(message), EngineMessageSchema, where);
      seen.add(parsed.type === "event" ? `event:${parsed.event.kind}` : parsed.type);
      if (parsed.type === "result") {
        const method = methods.get(parsed.id);
        assert.ok(method, `${where}: a result for an unknown request id ${parsed.id}`);
        const result = ResultSchemas[method].safeParse(parsed.result);
        assert.ok(result.success, `${where}: ${method} result: ${result.error?.message}`);
      }
    }
    for (const kind of ["ready", "result", "error", "event:token", "event:progress", "event:eval", "event:status"]) {
      assert.ok(seen.has(kind), `the transcript has no ${kind} message: re-record it`);
    }
  });

  it("rejects a request with an unknown method or bad params, naming the field", () => {
    assert.equal(EngineRequestSchema.safeParse({ id: "1", method: "nope", params: {} }).success, false);
    const bad = EngineRequestSchema.safeParse({ id: "1", method: "generate", params: { model: { source: "x" }, prompts: [], max_new_tokens: 0 } });
    assert.equal(bad.success, false);
    const paths = bad.error!.issues.map((issue) => issue.path.join("."));
    assert.ok(paths.includes("params.prompts"), paths.join(", "));
    assert.ok(paths.includes("params.max_new_tokens"), paths.join(", "));
  });

  it("parseJson names the source of broken JSON", () => {
    assert.throws(() => parseJson("{oops", EngineMessageSchema, "engine stdout"), (error: unknown) => {
      assert.ok(error instanceof JsonParseError);
      assert.match(error.message, /^engine stdout: not valid JSON/);
      return true;
    });
  });
});

describe("ordinal choices", () => {
  const BANDS = [0, 0, 1, 2, 2]; // stars 1-2 negative, 3 neutral, 4-5 positive

  it("the median option is where the cumulative weight reaches half", () => {
    assert.equal(medianIndex([0.1, 0.2, 0.3, 0.4]), 2); // 0.3 < 0.5 <= 0.6
    assert.equal(medianIndex([0.5, 0.5]), 0); // reaches exactly half
    assert.equal(medianIndex([0, 0, 2]), 2);
    assert.equal(medianIndex([0, 0]), -1);
  });

  it("stars that say nothing take the side of the sentiment reading, nearest to their median", () => {
    // Stars flat around 3 (median 3), sentiment reading positive: mass neg 0.38*0.1, neu 0.22*0.2, pos 0.4*0.7.
    assert.deepEqual(jointChoice([0.19, 0.19, 0.22, 0.28, 0.12], [0.1, 0.2, 0.7], BANDS), { first: 3, second: 2 });
    // The same stars, a negative reading: 0.38*0.8 = 0.304 of 0.304+0.022+0.04; the negative star nearest 3 is 2.
    assert.deepEqual(jointChoice([0.19, 0.19, 0.22, 0.28, 0.12], [0.8, 0.1, 0.1], BANDS), { first: 1, second: 0 });
  });

  it("stars the model is sure of keep their band, whatever the sentiment reading leans to", () => {
    // Median 2 (0.05+0.85); mass neg 0.9*0.3 = 0.27, neu 0.05*0.2 = 0.01, pos 0.05*0.5 = 0.025.
    assert.deepEqual(jointChoice([0.05, 0.85, 0.05, 0.03, 0.02], [0.3, 0.2, 0.5], BANDS), { first: 1, second: 0 });
  });

  it("stars torn between the two ends stay neutral only if the sentiment reading agrees", () => {
    const torn = [0.3, 0.1, 0.2, 0.1, 0.3]; // median 3 (0.4 < 0.5 <= 0.6)
    // Mass neg 0.4*0.45 = 0.18, neu 0.2*0.1 = 0.02, pos 0.4*0.45 = 0.18: half is reached at neutral? 0.18 < 0.19 <= 0.2.
    assert.deepEqual(jointChoice(torn, [0.45, 0.1, 0.45], BANDS), { first: 2, second: 1 });
    // A reading that leans negative: 0.4*0.6 = 0.24 of 0.24+0.02+0.12 = 0.38 is past half.
    assert.deepEqual(jointChoice(torn, [0.6, 0.1, 0.3], BANDS), { first: 1, second: 0 });
    // A neutral reading: 0.16 / 0.16 / 0.08 -> half (0.2) is reached at neutral.
    assert.deepEqual(jointChoice(torn, [0.4, 0.8, 0.2], BANDS), { first: 2, second: 1 });
  });

  it("no weight on the first choice decides nothing; no weight on the second keeps the first's median and its band", () => {
    assert.equal(jointChoice([0, 0, 0, 0, 0], [0.2, 0.3, 0.5], BANDS), undefined);
    assert.deepEqual(jointChoice([0, 0, 0.1, 0.9, 0], [0, 0, 0], BANDS), { first: 3, second: 2 });
  });

  it("the bands must map every option, non-decreasing, into the second choice's options", () => {
    const choice = (bands: number[]) => OrdinalChoiceSchema.safeParse({ after: '"stars":', choices: ["1", "2", "3", "4", "5"], then: { text: ',"sentiment":"', choices: ["negative", "neutral", "positive"], bands } });
    assert.equal(choice(BANDS).success, true);
    for (const bad of [[0, 0, 1, 2], [0, 1, 0, 2, 2], [0, 0, 1, 2, 3]]) {
      const parsed = choice(bad);
      assert.equal(parsed.success, false, JSON.stringify(bad));
      assert.deepEqual(parsed.error!.issues[0]!.path, ["then", "bands"]);
    }
  });
});
