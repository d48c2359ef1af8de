"""How long is the digest of a busy week? A 5,000-paper cs.LG/cs.CV/cs.CL/cs.AI week, built with the
shipped config.toml's topics and digest settings through the real ingest and build (issue 13).

    HF_HUB_OFFLINE=1 python -m benchmarks.digest_size            # real model (vectors cached)
    HF_HUB_OFFLINE=1 python -m benchmarks.digest_size --fake     # hashed bag of words, seconds

The week: the 807 real June-2025 arXiv papers of the demo (examples/data/), then real 2016 arXiv
OAI-PMH records (shared corpus beside the checkout, else the bundled pages in benchmarks/data/),
those listed in cs.LG/cs.CV/cs.CL/cs.AI first, then neighbouring fields, up to `--papers`; all
announced in one week. The store (and so the embeddings) lives in `--workdir`, so a second run
embeds nothing. Prints the sizes and writes benchmarks/results_digest_size.json.

Measured: the Markdown (bytes, words, papers in full, one-line papers), the HTML e-mail body, and
the whole MIME message with the chart (Gmail clips messages over about 102 KB).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from benchmarks.speed_data import ROOT, Record, read_demo_week, read_oai, write_jsonl
from pipeline.config import load_settings
from pipeline.digest import html, mail
from pipeline.embed import normalize_rows
from pipeline.run import make_embedder, open_store, run_build, run_ingest

WEEK, WEEK_START = "2025-W25", date(2025, 6, 16)
FIELDS = ("cs.LG", "cs.CV", "cs.CL", "cs.AI")
NEIGHBOURS = ("stat.ML", "cs.IR", "cs.NE", "cs.RO", "cs.SI", "cs.HC", "cs.MM", "cs.SD")
SHARED = [p / "shared/fixtures/corpora/arxiv-oai-cs-2016" for p in (ROOT.parent, Path("/work"))]
BUNDLED = [ROOT / "benchmarks/data/oai", ROOT / "benchmarks/data/arxiv-oai-cs-2016-sample.xml.gz"]
_FULL_ENTRY = re.compile(r"^\*\*\d+\. \[.*\]\(.*\)\*\*$", re.MULTILINE)


class FakeEmbedder:
    """Words hashed into 256 dims (like the tests' fake): for a size check in seconds. Topics
    then catch few papers, so the real model is the default."""

    name = "fake-bow"

    def embed(self, texts: Sequence[str], progress: object = None) -> np.ndarray:
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                out[row, int(hashlib.sha1(word.encode()).hexdigest()[:8], 16) % 256] += 1.0
        return normalize_rows(out)


def week_records(n: int) -> list[Record]:
    """The demo's real 2025 papers, then real OAI records of the four fields, then neighbours."""
    demo = [
        Record(
            row["url"].rsplit("/", 1)[-1].split("v")[0],
            row["title"],
            row["abstract"],
            (),
            (),
            row["created"],
        )
        for row in read_demo_week()
    ]
    shared = next((p for p in SHARED if p.is_dir()), None)
    oai = read_oai(shared) if shared else [r for p in BUNDLED for r in read_oai(p)]

    def rank(record: Record) -> int:
        if set(record.categories) & set(FIELDS):
            return 0
        return 1 if set(record.categories) & set(NEIGHBOURS) else 2

    seen = {r.arxiv_id for r in demo}
    rest = sorted((r for r in oai if r.arxiv_id not in seen), key=rank)  # stable: file order
    return (demo + rest)[:n]


def write_config(workdir: Path, jsonl: Path) -> Path:
    """config.toml with its topics and digest settings, this week, and one file source."""
    text = (ROOT / "config.toml").read_text("utf-8")
    blocks = re.split(r"(?m)^(?=\[)", text)
    dropped = ("[paths]", "[[sources]]", "[email]", "[embed]")
    kept = [b for b in blocks if b.startswith("[") and not b.startswith(dropped)]
    kept = [re.sub(r"(?m)^week = .*$", f'week = "{WEEK}"', b) for b in kept]
    head = (
        f'[paths]\ndata_dir = "data"\ndigests_dir = "digests"\n\n'
        f"[embed]\nprogress = false\n\n"
        f'[[sources]]\nname = "week"\nkind = "file"\nurl = "{jsonl.name}"\n\n'
    )
    path = workdir / "config.toml"
    path.write_text(head + "".join(kept), "utf-8")
    return path


def measure(markdown: str, page: str, message_bytes: int) -> dict[str, int]:
    """Sizes a reader (and a mail client) sees."""
    full = _FULL_ENTRY.findall(markdown)
    return {
        "markdown_bytes": len(markdown.encode("utf-8")),
        "markdown_words": len(markdown.split()),
        "full_entries": len(full),
        "title_lines": len(re.findall(r"(?m)^- \[", markdown))
        + len(re.findall(r"(?m)^\*\*\d+\. .*· \*in \[This week\]", markdown)),
        "html_body_bytes": len(page.encode("utf-8")),
        "message_bytes": message_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pipeline-digest-size"))
    parser.add_argument("--fake", action="store_true", help="hashed bag-of-words embedder")
    args = parser.parse_args()
    workdir = args.workdir / ("fake" if args.fake else "real")
    workdir.mkdir(parents=True, exist_ok=True)
    records = week_records(args.papers)
    jsonl = write_jsonl(records, workdir / "week.jsonl", week_start=WEEK_START)
    settings = load_settings(write_config(workdir, jsonl))
    embedder = FakeEmbedder() if args.fake else make_embedder(settings)
    started = time.perf_counter()
    now = datetime(2025, 6, 23, 7, tzinfo=UTC)
    with open_store(settings) as store:
        run_ingest(settings, store, embedder, now=now)
        built = run_build(settings, store, embedder, now=now, week=WEEK)
    folder = settings.paths.digests_dir
    markdown = (folder / f"{WEEK}.md").read_text("utf-8")
    page = html.render_html(markdown, title=WEEK)
    chart = folder / f"{WEEK}-trends.png"
    message = mail.make_message(
        subject=WEEK,
        sender="digest@example.org",
        recipients=["reader@example.org"],
        text=html.render_text(markdown),
        html=page,
        images={chart.name: chart.read_bytes()} if chart.is_file() else None,
    )
    sizes = measure(markdown, page, len(message.as_bytes()))
    result = {
        "week": WEEK,
        "papers": built.n_papers_in_digest,
        "embedder": "fake-bow" if args.fake else settings.embed.model,
        **sizes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    for key, value in result.items():
        print(f"{key:>16}: {value}")
    out = ROOT / "benchmarks" / "results_digest_size.json"
    stored = json.loads(out.read_text("utf-8")) if out.is_file() else {}
    stored[result["embedder"]] = result
    out.write_text(json.dumps(stored, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
