#!/usr/bin/env bash
# Appends a [limits] table (context window, default on-demand quota) to a profile; sourced by
# the scripts that regenerate models/. Usage: limits FILE CONTEXT TPM RPM "SOURCE" "DATE"
# (use - for an unknown value).
limits() {
  local file=$1 context=$2 tpm=$3 rpm=$4 source=$5 date=$6
  {
    echo
    echo "[limits]"
    [[ $context != - ]] && echo "context_window = $context"
    [[ $tpm != - ]] && echo "quota_tpm = $tpm"
    [[ $rpm != - ]] && echo "quota_rpm = $rpm"
    echo "output_burndown = 1.0"
    echo "source = \"$source\""
    echo "date = \"$date\""
  } >>"$file"
}
