"""The footer builds its keys again only when the keys to show changed (issue 14: the
bindings "change" several times as a screen opens, and each time every key was built
again)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from rentnumber_tui.app.screens.services import ServicesScreen
from rentnumber_tui.app.widgets.footer import AppFooter
from tests.core.waiting import wait_until


def keys(footer: AppFooter) -> list[str]:
    return [key.key for key in footer.query(FooterKey)]


async def test_the_footer_recomposes_only_when_its_keys_change(make_app, monkeypatch):
    recomposed: list[AppFooter] = []
    recompose = AppFooter.recompose

    async def counted(self: AppFooter) -> None:
        recomposed.append(self)
        await recompose(self)

    monkeypatch.setattr(AppFooter, "recompose", counted)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: isinstance(app.screen, ServicesScreen), what="services")
        await wait_until(lambda: app.engine.ready, what="the engine")
        footer = app.screen.query_one(AppFooter)
        await wait_until(lambda: "f1" in keys(footer), what="the keys shown")
        await pilot.pause()
        before = len(recomposed)
        shown = keys(footer)
        for _ in range(3):  # the screen's bindings said to have changed, the same keys
            footer.bindings_changed(app.screen)
        await pilot.pause()
        await pilot.pause()
        assert len(recomposed) == before
        assert keys(footer) == shown
        # Narrower: the keys are drawn compact, and fewer fit — built again.
        await pilot.resize_terminal(80, 24)
        await wait_until(lambda: len(recomposed) > before, what="the footer rebuilt")
        assert footer.compact
