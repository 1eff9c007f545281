"""A connector held for one id tag (or for a group of them) until an expiry.

The one rule of who may use a reserved connector, for every way a session starts (a card
before or after the plug, a remote or local API start): the reserved id tag itself, or an
id tag whose parent (group) id tag is the reservation's. Nobody else, not even a card the
authorization accepts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reservation:
    reservation_id: int
    id_tag: str
    expiry_ts: float
    parent_id_tag: str | None = None

    def admits(self, id_tag: str, parent_id_tag: str | None) -> bool:
        if id_tag == self.id_tag:
            return True
        return bool(self.parent_id_tag) and parent_id_tag == self.parent_id_tag


def admitted(reservation: Reservation | None, id_tag: str, parent_id_tag: str | None) -> bool:
    """True when no reservation holds the connector, or it admits this id tag."""
    return reservation is None or reservation.admits(id_tag, parent_id_tag)
