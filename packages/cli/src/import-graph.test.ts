// The import graph stays one-way (issue 13): packages import only those below them (contracts <-
// core <- server <- studio <- cli), and no source file reaches itself through its imports, type-only
// imports included. Read from the sources, so a new loop fails here with its files named.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const STACK = ["contracts", "core", "server", "studio", "cli"];

/** Every non-test TypeScript source of a package (the browser UI has its own build and is left out). */
function sources(pkg: string): string[] {
  const base = join(root, "packages", pkg, "src");
  return readdirSync(base, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !file.endsWith(".d.ts") && !file.startsWith("ui/") && !file.includes("/ui/"))
    .map((file) => join(base, file));
}

const IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms;
/** What a file imports from; with `valuesOnly`, not from its `import type` and `export type` lines. */
const specifiers = (file: string, valuesOnly = false) =>
  [...readFileSync(file, "utf8").matchAll(IMPORT)].filter((match) => !valuesOnly || !/^(?:import|export)\s+type\b/.test(match[0])).map((match) => match[1]!);
/** The source a relative specifier names: imports name the .js a .ts compiles to. */
const sourceOf = (file: string, specifier: string) => resolve(dirname(file), specifier.replace(/\.js$/, ".ts"));

describe("import graph", () => {
  it("each package imports only packages below it", () => {
    const upward: string[] = [];
    for (const [level, pkg] of STACK.entries()) {
      for (const file of sources(pkg)) {
        for (const specifier of specifiers(file)) {
          const other = /^@reviewtune\/([a-z]+)/.exec(specifier)?.[1];
          if (other && STACK.indexOf(other) >= level && other !== pkg) upward.push(`${relative(root, file)} imports ${specifier}`);
        }
      }
    }
    assert.deepEqual(upward, []);
  });

  it("no source file imports itself back through other files (type-only imports included)", () => {
    const files = STACK.flatMap(sources);
    const known = new Set(files);
    const graph = new Map(
      files.map((file) => [file, specifiers(file).filter((specifier) => specifier.startsWith(".")).map((specifier) => sourceOf(file, specifier)).filter((target) => known.has(target))]),
    );
    // Tarjan's strongly connected components: any component of more than one file is a loop.
    let counter = 0;
    const order = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const loops: string[][] = [];
    const visit = (file: string) => {
      order.set(file, counter);
      low.set(file, counter++);
      stack.push(file);
      onStack.add(file);
      for (const target of graph.get(file)!) {
        if (!order.has(target)) {
          visit(target);
          low.set(file, Math.min(low.get(file)!, low.get(target)!));
        } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, order.get(target)!));
      }
      if (low.get(file) === order.get(file)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(relative(root, member));
        } while (member !== file);
        if (component.length > 1) loops.push(component.sort());
      }
    };
    for (const file of files) if (!order.has(file)) visit(file);
    assert.ok(files.length > 100, `found only ${files.length} source files under packages/*/src`);
    assert.deepEqual(loops, []);
  });

  it("the CLI's startup (bin.ts and what it imports, not awaited imports) loads no server, llama.cpp or LanceDB", () => {
    // Every command pays for what its startup loads: the server package through engine.ts was ~15 MB
    // of every command's memory, `data build`'s included. Commands load these with `await import`.
    const heavy = ["@reviewtune/server", "@reviewtune/studio", "node-llama-cpp", "@lancedb/lancedb"];
    const start = join(root, "packages", "cli", "src", "bin.ts");
    const reached = new Set<string>([start]);
    const found: string[] = [];
    for (const file of reached) {
      for (const specifier of specifiers(file, true)) {
        if (heavy.some((name) => specifier === name || specifier.startsWith(`${name}/`))) found.push(`${relative(root, file)} imports ${specifier}`);
        if (specifier.startsWith(".")) reached.add(sourceOf(file, specifier));
      }
    }
    assert.ok(reached.size > 10, `followed only ${reached.size} files from bin.ts`);
    assert.deepEqual(found, []);
  });
});
