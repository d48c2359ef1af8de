"""Write pipeline/data/generic_words.txt: words common to abstracts of every field.

A discovered theme's label should not be a word that every abstract uses ("results", "remains",
"particular"). Which words those are is measured, not guessed: over the real arXiv cs abstracts
bundled in benchmarks/data/oai/ (OAI-PMH pages, ~3,000 records), a word is generic when it is in
at least MIN_SHARE of the abstracts and is spread evenly over the primary categories — the
normalised entropy of its per-category rates is at least MIN_ENTROPY (1.0 = equally common in every
category). Categories with fewer than MIN_CATEGORY_PAPERS papers are left out. Domain words
that every CS field shares ("algorithm", "attention" in 2016) land here too; the labeller only
refuses a phrase made of generic words alone, so "sparse attention" stays a label.

Example: python benchmarks/make_generic_words.py
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.make_oai_labels import read_records  # noqa: E402
from pipeline.topics import phrases  # noqa: E402

MIN_SHARE = 0.01
MIN_ENTROPY = 0.85
MIN_CATEGORY_PAPERS = 60
OUT = HERE.parent / "pipeline" / "data" / "generic_words.txt"


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    records = [
        r for page in sorted((HERE / "data" / "oai").glob("*.xml")) for r in read_records(page)
    ]
    stop = phrases._stop_words()
    words_of, category_of = [], []
    for record in records:
        text = f"{record['title']}. {record['abstract']}"
        words = {w.lower() for w in phrases._TOKEN.findall(phrases._clean(text))}
        words_of.append({w for w in words if w[0].isalpha() and len(w) > 1} - stop)
        category_of.append(str(record["group"]))
    per_category = Counter(category_of)
    categories = sorted(c for c, n in per_category.items() if n >= MIN_CATEGORY_PAPERS)
    df: Counter[str] = Counter(w for words in words_of for w in words)
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    for words, category in zip(words_of, category_of, strict=True):
        by_category[category].update(words)
    generic = []
    for word, n in df.items():
        if n < MIN_SHARE * len(records):
            continue
        rates = np.array([by_category[c][word] / per_category[c] for c in categories])
        p = rates[rates > 0] / rates.sum()
        if -(p * np.log(p)).sum() / np.log(len(categories)) >= MIN_ENTROPY:
            generic.append(word)
    header = [
        "# Words common to abstracts of every field; written by benchmarks/make_generic_words.py",
        f"# from {len(records)} arXiv cs abstracts (OAI-PMH pages in benchmarks/data/oai/),",
        f"# {len(categories)} primary categories: in >= {MIN_SHARE:.0%} of abstracts, normalised",
        f"# entropy over categories >= {MIN_ENTROPY}. A theme label is never made of these alone.",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(header + sorted(generic)) + "\n", encoding="utf-8")
    print(f"{len(generic)} generic words of {len(df)} → {OUT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
