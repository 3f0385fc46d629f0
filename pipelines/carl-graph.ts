/**
 * The CARL training step as a graph (Fig. 1 of the paper):
 *
 *   online:   ids → e → encoder → pool → projection → prediction p
 *   target:   ids → target encoder → pool → target projection z       (EMA of online, Eqs. 1–2)
 *   MCCL:     p, z, va labels → L_MCCL                                  (Eqs. 3–6)
 *   saliency: ‖∂L_MCCL/∂e_t‖ → top 10% tokens per sentence              (Eq. 7)
 *   PGD:      δ inside a per-token ε-ball on those tokens               (Eqs. 8–9)
 *   PTD:      encoder(e + δ) → token head → focal loss                  (Eq. 10)
 *   total:    0.8·L_MCCL + 0.2·L_PTD                                    (Eq. 11)
 */
import type * as tf from "@tensorflow/tfjs"
import type { CarlConfig } from "../plugins/carl/config.ts"
import { GraphBuilder, type Graph } from "../core/graph.ts"
import type { ParameterSet } from "../core/parameters.ts"
import { withPorts } from "../core/plugin.ts"
import { Ports } from "../plugins/carl/ports.ts"
import type { SeededRandom } from "../core/random.ts"
import { embedTokens, encode, pool, targetEncoderPlugins, type EncoderDropout } from "../plugins/carl/encoder.ts"
import { type Encoder } from "../plugins/encoders/index.ts"
import { initMlpHead, initVaRegressionHead, mlpHead, vaRegressionHead } from "../plugins/carl/heads/index.ts"
import { mccl } from "../plugins/carl/mccl/index.ts"
import { momentumUpdater } from "../plugins/carl/momentum/index.ts"
import { objective } from "../plugins/carl/objective/index.ts"
import { initTokenHead, perturbedTokenDetection, tokenHead } from "../plugins/carl/ptd/index.ts"
import { perturbEmbeddings, pgd, saliencySelection } from "../plugins/carl/saliency-pgd/index.ts"

/** Every weight a CARL run trains or tracks. */
export interface CarlModel {
  readonly online: Encoder
  readonly target: Encoder
  readonly projection: ParameterSet
  readonly targetProjection: ParameterSet
  readonly prediction: ParameterSet
  readonly tokenHead: ParameterSet
  /** Only the plain baseline trains it. */
  readonly vaHead: ParameterSet
}

/** The weight sets by the names checkpoints use. */
export const carlParameterSets = (model: CarlModel): ReadonlyArray<readonly [string, ParameterSet]> => [
  ["online", model.online.parameters],
  ["target", model.target.parameters],
  ["projection", model.projection],
  ["targetProjection", model.targetProjection],
  ["prediction", model.prediction],
  ["tokenHead", model.tokenHead],
  ["vaHead", model.vaHead]
]

export const createCarlModel = (online: Encoder, config: CarlConfig, random: SeededRandom): CarlModel => {
  const hidden = online.hiddenSize
  const projectionSize = config.model.projectionSize
  const projection = initMlpHead(
    random.fork("projection"),
    { inFeatures: hidden, hiddenFeatures: hidden, outFeatures: projectionSize },
    { trainable: true }
  )
  return {
    online,
    target: online.copy({ trainable: false }),
    projection,
    targetProjection: projection.copy({ trainable: false }),
    prediction: initMlpHead(
      random.fork("prediction"),
      { inFeatures: projectionSize, hiddenFeatures: projectionSize, outFeatures: projectionSize },
      { trainable: true }
    ),
    tokenHead: initTokenHead(random.fork("token-head"), hidden),
    vaHead: initVaRegressionHead(random.fork("va-head"), hidden)
  }
}

export const disposeCarlModel = (model: CarlModel): void => {
  for (const [, set] of carlParameterSets(model)) set.dispose()
}

/** The graph's inputs: one batch. */
export const carlInputs = [Ports.tokenIds, Ports.attentionMask, Ports.vaLabels] as const

export interface CarlBatch {
  readonly tokenIds: tf.Tensor2D
  readonly attentionMask: tf.Tensor2D
  readonly vaLabels: tf.Tensor2D
}

/** Dropout streams: each forward pass of a step draws its own masks. */
const DROPOUT_STREAMS = { online: 1, perturbed: 2, target: 3 } as const

/** The dropout of one forward pass (model.dropout: the encoder's own rates, or one rate for both). */
const encoderDropout = (encoder: Encoder, config: CarlConfig, stream: keyof typeof DROPOUT_STREAMS): EncoderDropout => ({
  rates: config.model.dropout === "checkpoint" ? encoder.dropoutRates : { hidden: config.model.dropout, attention: config.model.dropout },
  seed: config.seed,
  stream: DROPOUT_STREAMS[stream]
})

const onlineBranch = (model: CarlModel, config: CarlConfig) =>
  GraphBuilder.from(...carlInputs)
    .add(embedTokens(model.online))
    .add(encode(model.online, "encode", encoderDropout(model.online, config, "online")))
    .add(pool(model.online, config.model.pooling))

