"""The papers a learnt topic adds that name none of its keywords (issue 16, round 23): chosen on
the venue DEV sets only, checked once on the held-out sets.

Round 20 found that on NeurIPS 2023 half of the topics' deficits against keyword matching come
from papers the build puts inside a learnt topic although their text names none of its keywords
("names none" papers): 18 % gold there against 52 % on ICLR 2021 and 58 % on the OAI dev half.
This study scores a few label-free rules on that side only (`RULES`): each may take a names-none
paper out of a topic, never puts a paper in, and reads everything from the store (here each set's
whole corpus is its store, as the build sees it), per topic and deterministically:

- a higher margin: a names-none paper stays inside only when the evidence model's margin (in
  standard deviations of the topic's score over the store) reaches `m`, not 0;
- near the keyword papers: it stays only when its cosine with the centroid of the topic's keyword
  papers inside the build is at least the q-quantile of those keyword papers' own cosines with it;
- a cap: at most r times as many names-none papers as keyword papers inside, the highest margins
  kept;
- claimed elsewhere: it leaves when it names a keyword of another learnt topic (or, stricter, of
  another learnt topic it is also inside).

Dev and guard are round 20's (`study_keyword_floor`): ICLR 2021 parts 1 and 2 (each its own
store, authors' keywords as gold; the script checks eval_venue's figures 0.661 / 0.709 and
0.678 / 0.734) and the OAI dev topics on the dev half, 2025 dev and dev-b as guard; the choice is
`study_keyword_floor.choose_venue`'s criterion (`GUARD_LOSS`), unchanged. With `--heldout`, once,
after the choice and its bar were committed: NeurIPS 2023 (all 1,456 papers, its own store;
its third look) and `study_meta_model.load_splits(heldout=True)`, judged by
`study_keyword_floor.venue_bar`.

The chosen rule (at most 0.5 × as many names-none papers as keyword papers inside) met the bar
and ships since BOUNDARY_VERSION 7 (`calibrate.names_none_cuts`): on this package the "built"
rule is already the cut one, and `study_keyword_floor.VENUE_FIGURES` holds its figures; the
round-23 tables in benchmarks/README.md were taken on the package before it.

Example: HF_HUB_OFFLINE=1 python -m benchmarks.study_names_none [--heldout]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks import study_keyword_floor as skf
from benchmarks import study_meta_model as smm
from pipeline.models import Paper

#: The vectors each Evidence was collected over (recorded by `_recording_collect`), by id.
_VECTORS: dict[int, np.ndarray] = {}
_original_collect = smm.collect


def _recording_collect(settings: Any, store: Any, embedder: Any, papers: list[Paper],
                       vectors: np.ndarray) -> smm.Evidence:  # fmt: skip
    e = _original_collect(settings, store, embedder, papers, vectors)
    _VECTORS[id(e)] = np.asarray(vectors, dtype=np.float64)
    return e


smm.collect = _recording_collect  # type: ignore[assignment]


def names_none_inside(e: smm.Evidence) -> np.ndarray:
    """(n, k): inside a learnt topic by the build's margin, naming none of its keywords."""
    return (e.built >= 0) & (e.hits == 0) & e.learnt[None, :]


