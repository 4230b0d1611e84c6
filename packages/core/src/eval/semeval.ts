// SemEval-2014 Task 4 aspect files as gold for feature extraction: each sentence becomes a features
// item whose gold is its aspect terms (a sentence without aspectTerms has none: an empty gold list,
// kept). The file is read by data/sources/semeval.ts, which `data build` shares.
import { PHRASINGS } from "../data/augment/answers.js";
import { reviewPrompt } from "../data/augment/augment.js";
import { readSemEvalSentences } from "../data/sources/semeval.js";
import { DataError } from "../errors.js";
import type { EvalItem } from "./eval-items.js";

export function readSemEvalAspects(file: string, options: { limit?: number | undefined; category?: string } = {}): EvalItem[] {
  const sentences = readSemEvalSentences(file, { hint: "pass --aspects a SemEval-2014 Task 4 XML file" });
  const question = PHRASINGS.features[PHRASINGS.features.length - 1]!;
  return sentences.slice(0, options.limit ?? sentences.length).map((sentence): EvalItem => {
    const text = sentence.text.trim();
    if (!text) {
      throw new DataError(`${sentence.line ? `${file}:${sentence.line}` : file}: sentence ${sentence.id} has no <text>`, file, sentence.line, { hint: "every <sentence> needs a <text>" });
    }
    const id = `semeval-${sentence.id}`;
    const terms = sentence.aspects.map((aspect) => aspect.term);
    return {
      id: `${id}:features`,
      group: id,
      task: "features",
      messages: [{ role: "user", content: reviewPrompt({ id, text, source: { file, line: sentence.line ?? 0, unit: "line" }, ...(options.category ? { category: options.category } : {}) }, question) }],
      reference: `Features: ${terms.length ? terms.join(", ") : "none"}.`,
      gold: { features: terms },
      // "annotation": the LabelSource of annotated gold, as in a dataset built from the same file.
      review: { id, text, category: options.category, tags: [], sources: { features: "annotation" } },
    };
  });
}
