// Presets are YAML files in presets/, one per reference recipe. A config is a preset (or a file)
// plus overrides, validated strictly: every problem is reported at once with its field path.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { TrainConfigSchema, formatIssues, type TrainConfig } from "@reviewtune/contracts";
import { ConfigError } from "../errors.js";
import { projectRoot } from "../paths.js";

export function presetsDirectory(): string {
  return join(projectRoot(), "presets");
}

export function listPresets(): string[] {
  return readdirSync(presetsDirectory())
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => basename(file, ".yaml"))
    .sort();
}

function readYaml(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(`${file} is not valid YAML: ${(error as Error).message}`);
  }
}

export function presetFile(name: string): string {
  const file = join(presetsDirectory(), `${name}.yaml`);
  if (!existsSync(file)) {
    throw new ConfigError(`unknown preset "${name}"`, [], { hint: `choose one of: ${listPresets().join(", ")}` });
  }
  return file;
}

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === "object" && value !== null && !Array.isArray(value);

/** Deep merge: objects merge key by key, anything else is replaced. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlain(base) || !isPlain(override)) return override === undefined ? base : override;
  const merged: Plain = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeConfig(base[key], value);
  return merged;
}

export interface ConfigSource {
  preset?: string;
  configFile?: string;
  /** Applied last, e.g. from CLI flags. */
  overrides?: Plain;
}

/** Loads and validates a config; throws ConfigError listing every bad field. */
export function resolveConfig(source: ConfigSource): { config: TrainConfig; origin: string } {
  if (source.preset && source.configFile) throw new ConfigError("pass either --preset or --config, not both");
  let raw: unknown = {};
  let origin = "defaults";
  if (source.preset) {
    raw = readYaml(presetFile(source.preset));
    origin = `preset ${source.preset}`;
  } else if (source.configFile) {
    if (!existsSync(source.configFile)) throw new ConfigError(`config file ${source.configFile} does not exist`);
    raw = readYaml(source.configFile);
    origin = source.configFile;
  }
  if (raw !== null && raw !== undefined && !isPlain(raw)) throw new ConfigError(`${origin}: expected a mapping of settings`);
  const merged = mergeConfig(raw ?? {}, source.overrides ?? {});
  const parsed = TrainConfigSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid configuration (${origin})`, formatIssues(parsed.error, merged, TrainConfigSchema));
  return { config: parsed.data, origin };
}
