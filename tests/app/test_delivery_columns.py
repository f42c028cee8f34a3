"""The price table's Delivered and Median columns (issue 12, part 3), from this machine's
own records: `d` sorts by delivery, and with a record the best value (price per
delivered SMS) comes first."""

from __future__ import annotations

from rentnumber_tui.core.store import Store
from tests.app.helpers import open_prices, seed_history
from tests.core.waiting import wait_until

SIZE = (100, 30)


async def test_delivery_columns_best_value_first_and_d_sorts(make_app, sandbox, clock, tmp_path):
    path = tmp_path / "store.sqlite3"
    store = Store(path, "test")
    seeded = seed_history(store, sandbox, clock)
    store.close()
    sandbox.set_stock(seeded["cheap"].id, 5)  # in stock: sold-out offers always come last
    app = make_app(store_path=path)
    async with app.run_test(size=SIZE) as pilot:
        table = await open_prices(app, pilot, "whats", "ng")
        await wait_until(lambda: table.sort_column == "value", what="best value first")
        first = table.visible_offers[0]
        assert first.id == seeded["reliable"].id  # dearer, but it delivers
        header = table.render_line(0).text
        assert "Delivered" in header and "Median" in header
        row = table.render_line(1).text
        assert "100% of 4" in row and "55 s" in row
        cheap_row = next(
            table.render_line(y + 1).text
            for y, o in enumerate(table.visible_offers)
            if o.id == seeded["cheap"].id
        )
        assert "25% of 4" in cheap_row and "30 s" in cheap_row
        # No record: neither first nor last in the value order; "—" in both columns.
        order = [o.id for o in table.visible_offers]
        assert order[0] == seeded["reliable"].id and order[-1] == seeded["cheap"].id
        assert table.render_line(2).text.split()[-2:] == ["—", "—"]
        await pilot.press("d")
        await wait_until(lambda: table.sort_column == "delivered", what="sorted by delivery")
        assert [o.id for o in table.visible_offers][:2] == [
            seeded["reliable"].id,
            seeded["cheap"].id,
        ]
        assert "Delivered ▲" in table.render_line(0).text
        await pilot.press("p")
        await wait_until(lambda: table.sort_column == "price", what="by price again")
        assert table.visible_offers[0].id == seeded["cheap"].id
