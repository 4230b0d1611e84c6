import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { ConfigError } from "../errors.js";
import { ChatTemplate, type ChatMessage } from "./chat-template.js";

// Rendered by transformers' apply_chat_template: engine/tests/record_chat_templates.py.
interface Fixture {
  name: string;
  template: string;
  bos_token: string | null;
  eos_token: string | null;
  cases: Array<{ messages: ChatMessage[]; add_generation_prompt: boolean; text: string }>;
}
const fixtures = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../__fixtures__/chat-templates.json", import.meta.url)), "utf8"),
) as Fixture[];

describe("ChatTemplate", () => {
  for (const fixture of fixtures) {
    it(`renders ${fixture.name}'s template exactly as transformers does`, () => {
      const template = new ChatTemplate(fixture.template, { bos_token: fixture.bos_token, eos_token: fixture.eos_token });
      for (const { messages, add_generation_prompt, text } of fixture.cases) {
        assert.equal(template.render(messages, add_generation_prompt), text);
      }
    });

    it(`splits a ${fixture.name} conversation into the prompt and the completion that carries the loss`, () => {
      const template = new ChatTemplate(fixture.template, { bos_token: fixture.bos_token, eos_token: fixture.eos_token });
      for (const { messages, add_generation_prompt, text } of fixture.cases.filter((entry) => !entry.add_generation_prompt)) {
        assert.equal(add_generation_prompt, false);
        const { prompt, completion } = template.split(messages);
        assert.equal(prompt + completion, text);
        assert.equal(prompt, template.prompt(messages.slice(0, -1)));
        assert.ok(completion.includes(messages.at(-1)!.content));
        assert.ok(!prompt.includes(messages.at(-1)!.content), "the answer must not leak into the prompt");
      }
    });
  }

  it("refuses a conversation that does not end with the answer", () => {
    const template = new ChatTemplate(fixtures[0]!.template);
    assert.throws(() => template.split([{ role: "user", content: "hi" }]), ConfigError);
  });

  it("reports a template that does not parse", () => {
    assert.throws(() => new ChatTemplate("{% for m in messages %}"), /the chat template does not parse/);
  });
});
