"""Every offer for a service (and country): sort, filter, refresh, and rent one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Static

from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.api.models import Country, Offer, PriceList, Rows, Service
from rentnumber_tui.app import events
from rentnumber_tui.app.screens.base import RetryingScreen
from rentnumber_tui.app.widgets.offer_table import OfferTable
from rentnumber_tui.app.widgets.steady_input import SteadyInput
from rentnumber_tui.core import events as core
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.picks import Pick
from rentnumber_tui.core.rentals import TrackedRental
from rentnumber_tui.core.text import safe_text

#: Seconds after the last rent from this table before its offers are read again.
REFRESH_AFTER_RENT = 10.0


class PricesScreen(RetryingScreen):
    AUTO_FOCUS = "OfferTable"
    BINDINGS = [
        Binding(
            "escape",
            "back",
            "Back",
            id="back",
            tooltip="Back to the countries (or leave the filter)",
        ),
        Binding(
            "p",
            "sort('price')",
            "Price",
            id="sort-price",
            tooltip="Sort by price; again to reverse",
        ),
        Binding(
            "s",
            "sort('stock')",
            "Stock",
            id="sort-stock",
            tooltip="Sort by stock; again to reverse",
        ),
        Binding(
            "v",
            "sort('provider')",
            "Provider",
            id="sort-provider",
            tooltip="Sort by provider; again to reverse",
        ),
        Binding(
            "c",
            "sort('country')",
            "Country",
            id="sort-country",
            tooltip="Sort by country; again to reverse",
        ),
        Binding(
            "d",
            "sort('delivered')",
            "Delivery",
            id="sort-delivered",
            tooltip="Sort by how often the provider delivered here (best first); again to reverse",
        ),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter by provider or country"),
        Binding(
            "f",
            "favourite",
            "Favourite",
            id="favourite",
            tooltip="Mark this provider's offer for the service and country a favourite",
        ),
        Binding(
            "r,f5",
            "refresh",
            "Refresh",
            id="refresh",
            tooltip="Load the offers again (the sort stays)",
        ),
    ]

    def __init__(self, service: Service, country: Country | None) -> None:
        super().__init__()
        self._refresh_after_rent: Timer | None = None
        self.service = service
        self.country = country
        where = safe_text(country.name, max_length=24) if country else "All countries"
        self.TITLE_TEXT = f"RentNumber › {safe_text(service.name, max_length=24)} › {where}"
        self.price_list: PriceList | None = None

    def compose_body(self) -> ComposeResult:
        yield SteadyInput(placeholder="Filter by provider or country…", id="offer-filter")
        yield OfferTable(id="offers")
        yield Static(id="prices-status")

    def on_mount(self) -> None:
        self.query_one("#offer-filter", Input).display = False
        self.follow_engine(core.BalanceChanged)
        self._show_balance()
        self.load()

    def on_engine_balance_changed(self, message: events.BalanceChanged) -> None:
        self._show_balance()
        if self.price_list is not None:
            self._show_count()

    def _show_balance(self) -> None:
        balance = self.app.engine.status().balance
        self.query_one(OfferTable).set_balance(balance.amount if balance else None)

    # -- loading -------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    @work(exclusive=True, group="prices", exit_on_error=False)
    async def load(self, background: bool = False) -> None:
        """`background`: a refresh nobody asked for (after renting), said nowhere."""
        table = self.query_one(OfferTable)
        status = self.query_one("#prices-status", Static)
        first = self.price_list is None
        table.loading = first
        if not background:
            status.update(Content("Loading offers…" if first else "Refreshing…"))
        try:
            price_list = await self.app.engine.prices(
                self.service.slug, self.country.id if self.country else None, background=background
            )
        except ApiError as error:
            status.update(self.load_failed("offers", error))
            return
        finally:
            table.loading = False
        self.loaded_ok()
        first_load = self.price_list is None
        self.price_list = price_list
        flags = {c.id: c.flag for c in self.app.countries or ()}
        delivery = await self.app.engine.delivery(self.service.slug)
        if first_load and delivery:
            # With a record of who delivers, the best value comes first (price per
            # delivered SMS); p/s/v/c/d sort as ever.
            table.sort_by("value", reverse=False)
        building = table.set_offers(price_list.offers, flags=flags, delivery=delivery)
        if building is not None:  # a huge list is indexed on a thread; the old rows stay
            await building.wait()
        self._show_count()

    def _show_count(self) -> None:
        table = self.query_one(OfferTable)
        offers = self.price_list.offers if self.price_list else ()
        rentable = sum(1 for offer in offers if offer.available)
        shown = len(table.visible_offers)
        text = f"{len(offers)} offers, {rentable} in stock"
        if shown != len(offers):
            text += f" · {shown} match the filter"
        if table.sort_column == "value":
            text += " · best value first (price per delivered SMS)"
        dear = table.unaffordable()
        if dear:
            balance = self.app.engine.status().balance
            left = f" ({format_money(balance.amount, balance.currency)})" if balance else ""
            text += f" · {dear} dimmed: dearer than your balance{left}"
        note = offers.note if isinstance(offers, Rows) else None
        if note:
            text += f" · {safe_text(note, max_length=200)}"
        self.query_one("#prices-status", Static).update(
            Content.assemble(
                text, ("  ·  Enter rents · p/s/v/c/d sort · / filter · r refresh", "$text-muted")
            )
        )

    # -- sorting and filtering -----------------------------------------------------------

    def action_sort(self, column: str) -> None:
        self.query_one(OfferTable).sort_by(column)

    def action_filter(self) -> None:
        box = self.query_one("#offer-filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#offer-filter", Input)
        if box.has_focus:
            self.query_one(OfferTable).focus()
            if not box.value:
                box.display = False
            return
        self.app.pop_screen()

    @on(Input.Changed, "#offer-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(OfferTable).set_filter(event.value)
        self._show_count()

    @on(Input.Submitted, "#offer-filter")
    def _filter_done(self) -> None:
        self.query_one(OfferTable).focus()

    # -- renting -------------------------------------------------------------------------

    @on(OfferTable.Unavailable)
    def _unavailable(self, event: OfferTable.Unavailable) -> None:
        offer = event.offer
        why = "is out of stock" if offer.stock <= 0 else "has no valid price"
        self.notify(
            f"This offer from {safe_text(offer.provider_name, max_length=40)} {why}; "
            "it cannot be rented.",
            title="Not available",
            severity="warning",
            markup=False,
        )

    @on(OfferTable.Chosen)
    def _chosen(self, event: OfferTable.Chosen) -> None:
        self.rent(event.offer)

    def action_favourite(self) -> None:
        offer = self.query_one(OfferTable).cursor_offer
        if offer is None or self.query_one("#offer-filter", Input).has_focus:
            return
        service = self.service
        self.app.toggle_favourite(
            Pick(
                "favourite",
                service.id,
                service.slug,
                service.name,
                datetime.now(UTC),
                country_id=offer.country_id,
                country_name=offer.country_name,
                iso_code=offer.iso_code,
                flag=self.app.flag_for(offer.country_id),
                provider_id=offer.provider_id,
                provider_name=offer.provider_name,
            )
        )

    def rent(self, offer: Offer) -> None:
        self.app.rent(offer, self.service, after=lambda rental: self._rented(offer, rental))

    def _rented(self, offer: Offer, rental: TrackedRental | None) -> None:
        """After a rent: one fewer in stock at once, and the list itself read again
        only once the renting stops (`REFRESH_AFTER_RENT` s after the last), at
        background priority: a burst of rents must not take the budget from polling."""
        if rental is None:
            return  # backed out, or refused: the dialog said why
        if self._refresh_after_rent is not None:
            self._refresh_after_rent.stop()
        self._refresh_after_rent = self.set_timer(
            REFRESH_AFTER_RENT, lambda: self.load(background=True)
        )
        price_list = self.price_list
        if price_list is None or not any(o.id == offer.id for o in price_list.offers):
            return
        current = next(o for o in price_list.offers if o.id == offer.id)
        fewer = replace(current, stock=max(0, current.stock - 1))
        old = price_list.offers
        offers = [fewer if o.id == offer.id else o for o in old]
        kept = Rows(offers, old.skipped, old.problem) if isinstance(old, Rows) else tuple(offers)
        self.price_list = replace(price_list, offers=kept)
        self.query_one(OfferTable).set_offers(offers)
        self._show_count()
