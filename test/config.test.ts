/**
 * Configuration: the paper's defaults, decoding errors that name the field, and loading from a
 * JSON file with flags merged over it.
 */
import assert from "node:assert/strict"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import { Effect, Result } from "effect"
import { CONFIG_PRESETS, decodeConfig, defaultConfig, type CarlConfig } from "../plugins/carl/config.ts"
import { loadConfig } from "../plugins/carl/config-file.ts"
import { ConfigError } from "../core/errors.ts"

/** Runs a config effect (loading a file is asynchronous) that must fail and returns its ConfigError. */
const failureOf = async (effect: Effect.Effect<CarlConfig, ConfigError>): Promise<ConfigError> => {
  const result = await Effect.runPromise(Effect.result(effect))
  if (Result.isSuccess(result)) assert.fail(`expected a ConfigError, got a config: ${JSON.stringify(result.success)}`)
  assert.ok(result.failure instanceof ConfigError, "the failure is a ConfigError")
  assert.equal(result.failure._tag, "ConfigError")
  return result.failure
}

const succeed = async (effect: Effect.Effect<CarlConfig, ConfigError>): Promise<CarlConfig> => {
  const result = await Effect.runPromise(Effect.result(effect))
  if (Result.isFailure(result)) assert.fail(`expected a config, got: ${result.failure.message}`)
  return result.success
}

describe("defaultConfig", () => {
  const config = defaultConfig()

  test("has the paper's optimiser and training settings (Sec. IV-A)", () => {
    assert.equal(config.optimizer.learningRate, 2e-5)
    assert.equal(config.optimizer.warmupRatio, 0.1)
    assert.equal(config.training.batchSize, 128)
    assert.equal(config.training.epochs, 2)
    assert.equal(config.model.maxLength, 128)
    assert.equal(config.model.pooling, "cls")
  })

  test("has the paper's loss and adversarial settings (EQUATIONS.md)", () => {
    assert.equal(config.mccl.temperature, 0.05)
    assert.equal(config.mccl.labelTemperature, 0.05)
    assert.equal(config.momentum.initial, 0.9996)
    assert.equal(config.saliency.topFraction, 0.1)
    // epsilonScale "absolute" is the paper's ε as it is; vaRegression 0 is no supervised term (recipe options).
    assert.deepEqual(config.pgd, { epsilon: 5e-9, epsilonScale: "absolute", alpha: 5, steps: 1 })
    assert.equal(config.ptd.gamma, 2)
    assert.deepEqual(config.objective, { mccl: 0.8, ptd: 0.2, vaRegression: 0 })
  })

  test("is a fresh, equal value on every call and equals decoding {}", async () => {
    const again = defaultConfig()
    assert.deepEqual(again, config)
    assert.notEqual(again, config, "a new object, so a caller's edits cannot leak into the defaults")
    assert.deepEqual(await succeed(decodeConfig({})), config)
  })

  test("a partial group keeps the other defaults of that group", async () => {
    const config2 = await succeed(decodeConfig({ pgd: { alpha: 1 }, model: {} }))
    assert.deepEqual(config2.pgd, { epsilon: 5e-9, epsilonScale: "absolute", alpha: 1, steps: 1 })
    assert.deepEqual(config2.model, config.model)
    assert.equal(config2.optimizer.learningRate, 2e-5)
  })
})

describe("presets", () => {
  test("the recipe is the screened candidate docs/RESULTS.md chose on dev (lr1e-4-va10000.json on the paper's settings)", async () => {
    const screened = await Effect.runPromise(loadConfig(join(import.meta.dirname, "..", "pipelines", "results", "recipes", "lr1e-4-va10000.json"), {}, CONFIG_PRESETS.paper))
    const recipe = await Effect.runPromise(loadConfig(undefined, {}, CONFIG_PRESETS.recipe))
    assert.deepEqual(recipe, screened)
    assert.notDeepEqual(recipe, defaultConfig(), "the recipe differs from the paper's settings")
  })
})

