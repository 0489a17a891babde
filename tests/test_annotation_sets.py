"""Building a set (`annotate new`): balanced, seeded assignment; blinded items shared by
systems that gave the same answer; lm-eval --log_samples files (one real lm-eval run).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from annotation_helpers import (
    ANSWERS_A,
    ANSWERS_B,
    CLAIMS,
    cli,
    lm_eval_record,
    new_store,
    write_samples,
)

from logic_claims.annotations import assignment, records
from logic_claims.annotations import store as S
from logic_claims.annotations.samples import default_system_name, read_samples
from logic_claims.tasks.errors import InputError

# -- building a set ----------------------------------------------------------------------


@pytest.mark.parametrize(("n_items", "raters", "k"), [(8, 3, 2), (11, 4, 3), (5, 5, 1)])
def test_assignment_is_balanced_and_seeded(n_items: int, raters: int, k: int) -> None:
    items = [f"i{n}" for n in range(n_items)]
    names = [f"r{n}" for n in range(raters)]
    plan = assignment.plan_assignments(items, names, k, seed=7)
    per_item = Counter(i for assigned in plan.values() for i in assigned)
    assert per_item == dict.fromkeys(items, k)  # every item exactly K distinct raters
    assert all(len(set(v)) == len(v) for v in plan.values())
    loads = [len(v) for v in plan.values()]
    assert max(loads) - min(loads) <= 1
    assert plan == assignment.plan_assignments(items, names, k, seed=7)
    assert plan != assignment.plan_assignments(items, names, k, seed=8)


def test_per_rater_orders_differ() -> None:
    items = [f"i{n}" for n in range(30)]
    plan = assignment.plan_assignments(items, ["a", "b"], 2, seed=0)
    assert sorted(plan["a"]) == sorted(plan["b"]) == sorted(items)
    assert plan["a"] != plan["b"]


def test_assignment_needs_enough_raters() -> None:
    with pytest.raises(InputError, match="--per-item 3 needs at least 3 raters"):
        assignment.plan_assignments(["x"], ["a", "b"], 3, seed=0)


def test_new_set_from_two_systems_is_blinded_and_shares_identical_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B})
    out = capsys.readouterr().out
    assert "system sysA: 8 answers" in out and "system sysB: 8 answers" in out
    assert "3 items are identical answers of several systems" in out
    with S.Store.open(path) as store:
        assert store.systems() == ["sysA", "sysB"]
        assert store.summary()["items"] == 13  # 16 answers, 3 identical pairs
        shared = records.item_id_of("Not all birds fly.", "True, penguins do not fly.")
        assert store.item_systems(shared) == ["sysA", "sysB"]
        assigned = Counter(r[0] for r in store.conn.execute("SELECT item_id FROM assignments"))
        assert set(assigned.values()) == {2} and len(assigned) == 13
        for rater in ("ann", "bob", "cem"):
            state = store.rater_state(rater)
            shown = json.dumps(state)
            assert "sysA" not in shown and "sysB" not in shown  # raters never see the system
            assert set(state["item"]) == {"item_id", "claim", "answer"}
        item = store.item(shared)
        assert (item["quantifier"], item["label"]) == ("not_all", 1)
        assert item["pair_id"] == records.pair_id_of("Not all birds fly.")


def test_new_with_limit_prefers_paired_claims(tmp_path: Path) -> None:
    claims_b = CLAIMS[2:]  # B answered 6 of A's 8 claims
    folder_b = tmp_path / "b"
    samples_b = write_samples(folder_b, ANSWERS_B[2:], model="b", claims=claims_b)
    samples_a = write_samples(tmp_path / "a", ANSWERS_A, model="a")
    store = tmp_path / "s.sqlite"
    argv = ["annotate", "new", "--store", store, "--per-item", "1", "--annotators", "x"]
    argv += ["--samples", samples_a, "--samples", samples_b, "--limit", "4", "--seed", "3"]
    assert cli(*argv) == (0, "", "")
    with S.Store.open(store) as s:
        pairs = {
            system: {
                r[0]
                for r in s.conn.execute(
                    "SELECT i.pair_id FROM items i JOIN item_systems x USING (item_id)"
                    " WHERE x.system=?",
                    (system,),
                )
            }
            for system in ("a", "b")
        }
    assert len(pairs["a"]) == len(pairs["b"]) == 4
    assert pairs["a"] == pairs["b"]  # the claims both answered came first


def test_system_names_come_from_lm_eval_files(tmp_path: Path) -> None:
    path = write_samples(tmp_path, ANSWERS_A, model="llama-7b")
    assert default_system_name(path) == "llama-7b"
    results = next(path.parent.glob("results_*.json"))
    results.write_text(
        json.dumps({"config": {"model_args": "pretrained=/m/llama-7b,peft=/runs/peft8/"}})
    )
    assert default_system_name(path) == "llama-7b+peft8"
    results.unlink()
    assert default_system_name(path) == "llama-7b"  # lm-eval's folder __models__llama-7b


def test_samples_not_from_lm_eval_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = write_samples(tmp_path / "good", ANSWERS_A)
    bad_cases = {
        "plain.jsonl": ('{"claim": "All birds fly."}\n', 1, "no doc, doc_id, resps"),
        "notjson.jsonl": ("hello\n", 1, "not valid JSON"),
        "empty.jsonl": ("", None, "empty file"),
        "mc.jsonl": (
            json.dumps({**lm_eval_record(0, *CLAIMS[0], "x"), "resps": [[[-1.5, False]]],
                        "filtered_resps": [[-1.5, False]]}) + "\n",
            1,
            "no free-text answer",
        ),
        "other_task.jsonl": (
            json.dumps({"doc_id": 0, "doc": {"question": "2+2"}, "resps": [["4"]]}) + "\n",
            1,
            "doc has no 'claim'",
        ),
    }  # fmt: skip
    store = tmp_path / "s.sqlite"
    for name, (text, line, problem) in bad_cases.items():
        bad = tmp_path / name
        bad.write_text(text)
        argv = ["annotate", "new", "--store", store, "--per-item", "1", "--annotators", "a"]
        code, _, err = cli(*argv, "--samples", good, "--samples", bad, capsys=capsys)
        assert code == 2
        assert err.count("\n") == 1, err  # one line
        where = f"{bad}:{line}:" if line else f"{bad}:"
        assert err.startswith(f"logic-claims: error: {where}") and problem in err, err
        assert not store.exists()
        assert not list(tmp_path.glob(".s.sqlite*"))  # no temporary left behind either


def test_dimensions_are_configurable(tmp_path: Path) -> None:
    path = new_store(
        tmp_path,
        {"a": ANSWERS_A},
        per_item=1,
        annotators="ann",
        extra=("--dimension", "factual", "--dimension", "fluency:bad/ok/good:Reads naturally."),
    )
    with S.Store.open(path) as store:
        fluency = store.dims_by_name["fluency"]
        assert fluency.labels == ("bad", "ok", "good")
        assert fluency.definition == "Reads naturally."
        assert fluency.key_map() == {"1": "bad", "2": "ok", "3": "good"}
        assert store.dims_by_name["factual"].definition == records.FACTUAL.definition
        item = store.queue("ann")[0]
        store.rate(item, "ann", "fluency", "ok")
        with pytest.raises(InputError, match="not one of bad/ok/good"):
            store.rate(item, "ann", "fluency", "1")


# -- a real lm-eval run -------------------------------------------------------------------


def _run_lm_eval(model: Path, out: Path, max_gen_toks: int) -> list[Path]:
    from logic_claims.harness.evaluate import run_eval

    run_eval(
        str(model),
        tasks=("logic_claims_all", "logic_claims_some"),
        limit=3,
        output_dir=out,
        batch_size=4,
        gen_kwargs={"max_gen_toks": max_gen_toks},
        device="cpu",
    )
    return sorted(out.glob("*/samples_logic_claims_*.jsonl"))


@pytest.mark.slow
def test_new_set_from_real_lm_eval_samples(tmp_path: Path, tiny_llama: Path) -> None:
    short = _run_lm_eval(tiny_llama, tmp_path / "short", 4)
    long = _run_lm_eval(tiny_llama, tmp_path / "long", 12)
    assert len(short) == len(long) == 2
    for path in short:
        items = read_samples(path)
        assert len(items) == 3
        record = json.loads(path.read_text().splitlines()[0])
        assert items[0].item.answer == record["resps"][0][0].strip()
        assert items[0].item.claim == record["doc"]["claim"]
        assert items[0].item.label == record["doc"]["label"]
        assert default_system_name(path) == tiny_llama.name
    store = tmp_path / "s.sqlite"
    argv: list[Any] = ["annotate", "new", "--store", store, "--per-item", "2"]
    argv += ["--annotators", "a,b", "--seed", "1"]
    for path in short:
        argv += ["--samples", path, "--system", "short"]
    for path in long:
        argv += ["--samples", path, "--system", "long"]
    assert cli(*argv) == (0, "", "")
    with S.Store.open(store) as s:
        summary = s.summary()
        assert summary["systems"] == {"long": 6, "short": 6}
        quantifiers = {r[0] for r in s.conn.execute("SELECT quantifier FROM items")}
        assert quantifiers == {"all", "some"}
        assert s.progress("a") == (0, summary["items"])
