"""The first screen: every service with its cheapest price; type to filter, Enter opens."""

from __future__ import annotations

from textual import on
from textual.content import Content

from rentnumber_tui.api.models import Service
from rentnumber_tui.app.format import fit_cells
from rentnumber_tui.app.screens.base import CatalogListScreen
from rentnumber_tui.app.widgets.filter_list import FilterItem, FilterList
from rentnumber_tui.core.money import format_money
from rentnumber_tui.core.text import safe_text

NAME_WIDTH = 28


def service_item(service: Service) -> FilterItem:
    name = safe_text(service.name, max_length=NAME_WIDTH)
    price = format_money(service.min_price) if service.min_price is not None else "—"
    providers = service.provider_count
    prompt = Content.assemble(
        (fit_cells(name, NAME_WIDTH), "bold"),
        ("  from ", "$text-muted"),
        price.rjust(12),
        (f"  · {providers} provider{'s' if providers != 1 else ''}", "$text-muted"),
    )
    keys = (safe_text(service.name, max_length=200), safe_text(service.slug, max_length=200))
    return FilterItem(id=str(service.id), prompt=prompt, keys=keys)


class ServicesScreen(CatalogListScreen):
    TITLE_TEXT = "RentNumber › Services"
    CATALOG = "services"
    PLACEHOLDER = "Type to filter services (e.g. whatsapp, tg)…"

    def show_entries(self, services: tuple[Service, ...]) -> None:
        self._by_id = {str(service.id): service for service in services}
        self.query_one(FilterList).set_items([service_item(s) for s in services])

    @on(FilterList.Chosen)
    def _open(self, event: FilterList.Chosen) -> None:
        service = self._by_id.get(event.item_id)
        if service is not None:
            self.app.open_countries(service)
