"""Where the learnt topics fall below plain keyword matching, and floors that keep its reliable
part (issue 16, round 7): chosen on the DEV sets only.

Acceptance asks that a topic never scores below keyword matching of its own keywords where that
scores under 0.95. On the held-out sets the deficits are small-support topics where the build
rejects a gold paper that names a keyword. This study, on the dev sets (OAI dev topics on the dev
half, 2025 dev and dev-b), lists the disagreements between the two: papers keyword matching takes
and the build rejects (and the reverse), gold-positive against gold-negative, by kind of hit — a
keyword in the title; distinct keywords named; named only in the abstract; how specific the
rarest keyword named is (its share of the store's papers) — and by the evidence model's
probability (or "inside, cut by also_margin": inside the topic, but listed neither as the primary
topic nor within also_margin of it). Then it scores candidate floors (`RULES`), label-free rules
that put some keyword papers inside, by the dev macro F1 and the topics below keyword matching.

Evidence comes from the build (`study_meta_model.load_splits`, which checks that its decision
reproduces `run.assign_papers` on every set). The rule with the best mean of the three dev macro
F1s is chosen (ties: fewer topics below keyword matching, then the built rule). With `--heldout`
the held-out sets (OAI held-out topics on the held-out half, 2025 heldout, -b, -c) are scored
once after that choice: the built rule, the chosen one and the three next best (shown only).

Round 20 (`--venue`): the acceptance's gold is a venue's author keywords, where the keyword
papers the build rejects may be gold far more often than on the sets above. Dev: ICLR 2021 part 1
and part 2, all papers, each part its own store, the authors' keywords as gold
(`eval_venue.GOLD_RULES`; the keyword and build figures reproduce eval_venue's: 0.661 / 0.709 and
0.678 / 0.734), with the dev sets above as a guard. The rules are `VENUE_RULES` (the round-7
rules and new ones: a keyword of two or more words named, keyword papers within k sd of the
boundary, per-topic shares); the choice is `choose_venue`'s criterion, written before any rule
was scored on ICLR. With `--heldout`, once, after the choice and its bar were committed: NeurIPS
2023 (all 1,456 papers, its own store) and `study_meta_model.load_splits(heldout=True)`.

Example: HF_HUB_OFFLINE=1 python -m benchmarks.study_keyword_floor [--venue] [--heldout]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmarks import eval_topics as ev
from benchmarks import eval_venue
from benchmarks import study_meta_model as smm
from pipeline.models import Paper
from pipeline.topics import assign, calibrate


@dataclass
class Lexical:
    """Per (paper, topic): distinct keywords named, in the title, in the abstract only, the
    store share of the rarest keyword named (1.0 where none), and whether a keyword of two or
    more words (after `assign._normal_words`: "graph neural network", "text-to-speech") is named
    (round 20)."""

    distinct: np.ndarray
    titled: np.ndarray
    abstract_only: np.ndarray
    rarest_share: np.ndarray
    phrase: np.ndarray


def lexical(papers: Sequence[Paper], e: smm.Evidence) -> Lexical:
    matchers = [assign.KeywordMatcher(t.keywords) for t in e.topics]
    multiword = [{w for w in t.keywords if len(assign._normal_words(w).split()) >= 2}
                 for t in e.topics]  # fmt: skip
    n, k = len(papers), len(e.topics)
    named: list[list[set[str]]] = [[set() for _ in range(k)] for _ in range(n)]
    in_title = np.zeros((n, k), bool)
    counts: list[Counter[str]] = [Counter() for _ in range(k)]
    for i, p in enumerate(papers):
        words, title_words = assign._normal_words(p.text), assign._normal_words(p.title)
        for j, m in enumerate(matchers):
            found = set(m.matches(p.text, words))
            named[i][j] = found
            in_title[i, j] = bool(m.matches(p.title, title_words))
            counts[j].update(found)
    distinct = np.array([[len(s) for s in row] for row in named])
    share = np.ones((n, k))
    for i in range(n):
        for j in range(k):
            if named[i][j]:
                share[i, j] = min(counts[j][w] for w in named[i][j]) / n
    phrase = np.array([[bool(named[i][j] & multiword[j]) for j in range(k)] for i in range(n)])
    return Lexical(distinct, in_title, (distinct > 0) & ~in_title, share, phrase.reshape(n, k))


def probability(e: smm.Evidence) -> np.ndarray:
    """The evidence model's probability behind the build's margin (learnt topics)."""
    log_odds = e.built * calibrate.MARGIN_WEIGHT + calibrate.EVIDENCE_CUT
    return 1.0 / (1.0 + np.exp(-log_odds))


def kinds(lex: Lexical, prob: np.ndarray, inside: np.ndarray,
          margin: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """Boolean (paper, topic) masks of every kind of hit and probability band (`margin`: the
    learnt boundary's, no evidence model)."""
    return {
        "title hit": lex.titled,
        "abstract only": lex.abstract_only,
        "1 distinct keyword": lex.distinct == 1,
        "2+ distinct keywords": lex.distinct >= 2,
        "rarest < 1% of store": lex.rarest_share < 0.01,
        "rarest 1-5%": (lex.rarest_share >= 0.01) & (lex.rarest_share < 0.05),
        "rarest >= 5%": (lex.distinct > 0) & (lex.rarest_share >= 0.05),
        "2+-word keyword": lex.phrase,
        "1-word keywords only": (lex.distinct > 0) & ~lex.phrase,
        "boundary margin >= -1": margin >= -1,
        "boundary margin -2..-1": (margin < -1) & (margin >= -2),
        "boundary margin < -2": margin < -2,
        "P < 0.05": ~inside & (prob < 0.05),
        "P 0.05-0.10": ~inside & (prob >= 0.05) & (prob < 0.10),
        "P 0.10-0.20": ~inside & (prob >= 0.10),
        "inside, cut by also": inside & (lex.distinct > 0),
        "inside, P 0.2-0.5": inside & (prob < 0.5),
        "inside, P >= 0.5": inside & (prob >= 0.5),
    }


def diagnose(splits: Sequence[smm.Split], papers: dict[str, list[Paper]]) -> None:
    """Counts of the disagreements on the dev rows, gold-positive / gold-negative."""
    for group in ("OAI", "2025", "ICLR"):
        if any(s.name.startswith(group) for s in splits):
            _diagnose([s for s in splits if s.name.startswith(group)], papers, group)


def _diagnose(splits: Sequence[smm.Split], papers: dict[str, list[Paper]], group: str) -> None:
    table: dict[str, Counter[str]] = {"kw only": Counter(), "ours only": Counter()}
    for s in splits:
        e = s.evidence
        lex = lexical(papers[s.name], e)
        prob, built_inside = probability(e), e.built >= 0
        ours, kw = smm.decide(e, e.built), e.hits > 0
        learnt = np.broadcast_to(e.learnt[None, :], kw.shape) & s.rows[:, None]
        masks = kinds(lex, prob, built_inside, e.margin)
        for name, gap in (("kw only", kw & ~ours & learnt), ("ours only", ours & ~kw & learnt)):
            for label, gold in (("+", s.gold), ("-", ~s.gold)):
                table[name][f"all {label}"] += int((gap & gold).sum())
                for kind, mask in masks.items():
                    table[name][f"{kind} {label}"] += int((gap & gold & mask).sum())
    ours_f1 = np.nanmean(np.concatenate([s.summary(smm.decide(s.evidence, s.evidence.built))[2]
                                          for s in splits]))  # fmt: skip
    print(
        f"\n{group} dev sets: disagreements (gold + / gold -); adding papers of precision p"
        f" to a topic of F1 f raises its F1 only when p > f / 2 (mean f / 2 here:"
        f" {ours_f1 / 2:.2f})"
    )
    for name, counter in table.items():
        print(f"  {name}:")
        for kind in ("all", *_KIND_ORDER):
            pos, neg = counter[f"{kind} +"], counter[f"{kind} -"]
            if pos or neg:
                print(f"    {kind:24} {pos:5d} + {neg:5d} -   precision {pos / (pos + neg):.2f}")


_KIND_ORDER = (
    "title hit",
    "abstract only",
    "1 distinct keyword",
    "2+ distinct keywords",
    "rarest < 1% of store",
    "rarest 1-5%",
    "rarest >= 5%",
    "2+-word keyword",
    "1-word keywords only",
    "boundary margin >= -1",
    "boundary margin -2..-1",
    "boundary margin < -2",
    "P < 0.05",
    "P 0.05-0.10",
    "P 0.10-0.20",
    "inside, cut by also",
    "inside, P 0.2-0.5",
    "inside, P >= 0.5",
)


Rule = Callable[[smm.Evidence, Lexical], tuple[np.ndarray, np.ndarray]]


def floor(e: smm.Evidence, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The build's margins with the `keep` pairs of learnt topics put inside (margin ≥ 0), and
    the pairs whose rank is lifted (title hits, as built, plus the floored ones)."""
    keep = keep & e.learnt[None, :]
    return np.where(keep, np.maximum(e.built, 0.0), e.built), keep | (e.titled > 0)


def gap(e: smm.Evidence) -> np.ndarray:
    masked = np.where(e.learnt[None, :], e.margin, -np.inf)
    return e.margin - masked.max(axis=1, keepdims=True)


def decide(e: smm.Evidence, margin: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """`smm.decide` with the lifted pairs given (it lifts the title hits only)."""
    inside = margin >= 0
    rank = calibrate.lift_strong_ranks(
        e.margin.astype(np.float32), inside, e.learnt[None, :] & strong
    )
    top = np.where(inside, rank, -np.inf).max(axis=1, keepdims=True)
    return inside & (rank >= top - e.also)


def _named_lift(e: smm.Evidence, lex: Lexical) -> tuple[np.ndarray, np.ndarray]:
    return e.built, (e.titled > 0) | (e.hits > 0)


BUILT = "built (round 6)"
RULES: dict[str, Rule] = {
    BUILT: lambda e, lex: (e.built, e.titled > 0),
    "inside + named: pass the also cut": _named_lift,
    "title hit inside": lambda e, lex: floor(e, lex.titled),
    "2+ distinct inside": lambda e, lex: floor(e, lex.distinct >= 2),
    "title or 2+ distinct inside": lambda e, lex: floor(e, lex.titled | (lex.distinct >= 2)),
    "rarest < 1% inside": lambda e, lex: floor(e, lex.rarest_share < 0.01),
}


def keyword_share_inside(e: smm.Evidence) -> np.ndarray:
    """(k,) per topic: the share of the store's keyword-hit papers the build puts inside (the
    corpus is the store here), a label-free estimate of how reliable its keywords are."""
    named = e.hits > 0
    inside = (e.built >= 0) & named
    return inside.sum(axis=0) / np.maximum(named.sum(axis=0), 1)


def _confident_lift(e: smm.Evidence, lex: Lexical, p: float) -> tuple[np.ndarray, np.ndarray]:
    return e.built, (e.titled > 0) | (probability(e) >= p)


for _p in (0.4, 0.5, 0.6):
    RULES[f"P >= {_p} passes the also cut"] = lambda e, lex, p=_p: _confident_lift(e, lex, p)
for _t in (0.85, 0.9, 0.95):
    RULES[f"kw inside where share inside >= {_t}"] = lambda e, lex, t=_t: floor(
        e, (e.hits > 0) & (keyword_share_inside(e) >= t)[None, :]
    )


def inside_quantile(e: smm.Evidence, q: float) -> np.ndarray:
    """(k,) per topic: the q-quantile of the boundary margins (no evidence model) of the store's
    keyword-hit papers the build puts inside: a floor drawn from the keyword papers' own scores."""
    out = np.full(len(e.topics), np.inf)
    for j in np.flatnonzero(e.learnt):
        taken = e.margin[(e.hits[:, j] > 0) & (e.built[:, j] >= 0), j]
        if len(taken):
            out[j] = float(np.quantile(taken, q))
    return out


for _q in (0.05, 0.1, 0.25):
    RULES[f"kw inside above {_q:g}-quantile of kw inside"] = lambda e, lex, q=_q: floor(
        e, (e.hits > 0) & (e.margin >= inside_quantile(e, q)[None, :])
    )
for _g in (1.0, 2.0, 3.0):
    RULES[f"title inside unless gap < -{_g:g}"] = lambda e, lex, g=_g: floor(
        e, lex.titled & (gap(e) >= -g)
    )
    RULES[f"title or 2+ inside unless gap < -{_g:g}"] = lambda e, lex, g=_g: floor(
        e, (lex.titled | (lex.distinct >= 2)) & (gap(e) >= -g)
    )


Scored = dict[str, tuple[float, int, list[np.ndarray]]]


def compare(splits: Sequence[smm.Split], papers: dict[str, list[Paper]],
            rules: dict[str, Rule]) -> Scored:  # fmt: skip
    """Prints the macro F1 (topics below keywords) of every rule on every split; returns each
    rule's mean macro F1, total topics below keyword matching and predictions."""
    lexes = [lexical(papers[s.name], s.evidence) for s in splits]
    width = 44
    print(f"\n{'rule':{width}}" + "".join(f"{s.name:>36}" for s in splits) + "      mean")
    keyword_cells = [s.summary(s.evidence.hits > 0) for s in splits]
    print(f"{'keywords':{width}}" + "".join(f"{m:>32.3f} (-)" for m, _, _ in keyword_cells)
          + f"{np.mean([m for m, _, _ in keyword_cells]):>10.3f}")  # fmt: skip
    out: Scored = {}
    for name, rule in rules.items():
        preds = [
            decide(s.evidence, *rule(s.evidence, lex)) for s, lex in zip(splits, lexes, strict=True)
        ]
        cells = [s.summary(p) for s, p in zip(splits, preds, strict=True)]
        below = sum(b for _, b, _ in cells)
        mean = float(np.mean([m for m, _, _ in cells]))
        line = "".join(f"{m:>32.3f} ({b})" for m, b, _ in cells)
        print(f"{name:{width}}{line}{mean:>10.3f}  below {below}", flush=True)
        out[name] = (mean, below, preds)
    return out


def choose(scored: Scored) -> tuple[str, list[str]]:
    """The rule with the best dev mean (ties: fewer topics below keywords, then the built rule,
    listed first), and the three next best."""
    ranked = sorted(scored, key=lambda k: (-round(scored[k][0], 6), scored[k][1]))
    return ranked[0], ranked[1:4]


@dataclass
class WithLexical(smm.Evidence):
    """The evidence model's features plus three lexical ones (`EXTRA`)."""

    extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, len(EXTRA))))

    def features(self) -> np.ndarray:
        return np.concatenate([super().features(), self.extra], axis=-1)


