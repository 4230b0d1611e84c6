// The one place JSON text becomes data: every parse goes through a schema. (Generated text whose form
// a grammar fixes, the analysis and a teacher's answer, is parsed where that form is known, and
// binary headers by their readers; everything else the project reads comes through here.)
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
export function issuesOf(error: z.ZodError, input?: unknown): Issue[] {
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
  return error.issues.flatMap(expand);
}

/** Formats zod issues as "path.to.field: message" lines. */
export function formatIssues(error: z.ZodError, input?: unknown): string[] {
  return issuesOf(error, input).map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`);
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
    const issues = formatIssues(parsed.error, value);
    throw new JsonParseError(`${source}: ${issues.join("; ")}`, source, issues);
  }
  return parsed.data;
}
