"""How well a name matches what a blind reader would call its theme, as a measure (issue 17).

    HF_HUB_OFFLINE=1 python -m benchmarks.study_name_proxy

Every blind reading of themes since the fifth round (benchmarks/labels/theme-*.jsonl) asked the
reader what they would call the theme (`reader_area`) and how good the name shown was. This
embeds both with the packaged model and prints how well their cosine separates the names read
good or fair from those read poor or misleading (ROC AUC), and the mean cosine per verdict. It
decides nothing: it is a quick check for a naming rule on dev readings before readers judge it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer
from sklearn.metrics import roc_auc_score

from pipeline.embed import PACKAGED_MODEL, resolve_model_path

LABELS = Path(__file__).resolve().parent / "labels"
VERDICTS = ("good", "fair", "poor", "misleading")


def judgements() -> list[dict[str, object]]:
    """Every reader's judgement that has the name shown, the reader's own name and a verdict."""
    rows = []
    for path in sorted(LABELS.glob("theme-*.jsonl")):
        if path.name.endswith("-key.jsonl"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("reader_area") and row.get("name_shown") and row.get("name") in VERDICTS:
                rows.append(row)
    return rows


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    rows = judgements()
    model = SentenceTransformer(resolve_model_path(PACKAGED_MODEL))
    shown = model.encode([str(r["name_shown"]) for r in rows], normalize_embeddings=True)
    own = model.encode([str(r["reader_area"]) for r in rows], normalize_embeddings=True)
    cosine = (shown * own).sum(axis=1)
    fair = np.array([r["name"] in ("good", "fair") for r in rows])
    fits = np.array([bool(r.get("name_fits_most")) for r in rows])
    print(f"{len(rows)} judgements with the reader's own name")
    print(f"ROC AUC, good or fair against poor or misleading: {roc_auc_score(fair, cosine):.3f}")
    print(f"ROC AUC, fits most titles against not: {roc_auc_score(fits, cosine):.3f}")
    for verdict in VERDICTS:
        mask = np.array([r["name"] == verdict for r in rows])
        print(f"  {verdict:10} {int(mask.sum()):5}  mean cosine {cosine[mask].mean():.3f}")


if __name__ == "__main__":
    main()
