// Inputs that are not reviews but become instruction examples directly:
//   qa                 {question, answer_keywords: [...]}      -> answer = the keywords joined (recipe R2)
//   qa_answer          {question, answer, questionType?, answerType?, asin?}
//                                                               -> the answer as written (R2 on customer Q&A,
//                                                                  e.g. McAuley's Amazon QA); the types kept as slices
//   title_description  {title|ProductName, content|description} -> "write a description" (recipe R4; e.g.
//                                                                  a shop catalogue's CSV)
//   alpaca             {instruction, input?, output}
//   chat               {messages: [{role, content}, ...]}       (ending with the assistant's turn)
// The kind is detected from a file's first record; each later record is checked against it.
import { createHash } from "node:crypto";
import type { SourceRecord } from "./records.js";
import { cleanText, encodingProblem, type Rejection } from "./reviews.js";
import { countWords } from "../words.js";
import type { ExampleMessage } from "@reviewtune/contracts";

export type InputKind = "reviews" | "qa" | "qa_answer" | "title_description" | "alpaca" | "chat";

export interface InstructionRow {
  group: string;
  task: "qa" | "description" | "instruction";
  messages: ExampleMessage[];
  /** Fields of the input row the evaluation slices by (ExampleRowSchema.slices). */
  slices?: Record<string, string>;
}

/** What an instruction row's answer must satisfy; breaking it rejects the row with a reason. */
export interface TargetLimits {
  /** Answers (QA) and descriptions longer than this many characters are too_long. */
  maxChars?: number | undefined;
  /** QA answers with more words than this are too_long (`data build --max-answer-words`). */
  maxAnswerWords?: number | undefined;
}

/** A description shorter than this many words says nothing a model could learn to write ("Black"). */
export const MIN_DESCRIPTION_WORDS = 3;

const TITLE_FIELDS = ["title", "productname", "product_name", "product_title"];
const DESCRIPTION_FIELDS = ["content", "description", "product_description"];

export function detectKind(value: Record<string, unknown>): InputKind {
  const keys = new Set(Object.keys(value).map((key) => key.toLowerCase()));
  if (keys.has("messages")) return "chat";
  if (keys.has("instruction") && keys.has("output")) return "alpaca";
  if (keys.has("question") && (keys.has("answer_keywords") || keys.has("keywords"))) return "qa";
  if (keys.has("question") && keys.has("answer")) return "qa_answer";
  const hasReviewSignals = ["rating", "stars", "overall", "review", "review_text", "text", "body"].some((key) => keys.has(key));
  if (TITLE_FIELDS.some((key) => keys.has(key)) && DESCRIPTION_FIELDS.some((key) => keys.has(key)) && !hasReviewSignals) return "title_description";
  return "reviews";
}

/** The value of the first of `names` the record has, its column names compared without case. */
function field(value: Record<string, unknown>, names: readonly string[]): unknown {
  for (const name of names) {
    const key = Object.keys(value).find((candidate) => candidate.toLowerCase() === name);
    if (key !== undefined && value[key] !== undefined && value[key] !== null && value[key] !== "") return value[key];
  }
  return undefined;
}

export const DESCRIPTION_PROMPT = "Write a product description for the following product.";

const str = (value: unknown) => (typeof value === "string" ? value : value === undefined || value === null ? "" : String(value));
const groupOf = (text: string) => createHash("sha256").update(text.toLowerCase()).digest("hex").slice(0, 16);

/** Turns one record into an instruction row, or a Rejection naming what is missing, unreadable or out of `limits`. */
export function instructionRow(kind: Exclude<InputKind, "reviews">, record: SourceRecord, limits: TargetLimits = {}): InstructionRow | Rejection {
  const row = rowOf(kind, record, limits);
  if ("reason" in row) return row;
  for (const [index, message] of row.messages.entries()) {
    const problem = encodingProblem(message.content);
    if (problem) return { file: record.file, line: record.line, unit: record.unit, reason: "bad_encoding", detail: `message ${index + 1} (${message.role}) holds ${problem}` };
  }
  return row;
}

function rowOf(kind: Exclude<InputKind, "reviews">, record: SourceRecord, limits: TargetLimits): InstructionRow | Rejection {
  const value = record.value;
  const reject = (detail: string, reason: Rejection["reason"] = "empty_text"): Rejection => ({ file: record.file, line: record.line, unit: record.unit, reason, detail });
  const tooLong = (what: string, text: string) =>
    limits.maxChars !== undefined && text.length > limits.maxChars ? reject(`${what} has ${text.length} characters, over the limit of ${limits.maxChars} (--max-chars)`, "too_long") : undefined;
  switch (kind) {
    case "qa": {
      const question = cleanText(str(value.question));
      const raw = value.answer_keywords ?? value.keywords;
      const keywords = (Array.isArray(raw) ? raw.map(str) : str(raw).split(",")).map((keyword) => keyword.trim()).filter(Boolean);
      if (!question) return reject("question is empty");
      if (keywords.length === 0) return reject("answer_keywords is empty");
      // The answer is the keywords: eval reads them back for keyword recall (slices.answer_format).
      return { group: groupOf(question), task: "qa", messages: [{ role: "user", content: question }, { role: "assistant", content: keywords.join(", ") }], slices: { answer_format: "keywords" } };
    }
    case "qa_answer": {
      const question = cleanText(str(field(value, ["question"])));
      const answer = cleanText(str(field(value, ["answer"])));
      if (!question) return reject("question is empty");
      if (!answer) return reject("answer is empty");
      const words = countWords(answer);
      if (limits.maxAnswerWords !== undefined && words > limits.maxAnswerWords) return reject(`answer has ${words} words, over --max-answer-words ${limits.maxAnswerWords}`, "too_long");
      const long = tooLong("answer", answer);
      if (long) return long;
      const slices: Record<string, string> = {};
      const questionType = str(field(value, ["questiontype", "question_type"])).trim();
      const answerType = str(field(value, ["answertype", "answer_type"])).trim();
      if (questionType) slices.question_type = questionType;
      if (answerType) slices.answer_type = answerType;
      // The same question is asked of many products ("Does it fit?"): with a product id, the pair is the unit.
      const product = str(field(value, ["asin", "parent_asin", "product_id"])).trim();
      return {
        group: groupOf(product ? `${product}\n${question}` : question),
        task: "qa",
        messages: [{ role: "user", content: question }, { role: "assistant", content: answer }],
        ...(Object.keys(slices).length > 0 ? { slices } : {}),
      };
    }
    case "title_description": {
      const title = cleanText(str(field(value, TITLE_FIELDS)));
      const content = cleanText(str(field(value, DESCRIPTION_FIELDS)));
      if (!title) return reject("title is empty");
      if (!content) return reject("description is empty");
      const words = countWords(content);
      if (words < MIN_DESCRIPTION_WORDS) return reject(`description has ${words} word(s), fewer than ${MIN_DESCRIPTION_WORDS}`, "too_short");
      const long = tooLong("description", content);
      if (long) return long;
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
