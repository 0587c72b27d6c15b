"""See the data: a run's curation report (figures, HTML, JSON summary) and audits of existing datasets.

- `collect`: one streaming pass over a run directory -> a JSON-able summary (bounded memory).
- `figures`: matplotlib figures from a summary (PNG + SVG).
- `html`: one self-contained HTML page (figures inline as data URIs, every text escaped).
- `build`: `build_report(run, out)` ties them together; `audit`: flag-only checks of a dataset.
"""
