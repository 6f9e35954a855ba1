"""Text is fitted in terminal cells, not characters: a wide character (East Asian Wide/Fullwidth: CJK,
most emoji) takes two cells and a combining mark or zero-width character none, and an elided name
never ends on half a wide character. (``status --once`` with wide names: test_status_text_width.)"""

from __future__ import annotations

import random
import textwrap
import unicodedata

import pytest

from gfwizard.textfit import Column, cell_width, elide, fit_table, pack, shrink_widths, wrap


def cells(text: str) -> int:
    """An oracle kept apart from the code under test: 2 for W/F, 0 for marks and format characters."""
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def test_cell_width() -> None:
    assert cell_width("attic") == 5
    assert cell_width("ハニー蜂ノード") == 14  # 7 characters
    assert cell_width("cafe\u0301") == 4  # e + combining acute accent
    assert cell_width("a\u200bb") == 2  # zero-width space
    assert cell_width("🔥 hot") == 6
    assert cell_width("") == 0


def test_elide_counts_cells_and_never_splits_a_wide_character() -> None:
    assert elide("漢字漢字漢字", 12) == "漢字漢字漢字"
    # 5 cells for the text before the ellipsis: a third wide character would take 6, so it is left out.
    assert elide("漢字漢字漢字", 6) == "漢字…"
    for width in range(2, 14):
        for middle in (False, True):
            cut = elide("漢字a漢字b漢字", width, middle=middle)
            assert cells(cut) <= width, (width, middle, cut)
            assert cut.count("…") == 1, cut
    # The cell the head cannot use (half a wide character) goes to the tail.
    assert elide("漢字漢字漢字", 7, middle=True) == "漢…漢字"
    # Width the combining accent does not take is not cut for.
    assert elide("cafe\u0301-latte", 10) == "cafe\u0301-latte"
    # A mark never starts the tail (it would sit on the ellipsis).
    assert elide("abcde\u0301fg", 5, middle=True) == "ab…fg"


def test_wrap_pack_and_tables_measure_cells() -> None:
    text = " ".join(["漢字漢字", "ノード", "bumble", "キャッシュサーバーの名前がとても長い"] * 3)
    for width in (10, 17, 40):
        lines = wrap(text, width, "  ", "    ")
        assert all(cells(line) <= width for line in lines), lines
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # broken, never lost
    assert pack(["名前 漢字", "ノード"], 12, "  ") == ["  名前 漢字", "  ノード"]
    table = fit_table((Column("N"), Column("STATE")), [("名前名前", "ok"), ("ab", "bad")], 80)
    assert table == ["  N         STATE", "  名前名前  ok", "  ab        bad"]


@pytest.mark.parametrize("seed", range(20))
def test_wrap_of_ascii_text_is_textwraps(seed: int) -> None:
    """Counting cells changes nothing for ASCII: the same lines as :mod:`textwrap` gave before."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abc-/.") for _ in range(rng.randint(1, 30))) for _ in range(rng.randint(1, 25))]
    text = "".join(w + rng.choice([" ", "  ", "\t", "\n "]) for w in words)
    for width, indent, rest in ((8, "", "  "), (24, "  ", "    "), (80, "    ", "      ")):
        old = textwrap.TextWrapper(width=width, initial_indent=indent, subsequent_indent=rest,
                                   break_on_hyphens=False, break_long_words=True).wrap(text)
        assert wrap(text, width, indent, rest) == old


def test_shrink_widths_uses_a_later_stage_only_when_the_earlier_ones_are_not_enough() -> None:
    stages = [[(1, 10), (2, 10)], [(0, 5)]]
    # The first stage is enough: the widest of its columns gives first, the others keep theirs.
    assert shrink_widths([30, 40, 12], 70, stages) == [30, 28, 12]
    assert shrink_widths([30, 40, 20], 60, stages) == [30, 15, 15]
    # It is not: the second stage takes the rest, never below its least.
    assert shrink_widths([30, 40, 20], 40, stages) == [20, 10, 10]
    assert shrink_widths([30, 40, 20], 24, stages) is None
    assert shrink_widths([3, 4], 10, stages) == [3, 4]
