#!/usr/bin/env bash
# Puts the chapter's sample photos (china.jpg, flower.jpg) into www/assets/photos/, taken from
# the scikit-learn wheel on PyPI (the only registry-hosted copy). Skips the download when both
# files are present with the expected sha256. CC BY 2.0: see www/assets/photos/CREDITS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=www/assets/photos
cache=.cache/dl
declare -A sha=(
  [china.jpg]=8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29
  [flower.jpg]=a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638
)
ok() { [ -f "$dest/$1" ] && [ "$(sha256sum "$dest/$1" | cut -d' ' -f1)" = "${sha[$1]}" ]; }
if ok china.jpg && ok flower.jpg; then
  echo "photos: present"
  exit 0
fi
mkdir -p "$cache" "$dest"
wheel=$(ls "$cache"/scikit_learn-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 -d "$cache" scikit-learn==1.9.1 ||
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 -d "$cache" scikit-learn
  wheel=$(ls "$cache"/scikit_learn-*.whl | head -n 1)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("china.jpg", "flower.jpg"):
        with open(f"{sys.argv[2]}/{name}", "wb") as f:
            f.write(z.read(f"sklearn/datasets/images/{name}"))
PY
for f in china.jpg flower.jpg; do
  got=$(sha256sum "$tmp/$f" | cut -d' ' -f1)
  if [ "$got" != "${sha[$f]}" ]; then
    echo "photos: $f from $wheel has sha256 $got, expected ${sha[$f]}" >&2
    exit 1
  fi
  cp "$tmp/$f" "$dest/$f"
done
echo "photos: fetched from $(basename "$wheel")"
