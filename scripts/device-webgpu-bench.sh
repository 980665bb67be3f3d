#!/usr/bin/env bash
# The native WebGPU benchmark on a lent GPU machine (the workplace's `device` tool), as run for
# bench/results/webgpu-h100-2026-11-26.txt.
#
#   here:        scripts/device-webgpu-bench.sh prepare   (builds the bench, copies the Vulkan
#                                                          loader into .cache/gpu/)
#   the device:  run "scripts/device-webgpu-bench.sh run" with carry [".cache/gpu"]
#
# The device image has NVIDIA's driver but no Vulkan loader, and its GLX ICD fails ("Could not
# get vkCreateInstance via vk_icdGetInstanceProcAddr"); the driver's EGL library works as the ICD.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    mkdir -p .cache/gpu
    bin=$(cargo bench --no-run --bench webgpu 2>&1 | grep -o 'target/release/deps/webgpu-[0-9a-f]*' | tail -1)
    cp "$bin" .cache/gpu/webgpu-bench
    cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 .cache/gpu/
    ls -la .cache/gpu
    ;;
  run)
    printf '{"file_format_version":"1.0.1","ICD":{"library_path":"/usr/local/nvidia/lib64/libEGL_nvidia.so.0","api_version":"1.4.312"}}' > /tmp/nv.json
    export VK_ICD_FILENAMES=/tmp/nv.json
    export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:$PWD/.cache/gpu
    export XDG_RUNTIME_DIR=/tmp
    CONVLAB_BENCH_RUNS="${CONVLAB_BENCH_RUNS:-20}" CONVLAB_GPU_PEAK_TFLOPS="${CONVLAB_GPU_PEAK_TFLOPS:-67}" \
      timeout 240 .cache/gpu/webgpu-bench
    ;;
  *)
    echo "usage: $0 prepare | run" >&2
    exit 2
    ;;
esac
