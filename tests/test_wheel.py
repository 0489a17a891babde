"""The tasks from an installed package: build the wheel, install it into a fresh venv that
reuses this venv's dependencies, and run lm-eval on `logic-claims tasks path` from a
temporary folder, with `logic_claims` imported from the wheel (not this checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

# Non-Python files the package needs at run time, by folder of the checkout and the
# pattern pyproject's package-data gives them.
DATA_FILES = {
    "tasks/logic_claims": ("*.yaml", "*_yaml"),
    "harness/report/templates": ("*",),
    "annotations/static": ("*.html", "*.js", "*.css"),
    "harness/configs": ("*.yaml",),
    "adapters/configs": ("*.yaml",),
}


def _source_files() -> list[str]:
    """The checkout's files as git sees them (tracked, and new files not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [p for p in listed.split("\0") if p and (REPO / p).is_file()]


def _expected_data_files(files: list[str]) -> set[str]:
    """The wheel path of every data file of DATA_FILES in the checkout."""
    out = set()
    for folder, patterns in DATA_FILES.items():
        for path in files:
            p = Path(path)
            if str(p.parent) == folder and any(p.match(pattern) for pattern in patterns):
                out.add(f"logic_claims/{path}")
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline (no build isolation) from a copy of the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    for path in _source_files():
        target = source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((REPO / path).read_bytes())
    dist = tmp / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist), str(source)],
        check=True, cwd=tmp,
    )  # fmt: skip
    (built,) = dist.glob("logic_claims-*.whl")
    return built


def test_wheel_carries_the_task_yamls_templates_static_files_and_configs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _expected_data_files(_source_files())
    for must in (
        "logic_claims/tasks/logic_claims/_logic_claims.yaml",
        "logic_claims/tasks/logic_claims/_gen_template_yaml",
        "logic_claims/harness/report/templates/explorer.js",
        "logic_claims/annotations/static/app.js",
        "logic_claims/harness/configs/demo.yaml",
        "logic_claims/adapters/configs/lora.yaml",
    ):
        assert must in expected
    assert sorted(expected - names) == []
    assert "logic_claims/tasks/logic_claims/utils.py" in names


def test_installed_wheel_runs_lm_eval_from_any_folder(
    wheel: Path, tmp_path: Path, tiny_llama: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # This venv's packages (torch, lm-eval, ...) after the new venv's own: the wheel,
    # installed there, comes first. A .pth line adds the folder only: the editable
    # install's finder (a .pth file of that folder) is not run.
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "zz_project_venv.pth").write_text(ours + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True,
    )  # fmt: skip
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    def run(*command: str | Path) -> str:
        done = subprocess.run(
            [str(c) for c in command], cwd=run_dir, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    where = run(python, "-c", "import logic_claims.tasks as t; print(t.__file__)").strip()
    assert Path(where).is_relative_to(site), where
    tasks_dir = Path(run(venv / "bin" / "logic-claims", "tasks", "path").strip())
    assert tasks_dir == Path(site) / "logic_claims" / "tasks"
    assert (tasks_dir / "logic_claims" / "_logic_claims.yaml").is_file()
    # The README's command, through this venv's python (lm-eval's own `lm_eval` script
    # would run this checkout's venv, where the editable install is found).
    out = run(
        python, "-m", "lm_eval", "--model", "hf",
        "--model_args", f"pretrained={tiny_llama},dtype=float32", "--device", "cpu",
        "--tasks", "logic_claims", "--include_path", tasks_dir, "--limit", "1",
        "--output_path", "out", "--log_samples",
    )  # fmt: skip
    assert "logic_claims_all" in out and "logic_claims_some" in out
    samples = list((run_dir / "out").rglob("samples_logic_claims_all_*.jsonl"))
    assert len(samples) == 1 and samples[0].read_text(encoding="utf-8").count("\n") == 1
