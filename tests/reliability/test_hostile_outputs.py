"""Issue 15: what a hostile feed or a failing source must never put in a digest, and offline runs.

The `.md` is rendered the way GitHub renders it (cmarkgfm, GitHub's own cmark fork, with its
autolink and strikethrough extensions): feed text must not open a code block, strike text through,
or become a link. Secrets in a failing source's URL must not reach any output, the database or the
log. With no network a whole `run` ends quickly and says that every source failed.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path

import cmarkgfm
import pytest
from conftest import FakeEmbedder

from pipeline import run
from pipeline.config import DATABASE_FILENAME, load_settings
from pipeline.store import Store
from reliability import tally
from reliability.helpers import GOOD_FILE, NOW, build, ingest, query, write_config

NO_BACKFILL: dict[str, object] = {"arxiv": {"backfill": False}}
# Each payload is text GFM turns into markup without any Markdown syntax of ours.
PAYLOADS = {
    "tilde-fence": "~~~",
    "backtick-fence": "```python",
    "strikethrough": "~~struck~~ out",
    "bare-url": "see https://evil.example/phish now",
    "www-host": "visit www.evil.example today",
    "email": "write to victim@evil.example please",
    "mailto": "mailto:victim@evil.example",
}
INVISIBLE = "zero\u200bwidth\u2060joined\ufeffbom tag\U000e0041\U000e0062\U000e007f"


def _papers(root: Path) -> Path:
    records = []
    for n, (key, payload) in enumerate(PAYLOADS.items()):
        records.append(
            {
                "id": f"https://example.org/paper/{n}",
                "title": f"{payload} {key}",
                "abstract": f"{payload}\n\nMore text after the {key} payload.",
                "published": "2025-06-05",
            }
        )
    records.append(
        {
            "id": "https://example.org/paper/invisible",
            "title": f"Invisible {INVISIBLE}",
            "abstract": INVISIBLE,
            "published": "2025-06-05",
        }
    )
    path = root / "papers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_feed_text_opens_no_code_block_link_or_strikethrough_under_gfm(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [("payloads", "file", str(_papers(tmp_path)))],
        themes={"min_theme_size": 1000},
    )
    tally.add("payloads tried", len(PAYLOADS) + 1)
    assert all(s.ok for s in ingest(config, FakeEmbedder()).sources)
    built = build(config, FakeEmbedder())
    markdown = Path(built.digest_path or "").read_text(encoding="utf-8")
    html = cmarkgfm.github_flavored_markdown_to_html(markdown)
    hrefs = [h.split('"', 1)[0] for h in html.split('href="')[1:]]
    live = [h for h in hrefs if "evil.example" in h]
    injected = [tag for tag in ("<pre", "<code", "<del") if tag in html]
    tally.add("payloads surviving", len(live) + len(injected))
    assert not live, live
    assert not injected, injected
    assert "<h2" in html.split("Coverage")[0][-200:] or "Coverage</h2>" in html
    outputs = [p for p in Path(tmp_path / "digests").iterdir() if p.suffix in (".md", ".html")]
    for path in outputs:
        text = path.read_text(encoding="utf-8")
        hidden = sorted(
            {f"U+{ord(c):04X}" for c in INVISIBLE if not (c.isalnum() or c.isspace()) and c in text}
        )
        tally.add("payloads surviving", bool(hidden))
        assert not hidden, (path.name, hidden)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_secrets_in_a_failing_source_url_reach_no_output_log_or_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _closed_port()
    url = f"http://reader:pa55word@127.0.0.1:{port}/feed?api_key=K3Y0&access_token=T0K3N&q=ml"
    config = write_config(
        tmp_path, [("secret", "rss", url), ("good", "file", str(GOOD_FILE))], **NO_BACKFILL
    )
    caplog.set_level(logging.DEBUG)
    report = ingest(config, FakeEmbedder())
    assert not report.sources[0].ok and "127.0.0.1" in (report.sources[0].error or "")
    build(config, FakeEmbedder())
    secrets = ("pa55word", "K3Y0", "T0K3N")
    places = {p.name: p.read_text("utf-8", "replace") for p in (tmp_path / "digests").iterdir()}
    places["log"] = caplog.text
    places["report"] = run.describe_report(report)
    db = tmp_path / "data" / DATABASE_FILENAME
    places["database"] = repr(query(db, "SELECT * FROM source_status"))
    assert any("Source secret" in text for text in places.values())  # the failure is shown
    leaked = [(where, s) for where, text in places.items() for s in secrets if s in text]
    tally.add("secrets leaked", len(leaked))
    assert not leaked, leaked


def test_offline_run_ends_fast_says_every_source_failed_and_asks_no_host_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No network: DNS fails, connections are refused. Nothing is retried as if transient and
    the build's Hugging Face refresh does not ask the host the ingest just failed on."""
    refused = f"http://127.0.0.1:{_closed_port()}"
    sources = [
        ("arxiv", "arxiv-api", "http://export.arxiv.invalid/api/query?search_query=cat:cs.LG"),
        ("blog", "rss", "http://feeds.example.invalid/rss"),
        ("hf", "hf-daily", f"{refused}/api/daily_papers"),
    ]
    config = write_config(tmp_path, sources, **NO_BACKFILL)
    settings = load_settings(config)
    caplog.set_level(logging.WARNING)
    tally.add("hostile inputs tried")
    started = time.monotonic()
    with Store.open(settings.database_path) as store:
        report = run.run_all(settings, store, FakeEmbedder(), now=NOW)
    elapsed = time.monotonic() - started
    if elapsed > 30:
        tally.add("hangs")
    assert elapsed < 30, f"offline run took {elapsed:.0f} s"
    headline = run.describe_report(report).splitlines()[0]
    assert "all 3 sources failed" in headline, headline
    retried = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert not retried, [r.getMessage() for r in retried]
    refreshed = [r for r in caplog.records if "cannot refresh signals" in r.getMessage()]
    assert len(refreshed) <= 1, [r.getMessage() for r in refreshed]


def test_a_nan_or_infinite_vector_is_refused_by_the_store(tmp_path: Path) -> None:
    import numpy as np

    from pipeline.errors import StoreError

    tally.add("hostile inputs tried", 2)
    with Store.open(tmp_path / "db.sqlite3") as store:
        for bad in (np.nan, np.inf):
            vector = np.array([0.5, bad, 0.1], dtype=np.float32)
            with pytest.raises(StoreError, match="NaN or infinite"):
                store.save_vectors("m", [("arxiv:1", "h", vector)], NOW)
        assert store.count_vectors("m") == 0


def test_a_symlinked_sidecar_in_digests_is_never_followed(tmp_path: Path) -> None:
    """A `*-W*.json` link (here to a file outside digests/) must not reach index.md or feed.xml."""
    config = write_config(tmp_path, [("good", "file", str(GOOD_FILE))], **NO_BACKFILL)
    ingest(config, FakeEmbedder())
    build(config, FakeEmbedder())
    digests = tmp_path / "digests"
    record = json.loads((digests / "2025-W23.json").read_text(encoding="utf-8"))
    record.update(week="2025-W10", title="Planted through a symlink")
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps(record), encoding="utf-8")
    (digests / "2025-W10.json").symlink_to(outside)
    tally.add("hostile inputs tried")
    build(config, FakeEmbedder())
    for name in ("index.md", "feed.xml"):
        text = (digests / name).read_text(encoding="utf-8")
        assert "2025-W10" not in text and "Planted" not in text, name
