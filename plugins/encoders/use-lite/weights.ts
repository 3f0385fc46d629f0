/**
 * USE-lite's trainable weights under carl names, and the one table that maps each to its name in
 * the package's weightsManifest (ARCHITECTURE.md §4). Kernels are [in, out] and used as x·W; the
 * graph's 1×1 Conv2D kernels [1, 1, in, out] are stored here as the dense kernels [in, out] they are.
 * The manifest's remaining entries are graph constants (scales, ε, shapes, the timing-signal
 * frequencies) that forward.ts and timing-signal.ts hold as numbers instead.
 */
import * as tf from "@tensorflow/tfjs"
import { UseLiteFileError, type UseLiteArtifacts } from "./artifacts.ts"
import {
  USE_LITE_EMBEDDING_SIZE,
  USE_LITE_HIDDEN_SIZE,
  USE_LITE_INTERMEDIATE_SIZE,
  USE_LITE_LAYERS,
  USE_LITE_VOCAB_ROWS
} from "./config.ts"

export const layerPrefix = (index: number) => `layer.${index}`

interface WeightSource {
  readonly name: string
  readonly manifestName: string
  readonly shape: ReadonlyArray<number>
}

const APPLY = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
const STACK = `${APPLY}TransformerStack/`
const MODULE = "module/Encoder_en/KonaTransformer/Encode/"

const layerSources = (index: number): Array<WeightSource> => {
  const layer = USE_LITE_LAYERS[index]
  if (layer === undefined) throw new Error(`USE-lite has no layer ${index}`)
  const carl = layerPrefix(index)
  const apply = `${APPLY}Layer_${index}/TransformerLayer/`
  const stack = `${STACK}Layer_${index}/TransformerLayer/`
  const module = `${MODULE}Layer_${index}/TransformerLayer/`
  const d = layer.inputSize
  const a = layer.attentionSize
  const norm = (carlName: string, graphPrefix: string, size: number): Array<WeightSource> => [
    { name: `${carlName}.weight`, manifestName: `${graphPrefix}layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, shape: [size] },
    { name: `${carlName}.bias`, manifestName: `${graphPrefix}layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, shape: [size] }
  ]
  return [
    ...(layer.projectResidual
      ? [
          { name: `${carl}.residual.weight`, manifestName: `${apply}dense/kernel/ConcatPartitions/concat`, shape: [d, USE_LITE_HIDDEN_SIZE] },
          { name: `${carl}.residual.bias`, manifestName: `${apply}dense/bias/ConcatPartitions/concat`, shape: [USE_LITE_HIDDEN_SIZE] }
        ]
      : []),
    ...norm(`${carl}.attention.layer_norm`, apply, d),
    { name: `${carl}.attention.qkv.weight`, manifestName: `${module}MultiheadAttention/qkv_transform_single/kernel/part_0`, shape: [d, 3 * a] },
    { name: `${carl}.attention.qkv.bias`, manifestName: `${apply}MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, shape: [3 * a] },
    { name: `${carl}.attention.output.weight`, manifestName: `${module}MultiheadAttention/output_transform_single/kernel/part_0`, shape: [a, USE_LITE_HIDDEN_SIZE] },
    { name: `${carl}.attention.output.bias`, manifestName: `${apply}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, shape: [USE_LITE_HIDDEN_SIZE] },
    ...norm(`${carl}.ffn.layer_norm`, `${apply}FFN/`, USE_LITE_HIDDEN_SIZE),
    { name: `${carl}.ffn.conv1.weight`, manifestName: `${stack}FFN/conv1/Tensordot/Reshape_1`, shape: [USE_LITE_HIDDEN_SIZE, USE_LITE_INTERMEDIATE_SIZE] },
    { name: `${carl}.ffn.conv1.bias`, manifestName: `${apply}FFN/conv1/bias/ConcatPartitions/concat`, shape: [USE_LITE_INTERMEDIATE_SIZE] },
    { name: `${carl}.ffn.conv2.weight`, manifestName: `${stack}FFN/conv2/Tensordot/Reshape_1`, shape: [USE_LITE_INTERMEDIATE_SIZE, USE_LITE_HIDDEN_SIZE] },
    { name: `${carl}.ffn.conv2.bias`, manifestName: `${apply}FFN/conv2/bias/ConcatPartitions/concat`, shape: [USE_LITE_HIDDEN_SIZE] }
  ]
}

/** carl name ← manifest name, with the shape carl uses. */
export const USE_LITE_WEIGHTS: ReadonlyArray<WeightSource> = [
  { name: "embeddings.weight", manifestName: "module/Embeddings_en", shape: [USE_LITE_VOCAB_ROWS, USE_LITE_EMBEDDING_SIZE] },
  ...USE_LITE_LAYERS.flatMap((_, index) => layerSources(index)),
  { name: "head.weight", manifestName: "module/Encoder_en/hidden_layers/tanh_layer_0/weights", shape: [USE_LITE_HIDDEN_SIZE, USE_LITE_HIDDEN_SIZE] },
  { name: "head.bias", manifestName: "module/Encoder_en/hidden_layers/tanh_layer_0/bias", shape: [USE_LITE_HIDDEN_SIZE] }
]

/** The stored shape matches if it is the expected one, or it with leading 1s (the 1×1 conv kernels). */
const storedAs = (stored: ReadonlyArray<number>, expected: ReadonlyArray<number>): boolean => {
  const extra = stored.length - expected.length
  return extra >= 0 && stored.every((size, i) => (i < extra ? size === 1 : size === expected[i - extra]))
}

/**
 * The weights decoded from the shards (tf.io.decodeWeights, which dequantizes if the manifest
 * says so), under carl names. Manifest entries not in USE_LITE_WEIGHTS are decoded and disposed.
 */
export const decodeUseLiteWeights = (artifacts: UseLiteArtifacts): Array<readonly [string, tf.Tensor]> => {
  const manifestFile = `${artifacts.directory}/model.json`
  const decoded = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs)
  try {
    return tf.tidy(() =>
      USE_LITE_WEIGHTS.map(({ name, manifestName, shape }) => {
        const tensor = decoded[manifestName]
        if (tensor === undefined) throw new UseLiteFileError({ file: manifestFile, problem: `no weight named ${manifestName}` })
        if (tensor.dtype !== "float32" || !storedAs(tensor.shape, shape)) {
          throw new UseLiteFileError({
            file: manifestFile,
            problem: `${manifestName} is ${tensor.dtype} [${tensor.shape.join(",")}], expected float32 [${shape.join(",")}]`
          })
        }
        return [name, tf.reshape(tensor, [...shape])] as const
      })
    )
  } finally {
    tf.dispose(Object.values(decoded))
  }
}
