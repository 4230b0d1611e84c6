// What of a client's JSON Schema llama.cpp's grammar can hold an answer to. node-llama-cpp turns a
// schema into a GBNF grammar from the keywords it knows (type, enum, const, properties,
// additionalProperties, items, prefixItems, min/maxItems, min/maxProperties, min/maxLength, oneOf,
// "#/$defs/..." references, the date/time formats) and passes over the rest without a word: a
// `maximum: 5` let the model write 10, a `$ref` to a missing definition became "any JSON" (a warning
// on the server's stderr only), an `anyOf` became `null`, an "email" format the empty string. The
// client got a 200 and an answer its own schema rejects. Here those keywords are found before a
// grammar is made, so the request is refused (400) naming them instead; and `anyOf`, whose every
// alternative the grammar can offer as it offers oneOf's, is written as oneOf.

/** Keywords that restrict values and that the grammar would not enforce. */
const UNENFORCED = [
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "pattern",
  "allOf", "not", "if", "then", "else", "uniqueItems", "contains", "minContains", "maxContains",
  "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
  "unevaluatedProperties", "unevaluatedItems", "definitions",
];
const FORMATS = new Set(["date", "time", "date-time"]);
const DEFS_PREFIX = "#/$defs/";

export interface GrammarSchema {
  /** The schema as the grammar builder should read it (anyOf written as oneOf). */
  schema: Record<string, unknown>;
  /** What the grammar could not hold the answer to, each with where it is ("maximum at properties.stars"). */
  unenforced: string[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The schema for node-llama-cpp's grammar builder, and what in it that grammar would silently not enforce. */
export function grammarSchema(schema: Record<string, unknown>): GrammarSchema {
  const unenforced: string[] = [];
  const walk = (node: unknown, path: string, defs: ReadonlySet<string>): unknown => {
    if (Array.isArray(node)) return node.map((item, index) => walk(item, `${path}[${index}]`, defs));
    if (!isObject(node)) return node;
    const at = path || "(root)";
    const scope = isObject(node.$defs) ? new Set([...defs, ...Object.keys(node.$defs)]) : defs;
    for (const keyword of UNENFORCED) if (keyword in node) unenforced.push(`${keyword} at ${at}${keyword === "definitions" ? " (write $defs)" : ""}`);
    if (typeof node.format === "string" && !FORMATS.has(node.format)) unenforced.push(`format "${node.format}" at ${at} (only ${[...FORMATS].join(", ")})`);
    if ("$ref" in node) {
      const ref = node.$ref;
      if (typeof ref !== "string" || !ref.startsWith(DEFS_PREFIX)) unenforced.push(`$ref ${JSON.stringify(ref)} at ${at} (only "${DEFS_PREFIX}<name>" references)`);
      else if (!scope.has(ref.slice(DEFS_PREFIX.length))) unenforced.push(`$ref "${ref}" at ${at}: no such definition in $defs`);
    }
    if ("anyOf" in node && "oneOf" in node) unenforced.push(`anyOf beside oneOf at ${at}`);
    const under = (key: string) => (path ? `${path}.${key}` : key);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const name = key === "anyOf" && !("oneOf" in node) ? "oneOf" : key;
      // Subschemas: under these keywords (an enum's or const's values are data, left as they are).
      if (key === "properties" || key === "$defs") {
        out[name] = isObject(value) ? Object.fromEntries(Object.entries(value).map(([child, sub]) => [child, walk(sub, under(`${key}.${child}`), scope)])) : value;
      } else if (["items", "additionalProperties", "prefixItems", "oneOf", "anyOf"].includes(key)) {
        out[name] = walk(value, under(key), scope);
      } else {
        out[name] = value;
      }
    }
    return out;
  };
  return { schema: walk(schema, "", new Set()) as Record<string, unknown>, unenforced };
}
