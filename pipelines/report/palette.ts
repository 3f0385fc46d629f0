/**
 * Colours. Emotions use the Okabe–Ito palette (distinguishable with the common colour-vision
 * deficiencies), each Ekman class pinned to one colour so every report and every model's plot
 * agree; yellow is left out because it vanishes on white.
 */

const EKMAN_COLOURS: Readonly<Record<string, string>> = {
  anger: "#D55E00",
  disgust: "#009E73",
  fear: "#CC79A7",
  joy: "#E69F00",
  sadness: "#0072B2",
  surprise: "#56B4E9",
  neutral: "#8C8C8C"
}

/** For labels outside Ekman's six, in order of first appearance. */
const EXTRA_COLOURS = ["#332288", "#882255", "#117733", "#999933", "#AA4499", "#44AA99", "#661100", "#6699CC"]

export const labelColours = (labels: ReadonlyArray<string>): ReadonlyMap<string, string> => {
  const colours = new Map<string, string>()
  let extra = 0
  for (const label of labels) {
    if (colours.has(label)) continue
    const fixed = EKMAN_COLOURS[label.toLowerCase()]
    colours.set(label, fixed ?? EXTRA_COLOURS[extra++ % EXTRA_COLOURS.length] ?? "#555555")
  }
  return colours
}

/** Models: dark, saturated tones that carry white text and stay apart from the emotion hues. */
const MODEL_COLOURS = ["#3B5B92", "#B5462E", "#3F7F3F", "#7A4B9C", "#8A6D1E", "#3E6F77", "#9C3D6B", "#555555"]

export const modelColour = (index: number): string => MODEL_COLOURS[index % MODEL_COLOURS.length] ?? "#555555"
