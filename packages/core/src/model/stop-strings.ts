// OpenAI's `stop`: an answer ends before the first stop string, which is never shown, not even while
// streaming. The llama.cpp backend applies it here; the torch engine has the same two rules in Python
// (reviewtune_engine/generate.py find_stop, safe_length).

/** Where the earliest stop string starts in `text`, or -1. */
export function findStop(text: string, stops: readonly string[]): number {
  let earliest = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (earliest < 0 || at < earliest)) earliest = at;
  }
  return earliest;
}

/** How much of `text` may be streamed: all but a tail that could still grow into a stop string. */
export function safeLength(text: string, stops: readonly string[]): number {
  const longest = Math.max(0, ...stops.map((stop) => stop.length));
  for (let keep = Math.min(longest - 1, text.length); keep > 0; keep -= 1) {
    const tail = text.slice(-keep);
    if (stops.some((stop) => stop.startsWith(tail))) return text.length - keep;
  }
  return text.length;
}
