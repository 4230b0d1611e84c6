// SemEval-2014 Task 4 aspect files (<sentences><sentence id><text/><aspectTerms><aspectTerm term
// polarity from to/>...), read once here for both their uses: gold for the feature-extraction
// evaluation (eval/semeval.ts) and an input of `data build`, where each sentence becomes a review
// whose aspects gold is its annotated terms (build-dataset.ts). A sentence without aspectTerms has
// none: an empty gold list, a real negative example, kept.
// The files are small (the laptop training file: 3,045 sentences, 0.7 MB), so they are parsed whole,
// not streamed like the CSV/JSONL inputs.
import { existsSync, readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { DataError } from "../../errors.js";
import type { ReviewLabels, Sentiment } from "../labels/analyzer.js";

export const SEMEVAL_FORMAT_HINT =
  'the SemEval-2014 Task 4 format: <sentences><sentence id="..."><text>...</text><aspectTerms><aspectTerm term="..." polarity="positive|negative|neutral|conflict" from="..." to="..."/></aspectTerms></sentence></sentences>';

export const SEMEVAL_POLARITIES = ["positive", "negative", "neutral", "conflict"] as const;
export type SemEvalPolarity = (typeof SEMEVAL_POLARITIES)[number];

export interface SemEvalAspect {
  term: string;
  /** Absent in the unlabeled (phase A) test files, which still name the terms. */
  polarity?: SemEvalPolarity;
  /** 1-based line of the <aspectTerm>, when it could be placed. */
  line?: number;
}

export interface SemEvalSentence {
  /** The sentence's id attribute (its 1-based position when it has none). */
  id: string;
  /** As in the file, entities decoded, not otherwise cleaned. */
  text: string;
  /** 1-based line of the <sentence>, when it could be placed. */
  line?: number;
  aspects: SemEvalAspect[];
}

/** `data build` reads a .xml input as a SemEval aspect file (the only XML input it knows). */
export const isSemEvalFile = (file: string) => extname(file).toLowerCase() === ".xml";

interface SentenceNode {
  "@_id"?: string;
  text?: string | { "#text"?: string };
  aspectTerms?: { aspectTerm?: AspectNode[] } | "";
}
interface AspectNode {
  "@_term"?: string;
  "@_polarity"?: string;
}

/**
 * The 1-based lines of each <tag ...> start tag, in document order. The parser does not report
 * positions, so they are found in the text; trusted only when there are as many as the parser saw.
 */
function startLines(xml: string, tag: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let at = 0;
  for (const match of xml.matchAll(new RegExp(`<${tag}[\\s/>]`, "g"))) {
    for (; at < match.index; at += 1) if (xml.charCodeAt(at) === 10) line += 1;
    lines.push(line);
  }
  return lines;
}

const where = (file: string, line: number | undefined) => (line ? `${file}:${line}` : file);

/** Every sentence of a SemEval-2014 Task 4 file; DataError (file, line, the fix) when it is not one. */
export function readSemEvalSentences(file: string, options: { hint?: string } = {}): SemEvalSentence[] {
  if (!existsSync(file)) throw new DataError(`${file} does not exist`, file, undefined, { hint: options.hint ?? SEMEVAL_FORMAT_HINT });
  const xml = readFileSync(file, "utf8");
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new DataError(`${file}:${valid.err.line}: not well-formed XML (${valid.err.msg})`, file, valid.err.line, { hint: SEMEVAL_FORMAT_HINT });
  }
  const parsed = new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    parseAttributeValue: false,
    isArray: (name) => name === "sentence" || name === "aspectTerm",
  }).parse(xml) as { sentences?: { sentence?: SentenceNode[] } };
  const nodes = parsed.sentences?.sentence;
  if (!nodes || nodes.length === 0) {
    throw new DataError(`${file} has no <sentences><sentence> elements: not a SemEval-2014 Task 4 aspect file`, file, undefined, { hint: SEMEVAL_FORMAT_HINT });
  }
  const sentenceLines = startLines(xml, "sentence");
  const aspectLines = startLines(xml, "aspectTerm");
  const placed = sentenceLines.length === nodes.length;
  const aspectsPlaced = aspectLines.length === nodes.reduce((sum, node) => sum + (typeof node.aspectTerms === "object" ? (node.aspectTerms.aspectTerm ?? []).length : 0), 0);
  let aspectIndex = 0;
  return nodes.map((node, index): SemEvalSentence => {
    const line = placed ? sentenceLines[index] : undefined;
    const text = typeof node.text === "object" ? (node.text["#text"] ?? "") : (node.text ?? "");
    const aspects = (typeof node.aspectTerms === "object" ? (node.aspectTerms.aspectTerm ?? []) : []).map((aspect): SemEvalAspect => {
      const aspectLine = aspectsPlaced ? aspectLines[aspectIndex] : line;
      aspectIndex += 1;
      const term = (aspect["@_term"] ?? "").trim();
      if (!term) throw new DataError(`${where(file, aspectLine)}: an <aspectTerm> of sentence ${node["@_id"] ?? index + 1} has no term`, file, aspectLine, { hint: `give it term="..." (${SEMEVAL_FORMAT_HINT})` });
      const polarity = aspect["@_polarity"]?.trim();
      if (polarity !== undefined && !(SEMEVAL_POLARITIES as readonly string[]).includes(polarity)) {
        throw new DataError(`${where(file, aspectLine)}: aspect term "${term}" has polarity "${polarity}"`, file, aspectLine, { hint: `polarity is one of ${SEMEVAL_POLARITIES.join(", ")}` });
      }
      return { term, ...(polarity ? { polarity: polarity as SemEvalPolarity } : {}), ...(aspectLine ? { line: aspectLine } : {}) };
    });
    return { id: String(node["@_id"] ?? index + 1).trim() || String(index + 1), text: String(text), ...(line ? { line } : {}), aspects };
  });
}

