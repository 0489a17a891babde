"""The rating web page: its JSON API under concurrent raters, its safety rules, and the page
itself in a real headless browser (Debian's chromium through selenium; `make browser`
installs it)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from annotation_helpers import (
    ANSWERS_A,
    ANSWERS_B,
    CLAIMS,
    cli,
    dump,
    new_store,
    value_for,
    write_samples,
)

from logic_claims.annotations import records
from logic_claims.annotations import store as S
from logic_claims.annotations.web import AnnotationServer, make_server
from logic_claims.harness.annotate_cli import add_commands

INJECTION = (
    'True, <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    " & <b>bold</b> owls hunt at night."
)


@contextmanager
def serving(path: Path) -> Iterator[AnnotationServer]:
    """A server on ``path`` (a free port) in a thread, shut down and joined on exit."""
    server = make_server(path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[AnnotationServer, Path]]:
    answers = [*ANSWERS_A[:6], INJECTION, ANSWERS_A[7]]
    path = new_store(tmp_path, {"A": answers, "B": ANSWERS_B})
    with serving(path) as server:
        yield server, path


def request(
    server: AnnotationServer,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        kind = response.getheader("Content-Type", "")
        payload = json.loads(raw) if kind.startswith("application/json") else raw.decode()
        return response.status, payload, dict(response.getheaders())
    finally:
        conn.close()


def test_binds_to_localhost_by_default(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["annotate", "serve", "--store", "x.sqlite"])
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    path = new_store(tmp_path, {"A": ANSWERS_A})
    server = make_server(path, port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_api_judges_resumes_and_undoes(served: tuple[AnnotationServer, Path]) -> None:
    server, path = served
    status, info, _ = request(server, "GET", "/api/raters")
    assert status == 200 and info["raters"] == ["ann", "bob", "cem"]
    assert [d["name"] for d in info["dimensions"]] == ["factual", "justified"]
    assert info["dimensions"][0]["definition"] == "The facts stated are verifiably true."
    status, state, _ = request(server, "GET", "/api/state?annotator=ann")
    assert status == 200 and state["progress"]["done"] == 0
    assert "system" not in json.dumps(state) and set(state["item"]) == {
        "item_id",
        "claim",
        "answer",
    }
    first = state["item"]["item_id"]
    body = {"annotator": "ann", "item_id": first, "dimension": "factual", "value": "1"}
    status, state, _ = request(server, "POST", "/api/rate", body)
    assert status == 200
    assert state["item"]["item_id"] == first and state["pending"] == ["justified"]
    status, state, _ = request(server, "POST", "/api/rate", {**body, "dimension": "justified"})
    assert state["progress"]["done"] == 1 and state["item"]["item_id"] != first
    # A new server on the same store (a restart) resumes where the rater stopped.
    again = make_server(path, port=0)
    thread = threading.Thread(target=again.serve_forever, daemon=True)
    thread.start()
    try:
        _, resumed, _ = request(again, "GET", "/api/state?annotator=ann")
        assert resumed["progress"]["done"] == 1
        assert resumed["item"]["item_id"] == state["item"]["item_id"]
    finally:
        again.shutdown()
        again.server_close()
    # Skip moves on; undo brings back the last judged item with its one pending question.
    second = state["item"]["item_id"]
    _, state, _ = request(server, "POST", "/api/skip", {"annotator": "ann", "item_id": second})
    assert state["item"]["item_id"] not in (first, second)
    _, state, _ = request(server, "POST", "/api/undo", {"annotator": "ann"})
    assert state["item"]["item_id"] == first and state["pending"] == ["justified"]
    assert state["progress"]["done"] == 0
    with S.Store.open(path) as store:
        assert store.current(first, "ann") == {"factual": "1"}


def test_api_refuses_bad_requests_and_writes_nothing(
    served: tuple[AnnotationServer, Path],
) -> None:
    server, path = served
    _, state, _ = request(server, "GET", "/api/state?annotator=bob")
    item = state["item"]["item_id"]
    with S.Store.open(path) as store:
        not_bobs = next(i for i in store.queue("ann") if not store.is_assigned(i, "bob"))
    ok = {"annotator": "bob", "item_id": item, "dimension": "factual", "value": "1"}
    before = dump(path)
    cases = [
        ({**ok, "value": "2"}, 400, "not one of 0/1"),
        ({**ok, "annotator": "zed"}, 400, "unknown rater 'zed'"),
        ({**ok, "item_id": "nope"}, 400, "unknown item 'nope'"),
        ({**ok, "item_id": not_bobs}, 400, "not assigned to bob"),
        ({**ok, "dimension": "fluency"}, 400, "unknown dimension"),
    ]
    for body, code, message in cases:
        status, reply, _ = request(server, "POST", "/api/rate", body)
        assert (status, message in reply["error"]) == (code, True), reply
    # A cross-site form post cannot send JSON: anything else is refused.
    form = b"annotator=bob&item_id=x&dimension=factual&value=1"
    status, reply, _ = request(
        server, "POST", "/api/rate", form, "application/x-www-form-urlencoded"
    )
    assert status == 415
    status, _, _ = request(server, "POST", "/api/rate", b"[1]")
    assert status == 400
    status, _, _ = request(server, "GET", "/api/state?annotator=zed")
    assert status == 400
    assert dump(path) == before
    assert request(server, "POST", "/api/rate", ok)[0] == 200
    status, reply, _ = request(server, "POST", "/api/rate", {**ok, "value": "0"})
    assert status == 409 and "already rated" in reply["error"]


def test_page_never_contains_model_text_and_forbids_inline_script(
    served: tuple[AnnotationServer, Path],
) -> None:
    server, _ = served
    status, page, headers = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "owls" not in page and "<script>" not in page  # the page is a shell; data is JSON
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    status, script, _ = request(server, "GET", "/app.js")
    assert status == 200 and "innerHTML" not in script.replace("never innerHTML", "")


def test_concurrent_raters_neither_lose_nor_cross_writes(
    served: tuple[AnnotationServer, Path],
) -> None:
    server, path = served
    with S.Store.open(path) as store:
        queues = {r: store.queue(r) for r in store.annotators()}
    # Each rater's items are split over two threads (two tabs of one rater) too.
    jobs = []
    for rater, items in queues.items():
        for half in (items[0::2], items[1::2]):
            jobs.append((rater, half))
    barrier = threading.Barrier(len(jobs))
    errors: list[str] = []

    def work(rater: str, items: list[str]) -> None:
        barrier.wait()
        for item in items:
            for dim in ("factual", "justified"):
                body = {"annotator": rater, "item_id": item, "dimension": dim,
                        "value": value_for(item, rater, dim)}  # fmt: skip
                status, reply, _ = request(server, "POST", "/api/rate", body)
                if status != 200 or reply["annotator"] != rater:
                    errors.append(f"{status} {reply}")

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with S.Store.open(path) as store:
        stored = {
            (r["item_id"], r["annotator"], r["dimension"]): r["value"]
            for r in store.conn.execute("SELECT * FROM ratings")
        }
        expected = {
            (item, rater, dim): value_for(item, rater, dim)
            for rater, items in queues.items()
            for item in items
            for dim in ("factual", "justified")
        }
        assert stored == expected
        assert all(store.progress(r) == (len(q), len(q)) for r, q in queues.items())
        log = store.conn.execute("SELECT COUNT(*) FROM rating_log").fetchone()[0]
        assert log == len(expected)


# -- a real browser ------------------------------------------------------------------------


class Page:
    """The rating page in the browser. The page re-renders after each answer, so each read is
    one script call, never a stale element handle."""

    def __init__(self, browser: Any) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.browser = browser
        self.wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))

    def until(self, condition: Callable[[], bool]) -> None:
        self.wait.until(lambda d: condition())

    def js(self, expression: str) -> Any:
        return self.browser.execute_script(f"return {expression}")

    def text(self, element_id: str) -> str:
        return self.js(f"document.getElementById({element_id!r}).textContent")

    def shown(self) -> str:
        return self.js("document.getElementById('rate').dataset.itemId")

    def active(self) -> str | None:
        return self.js("document.querySelector('.question.active')?.dataset.dimension")

    def press(self, key: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.browser).send_keys(key).perform()

    def done(self) -> str | None:
        return self.js("document.body.dataset.done")

    def ready(self) -> bool:
        return self.js("document.body.dataset.ready") == "1"

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.browser.find_elements(By.CSS_SELECTOR, selector)


RATER = "ann o'neil"
INJECTION_ID = records.item_id_of(CLAIMS[6][0], INJECTION)


def browser_store(tmp_path: Path) -> Path:
    """Three items for one rater whose name needs quoting; one answer is the injection."""
    claims = [CLAIMS[6], CLAIMS[0], CLAIMS[2]]
    answers = [INJECTION, ANSWERS_A[0], ANSWERS_A[2]]
    samples = write_samples(tmp_path / "m", answers, model="m", claims=claims)
    path = tmp_path / "r.sqlite"
    argv = ["annotate", "new", "--store", path, "--per-item", "1", "--annotators", RATER]
    assert cli(*argv, "--samples", samples) == (0, "", "")
    return path


def open_page(page: Page, url: str) -> None:
    """The page names the rater, the progress and both questions with their definitions."""
    page.browser.get(f"{url}?annotator=ann%20o%27neil")
    page.until(page.ready)
    assert page.text("rater") == RATER
    assert page.text("progress") == "0/3 done"
    questions = page.css(".question")
    assert [q.get_attribute("data-dimension") for q in questions] == ["factual", "justified"]
    assert "The facts stated are verifiably true." in questions[0].text
    assert "The explanation validly leads to the answer." in questions[1].text
    for question in questions:  # choices in words, each with its key
        assert [b.text for b in question.find_elements("tag name", "button")] == [
            "no (0)",
            "yes (1)",
        ]


def check_injection(page: Page) -> None:
    """Shown as the characters the model wrote; nothing of it ran or rendered."""
    assert page.text("answer") == INJECTION
    assert page.css("#answer *") == []
    assert page.browser.execute_script("return window.__xss === undefined")


def judge_two_with_keys(page: Page) -> tuple[list[str], bool]:
    """y (factual = 1), then 0 (justified = 0) on two items: the ids judged, and whether
    the injection was among them."""
    seen_injection = False
    judged: list[str] = []
    for n in range(2):
        item = page.shown()
        if item == INJECTION_ID:
            check_injection(page)
            seen_injection = True
        page.press("y")  # factual = 1
        page.until(lambda: page.active() == "justified")
        assert page.css(".question .given")[0].text == "answered: yes (1)"
        page.press("0")  # justified = 0
        page.until(lambda n=n: page.done() == str(n + 1))
        page.until(lambda item=item: page.shown() != item)
        judged.append(item)
    return judged, seen_injection


def reload_resumes(page: Page, judged: list[str], seen_injection: bool) -> None:
    """After a reload the page goes on with the one item left."""
    page.browser.refresh()
    page.until(page.ready)
    assert page.text("progress") == "2/3 done"  # resumed
    assert page.shown() not in judged
    if not seen_injection:  # the third item is the injection: check it after the reload
        assert page.shown() == INJECTION_ID
        check_injection(page)
    assert page.browser.execute_script("return window.__xss === undefined")


def undo_and_judge_again(page: Page, judged: list[str], path: Path) -> None:
    """u withdraws the second item's "justified"; 1 judges it again; the store agrees."""
    page.press("u")  # undo the last judgment: the second item's "justified"
    page.until(lambda: page.shown() == judged[1] and page.done() == "1")
    page.press("1")
    page.until(lambda: page.done() == "2")
    with S.Store.open(path) as store:
        assert store.current(judged[0], RATER) == {"factual": "1", "justified": "0"}
        assert store.current(judged[1], RATER) == {"factual": "1", "justified": "1"}


def unknown_rater_gets_the_list(page: Page, url: str) -> None:
    """Without a known rater the page offers the list of raters (the name shown as text)."""
    from selenium.webdriver.common.by import By

    page.browser.get(f"{url}?annotator=%3Cimg%3E")
    page.until(lambda: page.browser.find_element(By.ID, "choose").is_displayed())
    assert "unknown rater: <img>" in page.text("message")
    assert [a.text for a in page.css("#raters a")] == [RATER]


def test_page_in_a_real_browser(tmp_path: Path, browser: Any) -> None:
    path = browser_store(tmp_path)
    with serving(path) as server:
        page = Page(browser)
        open_page(page, server.url)
        judged, seen_injection = judge_two_with_keys(page)
        reload_resumes(page, judged, seen_injection)
        undo_and_judge_again(page, judged, path)
        unknown_rater_gets_the_list(page, server.url)
