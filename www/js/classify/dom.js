// @ts-check
/** Small DOM helpers shared by the Classify view's modules. */

/**
 * An element with properties and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Record<string, any>} [props] @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('aria-') || k === 'role' || k === 'for') node.setAttribute(k, String(v));
    else /** @type {any} */ (node)[k] = v;
  }
  node.append(...children);
  return node;
}

/**
 * Shows `text` in a message element (role status or alert); an empty text hides it.
 * @param {HTMLElement} target @param {string} text @param {boolean} [error]
 */
export function say(target, text, error = false) {
  target.textContent = text;
  target.hidden = !text;
  target.classList.toggle('error', error && !!text);
}

/** @param {unknown} e @returns {string} */
export function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

/** A percentage with one decimal. @param {number} p */
export const percent = (p) => `${(100 * p).toFixed(1)}%`;