#: Lexical features tried in a refit of the evidence model: distinct keywords named (capped at
#: 3), how rare the rarest one is (-log10 of its store share; 0 where none), named only in the
#: abstract.
EXTRA = ("distinct", "rare", "abstract only")


def refit(splits: Sequence[smm.Split], papers: dict[str, list[Paper]]) -> None:
    """Round 6's chosen model (all eight, row weighting "sets") with each lexical feature added,
    C 0.01 and 0.1, leave-one-topic-out and the threshold chosen as in study_meta_model."""
    extended = []
    for s in splits:
        lex = lexical(papers[s.name], s.evidence)
        rare = np.where(lex.distinct > 0, -np.log10(np.maximum(lex.rarest_share, 1e-4)), 0.0)
        extra = np.stack([np.minimum(lex.distinct, 3), rare, lex.abstract_only], axis=-1)
        evidence = WithLexical(**vars(s.evidence), extra=extra.astype(np.float64))
        extended.append(smm.Split(s.name, evidence, s.gold, s.rows, s.groups))
    names = smm.FEATURES + EXTRA
    print("\nRefit of the evidence model with lexical features (leave-one-topic-out)")
    sets = {"all eight (round 6)": smm.FEATURES} | {f"+ {x}": (*smm.FEATURES, x) for x in EXTRA}
    sets["+ all three"] = names
    for (label, chosen), c in itertools.product(sets.items(), (0.01, 0.1)):
        columns = tuple(names.index(n) for n in chosen)
        oof = smm.cross_validate(extended, columns, c, "sets")
        best: tuple[float, int, float, str] | None = None
        for t in smm.THRESHOLDS:
            cells = smm.score_all(extended, oof, float(t))
            mean, below = float(np.mean([m for m, _, _ in cells])), sum(b for _, b, _ in cells)
            if best is None or (mean, -below) > (best[0], -best[1]):
                best = (mean, below, float(t), smm.fmt(cells))
        assert best is not None
        print(f"  {label + f', C {c}, p≥{best[2]:.3f}':42}{best[3]}   mean {best[0]:.3f}")


