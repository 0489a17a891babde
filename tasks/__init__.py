"""lm-eval task configs for logic-claims; pass this folder to ``--include_path``."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
