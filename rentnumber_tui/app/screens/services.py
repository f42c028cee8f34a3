"""The first screen: the recent service/country pairs and the favourites, then every
service with its cheapest price; type to filter (a code or short name such as `tg`
finds its service first), Enter opens (a recent pair straight to its price table), `f`
in the list (Tab) marks a favourite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from textual.binding import Binding
from textual.content import Content

from rentnumber_tui.api.models import Service
from rentnumber_tui.app import events
from rentnumber_tui.app.format import fit_cells
from rentnumber_tui.app.screens.base import CatalogListScreen
from rentnumber_tui.app.widgets.filter_list import FilterItem, FilterList
from rentnumber_tui.core import events as core
from rentnumber_tui.core.catalog import FromPrice, ServicePrices, service_from_price, service_terms
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.picks import Pick
from rentnumber_tui.core.text import safe_text

NAME_WIDTH = 28


#: Cells of the price column: "  from " and a price right-aligned in 12.
PRICE_WIDTH = 19


def price_column(price: FromPrice, unknown: str = "—") -> Content:
    """ "  from    ₦450.00", "sold out" (right-aligned), or `unknown` after "from"
    (empty `unknown`: blank) — always PRICE_WIDTH cells, so the columns line up."""
    if isinstance(price, Decimal):
        return Content.assemble(("  from ", "$text-muted"), format_money(price).rjust(12))
    if price is not None:
        return Content.styled(price.rjust(PRICE_WIDTH), "$text-muted")
    if not unknown:
        return Content(" " * PRICE_WIDTH)
    return Content.assemble(("  from ", "$text-muted"), unknown.rjust(12))


def service_item(service: Service, known: ServicePrices | None = None) -> FilterItem:
    name = safe_text(service.name, max_length=NAME_WIDTH)
    # The cheapest that can be rented: from the last list of every country read (the
    # Countries screen reads one), else the server's min_price when positive.
    price = service_from_price(service, known)
    providers = service.provider_count
    prompt = Content.assemble(
        (fit_cells(name, NAME_WIDTH), "bold"),
        price_column(price),
        (f"  · {providers} provider{'s' if providers != 1 else ''}", "$text-muted"),
    )
    keys = (safe_text(service.name, max_length=200), safe_text(service.slug, max_length=200))
    return FilterItem(id=str(service.id), prompt=prompt, keys=keys, exact=service_terms(*keys))


def pick_where(pick: Pick) -> str:
    """ "🇳🇬 Nigeria · Alpha", or "every country" for a service on its own."""
    if pick.country_id is None:
        where = "every country" if pick.kind == "recent" else "choose a country"
    else:
        flag = safe_text(pick.flag, max_length=4)
        where = f"{flag} {safe_text(pick.country_name, max_length=30)}".strip()
    if pick.provider_name:
        where += f" · {safe_text(pick.provider_name, max_length=30)}"
    return where


def pick_item(pick: Pick) -> FilterItem:
    mark = "★ " if pick.kind == "favourite" else "↻ "
    name = safe_text(pick.service_name, max_length=NAME_WIDTH - 2)
    prompt = Content.assemble(
        (mark, "$accent"), (fit_cells(name, NAME_WIDTH - 2), "bold"), "  ", pick_where(pick)
    )
    keys = tuple(
        safe_text(text, max_length=200)
        for text in (pick.service_name, pick.service_slug, pick.country_name, pick.iso_code)
        if text
    )
    # Its service's code and short names find it too (`tg`: a recent Telegram pair).
    exact = service_terms(
        safe_text(pick.service_slug, max_length=200), safe_text(pick.service_name, max_length=200)
    )
    return FilterItem(id=f"{pick.kind}:{pick.key}", prompt=prompt, keys=keys, exact=exact)


def heading(text: str) -> FilterItem:
    """A group's title: shown while nothing is typed, never chosen."""
    return FilterItem(
        id=f"heading:{text}", prompt=Content.styled(text, "bold $accent"), keys=(), disabled=True
    )