# --- Round 20: venue gold (ICLR 2021 parts 1 and 2 for dev; NeurIPS 2023 held out) -----------

#: Each venue split's name: (venue, part).
VENUE_SPLITS = {
    "ICLR 2021 part 1, all papers": ("iclr2021", 1),
    "ICLR 2021 part 2, all papers": ("iclr2021", 2),
    "NeurIPS 2023, all papers": ("neurips2023", 1),
}
#: eval_venue's figures (keywords, build; macro F1 of the twelve topics, all papers), which the
#: venue splits must reproduce (benchmarks/README.md, rounds 15 and 19). Since round 23's
#: names-none cut (BOUNDARY_VERSION 7) the build scores ICLR part 2 0.735 (0.734 before) and
#: NeurIPS 2023 0.670 (0.662); the round-20 and round-23 tables were taken before it, so a rerun
#: now starts from the cut build.
VENUE_FIGURES = {
    "ICLR 2021 part 1, all papers": (0.661, 0.709),
    "ICLR 2021 part 2, all papers": (0.678, 0.735),
    "NeurIPS 2023, all papers": (0.653, 0.670),
}


def venue_split(name: str) -> tuple[smm.Split, list[Paper]]:
    """One venue part, all its papers, as its own store (as eval_venue scores it), checked
    against the build (`smm.checked_evidence`) and against eval_venue's keyword matching and
    macro F1 figures."""
    venue, part = VENUE_SPLITS[name]
    papers, settings, vectors, gold = eval_venue.load_set(part, venue)
    e = smm.checked_evidence(settings, papers, vectors, eval_venue.corpus_name(part, venue))
    if not np.array_equal(e.hits > 0, ev.keyword_matches(papers, e.topics)):
        raise AssertionError(f"{name}: keyword hits differ from eval_venue's keyword matching")
    split = smm.Split(name, e, gold, np.ones(len(papers), bool),
                      [f"{venue}:{t.slug}" for t in e.topics])  # fmt: skip
    got = (split.summary(e.hits > 0)[0], split.summary(smm.decide(e, e.built))[0])
    if tuple(round(g, 3) for g in got) != VENUE_FIGURES[name]:
        raise AssertionError(f"{name}: keywords / build {got} are not {VENUE_FIGURES[name]}")
    print(f"check {name}: keywords {got[0]:.3f}, build {got[1]:.3f} (eval_venue's figures)")
    return split, papers


