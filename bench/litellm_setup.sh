#!/usr/bin/env bash
# The LiteLLM proxy for bench/bench_gateway.py, in a venv of its own outside the repository:
#     bench/litellm_setup.sh            # then: .venv/bin/python -m bench.bench_gateway
# Venv: $LANEWAY_BENCH_LITELLM_VENV, else ~/.cache/laneway-bench/litellm-venv (the benchmark's
# --litellm-venv default reads the same variable). Version: 1.106.2, never 1.107.x; what it pulls
# in is pinned by bench/constraints-litellm.txt. About 750 MB on disk; re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${LANEWAY_BENCH_LITELLM_VENV:-$HOME/.cache/laneway-bench/litellm-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c bench/constraints-litellm.txt 'litellm[proxy]==1.106.2'
# Importing litellm fetches its cost map from the network unless told not to (there is none here).
LITELLM_LOCAL_MODEL_COST_MAP=True "$venv/bin/python" -c \
    'import importlib.metadata as m; v = m.version("litellm"); assert v == "1.106.2", v; print("litellm", v, "in", __import__("sys").prefix)'
