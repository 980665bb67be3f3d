// @ts-check
/**
 * A minimal ONNX model writer for the benchmark: enough protobuf (varints, length-delimited
 * fields, fixed32) to write a ModelProto with one graph of nodes, float initializers and
 * float inputs/outputs, at opset 13. Field numbers are onnx/onnx.proto3's.
 */

/** @typedef {number[]} Bytes */

/** @param {Bytes} out @param {number} n */
function varint(out, n) {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/** @param {number} field @param {number} n */
function int(field, n) {
  const out = /** @type {Bytes} */ ([]);
  varint(out, (field << 3) | 0);
  varint(out, n);
  return out;
}

/** @param {number} field @param {Bytes | Uint8Array} payload */
function bytes(field, payload) {
  const out = /** @type {Bytes} */ ([]);
  varint(out, (field << 3) | 2);
  varint(out, payload.length);
  for (const b of payload) out.push(b);
  return out;
}

/** @param {number} field @param {string} s */
const str = (field, s) => bytes(field, new TextEncoder().encode(s));

/** @param {number} field @param {number} f */
function float(field, f) {
  const out = /** @type {Bytes} */ ([]);
  varint(out, (field << 3) | 5);
  out.push(...new Uint8Array(new Float32Array([f]).buffer));
  return out;
}

/** @param {Bytes[]} parts */
const cat = (parts) => parts.flat();

/** TensorProto: dims 1, data_type 2 (1 = float), name 8, raw_data 9. */
function tensor(/** @type {string} */ name, /** @type {number[]} */ dims, /** @type {Float32Array} */ data) {
  return cat([...dims.map((d) => int(1, d)), int(2, 1), str(8, name), bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength))]);
}

/** ValueInfoProto with a float tensor type of the given shape. */
function valueInfo(/** @type {string} */ name, /** @type {number[]} */ dims) {
  const shape = cat(dims.map((d) => bytes(1, int(1, d))));
  const tensorType = cat([int(1, 1), bytes(2, shape)]);
  return cat([str(1, name), bytes(2, bytes(1, tensorType))]);
}

/**
 * AttributeProto from a JS value: an integer array (INTS), an integer (INT), a float (FLOAT)
 * or a string (STRING).
 * @param {string} name @param {number | number[] | string | {float: number}} v
 */
function attribute(name, v) {
  if (Array.isArray(v)) return cat([str(1, name), int(20, 7), ...v.map((i) => int(8, i))]);
  if (typeof v === 'string') return cat([str(1, name), int(20, 3), str(4, v)]);
  if (typeof v === 'object') return cat([str(1, name), int(20, 1), float(2, v.float)]);
  return cat([str(1, name), int(20, 2), int(3, v)]);
}

/**
 * @typedef {{op: string, inputs: string[], outputs: string[], attrs?: Record<string, any>}} NodeSpec
 * @param {{nodes: NodeSpec[], initializers: {name: string, dims: number[], data: Float32Array}[],
 *   inputs: {name: string, dims: number[]}[], outputs: {name: string, dims: number[]}[]}} g
 * @returns {Uint8Array} the serialized ModelProto
 */
export function model(g) {
  const nodes = g.nodes.map((n, i) => bytes(1, cat([
    ...n.inputs.map((x) => str(1, x)), ...n.outputs.map((x) => str(2, x)), str(3, `n${i}`), str(4, n.op),
    ...Object.entries(n.attrs ?? {}).map(([k, v]) => bytes(5, attribute(k, v))),
  ])));
  const graph = cat([
    ...nodes, str(2, 'bench'),
    ...g.initializers.map((t) => bytes(5, tensor(t.name, t.dims, t.data))),
    ...g.inputs.map((v) => bytes(11, valueInfo(v.name, v.dims))),
    ...g.outputs.map((v) => bytes(12, valueInfo(v.name, v.dims))),
  ]);
  const opset = cat([str(1, ''), int(2, 13)]);
  return new Uint8Array(cat([int(1, 8), str(2, 'convlab-bench'), bytes(7, graph), bytes(8, opset)]));
}