/**
 * A sentence's review id in a dataset: the file's name and the sentence id, so two SemEval files
 * (laptops and restaurants, train and test) and the ids of other inputs cannot collide.
 */
export const semEvalReviewId = (file: string, sentenceId: string) => `semeval-${basename(file, extname(file))}-${sentenceId}`;

/** The category of a SemEval file's reviews, from the name its two domains ship with (Laptop_*, Restaurants_*). */
export function semEvalCategory(file: string): string | undefined {
  const name = basename(file).toLowerCase();
  return name.includes("laptop") ? "laptop" : name.includes("restaurant") ? "restaurant" : undefined;
}

/**
 * The gold aspects of a sentence with the contract's polarities: lower case and single-spaced, as
 * the analyzer's and the teacher's features are, each term once. SemEval's `conflict` (the sentence
 * both praises and criticizes the term) becomes "neutral": the contract has no "both", and
 * analysisFromLabels calls a feature that is both praised and criticized neutral too. A term
 * annotated twice with different polarities is likewise neutral.
 */
export function goldAspects(file: string, sentence: SemEvalSentence): NonNullable<ReviewLabels["aspects"]> {
  const byTerm = new Map<string, Sentiment>();
  for (const aspect of sentence.aspects) {
    if (!aspect.polarity) {
      throw new DataError(`${where(file, aspect.line)}: aspect term "${aspect.term}" of sentence ${sentence.id} has no polarity`, file, aspect.line, {
        hint: `data build needs each term's polarity (${SEMEVAL_POLARITIES.join(", ")}): use a file with gold polarities (the training or the gold test file), not the unlabeled phase A test file`,
      });
    }
    const term = aspect.term.toLowerCase().replace(/\s+/g, " ");
    const polarity: Sentiment = aspect.polarity === "conflict" ? "neutral" : aspect.polarity;
    const earlier = byTerm.get(term);
    byTerm.set(term, earlier === undefined || earlier === polarity ? polarity : "neutral");
  }
  return [...byTerm].map(([term, polarity]) => ({ term, polarity }));
}

/** The features answer's form (answers.ts: lower-case letters, spaces and hyphens); other punctuation becomes a space. */
const FEATURE_FORM = /^[a-z][a-z -]*$/;

/**
 * The analyzer's labels with the gold laid over them: `aspects` is the gold, and the features are
 * its terms (praised: positive, criticized: negative), so the chat `features` task teaches the gold
 * too. Terms the features answer cannot state (digits: "windows 7", "i7") stay in `aspects` only;
 * shortening them to "windows" would teach a term nobody annotated.
 */
export function withGoldAspects(labels: ReviewLabels, aspects: NonNullable<ReviewLabels["aspects"]>): ReviewLabels {
  const stated = aspects
    .map((aspect) => ({ ...aspect, feature: aspect.term.replace(/['’]/g, "").replace(/[^a-z0-9 -]/g, " ").replace(/\s+/g, " ").trim() }))
    .filter((aspect) => FEATURE_FORM.test(aspect.feature));
  const items = [...new Set(stated.map((aspect) => aspect.feature))];
  const having = (polarity: Sentiment) => [...new Set(stated.filter((aspect) => aspect.polarity === polarity).map((aspect) => aspect.feature))];
  return { ...labels, features: { items, praised: having("positive"), criticized: having("negative"), source: "annotation" }, aspects };
}
