"""What the benchmark is: claims, data, prompt, scoring, and the lm-eval task folder.

The lowest layer of logic-claims; it imports nothing else of the project. Pass this
folder to lm-eval's ``--include_path`` (it finds the YAMLs in ``logic_claims/``).
"""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
