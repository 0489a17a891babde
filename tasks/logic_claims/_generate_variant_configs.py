"""Write the task YAMLs of the baseline variants (zero-shot prompts, RAG) and their groups.

Run after changing the layout:  python tasks/logic_claims/_generate_variant_configs.py
Same pattern as ``_generate_configs.py`` (whose helpers it uses): per-quantifier tasks,
universal/existential groups and one group per variant, so every report reads them the
same way. All else lives in the templates ``_yesno_template_yaml``,
``_explain_template_yaml`` and ``_rag_template_yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _generate_configs as base  # noqa: E402  (a script beside this one, not a package)

GEN_METRICS = ("correct", "tie", "wrong")
RAG_KS = (2, 3, 5)
# (infix in the task name, split, template, extra dataset_kwargs)
VARIANTS: list[tuple[str, str, str, dict[str, int]]] = [
    ("_yesno", "test", "_yesno_template_yaml", {}),
    ("_contrast_yesno", "contrast", "_yesno_template_yaml", {}),
    ("_explain", "test", "_explain_template_yaml", {}),
    ("_contrast_explain", "contrast", "_explain_template_yaml", {}),
]
for _k in RAG_KS:
    VARIANTS += [
        (f"_rag{_k}", "test", "_rag_template_yaml", {"k": _k}),
        (f"_contrast_rag{_k}", "contrast", "_rag_template_yaml", {"k": _k}),
    ]


def task_names() -> list[str]:
    """Every task and group this script writes."""
    names = []
    for infix, *_ in VARIANTS:
        group = f"logic_claims{infix}"
        names.append(group)
        for kind, quantifiers in base.QUANTIFIERS.items():
            names.append(f"{group}_{kind}")
            names += [f"{group}_{q}" for q in quantifiers]
    return names


def main(out: Path = HERE) -> None:
    for infix, split, template, kwargs in VARIANTS:
        group = f"logic_claims{infix}"
        extra = "".join(f"  {key}: {value}\n" for key, value in kwargs.items())
        for kind, quantifiers in base.QUANTIFIERS.items():
            for quantifier in quantifiers:
                (out / f"{group}_{quantifier}.yaml").write_text(
                    base.HEADER.replace("_generate_configs.py", "_generate_variant_configs.py")
                    + f"include: {template}\n"
                    + f"task: {group}_{quantifier}\n"
                    + f"test_split: {split}\n"
                    + "dataset_kwargs:\n"
                    + f"  split: {split}\n"
                    + f"  quantifier: {base.quoted(quantifier)}\n"
                    + extra
                )
            subtasks = "\n".join(f"  - {group}_{q}" for q in quantifiers)
            (out / f"_{group}_{kind}.yaml").write_text(
                base.HEADER.replace("_generate_configs.py", "_generate_variant_configs.py")
                + f"group: {group}_{kind}\ntask:\n{subtasks}\n{base.aggregate(GEN_METRICS)}\n"
                + "metadata:\n  version: 1.0\n"
            )
        kinds = "\n".join(f"  - {group}_{kind}" for kind in base.QUANTIFIERS)
        (out / f"_{group}.yaml").write_text(
            base.HEADER.replace("_generate_configs.py", "_generate_variant_configs.py")
            + f"group: {group}\ntask:\n{kinds}\n{base.aggregate(GEN_METRICS)}\n"
            + "metadata:\n  version: 1.0\n"
        )


if __name__ == "__main__":
    main()
