// Streaming, stratified, leak-free splits. Each review (with all its examples) is assigned once, to
// the split furthest below its target share within the review's stratum (category x sentiment x
// length), so every stratum is split in the asked proportions without holding the data in memory.
import { SPLIT_NAMES, type LengthBucket, type SplitName } from "@reviewtune/contracts";
import { ConfigError } from "../../errors.js";
import { sha256Bytes, wordBE } from "../digest.js";

export type { LengthBucket, SplitName };
export const SPLITS: readonly SplitName[] = SPLIT_NAMES;

export interface SplitOptions {
  validation: number;
  test: number;
  seed: number;
  /** Every review of this category goes to test, none to train (a held-out-domain check). */
  heldOutCategory?: string | undefined;
}

/** short < 40 words <= medium <= 150 words < long: about the 50 / 200 token lines of recipe R1. */
export function lengthBucket(words: number): LengthBucket {
  return words < 40 ? "short" : words <= 150 ? "medium" : "long";
}

export class StratifiedSplitter {
  private readonly counts = new Map<string, Record<SplitName, number>>();
  /** Every stratum's counts together (held-out reviews apart): what the strata's rounding leaves behind shows here. */
  private readonly overall: Record<SplitName, number> = { train: 0, validation: 0, test: 0 };
  private readonly targets: Record<SplitName, number>;
  /** Reviews sent to test for being of the held-out category. */
  heldOut = 0;

  constructor(private readonly options: SplitOptions) {
    for (const [flag, value] of [["--validation", options.validation], ["--test", options.test]] as const) {
      if (!(value >= 0)) throw new ConfigError(`${flag} ${value} is not a fraction of the reviews: it must be 0 or more`, [], { hint: "e.g. --validation 0.1 --test 0.1 (the default); 0 leaves that split empty" });
    }
    if (options.validation + options.test >= 1) {
      throw new ConfigError(`--validation ${options.validation} and --test ${options.test} leave no reviews for training`, [], {
        hint: "give fractions >= 0 whose sum is under 1, e.g. --validation 0.1 --test 0.1 (the default)",
      });
    }
    this.targets = { train: 1 - options.validation - options.test, validation: options.validation, test: options.test };
  }

  assign(group: string, stratum: string, category?: string): SplitName {
    if (this.options.heldOutCategory && category?.toLowerCase() === this.options.heldOutCategory.toLowerCase()) {
      this.heldOut += 1;
      return "test";
    }
    let counts = this.counts.get(stratum);
    if (!counts) this.counts.set(stratum, (counts = { train: 0, validation: 0, test: 0 }));
    const total = counts.train + counts.validation + counts.test + 1;
    // Ties (equal deficits) are broken by a seeded hash of the group, so order effects stay small.
    const tiebreak = wordBE(sha256Bytes(`${this.options.seed}:${group}`)) / 2 ** 32;
    let best: SplitName = "train";
    let bestDeficit = -Infinity;
    for (const split of SPLITS) {
      if (this.targets[split] === 0) continue;
      const deficit = this.targets[split] * total - counts[split] + (split === "train" ? 0 : tiebreak * 1e-9);
      if (deficit > bestDeficit) {
        best = split;
        bestDeficit = deficit;
      }
    }
    // A stratum's first reviews go to train (its share of 0.1 of 1, 2, 3 reviews rounds to none), so a
    // file of many small strata gave validation and test far less than asked: 100 reviews, --test
    // 0.1, 2 in test. What the strata round away is made up here: a review the stratum would send to
    // train goes to the split lagging a whole review behind its share overall, when that split is
    // still under its share in this stratum (so no stratum's count goes a review past its share).
    if (best === "train") {
      const overallTotal = this.overall.train + this.overall.validation + this.overall.test + 1;
      let lagging = 1;
      for (const split of ["validation", "test"] as const) {
        const behind = this.targets[split] * overallTotal - this.overall[split];
        if (behind >= lagging && counts[split] < this.targets[split] * total) {
          best = split;
          lagging = behind;
        }
      }
    }
    counts[best] += 1;
    this.overall[best] += 1;
    return best;
  }
}
