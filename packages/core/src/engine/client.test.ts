import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import type { EngineParams } from "@reviewtune/contracts";
import { EngineClient } from "./client.js";
import { exchanges, loadTranscript } from "./fake-engine.js";
import { ConfigError, EngineCrashedError, EngineProtocolError, EngineRequestError, EngineTimeoutError } from "../errors.js";

const fakeEngine = fileURLToPath(new URL("./fake-engine.js", import.meta.url));
const transcript = fileURLToPath(new URL("../../../contracts/__fixtures__/transcripts/session.jsonl", import.meta.url));
const start = (...flags: string[]) => EngineClient.start({ command: [process.execPath, fakeEngine, transcript, ...flags] });
const model = { source: "$TINY_MODEL", allow_pickle: false };

describe("EngineClient against a replayed engine transcript", () => {
  it("handshakes and validates results", async () => {
    const engine = await start();
    assert.equal(engine.ready.protocol, 1);
    assert.ok(engine.ready.versions.torch);
    assert.deepEqual(await engine.request("ping", {}), { pong: true });
    const info = await engine.request("model_info", { model });
    assert.equal(info.architecture, "LlamaForCausalLM");
    assert.match(info.chat_template ?? "", /im_start/);
    await engine.shutdown();
  });

  it("streams token events before the result", async () => {
    const engine = await start();
    const tokens: string[] = [];
    const result = await engine.request(
      "generate",
      { model, prompts: ["hi"], max_new_tokens: 4, stream: true },
      { onEvent: (event) => event.kind === "token" && tokens.push(event.text) },
    );
    assert.ok(tokens.length > 0);
    assert.ok(result.outputs[0]!.text.startsWith(tokens.join("")));
    await engine.shutdown();
  });

  it("turns an engine error into EngineRequestError with code, hint and field", async () => {
    const engine = await start();
    await assert.rejects(engine.request("generate", { model: { source: "$WORK/missing-model", allow_pickle: false }, prompts: ["x"] }), (error: unknown) => {
      assert.ok(error instanceof EngineRequestError);
      assert.equal(error.code, "model_not_found");
      assert.equal(error.field, "model.source");
      assert.ok(error.hint);
      return true;
    });
    await engine.shutdown();
  });

  it("rejects invalid params before sending them", async () => {
    const engine = await start();
    await assert.rejects(engine.request("generate", { model, prompts: [], max_new_tokens: -1 }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /prompts/);
      assert.match(error.message, /max_new_tokens/);
      return true;
    });
    await engine.shutdown();
  });

  it("reports training events and the result", async () => {
    const recorded = exchanges(loadTranscript(transcript)).find((exchange) => exchange.request.method === "train")!;
    const engine = await start();
    const kinds = new Set<string>();
    const result = await engine.request("train", recorded.request.params as EngineParams<"train">, {
      onEvent: (event) => kinds.add(event.kind),
    });
    assert.equal(result.status, "completed");
    assert.ok(result.parameters.trainable > 0);
    assert.ok(kinds.has("status") && kinds.has("progress"));
    await engine.shutdown();
  });

  it("fails pending requests with the stderr tail when the engine crashes", async () => {
    const engine = await start("--exit-on", "model_info");
    await assert.rejects(engine.request("model_info", { model }), (error: unknown) => {
      assert.ok(error instanceof EngineCrashedError);
      assert.equal(error.exitCode, 3);
      assert.match(error.message, /simulated crash/);
      assert.match(error.hint ?? "", /REVIEWTUNE_VERBOSE=1 REVIEWTUNE_ENGINE_LOG=DEBUG .*reviewtune setup --force/);
      return true;
    });
    await assert.rejects(engine.request("ping", {}), EngineCrashedError);
  });

  it("an engine stopped or killed from outside is not called a damaged environment", async () => {
    for (const [signal, hint] of [
      ["SIGTERM", /stopped from outside \(SIGTERM\), not by an error of its own/],
      ["SIGKILL", /killed, most often by the system for want of memory/],
    ] as const) {
      const engine = await start("--hang-on", "tokenize");
      const pending = engine.request("tokenize", { model, text: "x" });
      process.kill(engine.pid!, signal);
      await assert.rejects(pending, (error: unknown) => {
        assert.ok(error instanceof EngineCrashedError);
        assert.equal(error.signal, signal);
        assert.match(error.hint ?? "", hint);
        assert.doesNotMatch(error.hint ?? "", /setup --force/);
        return true;
      });
    }
  });

  it("times out a hung request and stops the engine", async () => {
    const engine = await start("--hang-on", "tokenize");
    await assert.rejects(engine.request("tokenize", { model, text: "x" }, { timeoutMs: 300 }), EngineTimeoutError);
  });

  it("treats a malformed line as a protocol error", async () => {
    const engine = await start("--garbage-on", "tokenize");
    await assert.rejects(engine.request("tokenize", { model, text: "x" }), EngineProtocolError);
  });

  it("reports an engine that dies before it is ready", async () => {
    await assert.rejects(
      EngineClient.start({ command: [process.execPath, "-e", "console.error('ImportError: no torch'); process.exit(1)"] }),
      (error: unknown) => {
        assert.ok(error instanceof EngineCrashedError);
        assert.match(error.message, /no torch/);
        return true;
      },
    );
  });
});
