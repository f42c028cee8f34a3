"""Money for display (spec, clarification 2): `₦5,000.00`, or the currency's code.

Pure and cheap: no Textual, no floats. Amounts are `Decimal`; they are rounded half-up to
two decimals for display only, and never converted between currencies.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from rentnumber_tui.core.text import safe_text

__all__ = ["CURRENCY_SYMBOLS", "format_money"]

#: Currencies shown with a symbol; every other currency is shown with its code.
CURRENCY_SYMBOLS: dict[str, str] = {"NGN": "₦"}

_CENT = Decimal("0.01")


def _as_decimal(amount: Decimal | int | str) -> Decimal:
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):  # tolerated, but through its shortest repr, not binary
        return Decimal(repr(amount))
    return Decimal(amount)


def format_money(amount: Decimal, currency: str = "NGN") -> str:
    """Format `amount` for display.

    >>> format_money(Decimal("5000"))
    '₦5,000.00'
    >>> format_money(Decimal("-450"))
    '-₦450.00'
    >>> format_money(Decimal("12.5"), "USD")
    'USD 12.50'

    NGN gets its symbol; any other currency is prefixed with its code (sanitised: the code
    comes from the server). Thousands are separated with commas, there are always exactly
    two decimals (ROUND_HALF_UP), and a negative amount puts the sign before the symbol.
    """
    code = safe_text(currency, max_length=8).strip().upper() or "NGN"
    symbol = CURRENCY_SYMBOLS.get(code)
    prefix = symbol if symbol is not None else f"{code} "
    value = _as_decimal(amount)
    if not value.is_finite():
        return f"{prefix}{value}"
    if value.adjusted() > 1000:
        # Quantizing 1e999999999999 to cents would need that many digits of memory: the
        # parser never lets one through, and this never tries.
        return f"{prefix}(too large to show)"
    try:
        # Enough precision for any finite value, so quantize never raises.
        context = Context(prec=max(28, value.adjusted() + 4), rounding=ROUND_HALF_UP)
        rounded = value.quantize(_CENT, context=context)
    except InvalidOperation:  # pragma: no cover - defensive; finite values quantize
        return f"{prefix}{value}"
    sign = "-" if rounded < 0 else ""  # "-0.001" rounds to 0.00: no sign on zero
    return f"{sign}{prefix}{rounded.copy_abs():,.2f}"
