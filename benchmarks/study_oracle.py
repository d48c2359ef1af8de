"""How would careful people group the demo weeks' papers, and how far is this checkout? (issue 17)

    make demo                      # once: fills data/demo/pipeline.sqlite3 with the vectors
    python -m benchmarks.study_oracle

Two readers who saw no output of this project sorted the titles of the papers no demo topic
takes (2025-W23: 69, 2025-W25: 176) into themes of at least 3 papers, each coherent by issue
17's rule (75 % of its titles in one area a researcher would name), putting as many papers in
themes as they honestly could (`labels/theme-oracle-demo-r11-{1,2}.jsonl`). This prints, per
week, each reader's themes and "Other", the agreement between the readers and between each
reader and this checkout's themes (ARI / NMI over the same papers, "Other" one group), and how
often a paper's field (the headings of pipeline/data/areas.txt) is one the readers' theme
belongs to (MAPPING, written by hand from the readers' theme names) under five label-free ways
of choosing a paper's field from its area scores: whether the embedding knows a paper's field
well enough to gather "Other" by field. Papers a week now leaves for themes that the readers
never sorted (the topics have changed since the eleventh round) are left out of every figure,
and counted.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from benchmarks import bench_names
from pipeline.config import load_settings
from pipeline.topics import areas as areas_mod

ROOT = Path(__file__).resolve().parent.parent
WEEKS = ("2025-W23", "2025-W25")
READERS = (1, 2)
CV = {
    "Computer vision: recognition",
    "Computer vision: video and people",
    "Computer vision: generation and restoration",
    "Computer vision: 3D and geometry",
    "Vision and language",
}
MAPPING = {
    "3D Vision and Graphics": CV | {"Graphics, visualization and extended reality"},
    "AI Ethics and Policy": {"Interpretability, safety and ethics", "Law, policy and governance"},
    "AI Policy and Ethics": {"Interpretability, safety and ethics", "Law, policy and governance"},
    "AI and Society": {
        "Interpretability, safety and ethics",
        "Law, policy and governance",
        "Human-computer interaction",
    },
    "AI Safety and Alignment": {
        "Interpretability, safety and ethics",
        "Language models",
        "Machine learning security and privacy",
    },
    "LLM Safety and Alignment": {
        "Interpretability, safety and ethics",
        "Language models",
        "Machine learning security and privacy",
    },
    "Algorithmic Fairness": {"Interpretability, safety and ethics"},
    "Fairness and Bias": {"Interpretability, safety and ethics"},
    "Algorithms and Combinatorics": {"Theory of computation"},
    "Algorithms and Complexity": {"Theory of computation"},
    "Applied NLP and Linguistics": {"Natural language processing", "Language models"},
    "Natural Language Processing": {"Natural language processing", "Language models"},
    "NLP and Retrieval": {
        "Natural language processing",
        "Language models",
        "Information retrieval and recommendation",
    },
    "Computational Music": {"Speech and audio"},
    "Music AI": {"Speech and audio"},
    "Speech Processing": {"Speech and audio"},
    "Computer Architecture and Hardware": {"Computer architecture and hardware"},
    "Earth Observation and Climate": {
        "Earth observation and geospatial",
        "Climate, weather and environment",
    },
    "HPC and Distributed Systems": {"Systems"},
    "Parallel and Distributed Computing": {"Systems"},
    "Healthcare AI": {"Medicine and health"},
    "Medical Image Analysis": {"Medicine and health"},
    "Human-Computer Interaction": {"Human-computer interaction"},
    "Image Recognition and Generation": CV,
    "Image and Video Analysis": CV,
    "Image and Video Processing": CV,
    "Image and Video Understanding": CV,
    "Video Understanding": CV,
    "Indoor Localization and Navigation": {
        "Networking and communications",
        "Robotics",
        "Information theory and signal processing",
    },
    "Localization and Navigation": {
        "Networking and communications",
        "Robotics",
        "Information theory and signal processing",
    },
    "Interpretability and Explainability": {"Interpretability, safety and ethics"},
    "LLM Training and Evaluation": {"Language models", "Natural language processing"},
    "Large Language Models": {"Language models", "Natural language processing"},
    "Learning Theory": {
        "Machine learning: theory",
        "Optimization and operations research",
        "Statistics",
    },
    "Learning Theory and Optimization": {
        "Machine learning: theory",
        "Optimization and operations research",
        "Statistics",
    },
    "Logic and Formal Methods": {
        "Programming languages and formal methods",
        "Knowledge, reasoning and planning",
    },
    "Logic and Symbolic AI": {
        "Programming languages and formal methods",
        "Knowledge, reasoning and planning",
    },
    "Symbolic and Neurosymbolic AI": {
        "Programming languages and formal methods",
        "Knowledge, reasoning and planning",
    },
    "Neural Dynamical Systems": {
        "Physics, engineering and scientific computing",
        "Time series",
        "Control and systems engineering",
    },
    "Scientific Machine Learning": {
        "Physics, engineering and scientific computing",
        "Time series",
        "Control and systems engineering",
    },
    "Reinforcement Learning and Bandits": {"Reinforcement learning and decision making"},
    "Retrieval and Recommendation": {"Information retrieval and recommendation"},
    "Robotics and Motion Planning": {"Robotics"},
    "Security and Privacy": {
        "Computer security",
        "Machine learning security and privacy",
        "Cryptography and blockchain",
    },
    "Software Engineering": {"Software engineering"},
    "Sustainable Computing": {"Energy", "Climate, weather and environment"},
    "Urban Computing and Mobility": {
        "Social and information networks",
        "Autonomous driving and transport",
        "Other applications",
    },
    "Urban Mobility Modeling": {
        "Social and information networks",
        "Autonomous driving and transport",
        "Other applications",
    },
    "Wireless Communications and Networking": {
        "Networking and communications",
        "Information theory and signal processing",
    },
    "Wireless and Wearable Sensing": {
        "Networking and communications",
        "Information theory and signal processing",
    },
}


def readings() -> dict[int, dict[str, str]]:
    """Reader → paper id → the reader's theme ("Other" for none)."""
    found: dict[int, dict[str, str]] = {}
    for r in READERS:
        path = ROOT / f"benchmarks/labels/theme-oracle-demo-r11-{r}.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        found[r] = {row["paper_id"]: row["theme"] for row in rows}
    return found


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    vocabulary = bench_names.area_vocabulary()
    seed = load_settings(ROOT / "examples/demo.toml").themes.seed
    read = readings()
    fields = [vocabulary.fields.get(n) for n in vocabulary.names]
    field_list = sorted({f for f in fields if f})
    of_field = {f: [a for a, g in enumerate(fields) if g == f] for f in field_list}
    right: Counter[tuple[str, str]] = Counter()
    seen: Counter[tuple[str, str]] = Counter()
    for item in bench_names.demo_inputs(ROOT / "data/demo/pipeline.sqlite3"):
        week = item["name"].split()[-1]
        if week not in WEEKS:
            continue
        themes, other = bench_names.item_themes(item, vocabulary, seed)
        ours = {pid: "Other" for pid in other}
        ours.update({pid: t.label for t in themes for pid in t.paper_ids})
        # Only the papers both readers sorted: the topics have changed since round 11, so a
        # week now leaves papers for themes that the readers never saw.
        rows = [i for i, pid in enumerate(item["ids"]) if all(pid in read[r] for r in READERS)]
        ids = [item["ids"][i] for i in rows]
        n = len(ids)
        unread = len(item["ids"]) - n
        ours_other = sum(ours[p] == "Other" for p in ids)
        print(f"{week}: {n} papers for themes that both readers sorted ({unread} more they never "
              f"saw, left out); this checkout {len({ours[p] for p in ids} - {'Other'})} themes, "
              f"Other {ours_other} ({ours_other / n:.1%})")  # fmt: skip
        for r in READERS:
            theirs = [read[r][p] for p in ids]
            kept = Counter(t for t in theirs if t != "Other")
            left = theirs.count("Other")
            versus = [ours[p] for p in ids]
            print(f"  reader {r}: {len(kept)} themes, Other {left} ({left / n:.1%}); against "
                  f"this checkout ARI {adjusted_rand_score(theirs, versus):.2f} "
                  f"NMI {normalized_mutual_info_score(theirs, versus):.2f}")  # fmt: skip
        one, two = ([read[r][p] for p in ids] for r in READERS)
        print(f"  reader 1 against reader 2: ARI {adjusted_rand_score(one, two):.2f} "
              f"NMI {normalized_mutual_info_score(one, two):.2f}")  # fmt: skip
        vectors = np.vstack([item["vectors"], item["background_vectors"]])
        scores = areas_mod.WeekScores(
            vectors, vocabulary, list(item["texts"]) + list(item["background"])
        ).scores
        unit = areas_mod._unit(vectors)
        area_units = areas_mod._unit(vocabulary.vectors)
        prototypes = areas_mod._unit(np.stack([area_units[of_field[f]].mean(axis=0)
                                               for f in field_list]))  # fmt: skip
        proto_scores = unit @ prototypes.T
        proto_scores -= proto_scores.mean(axis=0)
        for i, pid in zip(rows, ids, strict=True):
            wanted = [MAPPING[read[r][pid]] for r in READERS if read[r][pid] in MAPPING]
            if not wanted:
                continue
            fine = set.union(*wanted)
            s = scores[i]
            votes = Counter(fields[a] for a in np.argsort(-s)[:10] if fields[a])
            chosen = {
                "field of the best area": fields[int(np.argmax(s))],
                "best mean of a field's 3 best areas": max(
                    field_list, key=lambda f: float(np.sort(s[of_field[f]])[-3:].mean())
                ),
                "field with the best area": max(
                    field_list, key=lambda f: float(s[of_field[f]].max())
                ),
                "most of the 10 best areas": votes.most_common(1)[0][0] if votes else None,
                "nearest field prototype": field_list[int(np.argmax(proto_scores[i]))],
            }
            part = "in Other" if ours[pid] == "Other" else "in a theme"
            for rule, field_name in chosen.items():
                for where in ("all", part):
                    seen[(rule, where)] += 1
                    right[(rule, where)] += field_name in fine
    print("\npaper's field from its area scores, right by the readers' themes (papers both"
          " readers put in a theme, or one)")  # fmt: skip
    for rule in sorted({rule for rule, _ in seen}):
        line = f"  {rule:38s}"
        for where in ("all", "in a theme", "in Other"):
            k = (rule, where)
            line += f"  {where} {right[k]}/{seen[k]} ({right[k] / max(seen[k], 1):.0%})"
        print(line)


if __name__ == "__main__":
    main()
