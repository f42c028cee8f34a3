from __future__ import annotations

import sys
from decimal import Decimal

import pytest

from rentnumber_tui.core.money import format_money


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("5000", "₦5,000.00"),
        ("5000.00", "₦5,000.00"),
        ("450", "₦450.00"),
        ("0", "₦0.00"),
        ("0.5", "₦0.50"),
        ("1234567.891", "₦1,234,567.89"),
        ("999.999", "₦1,000.00"),
        ("0.005", "₦0.01"),  # half-up, not banker's rounding
        ("0.015", "₦0.02"),
        ("0.025", "₦0.03"),
        ("2.675", "₦2.68"),  # exact decimal: no binary-float surprise
        ("-450", "-₦450.00"),
        ("-1234.5", "-₦1,234.50"),
        ("-0.005", "-₦0.01"),
        ("-0.001", "₦0.00"),  # rounds to zero: no "-₦0.00"
        ("1E+3", "₦1,000.00"),
        ("12345678901234567890123456789012.345", "₦12,345,678,901,234,567,890,123,456,789,012.35"),
    ],
)
def test_ngn(amount: str, expected: str) -> None:
    assert format_money(Decimal(amount)) == expected
    assert format_money(Decimal(amount), "NGN") == expected


def test_default_currency_is_ngn() -> None:
    assert format_money(Decimal("1")) == "₦1.00"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("12.5", "USD", "USD 12.50"),
        ("1234.567", "EUR", "EUR 1,234.57"),
        ("-3", "USD", "-USD 3.00"),
        ("5000", "ngn", "₦5,000.00"),  # the code is case-insensitive
    ],
)
def test_other_currencies_show_their_code_and_are_not_converted(
    amount: str, currency: str, expected: str
) -> None:
    assert format_money(Decimal(amount), currency) == expected


def test_currency_code_from_the_server_is_sanitised() -> None:
    shown = format_money(Decimal("1"), "\x1b[31mX\x07Y")
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown.endswith(" 1.00")


def test_non_finite_values_do_not_raise() -> None:
    assert format_money(Decimal("NaN")) == "₦NaN"
    assert format_money(Decimal("Infinity")) == "₦Infinity"


def test_huge_values_do_not_raise() -> None:
    assert format_money(Decimal("1E+40")).startswith("₦10,000,000,000")
    assert format_money(Decimal("1E+40")).endswith(".00")


def test_money_module_does_not_import_textual() -> None:
    import subprocess

    code = "import sys, rentnumber_tui.core.money; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
