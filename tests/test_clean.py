"""Field cleaning (issue 14): TeX accents, names, invisible characters, look-alike digits, DOIs,
dates. Expected values are what the publisher's own page or the arXiv API shows for the same
names and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.ingest.clean import (
    clean_doi,
    clean_name,
    clean_text,
    decode_tex,
    doi_from_link,
    fix_text,
    fold_key,
    parse_date,
    split_names,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('J\\"org Deigm\\"oller', "Jörg Deigmöller"),  # arXiv RSS dc:creator, issue 14 item 3
        ("Pi\\v{z}urica", "Pižurica"),
        ("S{\\o}gaard", "Søgaard"),
        ("Jos\\'{e} L\\'opez", "José López"),
        ("Erd\\H{o}s", "Erdős"),
        ("Fran{\\c c}ois", "François"),
    ],
)
def test_decode_tex_turns_accents_into_unicode(raw: str, expected: str) -> None:
    assert decode_tex(raw) == expected


def test_decode_tex_leaves_math_alone() -> None:
    assert decode_tex('$\\alpha$-decay in M\\"uller cells') == "$\\alpha$-decay in Müller cells"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("G. David Forney, Jr.", "G. David Forney Jr."),  # issue 14 item 5
        ("Heath, Robert W., Jr.", "Robert W. Heath Jr."),
        ("Hunt, Harry B., III", "Harry B. Hunt III"),
        ("Inoda, Toshio", "Toshio Inoda"),  # Cambridge Core "Last, First"
        ("Smith, V.", "V. Smith"),  # an initial, not the suffix "V"
        ("mail@stries.de (Jonas Große Sundrup)", "Jonas Große Sundrup"),  # item 11
        ("\ufeffAurora RamÃ\xadrez", "Aurora Ramírez"),  # BOM and mojibake
        ("Hege Vårdal ( )", "Hege Vårdal"),  # the OJS Entomologisk Tidskrift feed
        ("Eve Smith <eve@example.org>", "Eve Smith"),  # RFC 5322 name-addr; was "Eve Smith < >"
        ("Fran\\ccois Charpillet", "François Charpillet"),  # arXiv 0707.2506: accent glued on
        ("Jan \\v Zitek", "Jan Žitek"),
    ],
)
def test_clean_name_reads_names_as_the_publisher_shows_them(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


def test_split_names_splits_and_joined_and_semicolon_lists() -> None:
    assert split_names(("Suping Wang and Jianguo Xu",)) == ("Suping Wang", "Jianguo Xu")
    assert split_names(("Doan-Nhu, Hai; Nguyen-Ngoc, Lam",)) == ("Hai Doan-Nhu", "Lam Nguyen-Ngoc")
    assert split_names(("Ada Lovelace", "", "Alan Turing", "et al.")) == (
        "Ada Lovelace",
        "Alan Turing",
    )


def test_fix_text_strips_bom_and_zero_width_but_keeps_words() -> None:
    assert fix_text("\ufeffDeep\u200b learn\u00ading &amp; more") == "Deep learning & more"


def test_fold_key_maps_fullwidth_and_arabic_indic_digits_to_ascii() -> None:
    assert fold_key("２６０４.２１９５２") == "2604.21952"
    assert fold_key("٢٦٠٤.٢١٩٥٢") == "2604.21952"
    assert fold_key("deep\u00adlearn\u200bing") == "deeplearning"


def test_doi_from_link_reads_the_path_and_drops_tracking() -> None:
    link = "https://www.tandfonline.com/doi/full/10.1080/09397140.2021.1992835?af=R"
    assert doi_from_link(link) == "10.1080/09397140.2021.1992835"
    assert doi_from_link("https://onlinelibrary.wiley.com/doi/10.1111/tax.12623/abstract") == (
        "10.1111/tax.12623"
    )
    assert doi_from_link("https://zookeys.pensoft.net/article/47616/") is None
    assert clean_doi("info:doi/10.1016/j.x.2021.1") == "10.1016/j.x.2021.1"


def test_parse_date_reads_rfc822_and_iso8601_keeping_the_offset() -> None:
    eastern = timezone(timedelta(hours=-4))
    assert parse_date("2025-08-20T00:00:00-04:00") == datetime(2025, 8, 20, tzinfo=eastern)
    assert parse_date("Mon, 27 Apr 2026 00:00:00 -0400") == datetime(2026, 4, 27, tzinfo=eastern)
    assert parse_date("2021-12-21") == datetime(2021, 12, 21, tzinfo=UTC)
    assert parse_date("not a date") is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Bounds when $k<p$ and $q>r$ hold", "Bounds when $k<p$ and $q>r$ hold"),
        (
            "Graphs with $n<b$ vertices and $m>2n$ edges",
            "Graphs with $n<b$ vertices and $m>2n$ edges",
        ),
        ("Scaling <i>in vivo</i> imaging of H<sub>2</sub>O", "Scaling in vivo imaging of H2O"),
        (
            "<jats:p xmlns:jats=\"u\">An <a href='x' target=_blank >abstract</a></jats:p>",
            "An abstract",
        ),
        ("Line<br/>break<BR >here", "Line break here"),
    ],
)
def test_clean_text_keeps_tex_inequalities_that_look_like_a_tag(raw: str, shown: str) -> None:
    # Round 9: "$k<p$ and $q>r$" was read as a <p> tag and stripped: "Bounds when $kr$ hold".
    assert clean_text(raw) == shown
