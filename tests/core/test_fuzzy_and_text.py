from __future__ import annotations

from rentnumber_tui.core.fuzzy import rank, score
from rentnumber_tui.core.text import safe_text

NAMES = ["WhatsApp", "Telegram", "Twitter / X", "TikTok", "Tinder", "Google", "Steam"]


def ranked(query: str) -> list[str]:
    return rank(query, NAMES, lambda name: (name,))


def test_prefix_beats_substring_beats_subsequence():
    # Prefix matches first (tighter first, then input order), then other substrings.
    assert ranked("t")[:4] == ["TikTok", "Tinder", "Telegram", "Twitter / X"]
    assert ranked("tele") == ["Telegram"]
    assert ranked("wa")[0] == "WhatsApp"
    assert ranked("tgm") == ["Telegram"]  # in-order subsequence
    assert ranked("xyz") == []
    assert ranked("") == NAMES


def test_word_starts_rank_higher():
    assert score("x", "Twitter / X") > score("x", "Xbox live") / 10
    assert ranked("tx")[0] == "Twitter / X"


def test_hostile_text_is_neutralised():
    assert safe_text("[b]bold[/b] [@click=app.quit]x[/]") == "[b]bold[/b] [@click=app.quit]x[/]"
    assert safe_text("a\x1b[31mred\x1b[0m") == "ared"
    assert safe_text("x\x1b]52;c;ZXZpbA==\x07y") == "xy"  # OSC 52 clipboard write
    assert safe_text("\x1b[2J\x1b[Hcleared") == "cleared"
    assert safe_text("left\u202eright\u2066") == "leftright"
    assert safe_text("nul\x00bell\x07") == "nul\ufffdbell\ufffd"
    assert safe_text("a\nb") == "a b"
    assert safe_text("a\nb\x07", keep_newlines=True) == "a\nb\ufffd"
    assert safe_text("x" * 5000, max_length=10) == "x" * 9 + "…"
    assert safe_text("emoji 🇳🇬👍") == "emoji 🇳🇬👍"
    assert safe_text("\x9b31mC1 csi") == "C1 csi"
