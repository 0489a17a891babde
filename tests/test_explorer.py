"""The claims explorer: `logic-claims view` over a real lm-eval run's --log_samples files, its
bad input, and the page itself from a file:// URL in a real headless browser."""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from logic_claims.harness.baselines import rule_samples
from logic_claims.harness.cli import main

HOSTILE_SYSTEM = '<img src=x onerror="window.pwned = 2">'
HOSTILE_CLAIM = "<script>window.pwned = 1</script> All owls & <b>cats</b> hunt at night."
STAMP = "2026-01-01T00-00-00.000000"
OUTCOMES = ("correct", "tie", "wrong")


def write_samples(folder: Path, samples: dict[str, list[dict[str, Any]]]) -> None:
    """Records in lm-eval's --log_samples files, one per task."""
    folder.mkdir(parents=True)
    for task, records in samples.items():
        text = "".join(json.dumps(r) + "\n" for r in records)
        (folder / f"samples_{task}_{STAMP}.jsonl").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_llama: Path, built_data: Path) -> Path:
    """A real lm-eval run (generated and log-likelihood answers) of the tiny model, and the
    quantifier rule's answers as lm-eval logs them, in a folder with a hostile name and a
    hostile claim."""
    root = tmp_path_factory.mktemp("runs")
    code = main(
        ["eval", "--model", str(tiny_llama), "--tasks", "logic_claims,logic_claims_mc",
         "--limit", "3", "--backend", "hf", "--device", "cpu", "--data-dir", str(built_data),
         "--output", str(root / "tiny")]
    )  # fmt: skip
    assert code == 0
    rule = rule_samples("quantifier-rule", built_data, limit=5, splits=("test",))
    first = rule["logic_claims_all"][0]
    hostile = {**first, "doc": {**first["doc"], "id": "lc-hostile", "claim": HOSTILE_CLAIM}}
    rule["logic_claims_all"].append({**hostile, "doc_id": 99})
    write_samples(root / HOSTILE_SYSTEM, rule)
    return root


