"""tune/explain.py: how the keywords a paper names are shown."""

from __future__ import annotations

from pipeline.tune.explain import describe_keywords


def test_describe_keywords_shows_the_keyword_as_written_and_a_variant_as_found() -> None:
    text = "A selfsupervised speech recognition model"
    found = describe_keywords(text, ["speech recognition", "self-supervised", "GNN"])
    assert found == 'speech recognition, self-supervised (as "selfsupervised")'
    assert describe_keywords("nothing here", ["self-supervised"]) == ""
