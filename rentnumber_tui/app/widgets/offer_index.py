"""The data side of the price table: sort keys, orders, filtering and cell text.

Pure Python (no Textual), so it can be built in a worker thread and tested on its own.

An `OfferIndex` is built once per list of offers. Building is O(n) plus one sort (the
"natural" order: price ascending, then stock descending, then id); every column's order
is computed on first use with one stable `sorted(range(n), key=list.__getitem__)` over a
precomputed key list, and cached. Text sanitising and width measuring are done once per
*distinct* provider or country (there are few), never per offer. Cell text for display is
made lazily, only for rows that are actually drawn.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

from rich.cells import cell_len

from rentnumber_tui.api.models import Offer
from rentnumber_tui.core.delivery import Delivery, value_key
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.text import safe_text

__all__ = [
    "SORT_COLUMNS",
    "SORT_KEYS",
    "OfferIndex",
    "OfferView",
    "flag_for",
]

#: The columns, in display order; each one is also a sort key.
SORT_COLUMNS: tuple[str, ...] = ("price", "stock", "provider", "country", "delivered", "median")
#: Orders that are not a column: "value", the price per delivered SMS (core.delivery).
SORT_KEYS: tuple[str, ...] = (*SORT_COLUMNS, "value")

SOLD_OUT = "sold out"

# Upper bounds on column widths (cells): absurd server values are cut with an ellipsis.
MAX_PRICE_WIDTH = 20
MAX_STOCK_WIDTH = 10
MAX_PROVIDER_WIDTH = 24
MAX_COUNTRY_WIDTH = 32

# Server strings are cut (in characters) before measuring, so nothing huge is kept.
_MAX_NAME_CHARS = 64
_MAX_ISO_CHARS = 3

_REGIONAL_A = 0x1F1E6


def _no_pause() -> None:
    return None


def flag_for(iso_code: str, flag: str | None = None) -> str:
    """The flag to show for a country: `flag` if it is a plain regional-indicator pair (as
    the API sends, e.g. "🇳🇬"), else one made from a two-letter ISO code, else "".

    Anything else from the server (text, ZWJ sequences, escape codes) is not shown: a
    flag is always exactly two cells wide, so it cannot disturb the columns."""
    if flag is not None and len(flag) == 2 and all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in flag):
        return flag
    code = iso_code.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return "".join(chr(_REGIONAL_A + ord(c) - ord("A")) for c in code)
    return ""


class OfferView(Sequence[Offer]):
    """A read-only sequence of offers in display order (no copy of the offers)."""

    __slots__ = ("_offers", "_order")

    def __init__(self, offers: Sequence[Offer], order: Sequence[int]) -> None:
        self._offers = offers
        self._order = order

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, index: int) -> Offer: ...
    @overload
    def __getitem__(self, index: slice) -> list[Offer]: ...
    def __getitem__(self, index: int | slice) -> Offer | list[Offer]:
        if isinstance(index, slice):
            offers = self._offers
            return [offers[i] for i in self._order[index]]
        return self._offers[self._order[index]]

    def __iter__(self) -> Iterator[Offer]:
        offers = self._offers
        return (offers[i] for i in self._order)

    def __repr__(self) -> str:
        return f"OfferView({len(self)} offers)"


@dataclass(frozen=True, slots=True)
class Cells:
    """The display text of one row (already sanitised, not yet fitted to widths)."""

    price: str
    stock: str
    provider: str
    country: str
    available: bool
    delivered: str = "—"
    median: str = "—"


class OfferIndex:
    """Precomputed keys and orders over one list of offers. Not thread-safe for writes:
    build it anywhere, then use it from one thread."""

    def __init__(
        self,
        offers: Sequence[Offer],
        flags: Mapping[int, str] | None = None,
        currency: str = "NGN",
        pause: Callable[[], object] | None = None,
        delivery: Mapping[tuple[int, int], Delivery] | None = None,
    ) -> None:
        """
        Args:
            offers: The offers.
            flags: Country id to flag, from `GET /countries` (validated by `flag_for`).
            currency: Currency of the prices.
            pause: Called between the phases of the build. A worker thread passes
                `lambda: time.sleep(0)` to hand the GIL to the event loop between
                phases, so no phase runs into the next without the loop getting a turn.
            delivery: Per (country id, provider id), how this machine's rentals of the
                service were delivered: the Delivered and Median columns, the value order.
        """
        pause = pause or _no_pause
        self.offers: tuple[Offer, ...] = tuple(offers)
        self.currency = currency
        offers = self.offers
        n = len(offers)

        prices: list[Decimal] = [o.price for o in offers]
        stocks: list[int] = [o.stock for o in offers]
        ids: list[int] = [o.id for o in offers]
        self._prices = prices
        self._stocks = stocks

        # Distinct providers / countries: sanitise and measure each one once, then map
        # every offer to them with C-level `map`/`zip` (zip reuses its result tuple), so
        # no per-offer container survives: fewer objects for the garbage collector to
        # walk, whose full passes otherwise stall whichever thread holds the GIL.
        provider_raw = [o.provider_name for o in offers]
        provider_text = {
            raw: safe_text(raw[: _MAX_NAME_CHARS + 1], max_length=_MAX_NAME_CHARS)
            for raw in set(provider_raw)
        }
        pause()
        country_ids = [o.country_id for o in offers]
        country_names = [o.country_name for o in offers]
        iso_codes = [o.iso_code for o in offers]
        flags = flags or {}
        country_text: dict[tuple[int, str, str], str] = {}
        country_fold: dict[tuple[int, str, str], str] = {}
        search_fold: dict[str, str] = {}  # display text -> "name\niso", case-folded
        for key in set(zip(country_ids, country_names, iso_codes, strict=True)):
            country_id, name, iso = key
            iso_text = safe_text(iso[:16], max_length=_MAX_ISO_CHARS)
            name_text = safe_text(name[: _MAX_NAME_CHARS + 1], max_length=_MAX_NAME_CHARS)
            flag = flag_for(iso_text, flags.get(country_id))
            parts = [flag, name_text, f"({iso_text})" if iso_text else ""]
            display = " ".join(part for part in parts if part)
            country_text[key] = display
            country_fold[key] = name_text.casefold()
            search_fold[display] = f"{name_text.casefold()}\n{iso_text.casefold()}"

        self._provider_text = provider_text
        self._country_text = country_text
        self._provider_of: list[str] = list(map(provider_text.__getitem__, provider_raw))
        self._country_of: list[str] = list(
            map(country_text.__getitem__, zip(country_ids, country_names, iso_codes, strict=True))
        )
        country_keys = list(
            map(country_fold.__getitem__, zip(country_ids, country_names, iso_codes, strict=True))
        )
        del provider_raw, country_ids, country_names, iso_codes

        pause()
        folded_provider = {text: text.casefold() for text in set(provider_text.values())}
        provider_keys = list(map(folded_provider.__getitem__, self._provider_of))
        # Delivery: best first when ascending; providers without a record after them.
        self.delivery = delivery = dict(delivery or {})
        stats = [delivery.get((o.country_id, o.provider_id)) for o in offers]
        self._stats = stats
        known = sorted(value_key(float(p), d, 0.0) for p, d in zip(prices, stats, strict=True) if d)
        finite = [v for v in known if v != float("inf")]
        unknown = statistics.median(finite) if finite else 0.0
        self._keys: dict[str, list[Any]] = {
            "price": prices,
            "stock": stocks,
            "provider": provider_keys,
            "country": country_keys,
            "delivered": [(-d.share, -d.rentals) if d else (1.0, 0) for d in stats],
            "median": [
                d.median_seconds if d and d.median_seconds is not None else float("inf")
                for d in stats
            ],
            "value": [value_key(float(p), d, unknown) for p, d in zip(prices, stats, strict=True)],
        }
        # What the filter searches: provider name, country name, ISO code (case-folded).
        pause()
        haystack_of = {
            pair: f"{pair[0]}\n{search_fold[pair[1]]}"
            for pair in set(zip(provider_keys, self._country_of, strict=True))
        }
        self._haystack: list[str] = list(
            map(haystack_of.__getitem__, zip(provider_keys, self._country_of, strict=True))
        )

        # Natural order: price ascending, then stock descending, then id, and the offers
        # that cannot be rented (sold out, no valid price) after all the others. Stable
        # sorts over plain key lists (cheaper than building n tuples).
        pause()
        order = sorted(range(n), key=ids.__getitem__)
        pause()
        order.sort(key=[-s for s in stocks].__getitem__)
        pause()
        order.sort(key=prices.__getitem__)
        pause()
        self._unavailable: list[bool] = [not o.available for o in offers]
        order.sort(key=self._unavailable.__getitem__)
        self._orders: dict[tuple[str, bool], list[int]] = {("price", False): order}
        self._cells: dict[int, Cells] = {}

        self.widths: dict[str, int] = self._measure()

    def __len__(self) -> int:
        return len(self.offers)

    # -- orders -----------------------------------------------------------------------

    def order(self, column: str, reverse: bool = False) -> list[int]:
        """Offer indices sorted by `column`. Ties keep the natural order (cheapest
        first, then most stock, then id), whichever the direction. Cached."""
        if column not in self._keys:
            raise ValueError(f"unknown column {column!r}; expected one of {SORT_KEYS}")
        cache_key = (column, reverse)
        order = self._orders.get(cache_key)
        if order is None:
            natural = self._orders[("price", False)]
            if column == "price" and reverse:
                # Descending price, ties still by stock descending then id.
                order = sorted(natural, key=self._prices.__getitem__, reverse=True)
            else:
                order = sorted(natural, key=self._keys[column].__getitem__, reverse=reverse)
            # Whatever the order, what cannot be rented comes last.
            order.sort(key=self._unavailable.__getitem__)
            self._orders[cache_key] = order
        return order

    def filter(self, order: Sequence[int], needle: str) -> list[int] | Sequence[int]:
        """The indices of `order` whose provider, country name or ISO code contains
        `needle` (case-insensitive). An empty needle returns `order` itself."""
        needle = needle.casefold()
        if not needle:
            return order
        haystack = self._haystack
        return [i for i in order if needle in haystack[i]]

    # -- display ----------------------------------------------------------------------

    def cells(self, index: int) -> Cells:
        """Display text for offer `index` (memoised; only called for drawn rows)."""
        cells = self._cells.get(index)
        if cells is None:
            offer = self.offers[index]
            stock = offer.stock
            stat = self._stats[index]
            cells = Cells(
                price=format_money(offer.price, self.currency),
                stock=str(stock) if stock > 0 else SOLD_OUT,
                provider=self._provider_of[index],
                country=self._country_of[index],
                available=offer.available,
                delivered=stat.text if stat else "—",
                median=stat.median_text if stat else "—",
            )
            self._cells[index] = cells
        return cells

    def _measure(self) -> dict[str, int]:
        """Natural column widths (content only, no titles), bounded. O(distinct) text
        measuring, plus O(n) min/max in C over prices and stocks."""
        if not self.offers:
            return dict.fromkeys(SORT_COLUMNS, 0)
        stats = [d for d in self.delivery.values()]
        delivered_width = max((len(d.text) for d in stats), default=1)
        median_width = max((len(d.median_text) for d in stats), default=1)
        prices, stocks = self._prices, self._stocks
        price_width = max(
            len(format_money(max(prices), self.currency)),
            len(format_money(min(prices), self.currency)),
        )
        top_stock = max(stocks)
        stock_width = max(len(str(top_stock)) if top_stock > 0 else 0, len(SOLD_OUT))
        provider_width = max(map(cell_len, self._provider_text.values()))
        country_width = max(map(cell_len, self._country_text.values()))
        return {
            "price": min(price_width, MAX_PRICE_WIDTH),
            "stock": min(stock_width, MAX_STOCK_WIDTH),
            "provider": min(provider_width, MAX_PROVIDER_WIDTH),
            "country": min(country_width, MAX_COUNTRY_WIDTH),
            "delivered": delivered_width,
            "median": median_width,
        }
