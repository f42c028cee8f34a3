"""The domain: rentals and polling, the purchase journal, money and time, the local store.

Never imports textual, so it can be tested (and reused) without a screen.
"""
