// `data build` labels reviews on worker threads: the analyzer's work is per review and independent,
// and it is most of a build's time on one core. A Piscina pool (decision 0020) runs batches of
// reviews; the build keeps the order (orderedMap), so the output is byte for byte what one thread
// writes.
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { Piscina } from "piscina";
import type { ReviewLabels } from "./analyzer.js";
import type { LabeledBatch } from "./label-worker.js";
import type { Review } from "../sources/reviews.js";

export type LabelInput = Pick<Review, "text" | "title" | "rating" | "category">;

/**
 * Threads by default: one per core the process may use but one, which the build's main thread
 * keeps busy reading, splitting and writing (on 2 cores, a second label thread made the build
 * slower: README, Performance).
 */
export function defaultLabelThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Batches a label thread holds at once: the build keeps this many per thread in flight, and the pool
 * hands them all to the thread. With one at a time, a thread that finished a batch waited for the
 * main thread to come back to its event loop (it writes a batch's examples without yielding) before
 * it got the next one, and sat idle a third of the build (4,800 reviews/s against 6,600 here).
 */
export const BATCHES_PER_THREAD = 4;

/**
 * A label thread's young generation in MB (V8's resourceLimits.maxYoungGenerationSizeMb). Most of
 * what a thread allocates dies within a review (wink's documents), so a larger young generation
 * means fewer scavenges and fewer objects copied by them: with 64 MB against 12 MB, million-row
 * builds ran at 10,807-10,943 reviews/s against 9,686-10,663, with 2-9% fewer CPU seconds pair by
 * pair, run in alternation (README, Performance; decision 0028).
 * It costs ~70 MB, which the process gets back by bounding its heaps' growth (HEAP_GROWING_PERCENT).
 */
const LABEL_THREAD_YOUNG_MB = 64;

/**
 * How far V8 lets a heap grow past what survived its last full collection, in percent, for every heap
 * of the process (V8's --heap-growing-percent; 0 is V8's own rule). The main thread's heap, which
 * holds the build's window of reviews in flight, grew to ~135 MB over ~50 MB live (V8 allows 4x
 * under a 2 GB or larger heap limit, and the main thread's limit cannot be set from inside the
 * process); at 2x million-row builds peaked at 428-444 MiB with the 64 MB label young generation,
 * against 505-507 MiB without the bound and 419-445 MiB with neither (decision 0028).
 */
const HEAP_GROWING_PERCENT = 100;

/**
 * A label thread's old generation limit in MB (resourceLimits.maxOldGenerationSizeMb). Set first to
 * bound the thread's growth: under a 1 GB limit V8 grows a heap 1.3-2x past what survives, not 4x,
 * and a label thread collected at ~55-60 MB with ~30 MB live, against ~120 MB before (README,
 * Performance). HEAP_GROWING_PERCENT now sets that factor for every heap; the limit stays as a
 * ceiling: a thread holds wink's model and a few batches, so 1 GB is ~30x what it needs, and past it
 * the thread fails, and the build with it, naming the batch's lines.
 */
const LABEL_THREAD_OLD_MB = 1024;

export class LabelPool {
  private readonly pool: Piscina<LabelInput[], LabeledBatch>;
  private readonly started = performance.now();
  private workedMilliseconds = 0;
  private readonly inFlight = new Set<Promise<LabeledBatch>>();
  /** Batches the threads have finished, counted by them (Atomics): seen before their answers reach this thread's event loop. */
  private readonly done = new Int32Array(new SharedArrayBuffer(4));
  private given = 0;

  constructor(readonly threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`a label pool needs at least one thread (got ${threads})`);
    // V8 reads the flag each time it sets a heap's next collection limit: it takes effect from the
    // next full collection on, on every thread. Setting it again (a second pool) changes nothing.
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    this.pool = new Piscina({
      filename: new URL("./label-worker.js", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      // The build bounds what is in flight (orderedMap's window of BATCHES_PER_THREAD a thread).
      concurrentTasksPerWorker: BATCHES_PER_THREAD,
      workerData: { done: this.done.buffer },
      resourceLimits: { maxYoungGenerationSizeMb: LABEL_THREAD_YOUNG_MB, maxOldGenerationSizeMb: LABEL_THREAD_OLD_MB },
    });
  }

  /**
   * Batches given to the pool that its threads have not finished. Counted by the threads themselves
   * (`done`), not by the answers that reached this thread: those wait for its event loop, which a
   * busy build turns only now and then, so a count of answers said "behind" long after the
   * threads had run out of work.
   */
  pending(): number {
    return this.given - Atomics.load(this.done, 0);
  }

  /** Labels for `reviews`, in their order, from a label thread. */
  async label(reviews: LabelInput[]): Promise<ReviewLabels[]> {
    // Only what the analyzer reads crosses to the thread: not the review's source or tags.
    this.given += 1;
    const task = this.pool.run(reviews.map(({ text, title, rating, category }) => ({ text, title, rating, category })));
    this.inFlight.add(task);
    try {
      const batch = await task;
      this.workedMilliseconds += batch.milliseconds;
      return batch.labels;
    } finally {
      this.inFlight.delete(task);
    }
  }

  /**
   * The share of the pool's life its threads spent labeling, averaged over the threads: near 1 when
   * labeling limits a build, lower when the threads wait for the main thread to hand them reviews.
   */
  busy(): number {
    return this.workedMilliseconds / (this.threads * (performance.now() - this.started));
  }

  /**
   * Waits for the batches in flight (a stopped build leaves some: Ctrl-C), then ends the threads.
   * Destroyed with a batch in flight, the pool got that batch's answer after it had forgotten the
   * batch, and Piscina reported it as an 'error' event nobody listened to: the process died with
   * "Unexpected message from Worker" instead of exiting 130. A batch takes ~15 ms.
   */
  async close(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await this.pool.destroy();
  }
}
