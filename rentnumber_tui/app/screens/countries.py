"""Choose a country for a service (or all of them); type a name or an ISO code.

Each country says the cheapest price it can be rented at for the service ("from ₦X"),
or "sold out". The API gives every country's offers for a service in one request
(`GET /services/{slug}/prices` without `country_id`): one is made when the screen
opens, unless a list that fresh was read already; what is known is shown at once (the
engine's price book, which every price list read fills).
"""

from __future__ import annotations

from textual import work
from textual.binding import Binding
from textual.content import Content

from rentnumber_tui.api.errors import ApiError
from rentnumber_tui.api.models import Country, Service
from rentnumber_tui.app.format import fit_cells
from rentnumber_tui.app.screens.base import CatalogListScreen
from rentnumber_tui.app.screens.services import price_column
from rentnumber_tui.app.widgets.filter_list import FilterItem, FilterList
from rentnumber_tui.core.catalog import FromPrice, ServicePrices
from rentnumber_tui.core.text import safe_text

ALL = "all"
NAME_WIDTH = 26
#: Seconds a list of every country's prices stays good enough not to read it again.
PRICES_FRESH = 30.0


def country_item(country: Country, price: FromPrice = None) -> FilterItem:
    name = safe_text(country.name, max_length=40)
    iso = safe_text(country.iso_code, max_length=3)
    flag = safe_text(country.flag, max_length=4)
    prompt = Content.assemble(
        f"{flag} ",
        (fit_cells(name, NAME_WIDTH), "bold"),
        (f"  {fit_cells(iso, 3)}", "$text-muted"),
        price_column(price, unknown=""),
    )
    return FilterItem(id=str(country.id), prompt=prompt, keys=(name, iso))


def all_item(price: FromPrice = None, note: str = "") -> FilterItem:
    parts: list[str | Content | tuple[str, str]] = [
        "🌍 ",
        (fit_cells("All countries", NAME_WIDTH), "bold"),
        "     ",
        price_column(price, unknown=""),
    ]
    if note:
        parts.append((f"  {note}", "$text-muted"))
    return FilterItem(id=ALL, prompt=Content.assemble(*parts), keys=("All countries", "*"))


class CountriesScreen(CatalogListScreen):
    TITLE_TEXT = "RentNumber › Country"
    CATALOG = "countries"
    PLACEHOLDER = "Type a country name or ISO code (e.g. ng, kenya)…"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="back", tooltip="Back to the services")
    ]

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service
        self.TITLE_TEXT = f"RentNumber › {safe_text(service.name, max_length=30)} › Country"
        self._countries: tuple[Country, ...] | None = None
        #: Why the prices could not be read ("" when they could, or not tried yet).
        self._prices_failed = ""

    def on_mount(self) -> None:
        super().on_mount()
        age = self.app.engine.price_book.age(self.service.slug)
        if age is None or age > PRICES_FRESH:
            self.load_prices()

    def on_screen_resume(self) -> None:
        # Back from a price table: it may have read newer prices for its country.
        self._show()
        if self._prices_failed:
            self.load_prices()

    @work(exclusive=True, group="country-prices", exit_on_error=False)
    async def load_prices(self) -> None:
        """Every country's offers, in one request; the price book keeps the cheapest."""
        try:
            await self.app.engine.prices(self.service.slug)
        except ApiError as error:
            # Only the prices are missing: the countries can still be chosen.
            self._prices_failed = safe_text(error.message, max_length=60)
        else:
            self._prices_failed = ""
        self._show()

    @property
    def prices(self) -> ServicePrices | None:
        """What is known of the service's prices per country."""
        return self.app.engine.price_book.get(self.service.slug)

    def show_entries(self, countries: tuple[Country, ...]) -> None:
        first = self._countries is None
        self._countries = countries
        default = self.app.options.default_country
        keep = next(
            (str(c.id) for c in countries if default and c.iso_code.upper() == default.upper()),
            None,
        )
        self._show(keep=keep if first else None)

    def _show(self, keep: str | None = None) -> None:
        countries = self._countries
        if countries is None:
            return
        self._by_id = {str(country.id): country for country in countries}
        known = self.prices
        note = f"prices could not be loaded: {self._prices_failed}" if self._prices_failed else ""
        everything = all_item(known.overall() if known else None, note)
        items = [everything]
        items += [country_item(c, known.for_country(c.id) if known else None) for c in countries]
        self.query_one(FilterList).set_items(items, keep=keep)

    def open_item(self, item_id: str) -> None:
        country = None if item_id == ALL else self._by_id.get(item_id)
        if item_id == ALL or country is not None:
            self.app.open_prices(self.service, country)
