#!/usr/bin/env bash
# What only a GPU can show, in at most ~5 minutes on one GPU; one PASS/FAIL/SKIP line each.
#
#   benchmarks/gpu_check.sh            # from the repository root, after `make install`
#   VLLM_PYTHON=/opt/vllm-env/bin/python benchmarks/gpu_check.sh
#
# 1. zero3-fp16-offload: the study's ds_zero3_cpu.yaml, unchanged (DeepSpeed ZeRO-3, fp16,
#    parameters and optimizer offloaded to the CPU), trains prompt tuning on the embedded
#    model for a few steps; train_config.json must record deepspeed / fp16 / stage 3, the
#    losses must be finite, and lm-eval must load the adapter with peft=.
#    (The first run JIT-compiles DeepSpeed's CPU Adam: needs a C++ compiler and ninja.)
# 2. hf-fast-cuda: `logic-claims eval` with hf-fast and with lm-eval's hf, on CUDA in fp32,
#    on the MC and generation tasks: every log-likelihood within 1e-4 and the same answers,
#    the same generated text (the fast path's own tolerance, benchmarks/eval_throughput.py).
# 3. vllm: lm-eval's vllm backend on the main task. vLLM pins its own torch, so it lives in
#    an environment of its own: VLLM_PYTHON names that environment's python (with vllm and
#    this project installed: `python -m venv V && V/bin/pip install vllm -e .`); without
#    it the check is skipped, saying so.
#
# Exit status: 0 when nothing failed (SKIPs included), 1 otherwise. Work files go to a
# temporary folder that is removed at the end; set GPU_CHECK_KEEP=DIR to keep them there.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
WORK=${GPU_CHECK_KEEP:-$(mktemp -d -t gpu-check-XXXXXX)}
mkdir -p "$WORK"
[ -n "${GPU_CHECK_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
FAILED=0

say() {  # say STATUS NAME DETAIL
  printf '%-4s %-19s %s\n' "$1" "$2" "$3"
  [ "$1" = FAIL ] && FAILED=1
  return 0
}

if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  for name in zero3-fp16-offload hf-fast-cuda vllm; do
    say SKIP "$name" "no CUDA GPU visible to $PY"
  done
  exit 0
fi
MODEL=$("$PY" -m logic_claims.harness.cli model path 2>/dev/null) || {
  say FAIL setup "the embedded model could not be resolved (logic-claims model path)"; exit 1; }

# ---------------------------------------------------------------- 1. ZeRO-3, fp16, offload
check_zero3() {
  local out="$WORK/zero3" log="$WORK/zero3.log"
  if ! timeout 240 "$PY" -m accelerate.commands.launch --config_file ds_zero3_cpu.yaml \
      -m logic_claims.adapters.train --config prompt_tuning --output-dir "$out" --no-progress \
      --set max_steps=8 --set max_train_examples=96 --set batch_size=12 \
      --set logging_steps=2 --set eval_steps=8 --set save_steps=4 --set max_val_examples=24 \
      >"$log" 2>&1; then
    say FAIL zero3-fp16-offload "training failed or took over 240 s: $(tail -n 1 "$log")"
    return
  fi
  local verdict
  verdict=$("$PY" - "$out" "$MODEL" <<'EOF' 2>>"$log"
import json, math, sys
from pathlib import Path
out, model = Path(sys.argv[1]), sys.argv[2]
b = json.loads((out / "train_config.json").read_text())["backend"]
got = (b["name"], b["precision"], b["zero_stage"], b["device"])
if got != ("deepspeed", "fp16", 3, "cuda"):
    sys.exit(print(f"backend {got}, expected deepspeed/fp16/3/cuda") or 0)
losses = [json.loads(l)["train_loss"] for l in (out / "metrics.jsonl").open()]
if not losses or not all(math.isfinite(x) for x in losses):
    sys.exit(print(f"train losses not finite: {losses}") or 0)
from logic_claims.harness.evaluate import run_eval
r = run_eval(model, peft=out, tasks=["logic_claims_mc_all"], limit=8)
acc = r["results"]["logic_claims_mc_all"]["acc,none"]
print(f"ok: losses {losses[0]:.3f} -> {losses[-1]:.3f}, lm-eval peft= acc {acc:.3f} on 8 claims")
EOF
)
  case "$verdict" in
    ok:*) say PASS zero3-fp16-offload "${verdict#ok: }" ;;
    *) say FAIL zero3-fp16-offload "${verdict:-no verdict; see the log} (log: $log)" ;;
  esac
}

# ---------------------------------------------------------------- 2. hf-fast equals hf on CUDA
check_hf_fast() {
  local verdict log="$WORK/hf-fast.log"
  verdict=$(timeout 180 "$PY" - "$MODEL" "$WORK" <<'EOF' 2>>"$log"
import sys
from pathlib import Path
from logic_claims.harness import scale_out as so
from logic_claims.harness.evaluate import run_eval
model, work = sys.argv[1], Path(sys.argv[2])
for backend in ("hf", "hf-fast"):
    run_eval(model, tasks=["logic_claims_mc_all", "logic_claims_all"], limit=16,
             backend=backend, device="cuda", model_args={"dtype": "float32"},
             gen_kwargs={"max_gen_toks": 32}, output_dir=work / backend)
r = so.compare_samples(so.read_samples(work / "hf"), so.read_samples(work / "hf-fast"), atol=1e-4)
good = r["mc_identical"] and r["generation_agreement"] == 1.0
print(("ok: " if good else "") + f"max |loglik diff| {r['loglik_max_abs_diff']:.1e}, "
      f"generations agree {r['generation_agreement']:.3f} (16 claims each)")
EOF
)
  case "$verdict" in
    ok:*) say PASS hf-fast-cuda "${verdict#ok: }" ;;
    *) say FAIL hf-fast-cuda "${verdict:-no verdict; see the log} (log: $log)" ;;
  esac
}

# ---------------------------------------------------------------- 3. vLLM on the main task
check_vllm() {
  local vpy=${VLLM_PYTHON:-} log="$WORK/vllm.log"
  if [ -z "$vpy" ]; then
    say SKIP vllm "VLLM_PYTHON not set (vLLM pins its own torch: give a separate environment)"
    return
  fi
  if ! "$vpy" -c 'import vllm, logic_claims.harness' >/dev/null 2>&1; then
    say SKIP vllm "$vpy cannot import vllm and logic_claims (install both there)"
    return
  fi
  if timeout 240 "$vpy" -m logic_claims.harness.cli eval --backend vllm --model "$MODEL" \
      --tasks logic_claims --limit 8 --gen-kwargs max_gen_toks=32 >"$log" 2>&1 \
      && grep -q "logic_claims" "$log"; then
    say PASS vllm "lm-eval's vllm backend ran logic_claims on 8 claims per quantifier"
  else
    say FAIL vllm "$(tail -n 1 "$log") (log: $log)"
  fi
}

check_zero3
check_hf_fast
check_vllm
exit "$FAILED"
