/** Configuration from a JSON file, with command-line values merged over it. */
import { readFile } from "node:fs/promises"
import { Effect, Predicate } from "effect"
import { decodeConfig, type CarlConfig } from "./config.ts"
import { ConfigError, problemText } from "../../core/errors.ts"
import { decodeUtf8 } from "../../core/text-file.ts"

type Json = unknown

const mergeUnder = (base: Json, over: Json): Json => {
  if (!Predicate.isObject(base) || !Predicate.isObject(over) || Array.isArray(base) || Array.isArray(over)) {
    return over === undefined ? base : over
  }
  const merged: Record<string, Json> = { ...(base as Record<string, Json>) }
  for (const [key, value] of Object.entries(over as Record<string, Json>)) {
    // defineProperty, so that a key named "__proto__" stays a key (and is refused as unknown).
    if (value !== undefined) Object.defineProperty(merged, key, { value: mergeUnder(Object.hasOwn(merged, key) ? merged[key] : undefined, value), enumerable: true, writable: true, configurable: true })
  }
  return merged
}

const readJson = (path: string): Effect.Effect<Json, ConfigError> =>
  Effect.gen(function* () {
    const fail = (problem: string) => new ConfigError({ source: path, field: "", problem })
    if (path === "") return yield* new ConfigError({ source: "--config", field: "", problem: "names no file" })
    const bytes = yield* Effect.tryPromise({
      try: () => readFile(path),
      catch: (error) => fail(`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
    })
    const text = yield* decodeUtf8(bytes, path).pipe(Effect.mapError((error) => fail(error.problem)))
    return yield* Effect.try({
      try: () => JSON.parse(text) as Json,
      catch: (error) => fail(`not valid JSON: ${problemText(error)}`)
    })
  })

/**
 * The configuration a run uses: defaults, then a preset's values (`preset`: a partial configuration),
 * then the file's, then `overrides` (flags). Any error names the file (or "flags") and the field.
 */
export const loadConfig = (path: string | undefined, overrides: Json = {}, preset: Json = {}): Effect.Effect<CarlConfig, ConfigError> =>
  Effect.gen(function* () {
    const fromFile = mergeUnder(preset, path === undefined ? {} : yield* readJson(path))
    yield* decodeConfig(fromFile, path ?? "config")
    return yield* decodeConfig(mergeUnder(fromFile, overrides), path === undefined ? "flags" : `${path} with flags`)
  })
