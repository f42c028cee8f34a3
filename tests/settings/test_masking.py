from __future__ import annotations

import asyncio

import httpx
import pytest

from rentnumber_tui import masking
from rentnumber_tui.api import RentNumberClient, RequestScheduler, Unauthorized
from rentnumber_tui.credentials import InvalidKey, normalize_key
from rentnumber_tui.masking import SecretKey, key_problem, mask_key, redact, register_secret

KEY = "rn_5d41402abc4b2a76b9719d911017c4f2"


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        (KEY, "rn_…c4f2"),
        ("sk_live_abcdefghijklmnop1234", "sk_…1234"),
        ("live_abcdefghijklmnop1234", "liv…1234"),  # underscore too far in: 3 chars
        ("abcdefghijklmnopqrstuvwxyz", "abc…wxyz"),
        ("_abcdefghijklmnopwxyz", "_ab…wxyz"),
        ("rn_0123456789a", "…"),  # only 7 hidden: too short to show anything
        ("rn_abcdefgh1", "…"),  # 12 characters: the client once showed rn_…fgh1
        ("rn_0123456789ab", "rn_…89ab"),  # 8 hidden
        ("short", "…"),
        ("", "…"),
        (None, "…"),
    ],
)
def test_mask_key(key, masked):
    assert mask_key(key) == masked


def test_mask_never_contains_the_hidden_part():
    masked = mask_key(KEY)
    assert KEY[3:-4] not in masked
    assert len(masked) < len(KEY) - 8


def test_secret_key_is_a_string_with_a_masked_repr():
    secret = SecretKey(KEY)
    assert secret == KEY
    assert isinstance(secret, str)
    assert secret.masked == "rn_…c4f2"
    assert repr(secret) == "SecretKey('rn_…c4f2')"
    assert KEY not in repr([secret, {"key": secret}])
    assert str(secret) == KEY  # still usable as the header value
    assert type(str(secret)) is str


def test_redact_replaces_every_occurrence_longest_first():
    other = "rn_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111"
    text = f"key={KEY}; again {KEY}; and {other}; prefix rn_5d41 stays"
    out = redact(text, [KEY, other, None, ""])
    assert KEY not in out and other not in out
    assert out.count("rn_…c4f2") == 2
    assert "rn_…1111" in out
    assert "prefix rn_5d41 stays" in out


def test_redact_uses_registered_secrets_by_default(monkeypatch):
    monkeypatch.setattr(masking, "_registered", set())
    secret = "rn_registered_only_0123456789abcd"
    assert secret in redact(f"oops {secret}")
    register_secret(secret)
    assert secret not in redact(f"oops {secret}")


@pytest.mark.parametrize("key", [KEY, "rn_abcdefgh1", "rn_0123456789ab", "x" * 40])
def test_the_client_masks_an_echoed_key_with_the_same_rule(key):
    """A server that quotes the key back gets it masked exactly as the screen masks it."""

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"success": False, "error": f"bad key {key}"})

    async def ask() -> Unauthorized:
        client = RentNumberClient(
            key,
            "https://api.test/api/v1",
            transport=httpx.MockTransport(echo),
            scheduler=RequestScheduler(100),
        )
        with pytest.raises(Unauthorized) as info:
            await client.balance()
        await client.aclose()
        return info.value

    error = asyncio.run(ask())
    assert key not in error.message and key not in (error.server_text or "")
    assert f"bad key {mask_key(key)}" in (error.server_text or "")


#: (text, accepted): one rule for the login screen, key storage and the client.
KEY_TEXTS = [
    (KEY, True),
    ("rn_abc", True),
    ("x" * 512, True),
    ("x" * 513, False),
    ("", False),
    ("rn_abc def", False),
    ("rn_abc\x00def", False),
    ("rn_abc\ndef", False),
    ("rn_abcé", False),
    ("rn_abc\u200bdef", False),
]


@pytest.mark.parametrize(("text", "accepted"), KEY_TEXTS)
def test_one_rule_for_what_a_key_may_look_like(text, accepted):
    assert (key_problem(text) is None) is accepted
    if accepted:
        assert normalize_key(f"  {text}\n") == text
    else:
        with pytest.raises(InvalidKey) as info:
            normalize_key(text)
        assert info.value.message == key_problem(text.strip()) or not text.strip()
        assert text not in info.value.message or not text

    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"success": True, "balance": 1, "currency": "NGN"})

    async def ask() -> None:
        client = RentNumberClient(
            text,
            "https://api.test/api/v1",
            transport=httpx.MockTransport(record),
            scheduler=RequestScheduler(100),
        )
        try:
            await client.balance()
        finally:
            await client.aclose()

    if accepted:
        asyncio.run(ask())
        assert len(sent) == 1
    else:
        with pytest.raises(Unauthorized):
            asyncio.run(ask())
        assert sent == []