/** MCCL (Eqs. 1–6): the online branch, its heads, the momentum target, the loss, the EMA. */
export const mcclGraphBuilder = (model: CarlModel, config: CarlConfig) => {
  const targetDropout = config.model.targetDropout ? encoderDropout(model.target, config, "target") : undefined
  const [targetEmbed, targetEncode, targetPool] = targetEncoderPlugins(model.target, config.model.pooling, targetDropout)
  return onlineBranch(model, config)
    .add(mlpHead({ name: "projection", parameters: model.projection, input: Ports.sentenceEmbedding, output: Ports.onlineProjection }))
    .add(mlpHead({ name: "prediction", parameters: model.prediction, input: Ports.onlineProjection, output: Ports.onlinePrediction }))
    .add(targetEmbed)
    .add(targetEncode)
    .add(targetPool)
    .add(
      mlpHead({
        name: "target-projection",
        parameters: model.targetProjection,
        input: Ports.targetSentenceEmbedding,
        output: Ports.targetEmbedding
      })
    )
    .add(mccl(config.mccl))
    .add(
      momentumUpdater(
        [
          { online: model.online.parameters, target: model.target.parameters },
          { online: model.projection, target: model.targetProjection }
        ],
        config.momentum.initial
      )
    )
}

/**
 * Every node of the CARL step but the objective, so that a new head can be added before it:
 * `carlGraphBuilder(model, config).add(myHead).add(objective({...})).build()`.
 */
export const carlGraphBuilder = (model: CarlModel, config: CarlConfig) =>
  mcclGraphBuilder(model, config)
    .add(saliencySelection(config.saliency.topFraction))
    .add(pgd(config.pgd))
    .add(perturbEmbeddings)
    .add(
      withPorts(
        encode(model.online, "encode", encoderDropout(model.online, config, "perturbed")),
        { tokenEmbeddings: Ports.perturbedEmbeddings, hiddenStates: Ports.perturbedHiddenStates },
        "encode-perturbed"
      )
    )
    .add(tokenHead(model.tokenHead))
    .add(perturbedTokenDetection({ gamma: config.ptd.gamma }))

/**
 * carl: the paper's method; no-ptd: "w/o TP" (MCCL alone); no-mccl: "w/o MCCL" (MCCL still
 * supplies the saliency gradient, with weight 0); plain: supervised VA regression, no CARL.
 */
export type CarlVariant = "carl" | "no-ptd" | "no-mccl" | "plain"

/** A graph of one's own, trained like the built-in variants; `name` is recorded in checkpoints. */
export interface CustomGraph {
  readonly name: string
  readonly build: (model: CarlModel, config: CarlConfig) => Graph
}

/**
 * Every weight set the graph reads, named for checkpoints: the model's own by their role, any
 * other (a custom head's) by the first plugin that reads it, so nothing a head holds is left out.
 */
export const graphParameterSets = (model: CarlModel, graph: Graph): ReadonlyArray<readonly [string, ParameterSet]> => {
  const named = [...carlParameterSets(model)]
  const known = new Set(named.map(([, set]) => set))
  for (const plugin of graph.plugins) {
    plugin.parameters.forEach((set, index) => {
      if (known.has(set)) return
      known.add(set)
      named.push([`plugin.${plugin.name}${index === 0 ? "" : `.${index}`}`, set])
    })
  }
  return named
}

export const CARL_VARIANTS: ReadonlyArray<CarlVariant> = ["carl", "no-ptd", "no-mccl", "plain"]

/**
 * A graph's objective: its losses with their weights (Eq. 11), and the supervised valence–arousal
 * term where objective.vaRegression is above 0 (not in the paper; a recipe option).
 */
export const carlGraph = (model: CarlModel, config: CarlConfig, variant: CarlVariant = "carl"): Graph => {
  const { mccl: mcclWeight, ptd: ptdWeight, vaRegression: vaWeight } = config.objective
  const va = vaWeight > 0
  switch (variant) {
    case "carl": {
      const built = carlGraphBuilder(model, config)
      return va
        ? built.add(vaRegressionHead(model.vaHead)).add(objective({ "loss.mccl": mcclWeight, "loss.ptd": ptdWeight, "loss.vaRegression": vaWeight })).build()
        : built.add(objective({ "loss.mccl": mcclWeight, "loss.ptd": ptdWeight })).build()
    }
    case "no-ptd": {
      const built = mcclGraphBuilder(model, config)
      return va
        ? built.add(vaRegressionHead(model.vaHead)).add(objective({ "loss.mccl": mcclWeight, "loss.vaRegression": vaWeight })).build()
        : built.add(objective({ "loss.mccl": mcclWeight })).build()
    }
    case "no-mccl": {
      const built = carlGraphBuilder(model, config)
      return va
        ? built.add(vaRegressionHead(model.vaHead)).add(objective({ "loss.mccl": 0, "loss.ptd": ptdWeight, "loss.vaRegression": vaWeight })).build()
        : built.add(objective({ "loss.mccl": 0, "loss.ptd": ptdWeight })).build()
    }
    case "plain":
      return onlineBranch(model, config).add(vaRegressionHead(model.vaHead)).add(objective({ "loss.vaRegression": 1 })).build()
  }
}
