"""Which label phrases can head a name: noun phrases, not verbs or adjectives standing alone (pure).

No part-of-speech model can be downloaded here and none on PyPI bundles one that settles this
(lemminflect's lexicon gives "clinical" and "visual" a noun reading, "reasoning" none), so a
phrase's last word, the head of an English noun phrase, is judged by its
ending with short lists of the exceptions that occur in research abstracts: "continuing",
"uncovering", "clinical", "agentic", "accelerate" are no area's name; "learning", "retrieval",
"signal", "narrative", "state" are. Words are the folded forms of topics/phrases (lower case,
singular). Imports nothing from the pipeline."""

from __future__ import annotations

import re
from collections.abc import Container


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: -ing words that name a field or a method on their own ("Reasoning", "Speech processing").
#: Other -ing words head a name only after another word ("motion planning", "image denoising").
NOUN_ING = _listed(
    """learning reasoning training computing modeling modelling processing clustering planning
    ranking tracking mapping sensing imaging forecasting scheduling routing caching parsing
    testing fuzzing programming engineering pruning editing unlearning fine-tuning finetuning
    prompting hashing rendering splatting matching sampling pooling encoding coding beamforming
    networking crowdsourcing captioning grounding inpainting denoising embedding monitoring
    pretraining pre-training reading writing auditing accounting marketing manufacturing mining
    building housing funding warning meaning setting thing string ring spring bearing"""
)
#: Words with an adjective's ending that are nouns in research abstracts ("signal", "topic").
NOUN_LIKE_ADJECTIVES = _listed(
    """signal interval proposal approval trial journal material animal terminal portal manual
    capital hospital potential rival arrival removal retrieval survival renewal disposal denial
    referral tutorial editorial criminal professional individual principal mineral crystal
    metal pedal total goal deal meal appraisal rehearsal reversal withdrawal dismissal festival
    integral functional residual differential chemical vertical horizontal ritual
    music logic topic traffic clinic metric heuristic rhetoric arithmetic mechanic epidemic
    pandemic mosaic public republic fabric critic relic magic plastic tactic characteristic
    diagnostic graphic electronic cubic
    objective narrative alternative initiative perspective incentive directive detective
    representative derivative executive motive archive primitive collective native relative
    additive positive negative imperative cooperative locomotive explosive
    variable table cable deliverable observable syllable vegetable timetable wearable
    library dictionary summary boundary vocabulary glossary itinerary salary commentary diary
    anniversary beneficiary adversary secretary"""
)
#: Adjectives and participles without a telling ending ("robust", "latent", "driven").
ADJECTIVES = _listed(
    """efficient intelligent latent salient robust resilient transparent independent dependent
    relevant recent current consistent coherent sufficient apparent prominent emergent
    divergent convergent fluent frequent urgent competent persistent adjacent different
    deep large small fast slow open free aware specific wise like agnostic centric level
    driven hidden unseen given proven frozen written known unknown grown shown chosen
    bayesian gaussian euclidean riemannian markovian human-centered real-world state-of-the-art
    fair secure private smart safe sparse dense convex finite discrete diverse explicit tight
    downstream fraudulent broken correct distinct false huge infinite smooth planar concurrent
    computable disjoint lossy raw rigid superior thorough poor
    faster better larger smaller higher lower stronger easier greater deeper wider longer
    shorter simpler cheaper"""
)
#: Verbs of abstract prose with no telling ending ("we assess", "to deliver").
VERBS = _listed(
    """assess comprise deliver evade publish embed conduct exhibit reveal enable ensure require
    evolve continue tackle explore examine obtain employ enhance exploit outperform surpass
    remain allow offer lead yield accelerate mitigate facilitate investigate demonstrate
    incorporate integrate validate evaluate generate simulate illustrate differentiate
    uncover achieve address adopt boost clarify highlight introduce mimic reduce suggest
    consider let assume describe discuss depend recover prove derive establish provide apply
    utilize improve solve observe retain meet argue manage grow seek fail lack become bring
    emphasize underscore unveil foster encompass decompose learn admit behave detect imply infer
    interact occur perturb preserve satisfy showcase specify teach"""
)
#: -ate words that are nouns ("state", "climate"); other -ate words are verbs or adjectives.
NOUN_ATE = _listed(
    """state rate candidate climate template update estimate aggregate substrate gate plate date
    debate mandate delegate advocate graduate certificate surrogate duplicate predicate
    senate primate concentrate affiliate conjugate crate skate slate fate mate"""
)
#: Words of what an abstract says about itself or the field's state, not its subject: a
#: keyword made with one ("project page", "recent advancement", "code release") matches papers
#: on anything (read from outside: `digest topics` on the demo's W24 offered the first two).
SELF_REFERENCE = _listed(
    """page website homepage github repository url advancement advance progress recent release"""
)
#: Nouns of what an abstract offers, not what it is about ("we provide insights", "the
#: model's ability"): they head no name or key phrase (read from outside: the demo's W24 and
#: W25 showed "key phrases: kernel, diffusion, insight, training" and "learning, decompose,
#: ability, human").
PROSE_NOUNS = _listed("insight ability paradigm consideration idea million limitation")
#: Whole fields and the methods every field now uses: as the second half of a name they say
#: nothing about the group's subject ("Weather event and deep learning"). Folded forms.
BROAD_TERMS = frozenset(
    [
        "ai",
        "ai model",
        "ai system",
        "artificial intelligence",
        "benchmark",
        "dataset",
        "deep learning",
        "deep neural network",
        "foundation model",
        "language model",
        "large language model",
        "llm",
        "machine learning",
        "neural network",
    ]
)
#: Nouns ending in -ly; other -ly words are adverbs.
NOUN_LY = _listed("family assembly anomaly supply reply ally monopoly butterfly rally jelly")
_ADJECTIVE_END = re.compile(r"(?:ic|al|ous|ive|able|ible|ful|less|ular|inear|ary)$")
_VERB_END = re.compile(r"(?:ize|ify)$")
#: Endings of nouns made from verbs and adjectives: a hyphenated word that ends in one
#: ("co-simulation", "self-supervision") is a noun, other hyphenated words are mostly
#: modifiers standing without their noun ("real-world", "multi-view", "open-ended").
_NOUN_END = re.compile(r"(?:tion|sion|ment|ness|ity|ance|ence|ism|ogy|sis|ics)$")


