"""The auto-replace state kept in the store: one snapshot per account serves every
process, so one process's write keeps another's chains."""

from __future__ import annotations

from rentnumber_tui.core.replace import merge_snapshots


def chain(*rentals: int, count: int = 2) -> dict:
    return {"rentals": list(rentals), "count": count, "cap": "600.00", "tried": [1], "done": False}


def test_another_process_chains_are_kept_and_ours_replace_our_old_ones():
    stored = {"chosen": {"7": True, "9": False}, "chains": [chain(7, 8), chain(1001, 1002)]}
    mine = {"chosen": {"9": True}, "chains": [chain(1001, 1002, 1003, count=3)]}
    merged = merge_snapshots(stored, mine)
    assert merged["chosen"] == {"7": True, "9": True}
    assert merged["chains"] == [chain(7, 8), chain(1001, 1002, 1003, count=3)]


def test_an_unreadable_stored_state_is_replaced_by_ours():
    mine = {"chosen": {}, "chains": [chain(5)]}
    assert merge_snapshots(["not", "a", "dict"], mine) == mine
    assert merge_snapshots({"chains": "x", "chosen": 3}, mine) == mine
