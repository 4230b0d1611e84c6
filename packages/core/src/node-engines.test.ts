// A clean `npm ci` on the oldest Node we promise prints no EBADENGINE: every locked package's
// `engines.node` admits the floor in the root package.json, and the README states that same floor.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { projectRoot } from "./paths.js";

type Version = [number, number, number];

const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Whether a node-semver range admits `version`, for the forms packages put in `engines` (`*`,
 * `>=X`, `^X.Y.Z`, `X`, `X.x`, `X.*`, several comparators, `||`). Any other form fails the test
 * rather than being taken as a yes.
 */
function admits(range: string, version: Version): boolean {
  return range.split("||").some((alternative) =>
    alternative
      .trim()
      .replace(/(>=|\^)\s+/g, "$1")
      .split(/\s+/)
      .every((comparator) => {
        if (comparator === "*" || comparator === "") return true;
        const match = /^(>=|\^)?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(comparator);
        assert.ok(match, `unsupported engines range "${range}"`);
        const [, operator, major, minor, patch] = match;
        const number = (part: string | undefined) => (part === undefined || part === "x" || part === "*" ? undefined : Number(part));
        const bound: Version = [Number(major), number(minor) ?? 0, number(patch) ?? 0];
        if (operator === ">=") return compare(version, bound) >= 0;
        if (operator === "^") return version[0] === bound[0] && compare(version, bound) >= 0;
        return version[0] === bound[0] && (number(minor) === undefined || version[1] === number(minor));
      }),
  );
}

describe("Node engines", () => {
  const root = projectRoot();
  const floorRange = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
  const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(floorRange)!.slice(1).map(Number) as Version;

  it("the range check reads engines fields as npm does", () => {
    assert.equal(admits(">= 22", [20, 19, 0]), false);
    assert.equal(admits("^20.17.0 || >=22.9.0", [20, 19, 0]), true);
    assert.equal(admits("^20.17.0 || >=22.9.0", [22, 1, 0]), false);
    assert.equal(admits("6.* || 8.* || >= 10.*", [20, 19, 0]), true);
    assert.equal(admits("18 || 20 || >=22", [21, 0, 0]), false);
  });

  it(`every locked package supports the promised floor (${floorRange}), which the README states`, () => {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; engines?: unknown }> };
    const refused = Object.entries(lock.packages)
      .filter(([, entry]) => typeof entry.engines === "object" && entry.engines !== null && typeof (entry.engines as { node?: unknown }).node === "string")
      .filter(([, entry]) => !admits((entry.engines as { node: string }).node, floor))
      .map(([path, entry]) => `${path}@${entry.version}: node ${(entry.engines as { node: string }).node}`);
    assert.deepEqual(refused, [], "pin versions that support the floor, or raise it in package.json and the README");
    assert.ok(readFileSync(join(root, "README.md"), "utf8").includes(`Node ${floor[0]}.${floor[1]}+`), `the README names Node ${floor[0]}.${floor[1]}+`);
  });
});
