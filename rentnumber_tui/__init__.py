"""rentnumber-tui: a terminal client for the RentNumber SMS-number rental API."""

__version__ = "0.1.0"
