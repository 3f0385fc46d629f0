/**
 * BERT/RoBERTa checkpoints in Hugging Face layout.
 *
 * (a) carl's forward computes what Hugging Face's BertModel/RobertaModel compute: checkpoints
 *     made by pipelines/bench/peer/torch_carl.py, and checkpoints carl saves, run through carl on a
 *     padded ragged batch and through PyTorch one unpadded sentence at a time. These skip, with
 *     the reason, where /usr/bin/python3 cannot import torch.
 * (b) load → save → load gives the same bits, from F32, F16 and BF16 files.
 * (c) every malformed folder gives one error naming the file and the field or tensor.
 */
import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { after, before, describe, test } from "node:test"
import { promisify } from "node:util"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { ConfigError } from "../core/errors.ts"
import { ParameterSet } from "../core/parameters.ts"
import { SeededRandom } from "../core/random.ts"
import {
  floatValues,
  readSafetensors,
  SafetensorsError,
  toBfloat16Bits,
  toHalfBits,
  writeSafetensors,
  type FloatTensorData,
  type WritableDtype
} from "../core/safetensors.ts"
import { bertConfigJson, loadBertDirectory, saveBertDirectory, type LoadBertOptions } from "../plugins/encoders/bert/checkpoint.ts"
import { positionIds } from "../plugins/encoders/bert/forward.ts"
import { BertEncoder, bertWeightShapes, initBertWeights, isLinearWeight, type BertConfig } from "../plugins/encoders/bert/index.ts"
import { forEachBackend } from "./support/backends.ts"

const run = promisify(execFile)

const TORCH_CARL = resolve(import.meta.dirname, "../pipelines/bench/peer/torch_carl.py")
/** Debian's python3 with python3-torch; another interpreter with torch can be named here. */
const PYTHON = process.env.CARL_TORCH_PYTHON ?? "/usr/bin/python3"

/** Why the PyTorch reference cannot run here, or undefined; torch itself is probed by the reference run. */
const referenceMissing = ((): string | undefined => {
  if (!existsSync(TORCH_CARL)) return `the PyTorch reference ${TORCH_CARL} is not there`
  if (!existsSync(PYTHON)) return `${PYTHON} is not there`
  return undefined
})()

const TORCH_MISSING = /ModuleNotFoundError: No module named 'torch'|ImportError.*torch/

/**
 * All PyTorch work in one process (importing torch takes seconds): torch_carl.py's own command
 * line (`make-bert`, `embed`, run through its main()), and for each checkpoint every position's
 * last hidden state, CARL's "cls" (pooler dense, no tanh) and the mean, each sentence alone,
 * with torch_carl.py's modules and loader. Positions are Hugging Face's: RoBERTa's from
 * input_ids != padding_idx (create_position_ids_from_input_ids). Where no real token has the
 * padding id that is what torch_carl.Encoder computes, and the script checks that it is.
 */
const TORCH_REFERENCE = `
import contextlib, io, json, sys, os, torch
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import torch_carl as tc

def cli(*args):
    sys.argv = ["torch_carl.py", *args]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tc.main()
    return out.getvalue()

def hidden_states(d, rows):
    c = json.load(open(os.path.join(d, "config.json")))
    enc = tc.Encoder(c)
    st = tc.load_safetensors(os.path.join(d, "model.safetensors"))
    sd = {}
    for ours, theirs in tc.hf_names("")(enc).items():
        for pre in ("", "bert.", "roberta."):
            if pre + theirs in st:
                sd[ours] = st[pre + theirs]
    enc.load_state_dict(sd)
    enc.eval()
    out = []
    with torch.no_grad():
        for r in rows:
            ids = torch.tensor([r])
            if enc.roberta:
                real = ids.ne(enc.pad).int()
                pos = torch.cumsum(real, 1) * real + enc.pad
            else:
                pos = torch.arange(ids.shape[1]).unsqueeze(0)
            x = enc.ln(enc.word(ids) + enc.pos(pos) + enc.typ(torch.zeros_like(ids)))
            for layer in enc.layers:
                x = layer(x, torch.zeros(1, 1, 1, ids.shape[1]))
            if not bool((ids == enc.pad).any()):
                assert torch.equal(x, enc(ids, torch.ones_like(ids))), "replica differs from torch_carl.Encoder"
            h = x[0]
            out.append({"hidden": h.tolist(), "cls": enc.pool(h[0:1])[0].tolist(), "mean": h.mean(0).tolist()})
    return out

plan = json.load(open(sys.argv[2]))
for args in plan["make"]:
    cli("make-bert", *args)
results = []
for job in plan["jobs"]:
    embedded = {}
    for pooling in job["poolings"]:
        lines = cli("embed", job["dir"], job["embedIds"], "--pooling", pooling).strip().split("\\n")
        embedded[pooling] = [json.loads(line) for line in lines]
    results.append({"torch": hidden_states(job["dir"], job["rows"]), "embedded": embedded})
print(json.dumps(results))
`

