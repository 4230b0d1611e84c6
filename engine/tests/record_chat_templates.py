"""Records how transformers renders the chat templates reviewtune applies on the Node side:
`python tests/record_chat_templates.py` writes packages/core/__fixtures__/chat-templates.json, and the
TypeScript test checks that @huggingface/jinja renders every case to the same text.

Templates: the embedded SmolLM2's own (read from its GGUF), TinyLlama-1.1B-Chat's (R1; written out
here because the hub is offline in tests) and the preset tinyllama-qa's "[INST]" template (R2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from transformers import PreTrainedTokenizerFast

sys.path.insert(0, str(Path(__file__).parent))
from conftest import ROOT  # noqa: E402
from reviewtune_engine import models  # noqa: E402

TINYLLAMA_TEMPLATE = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
)

CONVERSATIONS = [
    [
        {"role": "user", "content": 'Analyze the sentiment of this review: "The blender is loud but it crushes ice."'},
        {"role": "assistant", "content": "Sentiment: neutral (0.1). Rating: 3/5 stars. The reviewer likes the power and dislikes the noise."},
    ],
    [
        {"role": "system", "content": "You are a product review assistant."},
        {"role": "user", "content": "Should I buy this product? Review: \"Broke after a week.\""},
        {"role": "assistant", "content": "Recommendation: no."},
    ],
]


def cases(tokenizer) -> list[dict]:
    rendered = []
    for messages in CONVERSATIONS:
        rendered.append({"messages": messages, "add_generation_prompt": False, "text": tokenizer.apply_chat_template(messages, tokenize=False)})
        prompt = messages[:-1]
        rendered.append({"messages": prompt, "add_generation_prompt": True, "text": tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)})
    return rendered


def main() -> None:
    smollm = models.load_tokenizer(models.resolve("smollm2-135m-instruct"))
    templates = [("smollm2-135m-instruct", smollm)]
    # The other templates render with a bare tokenizer whose special tokens are TinyLlama's.
    for name, template in [
        ("tinyllama-chat", TINYLLAMA_TEMPLATE),
        ("tinyllama-qa preset", yaml.safe_load((ROOT / "presets" / "tinyllama-qa.yaml").read_text())["data"]["template"]),
    ]:
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=smollm.backend_tokenizer, bos_token="<s>", eos_token="</s>")
        tokenizer.chat_template = template
        templates.append((name, tokenizer))
    fixture = [
        {"name": name, "template": tokenizer.chat_template, "bos_token": tokenizer.bos_token, "eos_token": tokenizer.eos_token, "cases": cases(tokenizer)}
        for name, tokenizer in templates
    ]
    target = ROOT / "packages" / "core" / "__fixtures__" / "chat-templates.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
