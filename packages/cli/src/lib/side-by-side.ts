// Two answers in two columns, each wrapped at word boundaries (the demo's and `chat --side-by-side`'s before/after).
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = "";
      }
      line = line ? `${line} ${word}` : word.slice(0, width);
    }
    lines.push(line);
  }
  return lines;
}

export function sideBySide(left: string, right: string, titles: [string, string], totalWidth: number): string {
  const width = Math.max(24, Math.floor((totalWidth - 3) / 2));
  const a = [titles[0], "-".repeat(titles[0].length), ...wrap(left.trim() || "(empty)", width)];
  const b = [titles[1], "-".repeat(titles[1].length), ...wrap(right.trim() || "(empty)", width)];
  const rows = Math.max(a.length, b.length);
  return Array.from({ length: rows }, (_, index) => `${(a[index] ?? "").padEnd(width)} | ${b[index] ?? ""}`).join("\n");
}