interface TorchRow {
  readonly hidden: ReadonlyArray<ReadonlyArray<number>>
  readonly cls: ReadonlyArray<number>
  readonly mean: ReadonlyArray<number>
}

type Rows = ReadonlyArray<ReadonlyArray<number>>
type Embedded = Partial<Record<"cls" | "mean", Array<Array<number>>>>

const writeJson = async (value: unknown): Promise<string> => {
  const path = join(scratch, `input-${Math.random().toString(36).slice(2)}.json`)
  await writeFile(path, JSON.stringify(value))
  return path
}

interface TorchPlan {
  /** Arguments of `torch_carl.py make-bert`. */
  readonly make: ReadonlyArray<ReadonlyArray<string>>
  readonly jobs: ReadonlyArray<{ dir: string; rows: Rows; embedIds: string; poolings: ReadonlyArray<"cls" | "mean"> }>
}

/** The reference's results, or why it cannot run (torch not importable); any other failure throws. */
const runTorchReference = async (plan: TorchPlan): Promise<Array<{ torch: Array<TorchRow>; embedded: Embedded }> | string> => {
  try {
    const { stdout } = await run(PYTHON, ["-c", TORCH_REFERENCE, TORCH_CARL, await writeJson(plan)], { maxBuffer: 1 << 26 })
    return JSON.parse(stdout) as Array<{ torch: Array<TorchRow>; embedded: Embedded }>
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "")
    if (TORCH_MISSING.test(stderr)) return `${PYTHON} cannot import torch (apt-get install -y python3-torch)`
    throw error
  }
}

const makeBertArgs = (dir: string, roberta: boolean): Array<string> => [
  dir,
  "--layers", "2", "--hidden", "64", "--heads", "4", "--ffn", "128", "--vocab", "100", "--seq", "16",
  ...(roberta ? ["--roberta", "--prefix", "--seed", "1"] : ["--seed", "2"])
]

interface CarlOutputs {
  readonly hidden: Array<Array<Array<number>>>
  readonly cls: Array<Array<number>>
  readonly pooler: Array<Array<number>>
  readonly mean: Array<Array<number>>
}

/** carl's forward on the sentences padded into one batch (padding id, attention mask 0). */
const carlForward = (encoder: BertEncoder, rows: ReadonlyArray<ReadonlyArray<number>>): CarlOutputs => {
  const seq = Math.max(...rows.map((row) => row.length))
  const pad = encoder.config.padTokenId
  const ids = tf.tensor2d(rows.map((row) => [...row, ...new Array<number>(seq - row.length).fill(pad)]), [rows.length, seq], "int32")
  const mask = tf.tensor2d(rows.map((row) => row.map(() => 1).concat(new Array<number>(seq - row.length).fill(0))), [rows.length, seq])
  const outputs = tf.tidy(() => {
    const hidden = encoder.encode(encoder.embedTokens(ids), ids, mask)
    return [hidden, encoder.pool(hidden, mask, "cls"), encoder.pool(hidden, mask, "pooler"), encoder.pool(hidden, mask, "mean")]
  })
  const [hidden, cls, pooler, mean] = outputs.map((tensor) => tensor.arraySync()) as [
    Array<Array<Array<number>>>,
    Array<Array<number>>,
    Array<Array<number>>,
    Array<Array<number>>
  ]
  tf.dispose([ids, mask, ...outputs])
  return { hidden, cls, pooler, mean }
}

const maxAbsDifference = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  assert.equal(a.length, b.length, "vector lengths differ")
  let worst = 0
  a.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - (b[i] as number)))))
  return worst
}

const TOLERANCE = 1e-5

