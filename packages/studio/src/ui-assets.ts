// The UI as static files, offline: the compiled UI modules (dist/ui), its CSS, and the libraries'
// own ES module files served from node_modules under /studio/vendor/, mapped by an import map. No
// bundler, no CDN, no web fonts (docs/decisions/0010-studio-ui-without-a-bundler.md).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { tryParseJson } from "@reviewtune/contracts";

const here = dirname(fileURLToPath(import.meta.url)); // packages/studio/dist
const packageRoot = join(here, "..");
const require = createRequire(import.meta.url);

/** A dependency's folder: up from its resolved entry to the package.json that names it (not every package exports ./package.json). */
function packageFolder(name: string): string {
  let folder = dirname(require.resolve(name));
  while (!isPackage(folder, name)) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`cannot find the folder of ${name}: run \`npm ci\``);
    folder = parent;
  }
  return folder;
}

function isPackage(folder: string, name: string): boolean {
  const file = join(folder, "package.json");
  return existsSync(file) && tryParseJson(readFileSync(file, "utf8"), z.object({ name: z.string() }))?.name === name;
}

/** Bare specifiers the UI imports -> the URL of the module file. */
export const VENDOR: Record<string, { folder: () => string; entries: Record<string, string> }> = {
  preact: { folder: () => packageFolder("preact"), entries: { preact: "dist/preact.mjs", "preact/hooks": "hooks/dist/hooks.mjs" } },
  htm: { folder: () => packageFolder("htm"), entries: { htm: "dist/htm.mjs", "htm/preact": "preact/index.mjs" } },
  uplot: { folder: () => packageFolder("uplot"), entries: { uplot: "dist/uPlot.esm.js" } },
  zod: { folder: () => packageFolder("zod"), entries: { zod: "index.js" } },
  // What the contracts import in turn (json.ts: typo suggestions): the browser resolves it by this map too.
  "fastest-levenshtein": { folder: () => packageFolder("fastest-levenshtein"), entries: { "fastest-levenshtein": "esm/mod.js" } },
  contracts: { folder: () => packageFolder("@reviewtune/contracts"), entries: { "@reviewtune/contracts": "dist/index.js" } },
};

export function importMap(): string {
  const imports: Record<string, string> = {};
  for (const [name, vendor] of Object.entries(VENDOR)) for (const [specifier, file] of Object.entries(vendor.entries)) imports[specifier] = `/studio/vendor/${name}/${file}`;
  return JSON.stringify({ imports }, null, 2);
}

export function indexHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reviewtune studio</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/studio/vendor/uplot/dist/uPlot.min.css">
<link rel="stylesheet" href="/studio/static/studio.css">
<script type="importmap">
${importMap()}
</script>
</head>
<body>
<noscript>The studio needs JavaScript (everything is served from this machine; nothing is fetched from the internet).</noscript>
<div id="app"></div>
<script type="module" src="/studio/ui/main.js"></script>
</body>
</html>
`;
}

export async function registerUiAssets(app: FastifyInstance): Promise<void> {
  const ui = join(packageRoot, "dist", "ui");
  if (!existsSync(join(ui, "main.js"))) throw new Error(`the studio UI is not built (${ui}/main.js is missing): run \`npm run build\``);
  const page = indexHtml();
  app.get("/", async (_request, reply) => reply.type("text/html; charset=utf-8").header("cache-control", "no-cache").send(page));
  await app.register(async (files) => {
    // A path the file server refuses (an encoded slash climbing out, "..%2f", a NUL byte) is a file that
    // is not there: 404, like any other missing file, instead of the 500 an unknown error becomes.
    files.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      if (error.statusCode === undefined || error.statusCode >= 500) throw error;
      return reply.code(404).send({ error: { message: `no file ${request.url.split("?")[0]}`, type: "invalid_request_error", param: null, code: "not_found" } });
    });
    await files.register(fastifyStatic, { root: ui, prefix: "/studio/ui/", decorateReply: false, cacheControl: false });
    await files.register(fastifyStatic, { root: join(packageRoot, "ui", "static"), prefix: "/studio/static/", decorateReply: false, cacheControl: false });
    for (const [name, vendor] of Object.entries(VENDOR)) {
      await files.register(fastifyStatic, { root: vendor.folder(), prefix: `/studio/vendor/${name}/`, decorateReply: false, allowedPath: (path) => /\.(m?js|css|map)$/.test(path) });
    }
  });
}
