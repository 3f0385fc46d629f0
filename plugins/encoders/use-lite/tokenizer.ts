/**
 * USE's tokenizer: the tfjs-models port of SentencePiece unigram EncodeAsIds
 * (@tensorflow-models/universal-sentence-encoder 1.3.3, dist/tokenizer), reproduced with its
 * quirks because the shipped weights were trained and verified against its ids
 * (ARCHITECTURE.md §7):
 *   - NFKC, then "▁" prefixed and every U+0020 replaced by "▁" (nothing else, no collapsing);
 *   - symbols are UTF-16 code units, so an astral character is two unknown symbols;
 *   - a score of 0 means "unset" in the Viterbi pass, and ties go to the later (shorter) piece;
 *   - null scores count as 0, a repeated piece keeps its last id;
 *   - each run of unknown symbols becomes one id 0.
 */
import * as tf from "@tensorflow/tfjs"
import { USE_LITE_MAX_LENGTH, USE_LITE_PAD_ID } from "./config.ts"

/** vocab.json: [piece, score] per id. Some scores are null in the shipped file. */
export type UseVocabulary = ReadonlyArray<readonly [string, number | null]>

const SEPARATOR = "\u2581"
/** <unk> (shown as U+FFFD), <s>, </s>, extra_token_id_1..3: never matched as pieces. */
const RESERVED_IDS = 6
const UNKNOWN_ID = 0

interface PieceEnd {
  readonly id: number
  readonly score: number
  readonly length: number
}

class TrieNode {
  readonly children = new Map<number, TrieNode>()
  end: PieceEnd | undefined = undefined
}

interface Edge {
  readonly id: number
  readonly score: number
  readonly length: number
}

const codeUnits = (text: string): Array<number> => {
  const units = new Array<number>(text.length)
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i)
  return units
}

const normalise = (text: string): string => {
  const normalized = text.normalize("NFKC")
  return normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized
}

export interface UseLiteBatch {
  /** [batch, seq] int32, USE_LITE_PAD_ID (−1) after each sentence's last token. */
  readonly tokenIds: tf.Tensor2D
  /** [batch, seq] float32, 1 = real token. */
  readonly attentionMask: tf.Tensor2D
}

export class UseTokenizer {
  private readonly root = new TrieNode()
  private readonly pieceLengths: ReadonlyArray<number>

  constructor(vocabulary: UseVocabulary) {
    if (vocabulary.length <= RESERVED_IDS) throw new Error(`USE vocabulary has ${vocabulary.length} pieces, expected more than ${RESERVED_IDS}`)
    // The backward pass steps by the piece's string length, unknown (U+FFFD) included.
    this.pieceLengths = vocabulary.map(([piece]) => piece.length)
    for (let id = RESERVED_IDS; id < vocabulary.length; id++) {
      const entry = vocabulary[id]
      if (entry === undefined) continue
      const [piece, score] = entry
      let node = this.root
      for (const unit of codeUnits(piece)) {
        let child = node.children.get(unit)
        if (child === undefined) {
          child = new TrieNode()
          node.children.set(unit, child)
        }
        node = child
      }
      // The original does `null + best`, which is `best`.
      node.end = { id, score: score ?? 0, length: piece.length }
    }
  }

  /** Parses vocab.json's text, checking its shape so that a wrong file fails here, not in Viterbi. */
  static fromJson(text: string): UseTokenizer {
    const parsed: unknown = JSON.parse(text)
    if (!Array.isArray(parsed)) throw new Error("expected a JSON array of [piece, score]")
    const vocabulary: Array<readonly [string, number | null]> = []
    for (const [id, entry] of parsed.entries()) {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || !(typeof entry[1] === "number" || entry[1] === null)) {
        throw new Error(`entry ${id} is not [piece, score]`)
      }
      vocabulary.push([entry[0], entry[1]])
    }
    return new UseTokenizer(vocabulary)
  }

  /** All ids of `text`, as the official tokenizer gives them (no truncation, no BOS/EOS). */
  tokenize(text: string): Array<number> {
    const symbols = codeUnits(normalise(text))
    const n = symbols.length
    // Edges grouped by end position; starts are visited in increasing order, so each group is
    // in increasing start order, the order the original's `for (start in nodes[end])` visits.
    const edgesByEnd: Array<Array<Edge>> = Array.from({ length: n + 1 }, () => [])
    for (let start = 0; start < n; start++) {
      let matched = false
      let node = this.root.children.get(symbols[start] ?? -1)
      for (let i = start; node !== undefined; ) {
        if (node.end !== undefined) {
          edgesByEnd[start + node.end.length]?.push(node.end)
          matched = true
        }
        i++
        node = i < n ? node.children.get(symbols[i] ?? -1) : undefined
      }
      if (!matched) edgesByEnd[start + 1]?.push({ id: UNKNOWN_ID, score: 0, length: 1 })
    }

    const best = new Array<number>(n + 1).fill(0)
    const word = new Array<number>(n + 1).fill(0)
    for (let end = 0; end <= n; end++) {
      for (const edge of edgesByEnd[end] ?? []) {
        const score = edge.score + (best[end - edge.length] ?? 0)
        const current = best[end] ?? 0
        // 0 doubles as "unset": the original's quirk, kept because it changes ids (":" → ▁ :).
        if (current === 0 || score >= current) {
          best[end] = score
          word[end] = edge.id
        }
      }
    }

    const backwards: Array<number> = []
    for (let position = n; position > 0; ) {
      const id = word[position] ?? UNKNOWN_ID
      backwards.push(id)
      position -= this.pieceLengths[id] ?? 1
    }

    const merged: Array<number> = []
    let previousUnknown = false
    for (const id of backwards) {
      if (!(previousUnknown && id === UNKNOWN_ID)) merged.push(id)
      previousUnknown = id === UNKNOWN_ID
    }
    return merged.reverse()
  }

  /** The ids the model sees: the first USE_LITE_MAX_LENGTH of `tokenize(text)`. */
  encode(text: string): Array<number> {
    return this.tokenize(text).slice(0, USE_LITE_MAX_LENGTH)
  }

  /**
   * Padded ids and mask for a batch. Padding is −1 as in the graph's SparseToDense, and the
   * width is at least 1 so that a batch of empty strings still has a [batch, 1] shape.
   */
  batch(texts: ReadonlyArray<string>): UseLiteBatch {
    const rows = texts.map((text) => this.encode(text))
    const seq = Math.max(1, ...rows.map((row) => row.length))
    const ids = new Int32Array(rows.length * seq).fill(USE_LITE_PAD_ID)
    const mask = new Float32Array(rows.length * seq)
    rows.forEach((row, b) => {
      ids.set(row, b * seq)
      mask.fill(1, b * seq, b * seq + row.length)
    })
    return {
      tokenIds: tf.tensor2d(ids, [rows.length, seq], "int32"),
      attentionMask: tf.tensor2d(mask, [rows.length, seq], "float32")
    }
  }
}