/** Compares carl on a padded batch with PyTorch one sentence at a time; returns the largest differences. */
const compareWithTorch = (
  encoder: BertEncoder,
  rows: ReadonlyArray<ReadonlyArray<number>>,
  torch: ReadonlyArray<TorchRow>
): { hidden: number; cls: number; pooler: number; mean: number } => {
  const carl = carlForward(encoder, rows)
  const worst = { hidden: 0, cls: 0, pooler: 0, mean: 0 }
  rows.forEach((row, b) => {
    const reference = torch[b]
    assert.ok(reference !== undefined)
    row.forEach((_, t) => {
      worst.hidden = Math.max(worst.hidden, maxAbsDifference(carl.hidden[b]?.[t] ?? [], reference.hidden[t] ?? []))
    })
    worst.cls = Math.max(worst.cls, maxAbsDifference(carl.cls[b] ?? [], reference.cls))
    worst.pooler = Math.max(worst.pooler, maxAbsDifference(carl.pooler[b] ?? [], reference.cls.map(Math.tanh)))
    worst.mean = Math.max(worst.mean, maxAbsDifference(carl.mean[b] ?? [], reference.mean))
  })
  for (const [what, difference] of Object.entries(worst)) {
    assert.ok(difference < TOLERANCE, `${what}: max |carl − torch| = ${difference.toExponential(2)} ≥ ${TOLERANCE}`)
  }
  return worst
}

/** `torch_carl.py embed` itself (values rounded to 7 decimals) against carl's first-token state and mean. */
const compareWithTorchEmbed = (encoder: BertEncoder, rows: Rows, embedded: Embedded) => {
  const carl = carlForward(encoder, rows)
  let worst = 0
  rows.forEach((_, b) => {
    if (embedded.cls !== undefined) worst = Math.max(worst, maxAbsDifference(carl.hidden[b]?.[0] ?? [], embedded.cls[b] ?? []))
    if (embedded.mean !== undefined) worst = Math.max(worst, maxAbsDifference(carl.mean[b] ?? [], embedded.mean[b] ?? []))
  })
  assert.ok(worst < TOLERANCE, `torch_carl.py embed: max |carl − torch| = ${worst.toExponential(2)}`)
  return worst
}

const describeDifferences = (label: string, worst: Record<string, number>): string =>
  `${label}: max |carl − torch| ${Object.entries(worst)
    .map(([what, value]) => `${what} ${value.toExponential(2)}`)
    .join(", ")}`

// Ragged sentences. BERT: [CLS]=2 … [SEP]=3, padding 0. RoBERTa: <s>=0 … </s>=2, padding 1.
const BERT_ROWS = [
  [2, 15, 37, 88, 3],
  [2, 44, 3],
  [2, 9, 61, 70, 12, 99, 5, 17, 40, 3]
]
const ROBERTA_ROWS = [
  [0, 15, 37, 88, 2],
  [0, 44, 2],
  [0, 9, 61, 70, 12, 99, 5, 17, 40, 2]
]
/** A real token with the padding id: Hugging Face gives it position padding_idx and attends to it. */
const ROBERTA_ROW_WITH_PAD_ID = [0, 33, 1, 71, 2]

let scratch = ""
const folder = async (name: string): Promise<string> => {
  const dir = join(scratch, name)
  await mkdir(dir, { recursive: true })
  return dir
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "carl-bert-checkpoint-"))
})
after(async () => {
  await rm(scratch, { recursive: true, force: true })
})

const load = (dir: string, options: LoadBertOptions = { trainable: false }) =>
  Effect.runPromise(loadBertDirectory(dir, options))

const SMALL: BertConfig = {
  modelType: "bert",
  vocabSize: 100,
  hiddenSize: 64,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 128,
  maxPositionEmbeddings: 40,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  padTokenId: 0,
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1
}
const SMALL_ROBERTA: BertConfig = { ...SMALL, modelType: "roberta", typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1 }

/** BertEncoder.random with its weights spread wider (N(0, 0.2), LayerNorm 1 ± 0.1) so mistakes show. */
const spreadRandomEncoder = (config: BertConfig, seed: number): BertEncoder => {
  const random = new SeededRandom(seed)
  const encoder = BertEncoder.random(config, random.fork("init"), { trainable: false })
  for (const [name, variable] of encoder.parameters.entries()) {
    const noise = random.normalArray(variable.size, name.includes("LayerNorm") ? 0.1 : 0.2)
    if (name.includes("LayerNorm.weight")) noise.forEach((value, i) => (noise[i] = 1 + value))
    tf.tidy(() => variable.assign(tf.tensor(noise, variable.shape)))
  }
  return encoder
}

