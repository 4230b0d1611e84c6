// The one place JSON text becomes data: every parse goes through a schema. (Generated text whose form
// a grammar fixes, the analysis and a teacher's answer, is parsed where that form is known, and
// binary headers by their readers; everything else the project reads comes through here.)
import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";

export class JsonParseError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly issues: string[],
  ) {
    super(message);
    this.name = "JsonParseError";
  }
}

type Issue = z.core.$ZodIssue;

/** The value at `path` inside `input` (undefined where the path leads nowhere). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * The issues to show: a union's own ("Invalid input") replaced by those of the one branch the value
 * has the type of, when there is exactly one (`stop: ["a", ..., "e"]` is an array, too long: "at most
 * 4 stop strings", not "Invalid input"). A branch fails only on its root's type when it is the wrong kind.
 * With the `input` at hand, a union of objects is read by the keys the value has: a branch that
 * fails only for keys the value lacks is another shape, not this one's problem (`{"messages":
 * [{"role": "bogus"}]}` is told about messages.0.role, not "Invalid input"), and a value with none
 * of the branches' keys is told which keys would do.
 */
export function issuesOf(error: z.ZodError, input?: unknown, schema?: z.ZodType): Issue[] {
  const expand = (issue: Issue): Issue[] => {
    if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
    let near = issue.errors.filter((branch) => !branch.every((inner) => inner.code === "invalid_type" && inner.path.length === 0));
    if (near.length === 0) {
      // The wrong kind for every branch: say which kinds would do.
      const expected = [...new Set(issue.errors.flatMap((branch) => branch.map((inner) => (inner.code === "invalid_type" ? String(inner.expected) : ""))))].filter(Boolean);
      return [{ ...issue, message: `Invalid input: expected ${expected.join(" or ")}` }];
    }
    if (near.length > 1 && input !== undefined) {
      const lacking = (inner: Issue) => inner.code === "invalid_type" && inner.path.length === 1 && valueAt(input, [...issue.path, ...inner.path]) === undefined;
      const shaped = near.filter((branch) => !branch.every(lacking));
      if (shaped.length === 0) {
        const keys = [...new Set(near.flatMap((branch) => branch.filter(lacking).map((inner) => JSON.stringify(String(inner.path[0])))))];
        return [{ ...issue, message: `Invalid input: needs ${keys.join(" or ")}` }];
      }
      near = shaped;
    }
    if (near.length !== 1) return [issue];
    return near[0]!.flatMap((inner) => expand({ ...inner, path: [...issue.path, ...inner.path] } as Issue));
  };
  const issues = error.issues.flatMap(expand);
  return schema ? issues.map((issue) => (issue.code === "unrecognized_keys" ? withSuggestions(issue, schema) : issue)) : issues;
}

/** The schema inside optional, default, nullable and pipe wrappers. */
function unwrapped(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (;;) {
    const def = inner._zod.def as { innerType?: z.ZodType; in?: z.ZodType; type: string };
    if (def.innerType) inner = def.innerType;
    else if (def.type === "pipe" && def.in) inner = def.in;
    else return inner;
  }
}

/** The keys an object at `path` of `schema` may have (of every object a union there allows); none where it is no object. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let here = [unwrapped(schema)];
  const spread = (schemas: z.ZodType[]) => schemas.flatMap((each) => (each instanceof z.ZodUnion ? (each.options as z.ZodType[]).map(unwrapped) : [each]));
  for (const key of path) {
    here = spread(here).flatMap((each) => {
      if (each instanceof z.ZodObject) return typeof key === "string" && key in each.shape ? [unwrapped(each.shape[key] as z.ZodType)] : [];
      if (each instanceof z.ZodArray) return typeof key === "number" ? [unwrapped(each.element as z.ZodType)] : [];
      if (each instanceof z.ZodRecord) return [unwrapped(each.valueType as z.ZodType)];
      return [];
    });
  }
  return [...new Set(spread(here).flatMap((each) => (each instanceof z.ZodObject ? Object.keys(each.shape) : [])))];
}

/** "Unrecognized key: "max_lenght"" with the known key it is a typo of, where one is near (two edits, or a third of a long key). */
function withSuggestions(issue: Issue & { code: "unrecognized_keys" }, schema: z.ZodType): Issue {
  const known = keysAt(schema, issue.path);
  if (known.length === 0) return issue;
  const meant = issue.keys.flatMap((key) => {
    const near = closest(key, known);
    return distance(key, near) <= Math.max(2, Math.floor(key.length / 3)) ? [{ key, near }] : [];
  });
  if (meant.length === 0) return issue;
  const said = issue.keys.length === 1 ? `"${meant[0]!.near}"` : meant.map(({ key, near }) => `"${near}" for "${key}"`).join(", ");
  return { ...issue, message: `${issue.message} (did you mean ${said}?)` };
}

/** An issue as a "path.to.field: message" line. */
export function issueLine(issue: Issue): string {
  return `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`;
}

/** Formats zod issues as "path.to.field: message" lines; with the `schema`, an unknown key is told the known one it is a typo of. */
export function formatIssues(error: z.ZodError, input?: unknown, schema?: z.ZodType): string[] {
  return issuesOf(error, input, schema).map(issueLine);
}

/** The value when `text` is JSON that `schema` accepts, else undefined: for readers that skip what they cannot use (a line being written, another program's event). */
export function tryParseJson<S extends z.ZodType>(text: string, schema: S): z.output<S> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Parses JSON text and validates it; `source` names the file/line/stream for the error message. */
export function parseJson<S extends z.ZodType>(text: string, schema: S, source: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new JsonParseError(`${source}: not valid JSON (${(error as Error).message})`, source, []);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error, value, schema);
    throw new JsonParseError(`${source}: ${issues.join("; ")}`, source, issues);
  }
  return parsed.data;
}