describe("decodeConfig errors name the field", () => {
  test("a negative learning rate names optimizer.learningRate", async () => {
    const error = await failureOf(decodeConfig({ optimizer: { learningRate: -1 } }, "my-source"))
    assert.equal(error.field, "optimizer.learningRate")
    assert.equal(error.source, "my-source")
    assert.match(error.message, /^my-source: field 'optimizer\.learningRate': /)
  })

  test("a negative PGD epsilon names pgd.epsilon", async () => {
    const error = await failureOf(decodeConfig({ pgd: { epsilon: -1 } }))
    assert.equal(error.field, "pgd.epsilon")
    assert.match(error.message, /pgd\.epsilon/)
  })

  test("a non-integer step count names pgd.steps", async () => {
    const error = await failureOf(decodeConfig({ pgd: { steps: 1.5 } }))
    assert.equal(error.field, "pgd.steps")
    assert.match(error.message, /pgd\.steps/)
    assert.match(error.message, /integer/)
  })

  test("a zero batch size names training.batchSize", async () => {
    const error = await failureOf(decodeConfig({ training: { batchSize: 0 } }))
    assert.equal(error.field, "training.batchSize")
  })

  test("a top fraction of 0 is rejected (at least one token must be perturbed)", async () => {
    const error = await failureOf(decodeConfig({ saliency: { topFraction: 0 } }))
    assert.equal(error.field, "saliency.topFraction")
  })

  test("a wrong literal names model.pooling and lists the choices", async () => {
    const error = await failureOf(decodeConfig({ model: { pooling: "max" } }))
    assert.equal(error.field, "model.pooling")
    assert.match(error.message, /"cls"/)
  })

  test("a string where a number belongs names the field", async () => {
    const error = await failureOf(decodeConfig({ pgd: { alpha: "5" } }))
    assert.equal(error.field, "pgd.alpha")
  })

  test("an unknown top-level field is an 'unknown field'", async () => {
    const error = await failureOf(decodeConfig({ learningRate: 1e-3 }))
    assert.equal(error.field, "learningRate")
    assert.equal(error.problem, "unknown field")
    assert.match(error.message, /field 'learningRate': unknown field/)
  })

  test("an unknown nested field is an 'unknown field' with its path", async () => {
    const error = await failureOf(decodeConfig({ pgd: { eps: 1 } }))
    assert.equal(error.field, "pgd.eps")
    assert.equal(error.problem, "unknown field")
  })

  test("a group that is not an object names the group", async () => {
    const error = await failureOf(decodeConfig({ optimizer: 3 }))
    assert.equal(error.field, "optimizer")
  })

  for (const input of [5, "config", null, [], true]) {
    test(`a non-object input (${JSON.stringify(input)}) fails with an empty field and names the source`, async () => {
      const error = await failureOf(decodeConfig(input, "somewhere.json"))
      assert.equal(error.field, "")
      assert.equal(error.source, "somewhere.json")
      assert.match(error.message, /^somewhere\.json: /)
      assert.doesNotMatch(error.message, /field '/)
    })
  }
})

describe("loadConfig", () => {
  let dir = ""
  const file = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name)
    await writeFile(path, text, "utf8")
    return path
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "carl-config-test-"))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  test("without a file it gives the defaults, with flags over them", async () => {
    assert.deepEqual(await succeed(loadConfig(undefined)), defaultConfig())
    const config = await succeed(loadConfig(undefined, { seed: 9 }))
    assert.equal(config.seed, 9)
    assert.equal(config.optimizer.learningRate, 2e-5)
  })

  test("file values override the defaults; the rest stay default", async () => {
    const path = await file("file.json", JSON.stringify({ seed: 3, pgd: { epsilon: 1e-3 }, optimizer: { learningRate: 1e-4 } }))
    const config = await succeed(loadConfig(path))
    assert.equal(config.seed, 3)
    assert.equal(config.pgd.epsilon, 1e-3)
    assert.equal(config.pgd.alpha, 5)
    assert.equal(config.optimizer.learningRate, 1e-4)
    assert.equal(config.optimizer.warmupRatio, 0.1)
    assert.equal(config.training.batchSize, 128)
  })

  test("overrides (flags) override the file, merged per field", async () => {
    const path = await file("merge.json", JSON.stringify({ seed: 3, pgd: { epsilon: 1e-3, alpha: 2 } }))
    const config = await succeed(loadConfig(path, { seed: 7, pgd: { alpha: 4 } }))
    assert.equal(config.seed, 7)
    assert.equal(config.pgd.alpha, 4)
    assert.equal(config.pgd.epsilon, 1e-3, "a flag for pgd.alpha keeps the file's pgd.epsilon")
    assert.equal(config.pgd.steps, 1)
  })

  test("an undefined override leaves the file's value", async () => {
    const path = await file("undefined.json", JSON.stringify({ seed: 3 }))
    const config = await succeed(loadConfig(path, { seed: undefined }))
    assert.equal(config.seed, 3)
  })

  test("a bad value in the file names the file and the field", async () => {
    const path = await file("bad-value.json", JSON.stringify({ pgd: { epsilon: -1 } }))
    const error = await failureOf(loadConfig(path))
    assert.equal(error.source, path)
    assert.equal(error.field, "pgd.epsilon")
    assert.ok(error.message.startsWith(`${path}: field 'pgd.epsilon': `), error.message)
  })

  test("an unknown field in the file is reported with the file", async () => {
    const path = await file("unknown.json", JSON.stringify({ optimizer: { lr: 1 } }))
    const error = await failureOf(loadConfig(path))
    assert.equal(error.source, path)
    assert.equal(error.field, "optimizer.lr")
    assert.equal(error.problem, "unknown field")
  })

  test("a bad override names the field and says it came with flags", async () => {
    const path = await file("good.json", JSON.stringify({ seed: 3 }))
    const error = await failureOf(loadConfig(path, { seed: -2 }))
    assert.equal(error.field, "seed")
    assert.match(error.source, /flags/)
    assert.ok(error.source.includes(path), error.source)
  })

  test("a missing file is a ConfigError naming the path and ENOENT", async () => {
    const path = join(dir, "does-not-exist.json")
    const error = await failureOf(loadConfig(path))
    assert.equal(error.source, path)
    assert.equal(error.field, "")
    assert.ok(error.message.includes(path), error.message)
    assert.match(error.message, /ENOENT/)
  })

  test("invalid JSON is a ConfigError naming the path", async () => {
    const path = await file("broken.json", "{ not json")
    const error = await failureOf(loadConfig(path))
    assert.equal(error.source, path)
    assert.ok(error.message.includes(path), error.message)
    assert.match(error.message, /not valid JSON/)
  })

  test("a JSON file that is not an object is a ConfigError naming the path", async () => {
    const path = await file("array.json", "[1, 2]")
    const error = await failureOf(loadConfig(path))
    assert.equal(error.source, path)
    assert.equal(error.field, "")
  })
})
