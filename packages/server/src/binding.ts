// Where the server may listen: loopback by default; any other address only with an API key, since
// the API runs models on this machine's CPU for whoever can reach it.
import { basename } from "node:path";
import { ConfigError } from "@reviewtune/core";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function checkBinding(host: string, apiKey: string | undefined): void {
  if (!isLoopback(host) && !apiKey) {
    throw new ConfigError(`--host ${host} exposes the server beyond this machine, so it needs an API key`, [], {
      hint: "pass --api-key KEY (or set REVIEWTUNE_API_KEY); clients then send Authorization: Bearer KEY",
    });
  }
}

/** The id the base model answers to: the embedded name or hub id as is, a folder by its name. */
export function baseModelId(source: string): string {
  const name = source.startsWith("/") || source.startsWith(".") || source.startsWith("~") ? basename(source.replace(/\/+$/, "")) : source;
  return name.replace(/[^A-Za-z0-9_.\-/]/g, "-") || "base";
}
