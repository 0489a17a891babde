"""Helpers shared by the annotation tests: lm-eval samples files, stores built through the
real CLI, a dump of a store to assert it unchanged, and ratings frames for the reports.

Import them by name (``from annotation_helpers import new_store``): pytest puts ``tests/``
on ``sys.path``, as for ``reference_data``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from logic_claims.annotations.ratings import COLUMNS
from logic_claims.annotations.records import Item
from logic_claims.annotations.store import Store, create_atomically
from logic_claims.harness import cli as harness_cli

# The study's two human-evaluation files (human_model4.csv, human_model6.csv), beside the project.
SEED_RESULTS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seed-results"

# -- lm-eval samples and stores ------------------------------------------------------------

CLAIMS = [
    ("All birds fly.", "all", False),
    ("Not all birds fly.", "not_all", True),
    ("Some cats hunt mice.", "some", True),
    ("No cats hunt mice.", "no", False),
    ("All dogs bark.", "all", False),
    ("Not all dogs bark.", "not_all", True),
    ("Some owls hunt at night.", "some", True),
    ("No owls hunt at night.", "no", False),
]


def lm_eval_record(doc_id: int, claim: str, quantifier: str, label: bool, answer: str) -> dict:
    """One record with exactly the keys lm-eval's EvaluationTracker writes for our tasks."""
    target = ("True, " if label else "False, ") + "an exemplar."
    return {
        "doc_id": doc_id,
        "doc": {
            "id": f"lc-{doc_id:04d}",
            "split": "test",
            "generic": claim.split(" ", 1)[1],
            "quantifier": quantifier,
            "claim": claim,
            "label": label,
            "target": target,
            "exemplar": "an exemplar.",
            "source": "negative" if quantifier in ("all", "not_all") else "positive",
            "construction": "standard",
        },
        "target": target,
        "arguments": {"gen_args_0": {"arg_0": f"Statement: {claim}\nAnswer:", "arg_1": {}}},
        "resps": [[answer]],
        "filtered_resps": [answer],
        "filter": "none",
        "metrics": ["correct", "tie", "wrong"],
        "doc_hash": "x",
        "prompt_hash": "y",
        "target_hash": "z",
        "correct": 1,
        "tie": 0,
        "wrong": 0,
    }


def write_samples(
    folder: Path, answers: list[str], model: str = "model", claims: list = CLAIMS
) -> Path:
    """lm-eval's layout: DIR/<sanitized model>/samples_<task>_<date>.jsonl + results JSON."""
    date = "2024-05-01T10-00-00.000001"
    out = folder / f"__models__{model}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"samples_logic_claims_all_{date}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n, ((claim, quantifier, label), answer) in enumerate(
            zip(claims, answers, strict=False)
        ):
            fh.write(json.dumps(lm_eval_record(n, claim, quantifier, label, answer)) + "\n")
    results = {"config": {"model": "hf", "model_args": {"pretrained": f"/models/{model}"}}}
    (out / f"results_{date}.json").write_text(json.dumps(results))
    return path


def cli(*argv: str, capsys: pytest.CaptureFixture | None = None) -> tuple[int, str, str]:
    """Run `logic-claims ...` in-process through the real entry point."""
    code = harness_cli.main([str(a) for a in argv])
    if capsys is None:
        return code, "", ""
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def new_store(
    tmp_path: Path,
    systems: dict[str, list[str]],
    annotators: str = "ann,bob,cem",
    per_item: int = 2,
    name: str = "ratings.sqlite",
    extra: tuple[str, ...] = (),
) -> Path:
    store = tmp_path / name
    args: list[str] = ["annotate", "new", "--store", store, "--per-item", str(per_item)]
    args += ["--annotators", annotators, *extra]
    for system, answers in systems.items():
        args += ["--samples", write_samples(tmp_path / system, answers, model=system)]
    assert cli(*args) == (0, "", "")
    return store


ANSWERS_A = [
    "False, penguins do not fly.",
    "True, penguins do not fly.",
    "True, some cats hunt mice.",
    "False, many cats hunt mice.",
    "False, some dogs do not bark.",
    "True, basenjis do not bark.",
    "True, barn owls hunt at night.",
    "False, barn owls hunt at night.",
]
ANSWERS_B = [
    "True, birds have wings.",  # differs from A
    "True, penguins do not fly.",  # identical to A: one item, judged once
    "False, cats are pets.",
    "False, many cats hunt mice.",  # identical to A
    "True, dogs bark.",
    "True, basenjis do not bark.",  # identical to A
    "True, owls are birds.",
    "False, owls sleep at night.",
]


def dump(path: Path) -> list[tuple]:
    """Every row of every table: to assert a store is unchanged."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, *row) for t in sorted(tables) for row in conn.execute(f"SELECT * FROM {t}")]
    finally:
        conn.close()


def one_line_error(err: str, where: str, problem: str) -> None:
    """The CLI's error for bad input: one line, naming file (and line), saying the problem."""
    assert err.count("\n") == 1, err
    assert err.startswith(f"logic-claims: error: {where}"), err
    assert problem in err, err


