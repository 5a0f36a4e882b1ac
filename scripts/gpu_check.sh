#!/usr/bin/env bash
# GPU smoke check, for a Linux x86_64 box with an NVIDIA GPU after `make install-gpu`.
# STATUS: written and reviewed, NOT RUN ON A GPU YET (no GPU machine was available when it was written).
#
#   scripts/gpu_check.sh /models/Qwen2.5-7B-Instruct        # a local model folder (nothing is downloaded)
#
# It starts `vllm serve` from the vLLM venv, runs `affectlens doctor` (and fails unless the vector index
# and ASR are on the GPU and the LLM is the vLLM server), indexes the sample with the GPU backends into a
# fresh cache, asks one question, and prints the timings. Optional: AFFECTLENS_MODEL_PATHS with "ser" (a
# local audio-classification folder), AFFECTLENS_BACKENDS='{"asr": "whisperx"}' where whisperx is installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODEL="${1:?usage: scripts/gpu_check.sh LOCAL_MODEL_DIR}"
GPU_VENV="${GPU_VENV:-$ROOT/.venv-gpu}"
VLLM_VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
PORT="${PORT:-8000}"
NAME="${AFFECTLENS_LLM_MODEL:-affectlens-gpu-check}"
QUERY="${QUERY:-when does she cheer up?}"
AL="$GPU_VENV/bin/affectlens"

[ -x "$AL" ] || { echo "no $AL: run make install-gpu" >&2; exit 1; }
[ -x "$VLLM_VENV/bin/vllm" ] || { echo "no $VLLM_VENV/bin/vllm: run make install-gpu" >&2; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export AFFECTLENS_LLM_URL="http://127.0.0.1:$PORT/v1" AFFECTLENS_LLM_MODEL="$NAME"
export AFFECTLENS_CACHE_DIR="${AFFECTLENS_CACHE_DIR:-$(mktemp -d /tmp/affectlens-gpu-check.XXXX)}"
LOG="$AFFECTLENS_CACHE_DIR/vllm.log"
mkdir -p "$AFFECTLENS_CACHE_DIR"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The same `vllm serve` line `affectlens serve-llm --backend vllm --print-command` prints, from the settings.
mapfile -t CMD < <("$GPU_VENV/bin/python" -c '
import sys
from agents.vllm_backend import gpu_command
from tools.settings import get_settings
print("\n".join(gpu_command(get_settings(), sys.argv[1], int(sys.argv[2]))))' "$MODEL" "$PORT")
CMD[0]="$VLLM_VENV/bin/vllm"
for i in "${!CMD[@]}"; do [ "${CMD[$i]}" = "--host" ] && CMD[$((i + 1))]="127.0.0.1"; done  # loopback for the check
t0=$(now)
"${CMD[@]}" >"$LOG" 2>&1 &
VLLM_PID=$!
trap 'kill "$VLLM_PID" 2>/dev/null || true; wait "$VLLM_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
  kill -0 "$VLLM_PID" 2>/dev/null || { echo "vllm serve exited; last lines of $LOG:" >&2; tail -30 "$LOG" >&2; exit 1; }
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "vllm serve not ready after 600 s" >&2; exit 1; }
t_llm=$(secs "$t0" "$(now)")

t0=$(now)
DOCTOR="$("$AL" doctor)"
t_doc=$(secs "$t0" "$(now)")
echo "$DOCTOR"
fail=0
grep -Eq '^vector_index +faiss-gpu on cuda' <<<"$DOCTOR" || { echo "FAIL: FAISS is not on the GPU" >&2; fail=1; }
grep -Eq '^asr +[^ ]+ on cuda' <<<"$DOCTOR" || { echo "FAIL: ASR is not on the GPU" >&2; fail=1; }
grep -Eq '^llm +openai-compatible-server' <<<"$DOCTOR" || { echo "FAIL: the LLM is not the vLLM server" >&2; fail=1; }
grep -Eq "^llm server +.* serving" <<<"$DOCTOR" || { echo "FAIL: vLLM server not reachable" >&2; fail=1; }
[ "$fail" = 0 ] || exit 1

t0=$(now)
"$AL" index assets/sample_pexels.mp4 -q
t_idx=$(secs "$t0" "$(now)")

t0=$(now)
"$AL" ask assets/sample_pexels.mp4 "$QUERY" -q
t_ask=$(secs "$t0" "$(now)")

printf '\n%-28s %8s\n' "step" "seconds"
printf '%-28s %8s\n' "vllm serve ready" "$t_llm" "affectlens doctor" "$t_doc" \
  "index sample (20 s video)" "$t_idx" "ask one question" "$t_ask"