def is_noun_phrase(phrase: str, special: Container[str] = ()) -> bool:
    """Whether a folded label phrase ends in a noun, so that it can name an area.

    `special`: folded words the texts write in a special case ("wi-fi" for "Wi-Fi", "o-ran"):
    names of things, hence nouns whatever their ending.
    """
    words = phrase.split()
    head = words[-1]
    if head in special:
        return True
    if any(w in VERBS for w in words) or _VERB_END.search(head) or head in PROSE_NOUNS:
        return False
    if "-" in head and len(words) == 1:
        return head in NOUN_ING or bool(_NOUN_END.search(head))
    return is_noun(head, alone=len(words) == 1)


def is_noun(word: str, *, alone: bool = True) -> bool:
    """Whether a folded word can head a noun phrase; an -ing word only after another word
    unless it names a field itself (`alone`: the word is the whole phrase)."""
    last = word.rsplit("-", 1)[-1]
    if word in NOUN_ING or word in NOUN_LIKE_ADJECTIVES or last in NOUN_LIKE_ADJECTIVES:
        return True
    if word in ADJECTIVES or last in ADJECTIVES:
        return False
    if last.endswith("ing"):
        return not alone
    if last.endswith("ly"):  # adverbs ("finitely"); the suffix list of phrases misses some
        return last in NOUN_LY
    if last.endswith("ed") and not last.endswith("eed"):  # "speed", "seed", "feed" are nouns
        return False
    if last.endswith("ate"):
        return last in NOUN_ATE
    return not _ADJECTIVE_END.search(last)
