// Inputs that are not reviews but become instruction examples directly:
//   qa                 {question, answer_keywords: [...]}      -> answer = the keywords joined (recipe R2)
//   title_description  {title, content|description}             -> "write a description" (recipe R4)
//   alpaca             {instruction, input?, output}
//   chat               {messages: [{role, content}, ...]}       (ending with the assistant's turn)
// The kind is detected from a file's first record; each later record is checked against it.
import { createHash } from "node:crypto";
import type { SourceRecord } from "./records.js";
import { cleanText, encodingProblem, type Rejection } from "./reviews.js";
import type { ExampleMessage } from "@reviewtune/contracts";

export type InputKind = "reviews" | "qa" | "title_description" | "alpaca" | "chat";

export interface InstructionRow {
  group: string;
  task: "qa" | "description" | "instruction";
  messages: ExampleMessage[];
}

export function detectKind(value: Record<string, unknown>): InputKind {
  const keys = new Set(Object.keys(value).map((key) => key.toLowerCase()));
  if (keys.has("messages")) return "chat";
  if (keys.has("instruction") && keys.has("output")) return "alpaca";
  if (keys.has("question") && (keys.has("answer_keywords") || keys.has("keywords"))) return "qa";
  const hasReviewSignals = ["rating", "stars", "overall", "review", "review_text", "text", "body"].some((key) => keys.has(key));
  if (keys.has("title") && (keys.has("content") || keys.has("description")) && !hasReviewSignals) return "title_description";
  return "reviews";
}

export const DESCRIPTION_PROMPT = "Write a product description for the following product.";

const str = (value: unknown) => (typeof value === "string" ? value : value === undefined || value === null ? "" : String(value));
const groupOf = (text: string) => createHash("sha256").update(text.toLowerCase()).digest("hex").slice(0, 16);

/** Turns one record into an instruction row, or a Rejection naming what is missing or unreadable. */
export function instructionRow(kind: Exclude<InputKind, "reviews">, record: SourceRecord): InstructionRow | Rejection {
  const row = rowOf(kind, record);
  if ("reason" in row) return row;
  for (const [index, message] of row.messages.entries()) {
    const problem = encodingProblem(message.content);
    if (problem) return { file: record.file, line: record.line, unit: record.unit, reason: "bad_encoding", detail: `message ${index + 1} (${message.role}) holds ${problem}` };
  }
  return row;
}

function rowOf(kind: Exclude<InputKind, "reviews">, record: SourceRecord): InstructionRow | Rejection {
  const value = record.value;
  const reject = (detail: string): Rejection => ({ file: record.file, line: record.line, unit: record.unit, reason: "empty_text", detail });
  switch (kind) {
    case "qa": {
      const question = cleanText(str(value.question));
      const raw = value.answer_keywords ?? value.keywords;
      const keywords = (Array.isArray(raw) ? raw.map(str) : str(raw).split(",")).map((keyword) => keyword.trim()).filter(Boolean);
      if (!question) return reject("question is empty");
      if (keywords.length === 0) return reject("answer_keywords is empty");
      return { group: groupOf(question), task: "qa", messages: [{ role: "user", content: question }, { role: "assistant", content: keywords.join(", ") }] };
    }
    case "title_description": {
      const title = cleanText(str(value.title));
      const content = cleanText(str(value.content ?? value.description));
      if (!title) return reject("title is empty");
      if (!content) return reject("content is empty");
      return { group: groupOf(title), task: "description", messages: [{ role: "user", content: `${DESCRIPTION_PROMPT}\n\nTitle: ${title}` }, { role: "assistant", content }] };
    }
    case "alpaca": {
      const instruction = str(value.instruction).trim();
      const input = str(value.input).trim();
      const output = str(value.output).trim();
      if (!instruction) return reject("instruction is empty");
      if (!output) return reject("output is empty");
      const user = input ? `${instruction}\n\n${input}` : instruction;
      return { group: groupOf(user), task: "instruction", messages: [{ role: "user", content: user }, { role: "assistant", content: output }] };
    }
    case "chat": {
      const messages = Array.isArray(value.messages) ? value.messages : [];
      const valid = messages.every(
        (message) => typeof message === "object" && message !== null && ["system", "user", "assistant"].includes(str((message as Record<string, unknown>).role)) && typeof (message as Record<string, unknown>).content === "string",
      );
      const typed = messages as InstructionRow["messages"];
      if (!valid || typed.length < 2) return reject("messages must be a list of {role: system|user|assistant, content} with at least two turns");
      if (typed.at(-1)!.role !== "assistant" || !typed.at(-1)!.content.trim()) return reject("the last message must be a non-empty assistant answer");
      return { group: groupOf(JSON.stringify(typed.slice(0, -1))), task: "instruction", messages: typed };
    }
  }
}