interface Reference {
  readonly dir: string
  /** Sentences for the full comparison, and the subset torch_carl.py embed computes as Hugging Face does. */
  readonly rows: Rows
  readonly embedRows: Rows
  readonly torch: Array<TorchRow>
  readonly embedded: Embedded
}

const REFERENCE_LABELS = ["BERT by torch_carl.py", "RoBERTa by torch_carl.py", "BERT saved by carl", "RoBERTa saved by carl"]

/**
 * torch_carl.py makes a BERT (bare names) and a RoBERTa (roberta. prefix); carl saves a random
 * BERT and RoBERTa of its own; PyTorch computes all four (in REFERENCE_LABELS order), once.
 */
let referencesOnce: Promise<Array<Reference> | string> | undefined
const torchReferences = (): Promise<Array<Reference> | string> =>
  (referencesOnce ??= (async () => {
    if (referenceMissing !== undefined) return referenceMissing
    const torchBert = join(scratch, "torch-bert")
    const torchRoberta = join(scratch, "torch-roberta")
    const carlDirs: Array<string> = []
    for (const config of [SMALL, SMALL_ROBERTA]) {
      const encoder = spreadRandomEncoder(config, config.modelType === "bert" ? 11 : 12)
      const dir = join(scratch, `carl-saved-${config.modelType}`)
      await Effect.runPromise(saveBertDirectory(encoder, dir))
      encoder.parameters.dispose()
      carlDirs.push(dir)
    }
    const [carlBert = "", carlRoberta = ""] = carlDirs
    const robertaRows = [...ROBERTA_ROWS, ROBERTA_ROW_WITH_PAD_ID]
    const specs = [
      { dir: torchBert, rows: BERT_ROWS, embedRows: BERT_ROWS, poolings: ["cls", "mean"] as const },
      { dir: torchRoberta, rows: robertaRows, embedRows: ROBERTA_ROWS, poolings: ["cls", "mean"] as const },
      { dir: carlBert, rows: BERT_ROWS, embedRows: BERT_ROWS, poolings: ["cls"] as const },
      { dir: carlRoberta, rows: ROBERTA_ROWS, embedRows: ROBERTA_ROWS, poolings: ["mean"] as const }
    ]
    const jobs = await Promise.all(specs.map(async (spec) => ({ ...spec, embedIds: await writeJson(spec.embedRows) })))
    const results = await runTorchReference({ make: [makeBertArgs(torchBert, false), makeBertArgs(torchRoberta, true)], jobs })
    if (typeof results === "string") return results
    return specs.map((spec, i) => ({ ...spec, torch: results[i]?.torch ?? [], embedded: results[i]?.embedded ?? {} }))
  })())

describe("checkpoint: carl computes what Hugging Face computes", () => {
  forEachBackend("exactness", (backend) => {
    for (const [index, label] of REFERENCE_LABELS.entries()) {
      test(`${label}: last hidden states at real positions of a padded batch, cls, pooler, mean`, async (t) => {
        const references = await torchReferences()
        if (typeof references === "string") return t.skip(`PyTorch reference unavailable: ${references}`)
        const reference = references[index]
        assert.ok(reference !== undefined)
        const { encoder } = await load(reference.dir)
        const numTensors = tf.memory().numTensors
        const worst = compareWithTorch(encoder, reference.rows, reference.torch)
        const embed = compareWithTorchEmbed(encoder, reference.embedRows, reference.embedded)
        assert.equal(tf.memory().numTensors, numTensors, "the forward leaks no tensors")
        t.diagnostic(`${describeDifferences(`${label} [${backend}]`, worst)}; torch_carl.py embed ${embed.toExponential(2)}`)
        encoder.parameters.dispose()
      })
    }
  })

  test("torch-made BERT and RoBERTa: load → save → load is bit-identical", async (t) => {
    const references = await torchReferences()
    if (typeof references === "string") return t.skip(`PyTorch reference unavailable: ${references}`)
    for (const reference of references.slice(0, 2)) {
      const first = await load(reference.dir)
      const dir = `${reference.dir}-resaved`
      await Effect.runPromise(saveBertDirectory(first.encoder, dir, { rawConfig: first.rawConfig }))
      const second = await load(dir)
      assertSameBits(first.encoder.parameters, second.encoder.parameters)
      first.encoder.parameters.dispose()
      second.encoder.parameters.dispose()
    }
  })
})

