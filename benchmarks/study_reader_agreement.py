"""How often two blind readers of one theme disagree (issue 17's "none a grab-bag", "every name").

    python -m benchmarks.study_reader_agreement

Issue 17's acceptance is read by one person: no theme a grab-bag, every name fitting most of its
papers. Every reading since the fifth round is in benchmarks/labels/theme-*.jsonl; where two or
more readers judged the same item of one file (the A/B readings, the category readings), this
pairs them both ways and prints, over all such pairs: how often the second reader calls a theme
a grab-bag that the first did not, not coherent that the first called coherent, and says its
name does not fit most titles where the first said it does. That is the floor a single reader's
verdict has: a program whose every theme one reader accepted would, read by another, still show
that share of grab-bags and unfitting names. Needs nothing but the label files.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pairs() -> list[tuple[dict, dict, str]]:
    """(first reader's row, second reader's row, file) for every item two readers judged."""
    found = []
    for path in sorted((ROOT / "benchmarks/labels").glob("theme-*.jsonl")):
        if path.name.endswith("-key.jsonl"):
            continue
        items: dict[tuple, dict[str, dict]] = defaultdict(dict)
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "coherence" in row and "reader" in row and "item" in row:
                where = (row.get("part"), row.get("slice"), row.get("input"), row["item"])
                items[where][row["reader"]] = row
        for readers in items.values():
            for a, b in itertools.permutations(readers.values(), 2):
                found.append((a, b, path.name))
    return found


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    counts: Counter[str] = Counter()
    files: set[str] = set()
    for a, b, name in pairs():
        files.add(name)
        counts["pairs"] += 1
        if a["coherence"] != "grab-bag":
            counts["not grab-bag"] += 1
            counts["then grab-bag"] += b["coherence"] == "grab-bag"
        if a["coherence"] == "coherent":
            counts["coherent"] += 1
            counts["then not coherent"] += b["coherence"] != "coherent"
        if a.get("name_fits_most") is True and b.get("name_fits_most") is not None:
            counts["fits"] += 1
            counts["then does not fit"] += b["name_fits_most"] is False
    print(f"{counts['pairs']} ordered pairs of readers on one theme, from {len(files)} files")
    for given, then, what in (
        ("not grab-bag", "then grab-bag", "a grab-bag, where the first reader saw none"),
        ("coherent", "then not coherent", "not coherent, where the first called it coherent"),
        ("fits", "then does not fit", "a name not fitting most titles, where the first said it"),
    ):
        share = counts[then] / max(counts[given], 1)
        print(f"  second reader: {what}: {counts[then]} of {counts[given]} ({share:.1%})")


if __name__ == "__main__":
    main()
