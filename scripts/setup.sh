# Sourced by the other scripts: installs what a fresh Debian 12 machine lacks
# (apt-get update once, only when something is missing), as root.
fp8_missing_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    echo "${missing[@]}"
}

fp8_install() {
    local missing
    missing=$(fp8_missing_packages "$@")
    [ -z "$missing" ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: $missing"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Build prerequisites, the test framework, gnuplot for plots, OpenBLAS for the benchmark baseline,
# clang for the libFuzzer harnesses, the King James Bible (public domain) as fp8-train's text.
FP8_PACKAGES=(cmake ninja-build gcc g++ make pkg-config check gnuplot-nox libopenblas-dev binutils clang bible-kjv)

# The CUDA toolkit lives in /usr/local/cuda on these machines; put nvcc on PATH if it is there.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
fi

fp8_configure_and_build() { # build_dir [cmake args...]
    local dir=$1
    shift
    cmake -S "$FP8_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)"
}
