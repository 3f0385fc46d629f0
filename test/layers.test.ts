/**
 * The layers point down (docs/ARCHITECTURE.md): core/ imports nothing of plugins/, pipelines/ or
 * bin/; plugins/ nothing of pipelines/ or bin/; pipelines/ nothing of bin/. Every import, export and
 * dynamic import of every TypeScript file is resolved and checked; a back-arrow fails the test,
 * naming the file and what it imports.
 */
import assert from "node:assert/strict"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const LAYERS = ["core", "plugins", "pipelines", "bin"] as const

const filesUnder = (dir: string): Array<string> =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return filesUnder(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

const SPECIFIER = /(?:from\s*|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g

/** Each relative module a file imports, as a path from the repository root. */
const importsOf = (file: string): Array<string> =>
  [...readFileSync(join(root, file), "utf8").matchAll(SPECIFIER)].map((match) => normalize(join(dirname(file), match[1] ?? "")))

const layerOf = (path: string): number => LAYERS.findIndex((layer) => path === layer || path.startsWith(`${layer}/`))

test("no import points up a layer", () => {
  const backArrows: Array<string> = []
  for (const layer of LAYERS) {
    for (const file of filesUnder(layer)) {
      for (const target of importsOf(file)) {
        const targetLayer = layerOf(target)
        if (targetLayer > layerOf(file)) backArrows.push(`${file} imports ${relative(root, join(root, target))}`)
      }
    }
  }
  assert.deepEqual(backArrows, [], `imports that point up:\n${backArrows.join("\n")}`)
})

test("the check sees imports at all (it would catch one)", () => {
  assert.ok(importsOf("core/executor.ts").some((path) => path === "core/graph.ts"))
  assert.equal(layerOf("pipelines/cli/main.ts"), 2)
})
