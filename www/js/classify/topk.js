// @ts-check
/** The top of a probability vector, labelled: used on the page and in the inference worker. */

/**
 * The `k` most probable classes, most probable first.
 * @param {ArrayLike<number>} probabilities @param {string[]} names @param {number} k
 * @returns {{label: string, index: number, probability: number}[]}
 */
export function topK(probabilities, names, k) {
  return Array.from(probabilities, (probability, index) => ({ label: names[index] ?? `class ${index}`, index, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(1, k));
}
