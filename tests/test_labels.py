"""Theme names people would write (issue 17): noun phrases, the titles' subject first, no
half that repeats the other or names a whole field (pipeline/topics/labels.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_phrases import TEXTS, TITLES
from threadpoolctl import threadpool_limits

from pipeline.topics import labels
from pipeline.topics.labels import NAME_FIT, name_groups
from pipeline.topics.phrases import phrases, surface_forms

SPEECH = [f"Speech synthesis of music audio sample{i}." for i in range(6)]


def test_name_groups_names_with_a_noun_phrase_not_a_verb_or_an_adjective() -> None:
    # "continuing" and "clinical" are in every paper, "sepsis onset" in two thirds: the name
    # is the noun phrase ("Clinical and continuing" before).
    group = [f"Continuing, clinical: sepsis onset, case{i}." for i in range(4)]
    group += [f"Continuing, clinical: case{i}." for i in range(4, 6)]
    name = name_groups([group, SPEECH])[0]
    assert name.name == "Sepsis onset"
    assert name.fit >= NAME_FIT


def test_name_groups_does_not_join_a_phrase_to_its_own_acronym() -> None:
    # The texts define "AI": "AI system" and "artificial intelligence" are one subject.
    group = [f"Artificial intelligence (AI), essay{i}: AI systems." for i in range(6)]
    name = name_groups([group, SPEECH])[0].name
    assert " and " not in name
    assert name in ("AI system", "Artificial intelligence")


def test_name_groups_does_not_join_a_word_to_its_own_derivation() -> None:
    # "Cache and caching" (12 papers of an unseen OAI slice, eighteenth round's reading).
    group = [f"Cache policies, case{i}: caching." for i in range(3)]
    group += [f"Caching, case{i}." for i in range(3, 6)]
    name = name_groups([group, SPEECH])[0].name
    assert name in ("Cache", "Caching"), name


def test_a_word_written_in_two_forms_names_a_theme_in_one_noun_form() -> None:
    # Neither "sparse" nor "sparsity" is in half the texts; together they are in two thirds,
    # one word to a reader: "Sparsity", not "Sparse and sparsity" (23 papers of an unseen OAI
    # slice) and not a theme left unnamed for "Other".
    group = ["Sparse solvers: case one.", "Sparse recovery: case two."]
    group += ["Sparsity in networks: case three.", "Sparsity of weights: case four."]
    group += ["Quantum tomography: case five.", "Ocean tides: case six."]
    name = name_groups([group, SPEECH])[0]
    assert name.name == "Sparsity"
    assert name.fit >= NAME_FIT


def test_name_groups_prefers_the_acronym_to_the_word_it_abbreviates() -> None:
    # "Language and LLM" repeated itself; "LLM" is the narrower name, in its usual case.
    group = [f"Large language models (LLMs), case{i}: language. LLM." for i in range(6)]
    assert name_groups([group, SPEECH])[0].name == "LLM"


def test_key_phrases_keep_acronyms_in_the_case_the_texts_write_them() -> None:
    # Shown under the theme's name ("key phrases: LLM, ..."): "llm" was issue 17's complaint.
    group = [
        f"Large language models (LLMs), case{i}: language. LLM. RAG pipeline." for i in range(6)
    ]
    terms = name_groups([group, SPEECH])[0].terms
    assert "LLM" in terms
    assert not any(t in ("llm", "rag pipeline") for t in terms), terms


def test_name_groups_leaves_out_a_second_half_the_whole_week_uses() -> None:
    # "dataset" is in every background paper: "Land cover and dataset" says no more than
    # "Land cover", which fits alone.
    group = [f"Land cover, case{i}: dataset." for i in range(4)]
    group += [f"Dataset, case{i}." for i in range(4, 6)]
    background = [f"A dataset of robot grasps, part{i}." for i in range(10)]
    name = name_groups([group, SPEECH], background=background)[0]
    assert name.name == "Land cover"
    assert name.fit >= NAME_FIT


def test_name_groups_leads_with_the_subject_the_titles_name() -> None:
    # "profile suite" is in every abstract, "human mobility" in five of six and in the titles.
    texts = [f"Human mobility, city{i}. Profile suite." for i in range(5)]
    texts.append("Profile suite, city9.")
    titles = [f"Human mobility in city{i}" for i in range(5)] + ["City9"]
    name = name_groups([texts, SPEECH], titles=[titles, SPEECH])[0]
    assert name.name == "Human mobility"


def test_name_groups_is_deterministic() -> None:
    groups = [[f"Human mobility, city{i}. Profile suite." for i in range(6)], SPEECH]
    assert name_groups(groups) == name_groups([list(g) for g in groups])


def test_name_groups_keeps_dimensions_and_leaves_out_other_numbers() -> None:
    # "3D" was split into "3" and "d", so a 3D-vision group lost its subject; "40x" and
    # "2025" are no words, and the comparative "faster" is no area.
    group = [f"3D reconstruction of scene{i} from 40x faster 2025 video." for i in range(6)]
    name = name_groups([group, SPEECH])[0].name
    assert name.startswith("3D reconstruction")
    assert "faster" not in name.lower() and "40x" not in name.lower()


def test_name_groups_names_a_group_only_adjectives_fit_as_before() -> None:
    # No noun phrase is in most papers: the adjectives name the group rather than none (a
    # group without a name is not shown and its papers go elsewhere).
    group = [f"Genomic, clinical: case{i}." for i in range(6)]
    name = name_groups([group, SPEECH])[0]
    assert name.name in ("Genomic and clinical", "Clinical and genomic")
    assert name.fit == 1.0


def test_name_groups_leaves_a_verb_out_of_a_name() -> None:
    # Read blind in the thirteenth round: "Consider nonadaptive group" over group-testing
    # papers, from the phrase "we consider nonadaptive group testing".
    group = [f"We consider nonadaptive group testing, case{i}." for i in range(6)]
    name = name_groups([group, SPEECH])[0].name
    assert name and "consider" not in name.lower()


def test_key_phrases_leave_out_verbs_of_abstract_prose() -> None:
    # Read from outside (round 15): the demo's W24 showed "key phrases: kernel, diffusion,
    # argue, insight" and "subsystem, read, manage, overhead".
    group = [f"We argue that kernel methods manage diffusion, case{i}." for i in range(6)]
    terms = [t.lower() for t in name_groups([group, SPEECH])[0].terms]
    assert terms and not [t for t in terms if {"argue", "manage"} & set(t.split())], terms


def test_key_phrases_stay_noun_phrases_when_adjectives_name_the_group() -> None:
    # Read from outside (round 16): the demo's W24 showed "key phrases: clinical natural
    # language, extracting structured, legal norm, property prediction" under a theme a
    # research area names. No noun phrase here is in enough papers to name the group, the
    # participles are in all of them: they may name it, the key phrases are its noun phrases.
    nouns = ["legal norm", "tax form", "court record", "patent claim", "privacy policy"]
    group = [f"Extracting, structured: {nouns[i // 2]}, case{i}." for i in range(10)]
    name = name_groups([group, SPEECH])[0]
    assert name.name
    assert len(name.terms) == 4 and set(name.terms) <= set(nouns), name.terms


def test_a_word_one_paper_writes_specially_keeps_its_case_only_where_papers_agree() -> None:
    # One paper's method name, "EXPected Similarity Estimation (EXPoSE)", written five times,
    # made the theme "Learning and EXPected similarity estimation"; three others write
    # "expected" as the word it is.
    group = ["EXPected similarity estimation. EXPected kernels. EXPected loss. EXPected: EXPected."]
    group += [f"The expected similarity of kernel{i}." for i in range(3)]
    assert surface_forms(group).forms.get("expected") is None
    # A name the papers write specially, once each, keeps its case ("ResNet").
    assert surface_forms([f"A ResNet for case{i}, trained." for i in range(3)]).forms["resnet"] == (
        "ResNet"
    )


#: Six abstracts on splatting (titles in Title Case): five write "Gaussian splatting" within
#: a sentence, one starts a sentence with it.
SPLATTING = [
    "Fast Gaussian Splatting for Urban Driving. We render city blocks with 3D Gaussian "
    "splatting at interactive rates.",
    "Relightable Gaussian Splatting. Relighting is hard for Gaussian splatting, since each "
    "primitive bakes in its light.",
    "Sparse-View Reconstruction. With few views, Gaussian splatting overfits: we add a "
    "depth prior.",
    "Compact Storage. Storage dominates the cost of Gaussian splatting; we prune points.",
    "Dynamic Objects in Motion. Our Gaussian splatting model follows moving objects over time.",
    "Anti-Aliased Rendering. Gaussian splatting aliases at low resolution; we filter footprints.",
]
#: Six abstracts on sampling: "Hamiltonian Monte Carlo" within sentences, once at a start.
SAMPLING = [
    "Tempered Samplers. We study Hamiltonian Monte Carlo for multimodal posteriors.",
    "Adaptive Step Sizes. Adaptive Hamiltonian Monte Carlo tunes its step as it runs.",
    "Mixing Times Revisited. Hamiltonian Monte Carlo mixes slowly on rugged targets.",
    "Gradient-Based Sampling. We compare Langevin dynamics with Hamiltonian Monte Carlo.",
    "Subsampled Likelihoods. Stochastic Hamiltonian Monte Carlo uses minibatches of data.",
    "Diagnostics for Convergence. Checking Hamiltonian Monte Carlo output needs many chains.",
]


def test_a_name_written_capitalised_within_sentences_keeps_its_capital() -> None:
    # "gaussian splatting" was shown (2025-W25's "Computer vision" theme): papers write the
    # name capitalised within sentences, which is their choice; a sentence's first word and
    # a Title-Case title are not.
    name = name_groups([SPLATTING, SPEECH])[0]
    assert name.name == "Gaussian splatting"
    assert "Gaussian splatting" in name.terms
    assert surface_forms(SPLATTING).forms.get("splatting") is None
    sampling = name_groups([SAMPLING, SPEECH])[0]
    assert sampling.name == "Hamiltonian Monte Carlo", sampling


def test_a_word_capitalised_only_at_sentence_starts_and_in_titles_stays_lower_case() -> None:
    group = [
        "Gaussian Noise in Sensors. Gaussian noise corrupts the readings of cheap sensors.",
        "Denoising Readings. Gaussian noise is removed by a learned filter.",
        "Robust Estimation Under Gaussian Noise. We estimate under heavy noise.",
    ]
    assert "gaussian" not in surface_forms(group).forms
    # Written within a sentence by as many texts as write it in lower case: not the usual form.
    group += ["Filters. A filter for Gaussian noise.", "Filters. A filter for gaussian noise."]
    assert "gaussian" not in surface_forms(group).forms
    group += ["Bounds. Tight bounds for Gaussian noise."]
    assert surface_forms(group).forms["gaussian"] == "Gaussian"


def test_a_capital_after_a_capital_counts_only_for_a_word_never_written_in_lower_case() -> None:
    # A name's Title Case within a sentence ("a Universal Turing Machine") says the name is
    # capitalised, not that "machine" is; "Carlo" is never written otherwise.
    group = [
        "Universality. We build a Universal Turing Machine with few states.",
        "Halting. Every Turing Machine here halts, as does the Monte Carlo estimate.",
        "Tapes. A machine with two tapes simulates a Turing machine by Monte Carlo sampling.",
    ]
    forms = surface_forms(group).forms
    assert forms["turing"] == "Turing"
    assert forms["carlo"] == "Carlo"
    assert "machine" not in forms
    assert "universal" not in forms  # one text
    # A hyphenated word in Title Case is a name's too: "Human-Robot" only where no text
    # writes "human-robot".
    group = [f"Robots. Trust in Human-Robot Interaction, study {i}." for i in range(3)]
    assert surface_forms(group).forms["human-robot"] == "Human-Robot"
    group.append("Cobots. We study human-robot interaction on the shop floor.")
    assert "human-robot" not in surface_forms(group).forms


def test_the_capitals_of_an_acronyms_expansion_are_not_its_words_usual_case() -> None:
    # "Deep reinforcement learning" and "radio Access network" were shown (demo 2025-W24) from
    # papers that spell an acronym out: "integrates Deep Reinforcement Learning (DRL) agents".
    group = [
        "Traffic Control. We train Deep Reinforcement Learning (DRL) agents for signals.",
        "Open Networks. Slicing in the Radio Access Network (RAN) with Deep Reinforcement "
        "Learning (DRL).",
        "Schedulers. A deep reinforcement learning scheduler for radio access networks.",
    ]
    forms = surface_forms(group).forms
    assert not {"deep", "reinforcement", "learning", "radio", "access", "network"} & set(forms)
    # One author's capitals are a habit, not the word's usual form (demo 2025-W24's "Time
    # series forecasting" showed "Deep learning" from "Developments in Deep Learning have").
    group = [
        "Forecasting Benchmarks. Developments in Deep Learning have improved forecasting.",
        "Deep Learning for Glucose. Lightweight models forecast glucose levels.",
        "Flow Modeling. Forecasting shocks with learned time steps.",
    ]
    assert "deep" not in surface_forms(group).forms
    assert surface_forms([*group, "Weather. We forecast with Deep Learning."]).forms["deep"] == (
        "Deep"
    )


def test_a_tie_between_forms_goes_to_the_one_not_in_capitals_throughout() -> None:
    # 2025-W25's "Natural language processing" theme showed "LLAMA": one paper wrote "an expert
    # LLAMA model", another "such as Llama 1 and 2"; all capitals lost to neither before.
    shouted = ["Data Pruning. Compared to an expert LLAMA model, ours is smaller."]
    assert (
        surface_forms([*shouted, "Open Models. Models such as Llama 1 and 2 7B."]).forms["llama"]
        == "Llama"
    )
    assert surface_forms([*shouted, "Probes. We probe LLaMA layers."]).forms["llama"] == "LLaMA"
    # A form shown in capitals is no case of another: "RPYs" is shown "RPY", not "RPYS" (an
    # unseen OAI slice's "Reference Publication Year Spectroscopy (RPYS)").
    texts = ["Citations. We apply RPYS to physics.", "Citations. Two RPYs of chemistry."]
    assert surface_forms(texts).forms["rpys"] == "RPYS"
    # Commoner forms still win: three texts write "LLM", one "Llm".
    texts = [f"Agents. We test an LLM agent{i}." for i in range(3)] + ["Agents. an Llm agent."]
    assert surface_forms(texts).forms["llm"] == "LLM"


def test_a_capitalised_word_does_not_make_a_noun_of_an_adjective() -> None:
    # The words written specially name things and count as nouns (words.is_noun_phrase); a
    # word capitalised in prose ("Arabic", "Bayesian") is no more a noun than before.
    texts = [f"Dialects. We study Arabic dialect{i} and Arabic script." for i in range(3)]
    surface = surface_forms(texts)
    assert surface.forms["arabic"] == "Arabic"
    assert "arabic" not in surface.special


def real_groups() -> tuple[list[list[str]], list[str]]:
    """Real abstracts of tests/data in groups of 10, 20 and 4, and a background of the rest."""
    return [TEXTS[:10], TEXTS[10:30], TEXTS[30:34], [TITLES[0]]], TEXTS[34:]


def test_count_phrases_is_what_countvectorizer_counted_on_real_abstracts() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    groups, background = real_groups()
    counts = labels._count_phrases(groups, background)
    assert counts is not None
    docs = [t for g in groups for t in g] + background
    vectorizer = CountVectorizer(analyzer=phrases, binary=True, min_df=2)
    expected = vectorizer.fit_transform(docs).tocsr()  # the code before round 14
    assert counts.vocab == [str(t) for t in vectorizer.get_feature_names_out()]
    assert counts.matrix.dtype == expected.dtype
    assert counts.matrix.shape == expected.shape and (counts.matrix != expected).nnz == 0
    assert labels._count_phrases([["one text"]], []) is None  # no phrase in two texts
    assert labels._count_phrases([], []) is None


def test_relevance_of_every_phrase_that_can_label_a_group_is_the_full_products() -> None:
    groups, background = real_groups()
    counts = labels._count_phrases(groups, background)
    assert counts is not None
    vectors = np.random.default_rng(0).standard_normal((counts.matrix.shape[0], 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    # The code before round 14: every phrase's papers summed, normalised, compared.
    x = vectors.astype(np.float64)
    phrase_vectors = np.asarray(counts.matrix.T @ x)
    phrase_vectors /= np.maximum(np.linalg.norm(phrase_vectors, axis=1, keepdims=True), 1e-12)
    bounds = np.cumsum([0, *counts.sizes])
    centroids = np.stack([x[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    # In one BLAS thread, as _relevance computes: a threaded product's last bits depend on how
    # it splits the work (round 18: 3 of 2.3M cosines of the real 10k week, by 1.7e-16).
    with threadpool_limits(limits=1, user_api="blas"):
        expected = centroids @ phrase_vectors.T
    found = labels._relevance(counts, vectors)
    for row in range(len(groups)):
        eligible = counts.eligible[row]
        assert eligible.any()
        assert np.array_equal(found[row, eligible], expected[row, eligible])  # to the bit


def test_relevance_of_name_candidates_decides_as_the_full_product(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    groups, background = real_groups()
    counts = labels._count_phrases(groups, background)
    assert counts is not None
    vectors = np.random.default_rng(1).standard_normal((counts.matrix.shape[0], 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    full = labels._relevance(counts, vectors)
    # Candidates as name_groups takes them, and a few more phrases a group can label.
    found = [
        labels._distinctive(counts, row, labels.NAME_CANDIDATES)
        + np.flatnonzero(counts.eligible[row])[:20].tolist()
        for row in range(len(groups))
    ]
    expected = [
        [j for j in f if full[row, j] >= labels.MIN_NAME_RELEVANCE] for row, f in enumerate(found)
    ]
    assert any(expected) and any(len(e) < len(f) for e, f in zip(expected, found, strict=True))
    relevance = labels._Relevance(counts, vectors)
    assert [relevance.relevant(row, f) for row, f in enumerate(found)] == expected
    assert relevance._full is None  # no cosine this near the bound
    # A cosine near the bound is left to the full product.
    monkeypatch.setattr(labels, "RELEVANCE_MARGIN", 1.0)
    relevance = labels._Relevance(counts, vectors)
    assert [relevance.relevant(row, f) for row, f in enumerate(found)] == expected
    assert relevance._full is not None
    assert relevance.relevant(0, []) == []
