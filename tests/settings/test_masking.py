from __future__ import annotations

import logging

import pytest

from rentnumber_tui.masking import (
    RedactingFilter,
    SecretKey,
    forget_secret,
    mask_key,
    redact,
    register_secret,
)

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


def test_redact_uses_registered_secrets_by_default():
    secret = "rn_registered_only_0123456789abcd"
    register_secret(secret)
    try:
        assert secret not in redact(f"oops {secret}")
    finally:
        forget_secret(secret)
    assert secret in redact(f"oops {secret}")


def test_redacting_filter_masks_messages_args_and_tracebacks():
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)
            self.format(record)

    handler = Collect()
    handler.addFilter(RedactingFilter([KEY]))
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.settings.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sending %s to %s", KEY, "server")
        try:
            raise ValueError(f"bad header {KEY}")
        except ValueError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = "\n".join(handler.format(r) for r in records)
    assert "sending rn_…c4f2 to server" in text
    assert "bad header rn_…c4f2" in text
    assert KEY not in text
