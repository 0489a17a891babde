"""Text rules of the dataset: the key a generic is grouped by, sentences, case, hashes.

``normalise`` is the identity of a generic (splits are by it, retrieval never returns
a claim's own generic by it); ``sentence`` and ``lower_first`` turn a CSV cell into the
tail of a claim ("Birds feed on grain" -> "birds feed on grain."); ``stable_hash`` keys
ids, splits and caches.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from logic_claims.tasks.sources import Row

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def normalise(sentence: str) -> str:
    """Case-, space- and final-period-insensitive key of a generic."""
    return re.sub(r"\s+", " ", sentence).strip().rstrip(".").strip().lower()


def sentence(text: str) -> str:
    """``text`` with single spaces and exactly one final period."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".").rstrip() + "."


def stable_hash(text: str) -> str:
    """Hex sha256 of the UTF-8 text: the same on every machine and Python run."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def common_words(rows: Iterable[Row]) -> set[str]:
    """Words that, after the first word of a sentence, are mostly written in lower case.

    A sentence-initial word whose lower-case form is in this set is a common noun
    ("Birds" -> "birds"); one that is mostly capitalised mid-sentence ("Australian")
    or never seen there ("Ctenophores", "DNA") is kept as written, so proper nouns
    keep their case in the claims. When unsure, the case is left alone.
    """
    lower: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    for row in rows:
        for text in (row.generic, row.exemplar):
            for token in _WORD.findall(text)[1:]:
                if token.islower():
                    lower[token] += 1
                elif token[:1].isupper() and token[1:].islower():
                    capitalised[token.lower()] += 1
    return {word for word, n in lower.items() if n > capitalised[word]}


def lower_first(text: str, common: set[str]) -> str:
    """Lower-case the first word when it is a capitalised common word."""
    match = _WORD.match(text)
    if not match:
        return text
    word = match.group(0)
    if word[:1].isupper() and word[1:].islower() and word.lower() in common:
        return word.lower() + text[len(word) :]
    return text