def named(e: smm.Evidence) -> np.ndarray:
    return e.hits > 0


VENUE_RULES: dict[str, Rule] = dict(RULES)
VENUE_RULES["2+-word keyword inside"] = lambda e, lex: floor(e, lex.phrase)
VENUE_RULES["title or 2+-word inside"] = lambda e, lex: floor(e, lex.titled | lex.phrase)
for _k in (0.5, 1.0, 2.0):
    VENUE_RULES[f"kw inside where boundary margin >= -{_k:g}"] = lambda e, lex, k=_k: floor(
        e, named(e) & (e.margin >= -k)
    )
    VENUE_RULES[f"kw inside where built margin >= -{_k:g}"] = lambda e, lex, k=_k: floor(
        e, named(e) & (e.built >= -k)
    )
    VENUE_RULES[f"2+-word inside where boundary margin >= -{_k:g}"] = lambda e, lex, k=_k: floor(
        e, lex.phrase & (e.margin >= -k)
    )
for _t in (0.5, 0.6, 0.7, 0.8):
    VENUE_RULES[f"kw inside where share inside >= {_t}"] = lambda e, lex, t=_t: floor(
        e, named(e) & (keyword_share_inside(e) >= t)[None, :]
    )
for _g in (1.0, 2.0):
    VENUE_RULES[f"kw inside unless gap < -{_g:g}"] = lambda e, lex, g=_g: floor(
        e, named(e) & (gap(e) >= -g)
    )


