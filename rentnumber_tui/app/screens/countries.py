"""Choose a country for a service (or all of them); type a name or an ISO code."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.content import Content

from rentnumber_tui.api.models import Country, Service
from rentnumber_tui.app.screens.base import CatalogListScreen
from rentnumber_tui.app.widgets.filter_list import FilterItem, FilterList
from rentnumber_tui.core.text import safe_text

ALL = "all"


def country_item(country: Country) -> FilterItem:
    name = safe_text(country.name, max_length=40)
    iso = safe_text(country.iso_code, max_length=3)
    flag = safe_text(country.flag, max_length=4)
    prompt = Content.assemble(f"{flag} ", (name, "bold"), (f"  {iso}", "$text-muted"))
    return FilterItem(id=str(country.id), prompt=prompt, keys=(name, iso))


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

    def show_entries(self, countries: tuple[Country, ...]) -> None:
        self._by_id = {str(country.id): country for country in countries}
        everything = FilterItem(
            id=ALL,
            prompt=Content.assemble("🌍 ", ("All countries", "bold")),
            keys=("All countries", "*"),
        )
        default = self.app.options.default_country
        keep = next(
            (str(c.id) for c in countries if default and c.iso_code.upper() == default.upper()),
            None,
        )
        self.query_one(FilterList).set_items(
            [everything, *(country_item(c) for c in countries)], keep=keep
        )

    @on(FilterList.Chosen)
    def _open(self, event: FilterList.Chosen) -> None:
        country = None if event.item_id == ALL else self._by_id.get(event.item_id)
        if event.item_id == ALL or country is not None:
            self.app.open_prices(self.service, country)
