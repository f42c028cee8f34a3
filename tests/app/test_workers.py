"""A worker that fails with an error nobody expected is reported — a notification the
person reads and a log line with the traceback — and the app keeps running."""

from __future__ import annotations

import logging

import pytest

from rentnumber_tui.app.screens.history import HistoryScreen
from tests.app.helpers import record_notes
from tests.core.waiting import wait_until


async def broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the history parser tripped over something")


@pytest.mark.parametrize("where", ["screen", "app"])
async def test_a_failed_worker_is_told_and_logged(make_app, monkeypatch, caplog, where):
    app = make_app()
    notes = record_notes(app, monkeypatch)
    caplog.set_level(logging.ERROR, logger="rentnumber_tui.app")
    async with app.run_test() as pilot:
        await wait_until(lambda: app.engine.ready, what="engine")
        if where == "screen":
            monkeypatch.setattr(app.engine, "history", broken)
            await pilot.press("f3")
            await wait_until(lambda: isinstance(app.screen, HistoryScreen), what="history")
            worker_name = "load"
        else:
            monkeypatch.setattr(app.engine, "balance", broken)
            await pilot.press("f4")
            worker_name = "refresh_balance"
        await wait_until(
            lambda: any("tripped over something" in note for note in notes), what="the note"
        )
        note = next(note for note in notes if "tripped over something" in note)
        assert note.startswith("RuntimeError: the history parser tripped over something")
        assert f"(in {worker_name})" in note
        assert app.is_running
        await pilot.press("escape")
    records = [r for r in caplog.records if r.name == "rentnumber_tui.app"]
    assert any(worker_name in r.getMessage() and r.exc_info for r in records)


async def test_a_crash_exits_non_zero_and_leaves_a_key_free_report(make_app, tmp_path) -> None:
    from rentnumber_tui.app.options import AppOptions
    from rentnumber_tui.masking import register_secret

    key = "rn_crashreport_0123456789abcdef"
    register_secret(key)
    app = make_app(options=AppOptions(demo=True, crash_dir=tmp_path / "crashes"))

    def boom() -> None:
        secret_local = key  # a crash traceback with locals would show this
        raise RuntimeError(f"something broke near {secret_local}")

    with pytest.raises(RuntimeError):
        async with app.run_test() as pilot:
            await wait_until(lambda: app.engine.ready, what="engine")
            app.call_later(boom)
            await pilot.pause()
    assert app.return_code == 1
    assert app.crash_report is not None and app.crash_report.parent == tmp_path / "crashes"
    text = app.crash_report.read_text()
    assert "RuntimeError: something broke near rn_…cdef" in text
    assert key not in text and "secret_local =" not in text  # no locals
    assert oct(app.crash_report.stat().st_mode & 0o777) == "0o600"