def per_topic_gaps(splits: Sequence[smm.Split], papers: dict[str, list[Paper]]) -> None:
    """Per venue topic: keyword papers the build rejects, gold + / −, all and 2+-word ones."""
    for s in splits:
        e = s.evidence
        lex = lexical(papers[s.name], e)
        gap_ = named(e) & ~smm.decide(e, e.built) & s.rows[:, None]
        print(f"\n  {s.name}: keyword papers the build rejects, gold + / - (2+-word: + / -)")
        for j, t in enumerate(e.topics):
            g = s.gold[:, j]
            cut, phr = gap_[:, j], gap_[:, j] & lex.phrase[:, j]
            print(f"    {t.slug:24} {int((cut & g).sum()):4d} + {int((cut & ~g).sum()):4d} -"
                  f"   ({int((phr & g).sum())} + / {int((phr & ~g).sum())} -)")  # fmt: skip


#: How the rule is chosen on dev (round 20), written before any rule was scored on ICLR:
#: ICLR = the two ICLR 2021 parts (all papers); guard = the OAI dev topics on the dev half, 2025
#: dev, 2025 dev-b. A rule is eligible when (1) its (ICLR part, topic) pairs below keyword
#: matching (where it scores < 0.95) are no more than the built rule's; (2) no guard set's macro
#: F1 is lower than the built rule's by more than GUARD_LOSS; (3) its guard pairs below keyword
#: matching are no more than the built rule's. Among the eligible, the best mean ICLR macro F1
#: wins (ties: fewer ICLR pairs below, then the order of VENUE_RULES); it is chosen only if it
#: beats the built rule's mean ICLR macro F1, or equals it with fewer ICLR pairs below.
#: Otherwise nothing is chosen and no held-out figure is taken.
GUARD_LOSS = 0.005