class ServicesScreen(CatalogListScreen):
    TITLE_TEXT = "RentNumber › Services"
    CATALOG = "services"
    PLACEHOLDER = "Type to filter (e.g. whatsapp, tg) · Tab: the list · f: favourite"
    LIST_KEYS = frozenset({"f"})
    BINDINGS = [
        Binding(
            "f",
            "favourite",
            "Favourite",
            id="favourite",
            tooltip="Mark the service (or recent pair) under the cursor a favourite, or unmark it",
        ),
    ]

    _shown_picks: tuple[str, ...] | None = None
    #: The price book's version the list was drawn with (None: not drawn yet).
    _shown_prices: int | None = None

    def on_mount(self) -> None:
        super().on_mount()
        # The picks are read at the engine's start: shown once it is ready, too.
        self.follow_engine(core.PicksChanged, core.EngineReady)

    def on_screen_resume(self) -> None:
        # Back from a list of countries, which read a price list: its "from" prices
        # (the cheapest that can be rented) replace the server's min_price.
        shown = self._shown_prices
        if shown is not None and shown != self.app.engine.price_book.version:
            self._show_again()

    def on_engine_picks_changed(self, message: events.PicksChanged) -> None:
        self._show_again()

    def on_engine_ready(self, message: events.Ready) -> None:
        self._show_again()

    def _show_again(self) -> None:
        services = self.app.services
        if services is not None:
            self.show_entries(services)

    def show_entries(self, services: tuple[Service, ...]) -> None:
        self._by_id = {str(service.id): service for service in services}
        picks = self.app.engine.picks()
        self._picks = {f"{p.kind}:{p.key}": p for p in picks}
        recent = [pick_item(p) for p in picks if p.kind == "recent"]
        favourites = [pick_item(p) for p in picks if p.kind == "favourite"]
        items: list[FilterItem] = []
        if recent:
            items += [heading("Recent"), *recent]
        if favourites:
            items += [heading("Favourites"), *favourites]
        if items:
            items.append(heading("All services"))
        book = self.app.engine.price_book
        self._shown_prices = book.version
        items += [service_item(s, book.get(s.slug)) for s in services]
        # Picks that changed while the person was elsewhere (or first shown) put the
        # cursor on the first of them — the newest recent pair, one Enter from its price
        # table; a change made here (`f`) leaves the cursor where it is.
        signature = tuple(self._picks)
        changed = signature != self._shown_picks and (not self.is_current or not self._shown_picks)
        first = next((item.id for item in items if not item.disabled), None)
        keep = first if changed else None
        self._shown_picks = signature
        self.query_one(FilterList).set_items(items, keep=keep)

    def open_item(self, item_id: str) -> None:
        pick = self._picks.get(item_id)
        if pick is None:
            service = self._by_id.get(item_id)
            if service is not None:
                self.app.open_countries(service)
            return
        service = self._by_id.get(str(pick.service_id))
        if service is None:
            self.notify(
                f"{safe_text(pick.service_name, max_length=40)} is no longer in the service list.",
                severity="warning",
                markup=False,
            )
            return
        country = next((c for c in self.app.countries or () if c.id == pick.country_id), None)
        if pick.country_id is None and pick.kind == "recent":
            self.app.open_prices(service, None)  # every country, as it was used
        elif country is None:
            self.app.open_countries(service)
        else:
            self.app.open_prices(service, country)

    def action_favourite(self) -> None:
        item_id = self.query_one(FilterList).highlighted_id
        if item_id is None or item_id.startswith("heading:"):
            return
        pick = self._picks.get(item_id)
        if pick is None:
            service = self._by_id.get(item_id)
            if service is None:
                return
            now = datetime.now(UTC)
            pick = Pick("favourite", service.id, service.slug, service.name, now)
        self.app.toggle_favourite(pick)
