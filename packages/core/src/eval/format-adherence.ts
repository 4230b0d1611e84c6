// Format adherence: does an answer keep the asked task's format (its ANSWER_PATTERNS contract)?
// Measured on held-out phrasings, it says whether the tuned model learned the task or only the
// training questions (issue 19's target: at least 95%). Stricter than parseAnswer on purpose:
// parseAnswer reads what it can from any wording so accuracy is fair to a base model, while here an
// answer in another task's format (a "Recommendation: ..." answer to a sentiment question, which
// still carries a sentiment) does not follow the asked format.
import { ANSWER_PATTERNS, REVIEW_TASKS, type ReviewTask } from "../data/augment/answers.js";

/** The answer as the patterns read it: trailing whitespace (a final newline, an end-of-turn space) is not part of the format; leading text is, since an answer starts with its task's word. */
const asAnswered = (answer: string) => answer.trimEnd();

/** Whether `answer` is in `task`'s answer format. */
export function followsTaskFormat(task: ReviewTask, answer: string): boolean {
  return ANSWER_PATTERNS[task].test(asAnswered(answer));
}

/** The task whose format `answer` is in, or undefined for none (the patterns exclude each other: each starts with its own task's word). */
export function answerFormat(answer: string): ReviewTask | undefined {
  const text = asAnswered(answer);
  return REVIEW_TASKS.find((task) => ANSWER_PATTERNS[task].test(text));
}

export interface AdherenceCount {
  /** Answers in the asked task's format. */
  adherent: number;
  /** Answers in another task's format: the model answered a question it was not asked. */
  other_task: number;
  total: number;
  /** adherent / total; null when there are no answers. */
  share: number | null;
}

export interface FormatAdherence {
  overall: AdherenceCount;
  /** Only the tasks that have answers. */
  by_task: Partial<Record<ReviewTask, AdherenceCount>>;
}

export function formatAdherence(items: ReadonlyArray<{ task: ReviewTask; answer: string }>): FormatAdherence {
  const empty = (): AdherenceCount => ({ adherent: 0, other_task: 0, total: 0, share: null });
  const overall = empty();
  const byTask: Partial<Record<ReviewTask, AdherenceCount>> = {};
  for (const { task, answer } of items) {
    const format = answerFormat(answer);
    const count = (byTask[task] ??= empty());
    for (const tally of [overall, count]) {
      tally.total += 1;
      if (format === task) tally.adherent += 1;
      else if (format !== undefined) tally.other_task += 1;
    }
  }
  for (const tally of [overall, ...Object.values(byTask)]) tally.share = tally.total > 0 ? tally.adherent / tally.total : null;
  return { overall, by_task: byTask };
}