def choose_venue(scored: Scored, splits: Sequence[smm.Split]) -> tuple[str | None, list[str]]:
    """`GUARD_LOSS`'s criterion: (the chosen rule or None, the next three eligible)."""
    iclr = [i for i, s in enumerate(splits) if s.name.startswith("ICLR")]
    guard = [i for i, s in enumerate(splits) if not s.name.startswith("ICLR")]
    cells = {k: [s.summary(p) for s, p in zip(splits, v[2], strict=True)]
             for k, v in scored.items()}  # fmt: skip

    def stats(k: str) -> tuple[float, int, list[float], int]:
        c = cells[k]
        return (float(np.mean([c[i][0] for i in iclr])), sum(c[i][1] for i in iclr),
                [c[i][0] for i in guard], sum(c[i][1] for i in guard))  # fmt: skip

    base = stats(BUILT)
    eligible = []
    print("\nchoice on venue dev (criterion in GUARD_LOSS's comment):")
    for order, k in enumerate(scored):
        mean, below, g, gbelow = stats(k)
        ok = (below <= base[1] and gbelow <= base[3]
              and all(x >= b - GUARD_LOSS for x, b in zip(g, base[2], strict=True)))  # fmt: skip
        print(f"  {k:52} ICLR mean {mean:.4f} below {below}; guard "
              + " ".join(f"{x - b:+.4f}" for x, b in zip(g, base[2], strict=True))
              + f" below {gbelow}  {'eligible' if ok else '-'}")  # fmt: skip
        if ok and k != BUILT:
            eligible.append((-round(mean, 6), below, order, k))
    eligible.sort()
    if not eligible:
        return None, []
    best_mean, best_below = -eligible[0][0], eligible[0][1]
    beats = best_mean > round(base[0], 6) or (best_mean == round(base[0], 6)
                                               and best_below < base[1])  # fmt: skip
    rest = [k for *_, k in eligible[1:4]]
    return (eligible[0][3] if beats else None), rest


#: The held-out bar (round 20), committed with the choice before any held-out figure: on
#: NeurIPS 2023 fewer topics below keyword matching than the built rule's and macro F1 not
#: lower; on the other held-out sets (OAI held-out topics on the held-out half, 2025 heldout,
#: -b, -c; the OAI dev topics' held-out half is shown, not counted) the mean macro F1 not lower
#: than the built rule's by more than HELDOUT_LOSS and no more (set, topic) pairs below keyword
#: matching.
HELDOUT_LOSS = 0.005


def venue_bar(held: Sequence[smm.Split], scored: Scored, chosen: str) -> bool:
    """Prints and returns whether `chosen` meets the round-20 held-out bar."""
    cells = {k: [s.summary(p) for s, p in zip(held, scored[k][2], strict=True)]
             for k in (BUILT, chosen)}  # fmt: skip
    nips = [i for i, s in enumerate(held) if s.name.startswith("NeurIPS")]
    rest = [i for i, s in enumerate(held)
            if not s.name.startswith(("NeurIPS", "OAI dev topics"))]  # fmt: skip
    (nb, nc) = (cells[k][nips[0]] for k in (BUILT, chosen))
    nips_ok = nc[1] < nb[1] and nc[0] >= nb[0]
    mean_b = float(np.mean([cells[BUILT][i][0] for i in rest]))
    mean_c = float(np.mean([cells[chosen][i][0] for i in rest]))
    below_b = sum(cells[BUILT][i][1] for i in rest)
    below_c = sum(cells[chosen][i][1] for i in rest)
    rest_ok = mean_c >= mean_b - HELDOUT_LOSS and below_c <= below_b
    print(
        f"\nbar: NeurIPS 2023 macro F1 {nc[0]:.4f} against {nb[0]:.4f}, topics below keywords"
        f" {nc[1]} against {nb[1]}: {'met' if nips_ok else 'NOT met'}; other held-out sets"
        f" mean {mean_c:.4f} against {mean_b:.4f}, pairs below {below_c} against {below_b}:"
        f" {'met' if rest_ok else 'NOT met'} -> {'MET' if nips_ok and rest_ok else 'NOT MET'}"
    )
    return nips_ok and rest_ok


