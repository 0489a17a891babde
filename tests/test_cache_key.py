"""The compare cache cannot go stale (issue 20): a change to the fast backend is a miss.

A copy of the package tree runs ``logic-claims compare`` on a tiny model (real lm-eval,
the default ``hf-fast`` backend); the same tree finds its entry on a rerun, and after a
one-line edit of the copy's ``harness/fast_lm.py`` (or a different library version) the
entry is not found and the task runs again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logic_claims.harness.compare import cache

ROOT = Path(__file__).resolve().parents[1]
PLAN = """\
import json, sys
from logic_claims.harness.compare import cache, load_config
from logic_claims.harness.compare.runner import plan
(job,) = plan(load_config(sys.argv[1]))
print(json.dumps({"file": cache.__file__, "missing": job.missing, "keys": job.keys,
                  "material": job.material}))
"""


def copy_tree(dest: Path) -> Path:
    """The four subpackages of ``logic_claims`` under ``dest/logic_claims``; put ``dest`` on
    PYTHONPATH and the copy is imported instead of the installed tree."""
    for folder in ("harness", "tasks", "annotations", "adapters"):
        shutil.copytree(
            ROOT / folder,
            dest / "logic_claims" / folder,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return dest


def run_in(tree: Path, *argv: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=600
    )


def plan_in(tree: Path, config: Path) -> dict:
    done = run_in(tree, "-c", PLAN, str(config))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_key_names_the_backend_and_the_library_versions() -> None:
    names = {name for name, _ in cache.code_files()}
    assert {"harness/fast_lm.py", "harness/evaluate.py", "tasks/models.py"} <= names
    versions = cache.library_versions()
    assert set(versions) == {"lm-eval", "torch", "transformers", "tokenizers", "peft"}
    assert versions["torch"] != "missing" and versions["peft"] != "missing"


@pytest.mark.slow
def test_editing_the_fast_backend_in_a_copy_of_the_tree_is_a_miss(
    tmp_path: Path, built_data: Path, tiny_llama: Path
) -> None:
    tree = copy_tree(tmp_path / "tree")
    config = tmp_path / "tiny.yaml"
    config.write_text(
        f"name: tiny\ndata_dir: {built_data}\ncache: {tmp_path / 'cache'}\nlimit: 1\n"
        f"output: {tmp_path / 'out'}\nbaseline: quantifier-rule\n"
        f"defaults: {{model: {tiny_llama}, gen_kwargs: {{max_gen_toks: 2}}}}\n"
        "systems:\n  - {name: quantifier-rule, kind: rule}\n"
        "  - {name: tiny, tasks: [logic_claims_mc]}\n",
        encoding="utf-8",
    )
    before = plan_in(tree, config)
    assert before["file"].startswith(str(tree))  # the copy, not the installed tree
    assert before["missing"] == ["logic_claims_mc"]
    assert before["material"]["logic_claims_mc"]["backend"] == "hf-fast"
    ran = run_in(tree, "-m", "logic_claims.harness.cli", "compare", "--config", str(config))
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert plan_in(tree, config)["missing"] == []  # found: the rerun would run nothing

    fast_lm = tree / "logic_claims" / "harness" / "fast_lm.py"
    fast_lm.write_text(fast_lm.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    after = plan_in(tree, config)
    assert after["missing"] == ["logic_claims_mc"]  # a miss: the old samples are not reused
    assert after["keys"] != before["keys"]
    assert (
        after["material"]["logic_claims_mc"]["code"]
        != before["material"]["logic_claims_mc"]["code"]
    )
