// Helpers shared by the commands: option parsing into config overrides.
import { Option } from "commander";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "@reviewtune/core";

export function positiveInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number <= 0) throw new ConfigError(`${name} must be a positive integer, got "${value}"`);
    return number;
  };
}

/** 0..65535 for --port; 0 asks the system for a free port (the printed address names it). */
export function portNumber(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new ConfigError(`--port must be 0..65535, got "${value}"`);
  return number;
}

export function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) throw new ConfigError(`${name} must be 0 or a positive integer, got "${value}"`);
    return number;
  };
}

export function finiteNumber(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isFinite(number)) throw new ConfigError(`${name} must be a number, got "${value}"`);
    return number;
  };
}

/** A sampling temperature: 0 (greedy) to 2, the range the API server and OpenAI's accept. */
export function temperature(name = "--temperature") {
  const parse = finiteNumber(name);
  return (value: string): number => {
    const number = parse(value);
    if (number < 0 || number > 2) throw new ConfigError(`${name} must be between 0 (greedy) and 2, got ${value}`);
    return number;
  };
}

/** A duration: "30m", "1h30m", "90s", "2h", or a number of seconds. */
export function duration(name: string) {
  return (value: string): number => {
    const text = value.trim().toLowerCase();
    if (/^\d+(\.\d+)?$/.test(text) && Number(text) > 0) return Number(text);
    const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
    const seconds = match ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0) : 0;
    if (!match || text === "" || seconds <= 0) throw new ConfigError(`${name} must be a duration such as 30m, 1h30m or 90s, got "${value}"`);
    return seconds;
  };
}

/** The review fields a --column option can map (`data build`, `analyze`). */
export const COLUMN_FIELDS = ["id", "text", "title", "rating", "category", "product_id", "product_title"];

/** --column field=name, repeatable, into a mapping. */
export function collectColumn(entry: string, previous: Record<string, string> = {}): Record<string, string> {
  const [field, column] = [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)];
  if (!entry.includes("=") || !COLUMN_FIELDS.includes(field) || !column) {
    throw new ConfigError(`--column expects field=column with field one of ${COLUMN_FIELDS.join(", ")}, got "${entry}"`);
  }
  return { ...previous, [field]: column };
}

/** The --column option of `data build` and `analyze` (help shows "default: none", not "{}"). */
export function columnOption(): Option {
  return new Option("--column <field=name>", `map a column, e.g. --column text=body (fields: ${COLUMN_FIELDS.join(", ")}); common names are found without it`)
    .argParser(collectColumn)
    .default({}, "none");
}

/** commander's repeatable option: every value given, in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function collectSet(entry: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const equals = entry.indexOf("=");
  if (equals <= 0) throw new ConfigError(`--set expects key.path=value, got "${entry}"`);
  const path = entry.slice(0, equals).split(".");
  let value: unknown;
  try {
    value = parseYaml(entry.slice(equals + 1));
  } catch {
    value = entry.slice(equals + 1);
  }
  let node = previous;
  path.forEach((key, index) => {
    if (index === path.length - 1) node[key] = value;
    else node = (node[key] = (node[key] as Record<string, unknown>) ?? {}) as Record<string, unknown>;
  });
  return previous;
}
