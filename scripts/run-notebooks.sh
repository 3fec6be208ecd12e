#!/usr/bin/env bash
# Executes the notebooks headless against a calibration run, a plan and a forecast, failing on
# any error.
#   scripts/run-notebooks.sh RUN_DIR PLAN_DIR FORECAST_DIR
# The pinned requirements go into a venv under ~/.cache/llmcap (reused between runs); executed
# copies of the notebooks and their figures go to $LLMCAP_NOTEBOOK_OUT (default: a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir="$(realpath "${1:?usage: $0 RUN_DIR PLAN_DIR}")"
plan_dir="$(realpath "${2:?usage: $0 RUN_DIR PLAN_DIR FORECAST_DIR}")"
forecast_dir="$(realpath "${3:?usage: $0 RUN_DIR PLAN_DIR FORECAST_DIR}")"
venv="${LLMCAP_CACHE:-$HOME/.cache/llmcap}/venv-notebooks"
out="${LLMCAP_NOTEBOOK_OUT:-$(mktemp -d)}"
mkdir -p "$out"

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r notebooks/requirements.txt
"$venv/bin/python" -m ipykernel install --user --name python3 >/dev/null 2>&1 || true

LLMCAP_RUN_DIR="$run_dir" LLMCAP_PLAN_DIR="$plan_dir" LLMCAP_FORECAST_DIR="$forecast_dir" \
  LLMCAP_NOTEBOOK_OUT="$out" \
  "$venv/bin/python" - "$out" <<'PY'
import sys, pathlib
import nbformat
from nbclient import NotebookClient

out = pathlib.Path(sys.argv[1])
for name in ["calibration_run.ipynb", "plan.ipynb", "forecast.ipynb"]:
    path = pathlib.Path("notebooks") / name
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": "notebooks"}}).execute()
    nbformat.write(notebook, out / name)
    print(f"executed {path} -> {out / name}")
PY
for figure in calibration_run.png plan.png forecast.png; do
  [[ -s "$out/$figure" ]] || { echo "run-notebooks.sh: $figure was not drawn" >&2; exit 1; }
done
echo "notebooks: all three executed; figures in $out"
