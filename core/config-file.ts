/** Configuration from a JSON file, with command-line values merged over it. */
import { readFile } from "node:fs/promises"
import { Effect, Predicate } from "effect"
import { decodeConfig, type CarlConfig } from "./config.ts"
import { ConfigError } from "./errors.ts"

type Json = unknown

const mergeUnder = (base: Json, over: Json): Json => {
  if (!Predicate.isObject(base) || !Predicate.isObject(over) || Array.isArray(base) || Array.isArray(over)) {
    return over === undefined ? base : over
  }
  const merged: Record<string, Json> = { ...(base as Record<string, Json>) }
  for (const [key, value] of Object.entries(over as Record<string, Json>)) {
    if (value !== undefined) merged[key] = mergeUnder(merged[key], value)
  }
  return merged
}

const readJson = (path: string): Effect.Effect<Json, ConfigError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) =>
      new ConfigError({
        source: path,
        field: "",
        problem: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`
      })
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as Json,
        catch: (error) =>
          new ConfigError({ source: path, field: "", problem: `not valid JSON: ${(error as Error).message}` })
      })
    )
  )

/**
 * The configuration a run uses: defaults, then the file's values, then `overrides` (flags).
 * Any error names the file (or "flags") and the field.
 */
export const loadConfig = (path: string | undefined, overrides: Json = {}): Effect.Effect<CarlConfig, ConfigError> =>
  Effect.gen(function* () {
    const fromFile = path === undefined ? {} : yield* readJson(path)
    yield* decodeConfig(fromFile, path ?? "config")
    return yield* decodeConfig(mergeUnder(fromFile, overrides), path === undefined ? "flags" : `${path} with flags`)
  })
