"""Speed of the claims explorer in headless Chromium: first render and filters.

Builds an explorer of ``--claims`` claims answered by ``--systems`` systems (generated
answers of 60-240 characters, and log-likelihood margins) through the same code as
``logic-claims view`` (``explorer.build`` on lm-eval-style records, ``view.html``), writes
the page and opens it from ``file://`` in Debian's chromium (``make browser``). Measured
in the page (``performance.now()``), each filter is one change of a control and the
synchronous redraw it triggers, followed by a forced layout:

- first render: navigation start until the first table is drawn (HTML parse, JSON parse,
  indexing, the first page of rows), best of ``--repeats`` loads;
- each filter: median and worst of ``--repeats`` applications.

Both sizes run in one process: the default (10,000 x 6) and a tenth of it, and the ratio
says how the times scale. Figures: docs/performance.md.

    python benchmarks/explorer_speed.py
    python benchmarks/explorer_speed.py --claims 20000 --json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser_helpers import CHROMEDRIVER, CHROMIUM, MISSING, chromium

from logic_claims.harness.report import explorer
from logic_claims.harness.report.render import render
from logic_claims.tasks.claims import QUANTIFIERS

WORDS = ("owls", "hunt", "at", "night", "cats", "purr", "dogs", "bark", "birds", "fly", "fish")
FAMILIES = ("standard", "negated_exception", "taxonomic", "contradiction")

# (name, script that applies the filter); each runs after a reset to the unfiltered view.
FILTERS = [
    ("split", "set('ex-split', 'contrast')"),
    ("quantifier group", "set('ex-q', 'universal')"),
    ("family", "set('ex-family', 'taxonomic')"),
    ("system outcome", "set('ex-system', 'system-3'); set('ex-outcome', 'wrong')"),
    ("systems disagree", "check('ex-disagree')"),
    ("text search", "type('owls hunt')"),
    ("sort by a system", "sort('outcome:system-2')"),
    ("next page", "document.getElementById('ex-next').click()"),
]
HELPERS = """
const set = (id, v) => { const e = document.getElementById(id); e.value = v;
  e.dispatchEvent(new Event('change')); };
const check = (id) => { const e = document.getElementById(id); e.checked = true;
  e.dispatchEvent(new Event('change')); };
const type = (v) => { const e = document.getElementById('ex-text'); e.value = v;
  e.dispatchEvent(new Event('input')); };
const sort = (key) => document.querySelector(`button[data-sort='${key}']`).click();
"""


def records(n_claims: int, n_systems: int, seed: int = 0) -> dict[str, dict[str, list]]:
    """lm-eval-style samples: every system answers every claim, generated and LL."""
    rng = random.Random(seed)
    docs = []
    for i in range(n_claims):
        generic = " ".join(rng.sample(WORDS, 3))
        quantifier = QUANTIFIERS[i % 4]
        docs.append({
            "id": f"lc-{i:08d}", "claim": f"{quantifier.title()} {generic}.",
            "label": rng.random() < 0.5, "quantifier": quantifier,
            "split": "test" if i % 3 else "contrast", "construction": rng.choice(FAMILIES),
            "family": rng.choice(FAMILIES[1:]), "generic": generic,
        })  # fmt: skip
    out: dict[str, dict[str, list]] = {}
    for s in range(n_systems):
        gen, mc = [], []
        for i, doc in enumerate(docs):
            answer = (
                rng.choice(["True", "False", "Maybe"])
                + ", "
                + " ".join(rng.choices(WORDS, k=rng.randint(10, 40)))
            )
            outcome = rng.choice(("correct", "tie", "wrong"))
            gen.append({"doc_id": i, "doc": doc, "resps": [[answer]], "filtered_resps": [answer]}
                       | {o: int(o == outcome) for o in ("correct", "tie", "wrong")})  # fmt: skip
            ll = [[str(-rng.random() * 5), "False"], [str(-rng.random() * 5), "False"]]
            mc.append({"doc_id": i, "doc": doc, "resps": [[x] for x in ll],
                       "filtered_resps": ll, "acc": float(rng.random() < 0.5)})  # fmt: skip
        out[f"system-{s}"] = {"gen": gen, "mc": mc}
    return out


def page(n_claims: int, n_systems: int, folder: Path) -> Path:
    view = explorer.build(records(n_claims, n_systems))
    html = render(
        "view.html", title="benchmark", explorer=view, sources={},
        assets=explorer.page_assets("view.css"),
    )  # fmt: skip
    path = folder / f"explorer-{n_claims}x{n_systems}.html"
    path.write_text(html, encoding="utf-8")
    return path


def measure(driver: Any, path: Path, repeats: int) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    ready = "return document.getElementById('explorer')?.dataset.readyAt"
    firsts = []
    for _ in range(repeats):
        driver.get("about:blank")
        driver.get(path.as_uri())
        WebDriverWait(driver, 120).until(lambda d: d.execute_script(ready))
        firsts.append(float(driver.execute_script(ready)))
    filters = {}
    for name, action in FILTERS:
        times = []
        for _ in range(repeats):
            driver.execute_script("document.getElementById('ex-reset').click()")
            times.append(
                driver.execute_script(
                    HELPERS + "const t = performance.now();" + action
                    + "; document.body.offsetHeight; return performance.now() - t;"
                )
            )  # fmt: skip
        filters[name] = {"median_ms": statistics.median(times), "max_ms": max(times)}
    return {
        "bytes": path.stat().st_size,
        "first_render_ms": min(firsts),
        "first_render_ms_all": firsts,
        "filters": filters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--systems", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        sys.exit(MISSING)
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [(args.claims // 10, args.systems), (args.claims, args.systems)]
        driver = chromium(Path(tmp) / "profile")
        try:
            started = time.perf_counter()
            results = {
                f"{c}x{s}": measure(driver, page(c, s, Path(tmp)), args.repeats) for c, s in sizes
            }
        finally:
            driver.quit()
    small, large = results.values()
    summary = {
        "results": results,
        "first_render_ratio": large["first_render_ms"] / small["first_render_ms"],
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for size, r in results.items():
        print(f"{size} claims x systems: page {r['bytes'] / 1e6:.1f} MB, "
              f"first render {r['first_render_ms']:.0f} ms")  # fmt: skip
        for name, f in r["filters"].items():
            print(f"  {name:<18} median {f['median_ms']:6.1f} ms   worst {f['max_ms']:6.1f} ms")
    print(f"first render, large / small: {summary['first_render_ratio']:.2f}x")


if __name__ == "__main__":
    main()
