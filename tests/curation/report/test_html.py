"""The report as a person sees it: opened in a real headless Chromium with the network cut off."""

from __future__ import annotations

from pathlib import Path

from tests.browser import artefact
from tests.curation.report.conftest import MINI


def test_report_renders_every_figure_offline_without_errors(browser, report_dir: Path) -> None:
    html = report_dir / "report.html"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_local(route) -> None:  # noqa: ANN001 - playwright Route
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:  # a report that needs the network (a CDN, a font, a tracker) fails here
            outside.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(html.as_uri(), wait_until="load")

    figures = page.eval_on_selector_all(
        "section img, section svg",
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            return {tag: e.tagName, w: r.width, h: r.height,
                    natural: e.tagName === 'IMG' ? e.naturalWidth * e.naturalHeight : 1,
                    complete: e.tagName === 'IMG' ? e.complete : true};
        })""",
    )
    expected = {p.stem for p in (report_dir / "figures").glob("*.png")}
    assert {"funnel", "lengths", "dedup", "annotation", "pii"} <= expected
    assert len(figures) == len(expected)
    assert all(f["w"] > 100 and f["h"] > 50 and f["natural"] > 0 and f["complete"] for f in figures), figures
    assert outside == [] and errors == [] and dialogs == []

    assert page.locator("script").count() == 0  # the page runs no code at all

    # a collapsed block opens on click and shows the records as text
    page.click("text=dedup: exact_duplicate")
    assert "中国的首都是哪里？" in page.inner_text("body")
    page.screenshot(path=str(artefact("report.png")), full_page=True)
    context.close()


def test_record_text_is_escaped() -> None:
    from curation.report.html import record_html, table

    sample = {"id": "x", "source": "demo", "location": "a.jsonl:1", "instruction": MINI[1]["instruction"],
              "output": MINI[1]["output"], "detail": "<b>bold</b>"}
    html = record_html(sample) + table(["<th>"], [["<td>&"]])
    assert "<script>" not in html and "<b>" not in html and "<th><th>" not in html
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html and "&lt;td&gt;&amp;" in html