def lm_eval_records(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Each folder's records as the files hold them (first filter of each doc)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(root.rglob("samples_*.jsonl")):
        folder = path.parent.name if path.parent.parent == root else path.parent.parent.name
        lines = path.read_text(encoding="utf-8").splitlines()
        out.setdefault(folder, []).extend(json.loads(line) for line in lines)
    return out


@pytest.fixture(scope="module")
def page(runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "explorer.html"
    assert main(["view", str(runs), "--out", str(out)]) == 0
    return out


def test_view_writes_one_page_with_every_claim(runs: Path, page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    claims = {
        (r["doc"].get("split"), r["doc"]["id"]) for rs in lm_eval_records(runs).values() for r in rs
    }
    data = html.split('<script type="application/json" id="explorer-data">')[1]
    data = json.loads(data.split("</script>")[0])
    assert len(data["claims"]["id"]) == len(claims) == 20 + 1  # tiny's 12 among the rule's
    assert "<script>window" not in html and "http://" not in html and "https://" not in html
    (tiny,) = [s for s in data["systems"] if s != HOSTILE_SYSTEM]
    assert len(data["gen"][tiny]) == len(data["mc"][tiny]) == 12
    margins = [m for _, m, _ in data["mc"][tiny]]
    assert all(isinstance(m, float) for m in margins)
    # The margin's sign agrees with lm-eval's own accuracy (True is choice 0).
    for row, margin, right in data["mc"][tiny]:
        assert margin == 0 or right == ((margin > 0) == data["claims"]["label"][row])


def run_view(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["view", *args])
    return code, capsys.readouterr().err


def test_view_bad_input_is_one_line(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "page.html"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "results_x.json").write_text("{}", encoding="utf-8")
    code, err = run_view([str(empty), "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1 and "no lm-eval samples files" in err

    other = tmp_path / "arc"
    record = {"doc_id": 0, "doc": {"question": "Why?", "choices": ["a"], "answerKey": "A"},
              "resps": [[["-1.0", "False"]]], "acc": 1.0}  # fmt: skip
    write_samples(other, {"arc_easy": [record]})
    code, err = run_view([str(other), "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "samples_arc_easy" in err and ":1: not a logic_claims sample" in err
    assert "answerKey, choices, question" in err

    cut = tmp_path / "cut"
    cut.mkdir()
    (source,) = (runs / "tiny").rglob("samples_logic_claims_some_*.jsonl")
    text = source.read_text(encoding="utf-8")
    (cut / source.name).write_text(text[: len(text) - 40], encoding="utf-8")
    code, err = run_view([str(cut), "--out", str(out)], capsys)
    assert code == 2 and err.count("\n") == 1 and f"{source.name}:3: " in err
    assert "not valid JSON" in err

    code, err = run_view([str(tmp_path / "nowhere"), "--out", str(out)], capsys)
    assert code == 2 and "no such folder" in err
    code, err = run_view([str(runs), "--out", str(empty)], capsys)
    assert code == 2 and err.count("\n") == 1 and "is a folder; expected the path" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- the page in a real browser ---------------------------------------------------------------


class Explorer:
    """The explorer page in the browser; each read is one script call."""

    def __init__(self, browser: Any, url: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser = browser
        browser.get(url)
        WebDriverWait(browser, 30).until(
            lambda d: self.js("document.getElementById('explorer').dataset.ready") == "1"
        )

    def js(self, expression: str) -> Any:
        return self.browser.execute_script(f"return {expression}")

    def counts(self, system: str) -> dict[str, int]:
        rows = self.js(
            "[...document.querySelectorAll('#ex-counts tbody tr')].map(r => ({...r.dataset}))"
        )
        (row,) = [r for r in rows if r["system"] == system]
        return {k: int(v) for k, v in row.items() if k != "system"}

    def shown(self) -> int:
        return int(self.js("document.getElementById('ex-count').textContent").split()[0])

    def ids(self) -> list[str]:
        return self.js("[...document.querySelectorAll('#ex-rows tbody tr')].map(r => r.dataset.id)")

    def choose(self, element_id: str, value: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        Select(self.browser.find_element(By.ID, element_id)).select_by_value(value)

    def type(self, text: str) -> None:
        from selenium.webdriver.common.by import By

        box = self.browser.find_element(By.ID, "ex-text")
        box.clear()
        box.send_keys(text)


def expected_counts(records: list[dict[str, Any]], quantifiers: tuple[str, ...]) -> dict:
    """A system's counts over its records of ``quantifiers``, as lm-eval scored them."""
    chosen = [r for r in records if r["doc"]["quantifier"] in quantifiers]
    gen = Counter(next(o for o in OUTCOMES if r[o]) for r in chosen if "correct" in r)
    ll = [r["acc"] for r in chosen if "acc" in r]
    return {"gen": gen.total(), **{o: gen[o] for o in OUTCOMES}, "mc": len(ll),
            "ll_right": int(sum(ll))}  # fmt: skip


def test_filter_counts_equal_the_samples(browser: Any, runs: Path, page: Path) -> None:
    records = lm_eval_records(runs)
    view = Explorer(browser, page.as_uri())
    options = view.js("[...document.getElementById('ex-system').options].map(o => o.value)")
    (tiny,) = [s for s in options if s and s != HOSTILE_SYSTEM]
    assert view.shown() == len({r["doc"]["id"] for rs in records.values() for r in rs})
    view.choose("ex-q", "universal")
    for system, folder in ((tiny, "tiny"), (HOSTILE_SYSTEM, HOSTILE_SYSTEM)):
        assert view.counts(system) == expected_counts(records[folder], ("all", "not_all"))
    view.choose("ex-system", tiny)
    view.choose("ex-outcome", "ll-right")
    assert view.shown() == expected_counts(records["tiny"], ("all", "not_all"))["ll_right"]
    assert view.counts(tiny)["ll_right"] == view.shown() == view.counts(tiny)["mc"]


def test_text_search_finds_a_claim(browser: Any, runs: Path, page: Path) -> None:
    # "Some ...": no other claim holds its text ("All X" is inside "Not all X")
    record = next(r for r in lm_eval_records(runs)["tiny"] if r["doc"]["quantifier"] == "some")
    view = Explorer(browser, page.as_uri())
    view.type(record["doc"]["claim"].upper())
    assert view.shown() == 1 and view.ids() == [record["doc"]["id"]]
    assert "text=" in view.js("location.hash")


def test_hostile_claim_and_system_names_show_as_text(browser: Any, page: Path) -> None:
    view = Explorer(browser, page.as_uri())
    view.type("owls & <b>cats")
    assert view.ids() == ["lc-hostile"]
    assert view.js("document.querySelector('#ex-rows tbody td.claim').textContent") == HOSTILE_CLAIM
    heads = view.js("[...document.querySelectorAll('#ex-rows thead th')].map(t => t.textContent)")
    assert any(h.startswith(HOSTILE_SYSTEM) for h in heads)
    markup = "#explorer img, #explorer script:not(#explorer-data), #ex-rows b, #ex-counts b"
    assert view.js(f"document.querySelectorAll({markup!r}).length") == 0
    counted = view.js("[...document.querySelectorAll('#ex-counts td')].map(t => t.textContent)")
    assert HOSTILE_SYSTEM in counted
    assert view.js("window.pwned") is None


def test_url_hash_restores_a_view(browser: Any, page: Path) -> None:
    view = Explorer(browser, page.as_uri())
    view.choose("ex-q", "some")
    view.choose("ex-outcome", "correct")
    view.type("e")
    browser.find_element("css selector", "button[data-sort='claim']").click()
    browser.find_element("css selector", "button[data-sort='claim']").click()
    hash_, ids, shown = view.js("location.hash"), view.ids(), view.shown()
    assert "q=some" in hash_ and "outcome=correct" in hash_ and "desc=1" in hash_
    params = dict(urllib.parse.parse_qsl(hash_[1:]))
    assert params["sort"] == "claim"
    browser.get("about:blank")
    again = Explorer(browser, page.as_uri() + hash_)
    assert (again.shown(), again.ids()) == (shown, ids)
    assert again.js("document.getElementById('ex-q').value") == "some"
    assert again.js("document.getElementById('ex-text').value") == "e"


def test_served_page_answers_its_own_host_only(browser: Any, page: Path) -> None:
    import http.client
    import threading

    from logic_claims.harness.report.explorer import page_assets
    from logic_claims.harness.view_cli import view_server

    csp = page_assets("view.css").csp
    server = view_server("127.0.0.1", 0, page.read_bytes(), csp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]

    def ask(method: str, host: str, body: bytes | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest(method, "/", skip_host=True)
        conn.putheader("Host", host)
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    try:
        ok = ask("GET", f"127.0.0.1:{port}")
        assert ok.status == 200 and ok.getheader("Content-Security-Policy").startswith(csp)
        assert ask("GET", f"evil.example:{port}").status == 421  # DNS rebinding
        refused = ask("POST", f"localhost:{port}", b"{}")
        assert refused.status == 405 and refused.getheader("Connection") == "close"
        view = Explorer(browser, server.url)  # the CSP lets the page's own script run
        assert view.shown() == 21
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- the explorer in compare's report.html --------------------------------------------------


def expected_from_report(report: dict[str, Any], params: dict[str, str]) -> dict[str, int]:
    """What report.json says of the claims a summary-table cell links to."""
    system, split = params["system"], params["split"]
    zero = {"gen": 0, "correct": 0, "tie": 0, "wrong": 0, "mc": 0, "ll_right": 0}
    if "family" in params:
        cell = report["families"][system][params["family"]]
        gen, mc = cell.get("gen"), cell.get("mc")
        out = {"gen": 0, "correct": 0, "mc": 0, "ll_right": 0}
        if gen:
            out |= {"gen": gen["n"], "correct": round(gen["rate"] * gen["n"])}
        if mc:
            out |= {"mc": mc["n"], "ll_right": round(mc["rate"] * mc["n"])}
        return out
    group = params.get("q", "overall")
    part = report["systems"][system]["splits"][split]
    out = dict(zero)
    if part["gen"]:
        g = part["gen"][group]
        out |= {"gen": g["n"], **{o: g[o] for o in OUTCOMES}}
    if part["mc"]:
        m = part["mc"][group]
        out |= {"mc": m["n"], "ll_right": round(m["acc"] * m["n"]) if m["n"] else 0}
    return out


def test_compare_report_cells_link_to_the_explorer_with_report_json_counts(
    browser: Any, tmp_path: Path, built_data: Path
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    config = tmp_path / "rules.yaml"
    config.write_text(
        f"name: rules\ndata_dir: {built_data}\ncache: {tmp_path / 'cache'}\nlimit: 12\n"
        "bootstrap: {n_resamples: 50}\nbaseline: quantifier-rule\nsystems:\n"
        "  - {name: quantifier-rule}\n  - {name: construction-rule}\n"
        f"  - {{name: '{HOSTILE_SYSTEM}', kind: rule, rule: majority-class}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    assert main(["compare", "--config", str(config), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    view = Explorer(browser, (out / "report.html").as_uri())
    # every claim of the run: 12 per quantifier on each split, answered by every rule
    assert view.shown() == 2 * 4 * 12
    links = view.js(
        "[...document.querySelectorAll('table:not(#ex-counts) a')].map(a => a.getAttribute('href'))"
    )
    assert len(links) >= 3 * 2 * (6 + 4 + 7) and any("family=" in h for h in links)
    for href in links:
        params = dict(urllib.parse.parse_qsl(href[1:]))
        browser.execute_script("location.hash = arguments[0]", href)
        WebDriverWait(browser, 10).until(
            lambda d, p=params: (
                view.js("document.getElementById('ex-q').value") == p.get("q", "")
                and view.js("document.getElementById('ex-system').value") == p["system"]
                and view.js("document.getElementById('ex-family').value") == p.get("family", "")
                and view.js("document.getElementById('ex-split').value") == p["split"]
            )
        )
        counts, expected = view.counts(params["system"]), expected_from_report(report, params)
        if "family" in params:  # the family table gives the correct rate only
            counts = {k: counts[k] for k in ("gen", "correct", "mc", "ll_right")}
        assert counts == expected, href
    assert view.js("window.pwned") is None


def test_a_folder_of_several_prompts_is_one_system_per_prompt() -> None:
    from logic_claims.harness.view_cli import prompt_of
    from logic_claims.tasks.contrast import FAMILY_NAMES

    tasks = {
        "logic_claims_contrast_negated_exception_mc_some": "logic_claims",
        "logic_claims_mc_not_all": "logic_claims",
        "logic_claims_all": "logic_claims",
        "logic_claims_yesno_not_all": "logic_claims_yesno",
        "logic_claims_contrast_rag3_universal": "logic_claims_rag3",
        "logic_claims_explain_no": "logic_claims_explain",
    }
    assert {t: prompt_of(t, FAMILY_NAMES) for t in tasks} == tasks