def ratings_key(frame: pd.DataFrame) -> list[tuple]:
    """A ratings frame as sorted tuples, without the time: to compare two reads of judgments."""
    cols = [c for c in COLUMNS if c != "time"]
    rows = frame[cols].astype(object).where(frame[cols].notna(), None)
    return sorted(tuple(r) for r in rows.itertuples(index=False))


# -- ratings frames for the reports --------------------------------------------------------


def long_rows(matrix, dimension="category", system="s", raters=None):
    """Items x raters matrix -> one row per judgment; a missing cell is an absent row."""
    raters = raters or [f"r{j + 1}" for j in range(len(matrix[0]))]
    return [
        {
            "item_id": f"u{i + 1}",
            "system": system,
            "annotator": raters[j],
            "dimension": dimension,
            "value": str(v),
        }
        for i, row in enumerate(matrix)
        for j, v in enumerate(row)
        if v is not None
    ]


def synthetic(
    n_claims=40,
    systems=("A", "B"),
    accuracy=(0.9, 0.7),
    raters=("ann", "bob", "cat", "dan"),
    per_item=3,
    seed=0,
    missing=0.0,
    noise=0.1,
):
    """Paired design: every claim answered by every system, each item judged by per_item raters."""
    rng = np.random.default_rng(seed)
    quantifiers = ["all", "not_all", "some", "no"]
    rows = []
    for c in range(n_claims):
        q = quantifiers[c % 4]
        claim = f"{q.replace('_', ' ').capitalize()} things {c} do stuff."
        for system, acc in zip(systems, accuracy, strict=True):
            truth = {d: rng.random() < acc for d in ("factual", "justified")}
            for rater in rng.choice(raters, size=per_item, replace=False):
                for dim, good in truth.items():
                    if rng.random() < missing:
                        continue
                    value = good if rng.random() > noise else not good
                    rows.append(
                        {
                            "item_id": f"{system}-{c}",
                            "system": system,
                            "annotator": str(rater),
                            "dimension": dim,
                            "value": str(int(value)),
                            "quantifier": q,
                            "claim": claim,
                            "label": q in ("not_all", "some"),
                            "pair_id": f"p{c}",
                        }
                    )
    return pd.DataFrame(rows)


def dumps(report):
    return json.dumps(report, allow_nan=False)  # strict JSON: no NaN, no numpy types


def value_for(item_id: str, annotator: str, dimension: str) -> str:
    """A label that depends on all three keys: a crossed write would show."""
    return str(hashlib.sha256(f"{item_id}|{annotator}|{dimension}".encode()).digest()[0] % 2)


def make_store(path: Path, n_items: int, raters: tuple[str, ...] = ("ann",)) -> Path:
    """A store of ``n_items`` distinct answers, every item assigned to every rater."""

    def build(store: Store) -> None:
        for rater in raters:
            store.add_annotator(rater)
        for n in range(n_items):
            claim = CLAIMS[n % len(CLAIMS)][0]
            item = Item(claim=claim, answer=f"{'True' if n % 3 else 'False'}, reason {n}.")
            store.add_item(item, "sys")
            for rater in raters:
                store.assign(item.item_id, rater)

    create_atomically(path, build)
    return path


def judgments_of(path: Path, rater: str) -> dict[tuple[str, str], tuple[str, float | None]]:
    """A rater's current judgments in a store: (item, dimension) -> (value, score)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT item_id, dimension, value, score FROM ratings WHERE annotator=?", (rater,)
        ).fetchall()
    finally:
        conn.close()
    return {(i, d): (v, s) for i, d, v, s in rows}


def export_then_import(
    path: Path, people: Path, fmt: str, capsys: pytest.CaptureFixture
) -> tuple[int, str, Path]:
    """Export store ``path`` as ``fmt`` (csv, jsonl, labelstudio with the judgments) and
    import that file into store ``people`` with ``--add-annotators``: the import's exit
    code and standard error, and the exported file."""
    out = path.parent / f"export.{ {'labelstudio': 'json'}.get(fmt, fmt) }"
    extra = ["--with-judgments"] if fmt == "labelstudio" else []
    assert cli("annotate", "export", "--store", path, "--out", out, *extra)[0] == 0
    code, _, err = cli("annotate", "import", out, "--store", people, "--add-annotators",
                       capsys=capsys)  # fmt: skip
    return code, err, out


def people_then_judge(tmp_path: Path, decide, info: dict) -> tuple[Path, Path]:
    """A set of ``ANSWERS_A`` judged by people (ann and bob: six items each, factual
    alternating, justified 1), then by the model judge ``robot`` deciding with ``decide``;
    and a copy of the set as it was before the judge (people only)."""
    from logic_claims.harness.judge import judge_store

    path = new_store(tmp_path, {"A": ANSWERS_A}, annotators="ann,bob", per_item=2)
    with Store.open(path) as store:
        for rater in ("ann", "bob"):
            for n, item in enumerate(store.queue(rater)[:6]):
                store.rate(item, rater, "factual", str(n % 2))
                store.rate(item, rater, "justified", "1")
        people = tmp_path / "people.sqlite"
        store.conn.execute("VACUUM INTO ?", (str(people),))
    judge_store(path, decide, info, "robot")
    return path, people