describe("checkpoint: RoBERTa positions (Hugging Face's create_position_ids_from_input_ids)", () => {
  test("derived by hand: padding ids, not the attention mask, decide", () => {
    const ids = tf.tensor2d([[0, 5, 1, 7, 2, 1, 1]], [1, 7], "int32")
    const roberta = positionIds(SMALL_ROBERTA, ids)
    const bert = positionIds(SMALL, ids)
    // real = [1,1,0,1,1,0,0]; cumsum·real = [1,2,0,3,4,0,0]; + padding_idx 1
    assert.deepEqual(roberta.arraySync(), [[2, 3, 1, 4, 5, 1, 1]])
    assert.deepEqual(bert.arraySync(), [[0, 1, 2, 3, 4, 5, 6]])
    tf.dispose([ids, roberta, bert])
  })
})

/** Every parameter's float32 bytes, equal between two sets with the same names. */
const assertSameBits = (a: ParameterSet, b: ParameterSet) => {
  assert.deepEqual([...a.names()].sort(), [...b.names()].sort())
  for (const [name, variable] of a.entries()) {
    const other = b.get(name)
    assert.deepEqual(other.shape, variable.shape, name)
    const left = variable.dataSync() as Float32Array
    const right = other.dataSync() as Float32Array
    assert.ok(Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(Buffer.from(right.buffer, right.byteOffset, right.byteLength)), `${name} differs`)
  }
}

const rawConfigOf = (config: BertConfig): Record<string, unknown> => ({
  architectures: [config.modelType === "roberta" ? "RobertaForMaskedLM" : "BertForMaskedLM"],
  ...bertConfigJson(config),
  // Fields carl does not use, which a save must keep.
  position_embedding_type: "absolute",
  initializer_range: 0.02,
  transformers_version: "4.44.0",
  torch_dtype: "float16"
})

/** Checkpoint tensors in PyTorch layout ([out, in] Linear weights), random, under HF names. */
const torchLayoutTensors = (config: BertConfig, seed: number): Array<readonly [string, FloatTensorData]> => {
  const random = new SeededRandom(seed)
  return bertWeightShapes(config).map(([name, shape]) => {
    const torchShape = isLinearWeight(name) ? [...shape].reverse() : shape
    const values = random.normalArray(torchShape.reduce((a, b) => a * b, 1), 0.2)
    return [name, { shape: torchShape, values }] as const
  })
}

interface FixtureOptions {
  readonly prefix?: string
  readonly dtype?: WritableDtype
  readonly raw?: Record<string, unknown>
  readonly tensors?: Array<readonly [string, FloatTensorData]>
}

/** A Hugging Face folder written by hand, as a *ForMaskedLM checkpoint with a head would be. */
const writeFixture = async (dir: string, config: BertConfig, options: FixtureOptions = {}) => {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, "config.json"), JSON.stringify(options.raw ?? rawConfigOf(config), null, 2))
  const prefix = options.prefix ?? ""
  const tensors = (options.tensors ?? torchLayoutTensors(config, 5)).map(([name, data]) => [`${prefix}${name}`, data] as const)
  const head = prefix === "roberta." ? "lm_head.bias" : "cls.predictions.bias"
  tensors.push([head, { shape: [config.vocabSize], values: new Float32Array(config.vocabSize).fill(0.5) }])
  await Effect.runPromise(
    writeSafetensors(join(dir, "model.safetensors"), tensors, {
      metadata: { format: "pt" },
      ...(options.dtype === undefined ? {} : { dtype: options.dtype })
    })
  )
  return tensors
}

