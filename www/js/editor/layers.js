// @ts-check
/**
 * The palette: a sensible default config for every layer type the core knows
 * (`convlab.editor.layerTypes()`), and the fields the inspector offers for each (Keras's config
 * keys; their defaults are the core's, shown as placeholders). Keys a config holds that are not
 * listed here are still editable, as JSON.
 *
 * @typedef {'int' | 'pair' | 'number' | 'bool' | 'padding' | 'activation' | 'json'} FieldKind
 * @typedef {{key: string, kind: FieldKind, placeholder?: string, help?: string}} Field
 */

export const ACTIVATIONS = ['linear', 'relu', 'relu6', 'leaky_relu', 'elu', 'selu', 'sigmoid', 'tanh', 'softmax'];

/** @type {Record<string, Record<string, any>>} what a new layer of each type starts with */
export const DEFAULTS = {
  Conv2D: { filters: 32, kernel_size: 3, padding: 'same', activation: 'relu' },
  DepthwiseConv2D: { kernel_size: 3, padding: 'same' },
  SeparableConv2D: { filters: 64, kernel_size: 3, padding: 'same', activation: 'relu' },
  MaxPool2D: { pool_size: 2 },
  AvgPool2D: { pool_size: 2 },
  GlobalAvgPool2D: {},
  GlobalMaxPool2D: {},
  Dense: { units: 64, activation: 'relu' },
  Dropout: { rate: 0.5 },
  BatchNormalization: {},
  Flatten: {},
  Add: {},
  Concatenate: {},
  Activation: { activation: 'relu' },
  ZeroPadding2D: { padding: 1 },
  LRN: { depth_radius: 2, bias: 1, alpha: 0.00002, beta: 0.75 },
  DepthMaxPool2D: { pool_size: 2 },
  LeNetSubsampling: { pool_size: 2, activation: 'tanh' },
  SEScale: {},
  RBF: { units: 10 },
};

/** What each type is, for the palette's tooltips and screen readers. */
export const DESCRIPTIONS = {
  Conv2D: 'convolution: filters slide over the feature maps',
  DepthwiseConv2D: 'one filter per input channel',
  SeparableConv2D: 'depthwise then 1x1 pointwise convolution (Xception)',
  MaxPool2D: 'maximum over each pool window',
  AvgPool2D: 'mean over each pool window',
  GlobalAvgPool2D: 'mean of each feature map: [h, w, c] to [c]',
  GlobalMaxPool2D: 'maximum of each feature map',
  Dense: 'fully connected layer',
  Dropout: 'drops a fraction of the inputs while training',
  BatchNormalization: 'normalises each channel over the batch',
  Flatten: '[h, w, c] to one vector',
  Add: 'sums its inputs (a residual connection)',
  Concatenate: 'stacks its inputs along the channels (inception)',
  Activation: 'an activation function on its own',
  ZeroPadding2D: 'zeros around the feature maps',
  LRN: 'local response normalization (AlexNet, GoogLeNet)',
  DepthMaxPool2D: 'maximum over runs of channels',
  LeNetSubsampling: 'LeNet-5\'s trainable average pooling',
  SEScale: 'feature maps times a per-channel weight (SE block)',
  RBF: 'LeNet-5\'s radial-basis-function output',
};

const conv = /** @type {Field[]} */ ([
  { key: 'kernel_size', kind: 'pair', help: 'one number, or height, width' },
  { key: 'strides', kind: 'pair', placeholder: '1' },
  { key: 'padding', kind: 'padding', placeholder: 'valid' },
  { key: 'dilation_rate', kind: 'pair', placeholder: '1' },
  { key: 'activation', kind: 'activation', placeholder: 'linear' },
  { key: 'use_bias', kind: 'bool', placeholder: 'true' },
]);
const pool = /** @type {Field[]} */ ([
  { key: 'pool_size', kind: 'pair', placeholder: '2' },
  { key: 'strides', kind: 'pair', placeholder: 'pool size' },
  { key: 'padding', kind: 'padding', placeholder: 'valid' },
]);

