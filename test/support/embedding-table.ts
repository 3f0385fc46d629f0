/**
 * A TextEncoder whose "vocabulary" is whole sentences: each known text tokenizes to one id, its
 * row in a table of embeddings computed earlier, and the encoder looks the row up. Evaluators
 * take a TextEncoder and call embedTexts on it; handing them this one runs every evaluator
 * (vaRegressionEvaluator included, unchanged) on cached embeddings without a forward pass.
 */
import { NO_DROPOUT } from "../../core/dropout.ts"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { ParameterSet } from "../../core/parameters.ts"
import type { Pooling } from "../../plugins/encoders/index.ts"
import type { Encoder } from "../../plugins/encoders/index.ts"
import { ModelLoadError, type TextEncoder } from "../../plugins/encoders/load-text-encoder.ts"

export interface EmbeddingTableEncoder extends TextEncoder {
  /** Frees the table. */
  dispose(): void
}

const TABLE = "table"

class EmbeddingTable implements Encoder {
  readonly dropoutRates = NO_DROPOUT
  readonly kind = "embedding-table"

  constructor(
    readonly parameters: ParameterSet,
    readonly hiddenSize: number,
    private readonly pooling: Pooling
  ) {}

  embedTokens(tokenIds: tf.Tensor2D): tf.Tensor3D {
    return tf.gather(this.parameters.get(TABLE), tokenIds) as tf.Tensor3D
  }

  encode(tokenEmbeddings: tf.Tensor3D): tf.Tensor3D {
    return tf.clone(tokenEmbeddings)
  }

  pool(hiddenStates: tf.Tensor3D, _attentionMask: tf.Tensor2D, pooling: Pooling): tf.Tensor2D {
    if (pooling !== this.pooling) throw new Error(`these embeddings were pooled with '${this.pooling}', not '${pooling}'`)
    const [batch, , hidden] = hiddenStates.shape
    return tf.reshape(hiddenStates, [batch, hidden])
  }

  copy(): Encoder {
    throw new Error("an embedding table is not a trainable encoder")
  }
}

/**
 * `entries`: texts with their vectors (several lists may share texts; the same text must carry
 * the same vector, which a deterministic encoder gives).
 */
export const embeddingTableEncoder = (
  name: string,
  entries: ReadonlyArray<{ readonly texts: ReadonlyArray<string>; readonly vectors: ReadonlyArray<Float32Array> }>,
  settings: { readonly pooling: Pooling; readonly maxLength: number }
): EmbeddingTableEncoder => {
  const rows = new Map<string, number>()
  const vectors: Array<Float32Array> = []
  for (const entry of entries) {
    if (entry.texts.length !== entry.vectors.length) throw new Error(`embedding table: ${entry.texts.length} texts against ${entry.vectors.length} vectors`)
    entry.texts.forEach((text, i) => {
      if (rows.has(text)) return
      rows.set(text, vectors.length)
      vectors.push(entry.vectors[i] as Float32Array)
    })
  }
  const width = vectors[0]?.length ?? 0
  const flat = new Float32Array(vectors.length * width)
  vectors.forEach((vector, i) => {
    if (vector.length !== width) throw new Error(`embedding table: vectors of ${vector.length} and ${width} dimensions`)
    flat.set(vector, i * width)
  })
  const table = tf.tensor2d(flat, [vectors.length, width])
  const parameters = ParameterSet.fromTensors([[TABLE, table]], { trainable: false })
  table.dispose()
  const rowOf = (text: string): number => {
    const row = rows.get(text)
    if (row === undefined) throw new Error(`no embedding computed for the text ${JSON.stringify(text.slice(0, 60))}`)
    return row
  }
  return {
    name,
    encoder: new EmbeddingTable(parameters, width, settings.pooling),
    maxLength: settings.maxLength,
    tokenizer: {
      padId: 0,
      encodeRows: (texts) => ({ rows: texts.map((text) => Int32Array.of(rowOf(text))), truncated: 0 }),
      encodeBatch: (texts) => {
        const ids = Int32Array.from(texts, rowOf)
        return { ids, attentionMask: new Float32Array(texts.length).fill(1), batch: texts.length, seqLength: 1, truncated: 0 }
      }
    },
    save: (dir) => Effect.fail(new ModelLoadError({ model: dir, problem: "an embedding table has no weights to save" })),
    dispose: () => parameters.dispose()
  }
}