describe("checkpoint: load → save → load", () => {
  before(async () => {
    await tf.setBackend("cpu")
  })

  test("F32, bert. prefix and a head: every value lands transposed where Linear, bit-exact", async () => {
    const dir = await folder("f32-source")
    const source = await writeFixture(dir, SMALL, { prefix: "bert." })
    const { encoder } = await load(dir)
    for (const [prefixed, { shape, values }] of source) {
      const name = prefixed.replace(/^bert\./, "")
      if (!encoder.parameters.has(name)) {
        assert.equal(prefixed, "cls.predictions.bias", `unexpected unloaded tensor ${prefixed}`)
        continue
      }
      const loaded = encoder.parameters.get(name)
      if (isLinearWeight(name)) {
        const [out, inp] = shape as [number, number]
        assert.deepEqual(loaded.shape, [inp, out], name)
        const got = loaded.dataSync()
        for (let o = 0; o < out; o += 7) for (let i = 0; i < inp; i += 5) assert.equal(got[i * out + o], values[o * inp + i], name)
      } else {
        assert.deepEqual(loaded.shape, [...shape], name)
        assert.deepEqual(loaded.dataSync(), values, name)
      }
    }
    encoder.parameters.dispose()
  })

  test("F32: saved folder keeps the raw config, copies tokenizer files, loads back bit-identical", async () => {
    const source = await folder("f32-roundtrip")
    await writeFixture(source, SMALL_ROBERTA, { prefix: "roberta." })
    await writeFile(join(source, "vocab.json"), '{"<s>": 0}')
    await writeFile(join(source, "tokenizer_config.json"), '{"model_max_length": 512}')
    await writeFile(join(source, "training_args.bin"), "not a tokenizer file")
    const first = await load(source)
    const target = join(scratch, "f32-roundtrip-saved")
    await Effect.runPromise(saveBertDirectory(first.encoder, target, { rawConfig: first.rawConfig, copyFrom: source }))
    assert.deepEqual((await readdir(target)).sort(), ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.json"])
    assert.equal(await readFile(join(target, "vocab.json"), "utf8"), '{"<s>": 0}')

    const saved = JSON.parse(await readFile(join(target, "config.json"), "utf8")) as Record<string, unknown>
    assert.deepEqual(saved.architectures, ["RobertaForMaskedLM"])
    assert.equal(saved.transformers_version, "4.44.0")
    assert.equal(saved.initializer_range, 0.02)
    assert.equal(saved.torch_dtype, "float32")
    assert.equal(saved.layer_norm_eps, 1e-5)

    const file = await Effect.runPromise(readSafetensors(join(target, "model.safetensors")))
    assert.deepEqual(file.metadata, { format: "pt" })
    assert.ok([...file.tensors.keys()].every((name) => !name.startsWith("roberta.") && !name.startsWith("lm_head")))
    assert.deepEqual(file.tensors.get("encoder.layer.0.intermediate.dense.weight")?.shape, [128, 64], "Linear saved [out, in]")

    const second = await load(target)
    assertSameBits(first.encoder.parameters, second.encoder.parameters)
    first.encoder.parameters.dispose()
    second.encoder.parameters.dispose()
  })

  for (const dtype of ["F16", "BF16"] as const) {
    test(`${dtype}: loads the exact widened values; saved as F32 it loads back bit-identical`, async () => {
      const source = await folder(`${dtype}-source`)
      const written = await writeFixture(source, SMALL, { dtype })
      const first = await load(source)
      const round = dtype === "F16" ? toHalfBits : toBfloat16Bits
      const check = await Effect.runPromise(readSafetensors(join(source, "model.safetensors")))
      for (const [name, { values }] of written) {
        if (!first.encoder.parameters.has(name) || isLinearWeight(name)) continue
        const loaded = first.encoder.parameters.get(name).dataSync()
        const entry = check.tensors.get(name)
        assert.ok(entry !== undefined)
        assert.deepEqual(loaded, Effect.runSync(floatValues(entry, source)), name)
        loaded.forEach((value, i) => assert.equal(round(value), round(values[i] as number), name))
      }
      const target = join(scratch, `${dtype}-saved-f32`)
      await Effect.runPromise(saveBertDirectory(first.encoder, target, { rawConfig: first.rawConfig }))
      const file = await Effect.runPromise(readSafetensors(join(target, "model.safetensors")))
      assert.ok([...file.tensors.values()].every((entry) => entry.dtype === "F32"))
      const second = await load(target)
      assertSameBits(first.encoder.parameters, second.encoder.parameters)
      first.encoder.parameters.dispose()
      second.encoder.parameters.dispose()
    })
  }

  test("saving over an existing checkpoint replaces its files and leaves other files and no temporaries", async () => {
    const dir = await folder("overwrite")
    await writeFile(join(dir, "optimizer-state.json"), "{}")
    const a = spreadRandomEncoder(SMALL, 21)
    const b = spreadRandomEncoder(SMALL, 22)
    await Effect.runPromise(saveBertDirectory(a, dir))
    await Effect.runPromise(saveBertDirectory(b, dir))
    assert.deepEqual((await readdir(dir)).sort(), ["config.json", "model.safetensors", "optimizer-state.json"])
    const back = await load(dir)
    assertSameBits(b.parameters, back.encoder.parameters)
    for (const encoder of [a, b, back.encoder]) encoder.parameters.dispose()
  })

  test("the weight list matches what BertEncoder.random makes", () => {
    const made = initBertWeights(new SeededRandom(1), SMALL)
    assert.deepEqual(
      made.map(([name, tensor]) => [name, tensor.shape]),
      bertWeightShapes(SMALL).map(([name, shape]) => [name, [...shape]])
    )
    tf.dispose(made.map(([, tensor]) => tensor))
  })
})

describe("checkpoint: bad input gives one error naming the file and the field or tensor", () => {
  const loadError = async (dir: string, options: LoadBertOptions = { trainable: false }) => {
    const numTensors = tf.memory().numTensors
    const error = await Effect.runPromise(Effect.flip(loadBertDirectory(dir, options)))
    assert.equal(tf.memory().numTensors, numTensors, "a failed load leaves no tensors behind")
    return error
  }

  const configError = async (dir: string, field: string, problem: RegExp) => {
    const error = await loadError(dir)
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.equal(error.source, join(dir, "config.json"))
    assert.equal(error.field, field)
    assert.match(error.message, problem)
    assert.ok(error.message.startsWith(join(dir, "config.json")), error.message)
  }

  const weightsError = async (dir: string, tensor: string, problem: RegExp, file = join(dir, "model.safetensors")) => {
    const error = await loadError(dir)
    assert.ok(error instanceof SafetensorsError, `expected a SafetensorsError, got ${String(error)}`)
    assert.equal(error.file, file)
    assert.equal(error.tensor, tensor)
    assert.match(error.message, problem)
  }

  const withConfig = async (name: string, edit: (raw: Record<string, unknown>) => void) => {
    const dir = await folder(name)
    const raw = rawConfigOf(SMALL)
    edit(raw)
    await writeFixture(dir, SMALL, { raw })
    return dir
  }

  /** A valid folder whose safetensors header is then edited as JSON (the data left as it is). */
  const withHeader = async (name: string, edit: (header: Record<string, { dtype: string; shape: Array<number>; data_offsets: [number, number] }>) => void) => {
    const dir = await folder(name)
    await writeFixture(dir, SMALL)
    const path = join(dir, "model.safetensors")
    const bytes = await readFile(path)
    const length = Number(bytes.readBigUInt64LE(0))
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as Parameters<typeof edit>[0]
    edit(header)
    const text = Buffer.from(JSON.stringify(header))
    const prefix = Buffer.alloc(8)
    prefix.writeBigUInt64LE(BigInt(text.length))
    await writeFile(path, Buffer.concat([prefix, text, bytes.subarray(8 + length)]))
    return dir
  }

  test("missing config.json", async () => {
    const dir = await folder("no-config")
    await configError(dir, "", /cannot read the file \(ENOENT\)/)
  })

  test("malformed config.json", async () => {
    const dir = await folder("bad-json")
    await writeFile(join(dir, "config.json"), '{"model_type": "bert",')
    await configError(dir, "", /not valid JSON/)
  })

  test("a missing field", async () => {
    await configError(await withConfig("no-hidden-size", (raw) => delete raw.hidden_size), "hidden_size", /Missing key/)
  })

  test("a field of the wrong type", async () => {
    await configError(await withConfig("string-layers", (raw) => (raw.num_hidden_layers = "2")), "num_hidden_layers", /Expected number, got "2"/)
  })

  test("hidden_size not divisible by num_attention_heads", async () => {
    await configError(await withConfig("heads", (raw) => (raw.num_attention_heads = 5)), "hidden_size", /64 is not a multiple of num_attention_heads \(5\)/)
  })

  test("an activation other than GELU", async () => {
    await configError(await withConfig("relu", (raw) => (raw.hidden_act = "relu")), "hidden_act", /got "relu".*GELU/)
  })

  test("a model type carl does not compute", async () => {
    await configError(await withConfig("gpt2", (raw) => (raw.model_type = "gpt2")), "model_type", /"bert" \| "roberta"/)
  })

  test("a shape that disagrees with the config", async () => {
    const dir = await withConfig("wrong-ffn", (raw) => (raw.intermediate_size = 96))
    await weightsError(dir, "encoder.layer.0.intermediate.dense.weight", /shape \[128, 64\], but config\.json implies \[96, 64\]/)
  })

  test("missing model.safetensors, with a hint when pytorch_model.bin is there", async () => {
    const dir = await withConfig("no-weights", () => undefined)
    await rm(join(dir, "model.safetensors"))
    await weightsError(dir, "", /model\.safetensors: missing$/)
    await writeFile(join(dir, "pytorch_model.bin"), "pickle")
    await weightsError(dir, "", /pytorch_model\.bin.*safe_serialization=True/)
  })

  test("a safetensors header length beyond the file", async () => {
    const dir = await withConfig("header-length", () => undefined)
    const path = join(dir, "model.safetensors")
    const bytes = await readFile(path)
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0)
    await writeFile(path, bytes)
    await weightsError(dir, "", /header length \d+ is beyond the end of the file/)
  })

  test("offsets outside the file", async () => {
    const dir = await withHeader("offsets", (header) => {
      const entry = header["pooler.dense.bias"]
      assert.ok(entry !== undefined)
      entry.data_offsets = [entry.data_offsets[0] + 1_000_000, entry.data_offsets[1] + 1_000_000]
    })
    await weightsError(dir, "pooler.dense.bias", /lie outside the data/)
  })

  test("an unknown dtype", async () => {
    const dir = await withHeader("dtype", (header) => {
      const entry = header["embeddings.LayerNorm.weight"]
      assert.ok(entry !== undefined)
      entry.dtype = "F24"
    })
    await weightsError(dir, "embeddings.LayerNorm.weight", /unknown dtype 'F24'/)
  })

  test("a dtype carl does not read as weights", async () => {
    const dir = await withHeader("int-weights", (header) => {
      const entry = header["embeddings.LayerNorm.bias"]
      assert.ok(entry !== undefined)
      entry.dtype = "I32"
    })
    await weightsError(dir, "embeddings.LayerNorm.bias", /dtype I32 is not a float type/)
  })

  test("a missing tensor", async () => {
    const dir = await folder("missing-tensor")
    await writeFixture(dir, SMALL, {
      tensors: torchLayoutTensors(SMALL, 5).filter(([name]) => name !== "encoder.layer.1.attention.self.key.bias")
    })
    await weightsError(dir, "encoder.layer.1.attention.self.key.bias", /missing/)
  })

  test("a tensor of another architecture inside the encoder", async () => {
    const dir = await folder("extra-tensor")
    const tensors = torchLayoutTensors(SMALL, 5)
    tensors.push(["encoder.layer.0.attention.self.distance_embedding.weight", { shape: [2], values: new Float32Array(2) }])
    await writeFixture(dir, SMALL, { tensors })
    await weightsError(dir, "encoder.layer.0.attention.self.distance_embedding.weight", /a different architecture/)
  })

  test("the same weight with and without the bert. prefix", async () => {
    const dir = await folder("twice")
    const tensors = torchLayoutTensors(SMALL, 5)
    tensors.push(["bert.pooler.dense.bias", { shape: [64], values: new Float32Array(64) }])
    await writeFixture(dir, SMALL, { tensors })
    const error = await loadError(dir)
    assert.ok(error instanceof SafetensorsError)
    assert.match(error.message, /under another prefix/)
  })

  test("no pooler: an error with the way out, or a fresh pooler when asked for", async () => {
    const dir = await folder("no-pooler")
    await writeFixture(dir, SMALL, { tensors: torchLayoutTensors(SMALL, 5).filter(([name]) => !name.startsWith("pooler.")) })
    await weightsError(dir, "pooler.dense.weight", /missing \(no pooler: pass poolerIfMissing/)
    const { encoder } = await load(dir, { trainable: true, poolerIfMissing: new SeededRandom(3) })
    assert.deepEqual(encoder.parameters.get("pooler.dense.weight").shape, [64, 64])
    assert.ok(encoder.parameters.trainable)
    encoder.parameters.dispose()
  })

  test("a sharded checkpoint (model.safetensors.index.json) loads like a single file", async () => {
    const dir = await folder("sharded")
    const tensors = torchLayoutTensors(SMALL, 5)
    await writeFixture(dir, SMALL, { tensors })
    const single = await load(dir)
    await rm(join(dir, "model.safetensors"))
    const half = Math.floor(tensors.length / 2)
    const shards = [tensors.slice(0, half), tensors.slice(half)] as const
    const weightMap: Record<string, string> = {}
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`
      await Effect.runPromise(writeSafetensors(join(dir, file), shard))
      for (const [name] of shard) weightMap[name] = file
    }
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }))
    const sharded = await load(dir)
    assertSameBits(single.encoder.parameters, sharded.encoder.parameters)
    single.encoder.parameters.dispose()
    sharded.encoder.parameters.dispose()
  })
})