/** @type {Record<string, Field[]>} the inspector's fields per type, in order */
export const FIELDS = {
  Conv2D: [{ key: 'filters', kind: 'int' }, ...conv, { key: 'groups', kind: 'int', placeholder: '1' }, { key: 'connections', kind: 'json', placeholder: 'none (full)' }],
  DepthwiseConv2D: [...conv, { key: 'depth_multiplier', kind: 'int', placeholder: '1' }],
  SeparableConv2D: [{ key: 'filters', kind: 'int' }, ...conv, { key: 'depth_multiplier', kind: 'int', placeholder: '1' }],
  MaxPool2D: pool,
  AvgPool2D: pool,
  GlobalAvgPool2D: [],
  GlobalMaxPool2D: [],
  Dense: [{ key: 'units', kind: 'int' }, { key: 'activation', kind: 'activation', placeholder: 'linear' }, { key: 'use_bias', kind: 'bool', placeholder: 'true' }],
  Dropout: [{ key: 'rate', kind: 'number', placeholder: '0.5' }, { key: 'seed', kind: 'int', placeholder: 'none' }],
  BatchNormalization: [{ key: 'momentum', kind: 'number', placeholder: '0.99' }, { key: 'epsilon', kind: 'number', placeholder: '0.001' }, { key: 'center', kind: 'bool', placeholder: 'true' }, { key: 'scale', kind: 'bool', placeholder: 'true' }],
  Flatten: [],
  Add: [],
  Concatenate: [],
  Activation: [{ key: 'activation', kind: 'activation' }],
  ZeroPadding2D: [{ key: 'padding', kind: 'json', help: 'n, [h, w] or [[top, bottom], [left, right]]' }],
  LRN: [{ key: 'depth_radius', kind: 'int', placeholder: '5' }, { key: 'bias', kind: 'number', placeholder: '1' }, { key: 'alpha', kind: 'number', placeholder: '1' }, { key: 'beta', kind: 'number', placeholder: '0.5' }],
  DepthMaxPool2D: [{ key: 'pool_size', kind: 'int' }],
  LeNetSubsampling: [{ key: 'pool_size', kind: 'pair', placeholder: '2' }, { key: 'activation', kind: 'activation', placeholder: 'linear' }],
  SEScale: [],
  RBF: [{ key: 'units', kind: 'int' }],
};

/** Keras's long names for the same layers. */
const ALIASES = {
  MaxPooling2D: 'MaxPool2D', AveragePooling2D: 'AvgPool2D', GlobalAveragePooling2D: 'GlobalAvgPool2D',
  GlobalMaxPooling2D: 'GlobalMaxPool2D', Convolution2D: 'Conv2D', SeparableConvolution2D: 'SeparableConv2D',
  LocalResponseNormalization: 'LRN',
};

/** The canonical name of a class (Keras's long names accepted). @param {string} cls */
export function canonical(cls) {
  return /** @type {Record<string, string>} */ (ALIASES)[cls] ?? cls;
}

/**
 * Reads what the user typed into a field as a JSON value: JSON when it is JSON ("3", "[3, 5]",
 * "true", "\"same\""), a list for comma-separated numbers ("3, 5"), else the text itself (so the
 * core names what is wrong with it). Empty text means "the default" (undefined).
 * @param {string} text
 */
export function parseField(text) {
  const t = text.trim();
  if (t === '') return undefined;
  try { return JSON.parse(t); } catch { /* not JSON */ }
  if (/^[-+\d.eE\s]+(,[-+\d.eE\s]+)+$/.test(t)) {
    try { return JSON.parse(`[${t}]`); } catch { /* not numbers */ }
  }
  return t;
}

/** A config value as the user would type it. @param {any} v */
export function showField(v) {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
