// SemEval-2014 Task 4 aspect files (<sentences><sentence id><text/><aspectTerms><aspectTerm term/>...)
// as gold for feature extraction: each sentence becomes a features item whose gold is its aspect
// terms (a sentence without aspectTerms has none: an empty gold list, kept).
import { existsSync, readFileSync } from "node:fs";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { PHRASINGS } from "../data/augment/answers.js";
import { reviewPrompt } from "../data/augment/augment.js";
import { DataError } from "../errors.js";
import type { EvalItem } from "./eval-items.js";

interface SentenceNode {
  "@_id"?: string | number;
  text?: string | number;
  aspectTerms?: { aspectTerm?: AspectNode | AspectNode[] } | "";
}
interface AspectNode {
  "@_term"?: string;
}

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export function readSemEvalAspects(file: string, options: { limit?: number | undefined; category?: string } = {}): EvalItem[] {
  if (!existsSync(file)) throw new DataError(`${file} does not exist`, file, undefined, { hint: "pass --aspects a SemEval-2014 Task 4 XML file" });
  const xml = readFileSync(file, "utf8");
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new DataError(`${file}:${valid.err.line}: not well-formed XML (${valid.err.msg})`, file, valid.err.line, { hint: "the SemEval format: <sentences><sentence id=...><text>...</text><aspectTerms><aspectTerm term=.../></aspectTerms></sentence></sentences>" });
  }
  const parsed = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name) => name === "sentence" || name === "aspectTerm" }).parse(xml) as {
    sentences?: { sentence?: SentenceNode[] };
  };
  const sentences = parsed.sentences?.sentence;
  if (!sentences || sentences.length === 0) throw new DataError(`${file} has no <sentences><sentence> elements`, file, undefined, { hint: "is it a SemEval-2014 Task 4 file?" });
  const question = PHRASINGS.features[PHRASINGS.features.length - 1]!;
  const items = sentences.slice(0, options.limit ?? sentences.length).map((sentence, index): EvalItem => {
    const text = String(sentence.text ?? "").trim();
    if (!text) throw new DataError(`${file}: sentence ${sentence["@_id"] ?? index + 1} has no <text>`, file, undefined, { hint: "every <sentence> needs a <text>" });
    const id = `semeval-${sentence["@_id"] ?? index + 1}`;
    const terms = typeof sentence.aspectTerms === "object" ? asArray(sentence.aspectTerms.aspectTerm).map((aspect) => String(aspect["@_term"] ?? "")).filter(Boolean) : [];
    return {
      id: `${id}:features`,
      group: id,
      task: "features",
      messages: [{ role: "user", content: reviewPrompt({ id, text, source: { file, line: 0, unit: "item" }, ...(options.category ? { category: options.category } : {}) }, question) }],
      reference: `Features: ${terms.length ? terms.join(", ") : "none"}.`,
      gold: { features: terms },
      review: { id, text, category: options.category, tags: [], sources: { features: "semeval-2014 annotation" } },
    };
  });
  return items;
}
