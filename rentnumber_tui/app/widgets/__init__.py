"""Widgets owned by this app."""