def main_venue(heldout: bool) -> None:
    dev = smm.load_splits(heldout=False)
    papers = corpus_papers(dev)
    for name in ("ICLR 2021 part 1, all papers", "ICLR 2021 part 2, all papers"):
        split, ps = venue_split(name)
        dev.append(split)
        papers[name] = ps
    diagnose(dev, papers)
    per_topic_gaps([s for s in dev if s.name.startswith("ICLR")], papers)
    scored = compare(dev, papers, VENUE_RULES)
    chosen, next_best = choose_venue(scored, dev)
    print(f"\nchosen on venue dev: {chosen}; next eligible: {'; '.join(next_best)}")
    shown = {BUILT: scored[BUILT][2]} | ({chosen: scored[chosen][2]} if chosen else {})
    smm.per_topic(dev, shown | {"keywords": [s.evidence.hits > 0 for s in dev]})
    if not heldout:
        return
    if chosen is None:
        print("\nnothing chosen on dev: no held-out figure is taken")
        return
    split, ps = venue_split("NeurIPS 2023, all papers")
    held = [split, *smm.load_splits(heldout=True)]
    held_papers = corpus_papers(held[1:]) | {split.name: ps}
    print("\nHELD-OUT (round 20, looked at once after the choice and bar were committed; the")
    print("next eligible rules are shown, not chosen; NeurIPS 2023's second look)")
    rules = {k: VENUE_RULES[k] for k in dict.fromkeys([BUILT, chosen, *next_best])}
    held_scored = compare(held, held_papers, rules)
    venue_bar(held, held_scored, chosen)
    keywords = {"keywords": [s.evidence.hits > 0 for s in held]}
    smm.per_topic(held, {k: v[2] for k, v in held_scored.items()} | keywords)


def corpus_papers(splits: Sequence[smm.Split]) -> dict[str, list[Paper]]:
    oai, week = ev.load_corpus()[0], ev.load_week()[0]
    return {s.name: oai if s.name.startswith("OAI") else week for s in splits
            if s.name.startswith(("OAI", "2025"))}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", action="store_true",
                        help="after the choice, score it once on the held-out sets")  # fmt: skip
    parser.add_argument("--venue", action="store_true",
                        help="round 20: ICLR 2021 parts 1 and 2 as dev (the dev sets as a guard);"
                        " with --heldout, NeurIPS 2023 and the held-out sets")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.venue:
        main_venue(args.heldout)
        print(f"\n{time.perf_counter() - started:.0f} s")
        return
    dev = smm.load_splits(heldout=False)
    papers = corpus_papers(dev)
    diagnose(dev, papers)
    refit(dev, papers)
    scored = compare(dev, papers, RULES)
    chosen, next_best = choose(scored)
    print(f"\nchosen on dev: {chosen}; next best: {'; '.join(next_best)}")
    keywords = {"keywords": [s.evidence.hits > 0 for s in dev]}
    smm.per_topic(dev, {BUILT: scored[BUILT][2], chosen: scored[chosen][2]} | keywords)
    if args.heldout:
        held = smm.load_splits(heldout=True)
        print("\nHELD-OUT (looked at once, after the choice; the next best are shown, not chosen)")
        shown = {k: RULES[k] for k in dict.fromkeys([BUILT, chosen, *next_best])}
        held_scored = compare(held, corpus_papers(held), shown)
        keywords = {"keywords": [s.evidence.hits > 0 for s in held]}
        smm.per_topic(held, {k: v[2] for k, v in held_scored.items()} | keywords)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
