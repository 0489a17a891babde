"""A judge asked fairly: each label scored by all its surface forms, its margin stored with
each judgment and carried by every export and import, the AUC of that margin in
``annotate calibrate``, and chat backends refused for log-likelihoods before loading.

The real OpenAI-compatible server (``transformers serve``) is in ``test_judge_server.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from annotation_helpers import (
    cli,
    export_then_import,
    judgments_of,
    make_store,
    one_line_error,
    people_then_judge,
)

from logic_claims.annotations.judge_prompt import judge_prompt, label_words, surface_forms
from logic_claims.annotations.records import FACTUAL, JUSTIFIED
from logic_claims.annotations.stats import roc_auc
from logic_claims.harness.judge import (
    JudgeSettings,
    Verdict,
    judge_store,
    load_model,
    model_decider,
)

INFO = JudgeSettings("smollm2-135m-instruct").record()


def test_surface_forms_cover_case_and_leading_space() -> None:
    assert surface_forms("yes") == (" yes", " Yes", " YES", "yes", "Yes", "YES")
    assert surface_forms("ok") == (" ok", " Ok", " OK", "ok", "Ok", "OK")
    assert INFO["label_scoring"] == "sum of probabilities over case x leading space"
    assert "label_scoring" not in JudgeSettings("m", method="generate").record()


def test_loglikelihood_sums_every_surface_form_and_records_the_margin(
    tmp_path: Path, tiny_llama: Path
) -> None:
    """The verdict and margin equal log-sum-exp over the six forms of each word, recomputed
    here from lm-eval's own log-likelihoods of each continuation."""
    from lm_eval.api.instance import Instance

    settings = JudgeSettings(str(tiny_llama), backend="hf", batch_size=4, device="cpu")
    lm = load_model(settings)
    requests = [(FACTUAL, "All birds fly.", "False, penguins."),
                (JUSTIFIED, "Some cats hunt mice.", "True, many do.")]  # fmt: skip
    verdicts = model_decider(lm, settings)(requests)
    for (dim, claim, answer), verdict in zip(requests, verdicts, strict=True):
        context = judge_prompt(dim, claim, answer)
        total = {}
        for choice in label_words(dim):
            forms = surface_forms(choice.word)
            got = lm.loglikelihood([Instance("loglikelihood", {}, (context, f), idx=0)
                                    for f in forms], disable_tqdm=True)  # fmt: skip
            total[choice.label] = math.log(sum(math.exp(lp) for lp, _ in got))
        assert verdict.score == pytest.approx(total["1"] - total["0"], abs=1e-4)
        assert verdict.label == max(total, key=total.get)
    # Through the store: every judgment carries its margin.
    store = make_store(tmp_path / "s.sqlite", 3)
    judge_store(store, model_decider(lm, settings), settings.record(), "tiny", batch_size=2)
    stored = judgments_of(store, "tiny")
    assert len(stored) == 6
    assert all((s > 0) == (v == "1") for v, s in stored.values())


def scored_store(tmp_path: Path) -> tuple[Path, Path]:
    """People (ann, bob) and a judge ``robot`` whose margins rank the items; and the
    people-only copy."""

    def decide(requests):
        return [Verdict("1" if len(a) % 2 else "0", len(a) / 10 - 2.5) for _, _, a in requests]

    return people_then_judge(tmp_path, decide, INFO)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "labelstudio"])
def test_margins_survive_an_export_and_import(
    tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str
) -> None:
    path, people = scored_store(tmp_path)
    code, err, _ = export_then_import(path, people, fmt, capsys)
    assert code == 0, err
    before, after = judgments_of(path, "robot"), judgments_of(people, "robot")
    assert after == before and all(s is not None for _, s in after.values())
    assert all(s is None for _, s in judgments_of(people, "ann").values())


def test_a_person_with_a_score_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path, _ = scored_store(tmp_path)
    capsys.readouterr()
    item = next(iter(judgments_of(path, "ann")))[0]
    bad = tmp_path / "bad.jsonl"
    line = {"item_id": item, "system": "A", "annotator": "ann", "dimension": "factual",
            "value": "1", "score": 0.5}  # fmt: skip
    bad.write_text(json.dumps(line) + "\n")
    code, _, err = cli("annotate", "import", bad, "--store", path, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{bad}:1", "a person's judgment has none")
    nan = tmp_path / "nan.csv"
    nan.write_text(f"item_id,system,annotator,factual,rater_kind,judge,factual_score\n"
                   f"{item},A,robot,1,model,{{}},nan\n")  # fmt: skip
    code, _, err = cli("annotate", "import", nan, "--store", path, capsys=capsys)
    assert code == 2 and "score must be finite" in err and err.count("\n") == 1


def test_calibrate_reports_the_auc_of_the_margins(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path, _ = scored_store(tmp_path)
    capsys.readouterr()
    code, out, err = cli("annotate", "calibrate", path, "--judge", "robot", "--format", "json",
                         capsys=capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    factual = report["dimensions"][0]
    assert factual["dimension"] == "factual" and factual["auc_from"] == "margins"
    ann = next(c for c in factual["comparisons"] if c["reference"] == "ann")
    mine = judgments_of(path, "robot")
    theirs = {i: v for (i, d), (v, _) in judgments_of(path, "ann").items() if d == "factual"}
    expected = roc_auc([mine[(i, "factual")][1] for i in theirs],
                       [theirs[i] == "1" for i in theirs])  # fmt: skip
    assert ann["auc"]["statistic"] == pytest.approx(expected.statistic)
    assert ann["auc"]["n_positive"] + ann["auc"]["n_negative"] == len(theirs)
    assert "too few for an interval" in ann["auc"]["details"]["withheld"]  # 3 and 3 items
    people = [c for c in factual["comparisons"] if c["kind"] == "human-human"]
    assert people and all(c["auc"]["statistic"] is None for c in people)
    code, text, _ = cli("annotate", "calibrate", path, "--judge", "robot", capsys=capsys)
    assert code == 0 and "AUC" in text and "DeLong" in text


def test_a_chat_backend_takes_generation_only_and_says_so_before_loading(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = make_store(tmp_path / "s.sqlite", 2)
    chat = ["--backend", "local-chat-completions", "--model", "served"]
    for argv, problem in (
        (chat, "chat endpoints give no log-likelihoods; use --method generate"),
        ([*chat, "--method", "generate"], "give the server's endpoint, --model-args base_url="),
    ):
        code, _, err = cli("annotate", "judge", "--store", store, *argv, capsys=capsys)
        assert code == 2 and problem in err and err.count("\n") == 1, err
    assert judgments_of(store, "judge-served-loglik") == {}
    # The model is the server's: a hub id nobody has downloaded is fine (offline).
    served = JudgeSettings("Org/Big-72B-Instruct", backend="local-chat-completions",
                           method="generate", model_args={"base_url": "http://h:1/v1"})  # fmt: skip
    served.check()
