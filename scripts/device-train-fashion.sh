#!/usr/bin/env bash
# The chapter's Fashion-MNIST CNN trained on a lent GPU machine (the workplace's `device`
# tool) with the core's own code: examples/train_fashion.rs with --backend webgpu (wgpu over
# Vulkan on the NVIDIA driver), as run for bench/results/fashion-92-*.txt.
#
#   here:        scripts/device-train-fashion.sh prepare   (builds the example, copies it and
#                                                           the Vulkan loader into .cache/gpu/)
#   the device:  run "scripts/device-train-fashion.sh run [RUN_DIR]" with carry
#                [".cache/gpu", "www/assets/data/fashion-mnist"] (and RUN_DIR to resume)
#
# The run directory keeps checkpoints (every 200 steps and every epoch): a call cut short by
# the device's time limit resumes where it stopped when called again with the same directory.
# Vulkan set-up as in scripts/device-webgpu-bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    mkdir -p .cache/gpu
    cargo build --release --example train_fashion
    cp target/release/examples/train_fashion .cache/gpu/
    cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 .cache/gpu/
    ls -la .cache/gpu
    ;;
  run)
    run_dir="${2:-${OUT:-target}/fashion-run}"
    printf '{"file_format_version":"1.0.1","ICD":{"library_path":"/usr/local/nvidia/lib64/libEGL_nvidia.so.0","api_version":"1.4.312"}}' > /tmp/nv.json
    export VK_ICD_FILENAMES=/tmp/nv.json
    export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:$PWD/.cache/gpu
    export XDG_RUNTIME_DIR=/tmp
    timeout "${CONVLAB_TRAIN_SECONDS:-540}" .cache/gpu/train_fashion --backend webgpu \
      --data www/assets/data/fashion-mnist --run "$run_dir" --epochs "${CONVLAB_EPOCHS:-20}" || true
    ;;
  *)
    echo "usage: $0 prepare | run [RUN_DIR]" >&2
    exit 2
    ;;
esac
