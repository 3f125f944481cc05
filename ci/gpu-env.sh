# Sourced by the GPU scripts: finds the CUDA 13 libraries (libcuda, libnvrtc, libcublas)
# and sets the kernel cache. Builds nothing.
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
  [ -d "$d" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
# pip-installed CUDA libraries (e.g. alongside PyTorch), if the toolkit lacks one.
for d in $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, s, "lib") for p in nvidia.__path__ for s in os.listdir(p)))' 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
done
export LD_LIBRARY_PATH
export SAFEWEIGHTS_KERNEL_CACHE="${SAFEWEIGHTS_KERNEL_CACHE:-$HOME/.cache/safeweights/kernels}"
SW="${SW:-$(dirname "$0")/safeweights}"
[ -x "$SW" ] || SW="$(command -v safeweights || echo target/release/safeweights)"
