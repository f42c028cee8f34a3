"""What the operator comes back to: recent service/country pairs and favourites.

Kept in the local store per profile (account), so the services list can start with
them after a restart. A pick is a service, optionally a country (None: every country)
and, for a favourite made on a price-table row, a provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["MAX_RECENT", "Pick", "PickKind"]

PickKind = Literal["recent", "favourite"]

#: Recent pairs kept (and shown) per profile, newest first.
MAX_RECENT = 8


@dataclass(frozen=True, slots=True)
class Pick:
    kind: PickKind
    service_id: int
    service_slug: str
    service_name: str
    at: datetime
    country_id: int | None = None
    country_name: str = ""
    iso_code: str = ""
    flag: str = ""
    provider_id: int | None = None
    provider_name: str = ""

    @property
    def key(self) -> str:
        """Stable id of what was picked (not of when): "s:c:p", -1 for none."""
        return f"{self.service_id}:{_id(self.country_id)}:{_id(self.provider_id)}"

    def same_target(self, other: Pick) -> bool:
        return self.key == other.key


def _id(value: int | None) -> int:
    return -1 if value is None else value