def without(e: smm.Evidence, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The build's margins with the `out` pairs (names-none, learnt) put outside; the title
    lift as built."""
    out = out & names_none_inside(e)
    return np.where(out, np.minimum(e.built, -1e-3), e.built), e.titled > 0


def higher_margin(e: smm.Evidence, m: float) -> tuple[np.ndarray, np.ndarray]:
    return without(e, e.built < m)


def centroid_cosines(e: smm.Evidence) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) each paper's cosine with the centroid of the topic's keyword papers inside the
    build, and (k,) list of those keyword papers' own cosines (as an object array)."""
    v = _VECTORS[id(e)]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    cos = np.full(e.built.shape, np.nan)
    own = np.empty(len(e.topics), dtype=object)
    for j in range(len(e.topics)):
        core = (e.built[:, j] >= 0) & (e.hits[:, j] > 0)
        if not e.learnt[j] or not core.any():
            own[j] = np.zeros(0)
            continue
        c = v[core].mean(axis=0)
        c /= max(float(np.linalg.norm(c)), 1e-12)
        cos[:, j] = v @ c
        own[j] = cos[core, j]
    return cos, own


def near_keyword_papers(e: smm.Evidence, q: float) -> tuple[np.ndarray, np.ndarray]:
    cos, own = centroid_cosines(e)
    cut = np.array([np.quantile(o, q) if len(o) else -np.inf for o in own])
    return without(e, ~(cos >= cut[None, :]))


def capped(e: smm.Evidence, r: float) -> tuple[np.ndarray, np.ndarray]:
    """At most r × (keyword papers inside) names-none papers per topic, highest margins kept
    (ties: the store's order)."""
    none_in = names_none_inside(e)
    out = np.zeros_like(none_in)
    for j in np.flatnonzero(e.learnt):
        rows = np.flatnonzero(none_in[:, j])
        keep = int(np.floor(r * int(((e.built[:, j] >= 0) & (e.hits[:, j] > 0)).sum())))
        if len(rows) > keep:
            order = rows[np.argsort(-e.built[rows, j], kind="stable")]
            out[order[keep:], j] = True
    return without(e, out)


def claimed(e: smm.Evidence, inside_too: bool) -> tuple[np.ndarray, np.ndarray]:
    """Out when the paper names a keyword of another learnt topic (and, `inside_too`, is inside
    that topic)."""
    other = (e.hits > 0) & e.learnt[None, :]
    if inside_too:
        other &= e.built >= 0
    count = other.sum(axis=1, keepdims=True)
    # another topic's: the paper's count without this topic's own (0 here: it names none)
    return without(e, (count - other.astype(int)) > 0)


Rule = Callable[[smm.Evidence, skf.Lexical], tuple[np.ndarray, np.ndarray]]
#: The rules, fixed before any of them was scored (round 23); the first is the build.
RULES: dict[str, Rule] = {skf.BUILT: skf.RULES[skf.BUILT]}
for _m in (0.5, 1.0, 2.0):
    RULES[f"names none: margin >= {_m:g} sd"] = lambda e, lex, m=_m: higher_margin(e, m)
for _q in (0.1, 0.25):
    RULES[f"names none: near kw papers (>= {_q:g}-quantile)"] = lambda e, lex, q=_q: (
        near_keyword_papers(e, q)
    )
for _r in (0.25, 0.5):
    RULES[f"names none: at most {_r:g} x kw papers inside"] = lambda e, lex, r=_r: capped(e, r)
RULES["names none: out if it names another topic's kw"] = lambda e, lex: claimed(e, False)
RULES["names none: out if inside another topic it names"] = lambda e, lex: claimed(e, True)


def added(splits: Sequence[smm.Split], preds: Sequence[np.ndarray], label: str) -> None:
    """Per split: the names-none papers a prediction keeps inside, gold + / −."""
    cells = []
    for s, p in zip(splits, preds, strict=True):
        e = s.evidence
        m = p & (e.hits == 0) & e.learnt[None, :] & s.rows[:, None]
        cells.append(f"{s.name}: {int((m & s.gold).sum())} + / {int((m & ~s.gold).sum())} -")
    print(f"  {label:52} " + "; ".join(cells))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", action="store_true",
                        help="after the choice, score it once on the held-out sets")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.perf_counter()
    dev = smm.load_splits(heldout=False)
    papers = skf.corpus_papers(dev)
    for name in ("ICLR 2021 part 1, all papers", "ICLR 2021 part 2, all papers"):
        split, ps = skf.venue_split(name)
        dev.append(split)
        papers[name] = ps
    scored = skf.compare(dev, papers, RULES)
    print("\nnames-none papers kept inside (learnt topics), gold + / -:")
    for k, v in scored.items():
        added(dev, v[2], k)
    chosen, next_best = skf.choose_venue(scored, dev)
    print(f"\nchosen on venue dev: {chosen}; next eligible: {'; '.join(next_best)}")
    shown = {skf.BUILT: scored[skf.BUILT][2]} | ({chosen: scored[chosen][2]} if chosen else {})
    smm.per_topic(dev, shown | {"keywords": [s.evidence.hits > 0 for s in dev]})
    if args.heldout:
        if chosen is None:
            print("\nnothing chosen on dev: no held-out figure is taken")
        else:
            heldout(chosen, next_best)
    print(f"\n{time.perf_counter() - started:.0f} s")


def heldout(chosen: str, next_best: Sequence[str]) -> None:
    split, ps = skf.venue_split("NeurIPS 2023, all papers")
    held = [split, *smm.load_splits(heldout=True)]
    held_papers = skf.corpus_papers(held[1:]) | {split.name: ps}
    print("\nHELD-OUT (round 23, looked at once after the choice and bar were committed; the")
    print("next eligible rules are shown, not chosen; NeurIPS 2023's third look)")
    rules = {k: RULES[k] for k in dict.fromkeys([skf.BUILT, chosen, *next_best])}
    held_scored = skf.compare(held, held_papers, rules)
    print("\nnames-none papers kept inside (learnt topics), gold + / -:")
    for k, v in held_scored.items():
        added(held, v[2], k)
    skf.venue_bar(held, held_scored, chosen)
    keywords = {"keywords": [s.evidence.hits > 0 for s in held]}
    smm.per_topic(held, {k: v[2] for k, v in held_scored.items()} | keywords)


if __name__ == "__main__":
    main()
