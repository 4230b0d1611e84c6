// Large string enums of a JSON Schema as prefix trees in llama.cpp's grammar (GBNF).
//
// node-llama-cpp writes an enum as a flat list of alternatives, one per value. llama.cpp's grammar
// keeps one stack per alternative that still matches the text so far, and advances every one of
// them at each character: a per-review analysis schema, whose aspect term is one of the review's
// own phrases (about 1,500 for a long review), made the grammar follow 1,500 stacks at a term's
// first character. As a prefix tree the same values share their common beginnings, so the grammar
// follows only as many stacks as the tree branches there (a few dozen at the root, one or two
// deeper in). The language, and so every answer, is the same.
//
// The rest of the schema stays node-llama-cpp's: each large enum is swapped for a unique constant
// before conversion, and the constant's literal in the grammar text for a rule of the tree.

/** Enums with fewer string values than this stay as they are (a flat list is as cheap there). */
export const ENUM_TRIE_MIN_VALUES = 16;

const MARKER = "reviewtune-enum-";
const DATA_KEYWORDS = new Set(["const", "default", "examples", "enum"]);

/**
 * The schema with each string enum of at least ENUM_TRIE_MIN_VALUES values replaced by a constant
 * marker, and those enums' values in marker order. A schema without one comes back as it is.
 */
export function extractLargeEnums(schema: Record<string, unknown>): { schema: Record<string, unknown>; enums: string[][] } {
  const enums: string[][] = [];
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (!value || typeof value !== "object") return value;
    const object = value as Record<string, unknown>;
    const values = object.enum;
    if (Array.isArray(values) && values.length >= ENUM_TRIE_MIN_VALUES && values.every((item) => typeof item === "string")) {
      enums.push([...new Set(values as string[])]);
      return { const: `${MARKER}${enums.length - 1}` };
    }
    // Values (a const, a default, examples) are data, not schemas: never rewritten.
    return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, DATA_KEYWORDS.has(key) ? item : walk(item)]));
  };
  const rewritten = walk(schema) as Record<string, unknown>;
  return enums.length ? { schema: rewritten, enums } : { schema, enums };
}

/** A GBNF string literal of `text` (llama.cpp reads literals as UTF-8, with C-style escapes). */
function gbnfLiteral(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return `${out}"`;
}

interface TrieNode {
  children: Map<string, TrieNode>;
}

/**
 * GBNF rules, named `${name}` and `${name}-N`, for exactly the JSON string literals of `values` (each
 * value JSON-encoded, quotes included), as a radix tree: a node's rule is a choice between its
 * outgoing edges (runs of characters up to the next branch). Every literal ends with its closing
 * quote, which no literal continues, so a value ends exactly at a leaf.
 */
export function enumTrieRules(name: string, values: readonly string[]): string[] {
  const root: TrieNode = { children: new Map() };
  for (const value of values) {
    let node = root;
    for (const char of JSON.stringify(value)) {
      let child = node.children.get(char);
      if (!child) node.children.set(char, (child = { children: new Map() }));
      node = child;
    }
  }
  const rules: string[] = [];
  let count = 0;
  const ruleOf = (node: TrieNode, ruleName: string): void => {
    const alternatives: string[] = [];
    for (const [first, start] of node.children) {
      // Follow the edge while the tree does not branch.
      let edge = first;
      let child = start;
      while (child.children.size === 1) {
        const [char, next] = child.children.entries().next().value!;
        edge += char;
        child = next;
      }
      if (child.children.size === 0) alternatives.push(gbnfLiteral(edge));
      else {
        const childName = `${name}-${++count}`;
        alternatives.push(`${gbnfLiteral(edge)} ${childName}`);
        ruleOf(child, childName);
      }
    }
    rules.push(`${ruleName} ::= ${alternatives.length === 1 ? alternatives[0]! : `( ${alternatives.join(" | ")} )`}`);
  };
  ruleOf(root, name);
  return rules.reverse();
}

/**
 * `gbnf` (node-llama-cpp's grammar for the schema extractLargeEnums returned) with each marker's
 * literal replaced by its enum's prefix tree. Throws if a marker is missing from the text (a
 * node-llama-cpp that writes constants another way): the caller then converts the original schema.
 */
export function withEnumTries(gbnf: string, enums: readonly string[][]): string {
  let text = gbnf;
  const rules: string[] = [];
  for (const [index, values] of enums.entries()) {
    const literal = gbnfLiteral(JSON.stringify(`${MARKER}${index}`));
    if (!text.includes(literal)) throw new Error(`the grammar has no ${literal}`);
    const name = `enum-trie-${index}`;
    text = text.split(literal).join(name);
    rules.push(...enumTrieRules(name, values));
  }
  return `${text.trimEnd()}\n${rules.join("\n")}\n`;
}
