"""The study's human-evaluation CSVs (``human_model4.csv``, ``human_model6.csv``).

No header and no quoting: ``index,claim,output,factual,justified,`` where the claim and
the output may themselves contain commas. The last three fields (factual, justified and
an empty one the study's writer left by ending each line with a comma) are taken from
the right; what is left is ``index,claim,output``. The claim is one sentence starting
with All / Not all / Some / No and ending with '.', so the split between claim and
output is the comma after the first such '.', preferring the one where the output
starts with the model's verdict ("True"/"False"), as every output in the study does but
two degenerate ones.

Item ids here include the system. The study judged each model's outputs in a separate,
unblinded pass, and the same answer to the same claim judged in both passes did not
always get the same label (human_model4.csv line 49 and human_model6.csv line 613:
factual 0, then 1). A judgment made while reading model4's file is a judgment of
model4's answer, so each file's items are its own; ``pair_id`` (the claim) still pairs
the two systems' answers for comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from logic_claims.annotations.records import DEFAULT_DIMENSIONS, Item, Rating, content_hash
from logic_claims.annotations.store import Store, create_atomically
from logic_claims.annotations.store_io import ImportResult, rate_counted
from logic_claims.tasks.claims import DEFAULT_TRUTH, quantifier_of
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import read_text, split_lines

_VERDICT = re.compile(r"^\s*(true|false)\b", re.IGNORECASE)


@dataclass
class LegacyRow:
    index: str
    item: Item
    factual: str
    justified: str
    line: int


def split_claim_output(middle: str) -> tuple[str, str] | None:
    """``claim,output`` -> (claim, output), or None if no comma gives a claim."""
    candidates = []
    for match in re.finditer(",", middle):
        claim, output = middle[: match.start()].strip(), middle[match.end() :]
        if claim.endswith(".") and quantifier_of(claim) is not None:
            candidates.append((claim, output.strip()))
    if not candidates:
        return None
    for claim, output in candidates:
        if _VERDICT.match(output):
            return claim, output
    return candidates[0]


def read_legacy(path: str | Path, system: str) -> list[LegacyRow]:
    """Rows of one of the study's human-evaluation files of ``system``'s answers;
    InputError names file and line."""
    path = Path(path)
    # Lines as the study read them (``for line in open(...)``: universal newlines, which
    # read_text applies), never split at U+2028, U+0085 or form feeds inside an answer.
    text = read_text(path, empty="empty file (no judgments)")
    rows: list[LegacyRow] = []
    for lineno, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split(",")
        if len(fields) < 6 or fields[-1].strip() != "":
            raise InputError(
                "expected index,claim,output,factual,justified, (a trailing comma, no header)",
                path,
                lineno,
            )
        factual, justified = fields[-3].strip(), fields[-2].strip()
        for name, value in (("factual", factual), ("justified", justified)):
            if value not in ("0", "1"):
                raise InputError(f"{name} must be 0 or 1, got {value!r}", path, lineno)
        index = fields[0].strip()
        if not index.isdigit():
            raise InputError(f"first field must be the study's index, got {index!r}", path, lineno)
        split = split_claim_output(",".join(fields[1:-3]))
        if split is None:
            raise InputError(
                "no claim found (a sentence starting with All/Not all/Some/No and ending "
                "with '.', followed by a comma)",
                path,
                lineno,
            )
        claim, output = split
        quantifier = quantifier_of(claim)
        item = Item(
            claim=claim,
            answer=output,
            quantifier=quantifier,
            label=DEFAULT_TRUTH.get(quantifier or ""),
            doc_id=index,
            item_id=content_hash(system, claim, output),
        )
        rows.append(LegacyRow(index, item, factual, justified, lineno))
    return rows


def import_study_judgments(
    path: Path, system: str, annotator: str, store_path: Path
) -> tuple[int, ImportResult]:
    """Add one of the study's files to a store (created if missing), in one transaction:
    its answers as items of ``system``, its 0/1 labels as ``annotator``'s judgments.
    Returns the number of judged answers read and what was added."""
    rows = read_legacy(path, system)
    result = ImportResult()

    def apply(store: Store) -> None:
        for name in ("factual", "justified"):
            if name not in store.dims_by_name:
                raise InputError(f"store has no {name!r} dimension", store.path)
        if annotator not in store.annotators():
            store.add_annotator(annotator)
            result.annotators_added.append(annotator)
        store.check_person(annotator)  # the study's files are people's judgments
        for row in rows:
            source = f"{path.name}:{row.line}"
            store.add_item(row.item, system, source)
            store.assign(row.item.item_id, annotator)
            for dim, value in (("factual", row.factual), ("justified", row.justified)):
                rating = Rating(row.item.item_id, annotator, dim, value)
                rate_counted(store, rating, (path, row.line), source, None, "error", result)

    if store_path.exists():
        with Store.open(store_path) as store:
            store.check()
            with store.transaction():
                apply(store)
    else:
        create_atomically(store_path, apply, DEFAULT_DIMENSIONS, {"legacy": True})
    return len(rows), result
