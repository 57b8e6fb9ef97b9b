"""The list's opaque cursor: the (name, id) of a page's boundary row and a direction.

It carries the values, not only the id, so a page still opens after that employee was deleted or
renamed. It is opaque to clients (base64 of JSON), but not secret: a hand-made cursor can only
ask for a position in a public list, and a malformed one is a 400 naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from .models import MAX_ID, NAME_MAX_LENGTH

# A name of 4-byte characters, the id, the direction and JSON, in base64 (4 characters per 3 bytes).
MAX_ENCODED = (4 * NAME_MAX_LENGTH + 40) * 4 // 3 + 4


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    name: str
    id: int
    backward: bool = False  # True: the page ending just before (name, id)

    @classmethod
    def after(cls, row: dict) -> Cursor:
        return cls(name=row["name"], id=row["id"])

    @classmethod
    def before(cls, row: dict) -> Cursor:
        return cls(name=row["name"], id=row["id"], backward=True)

    def encode(self) -> str:
        data = json.dumps(
            [self.name, self.id, "p" if self.backward else "n"], separators=(",", ":")
        )
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        if len(raw) > MAX_ENCODED:
            raise BadCursor("is too long to be a cursor from this list")
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (binascii.Error, ValueError):
            raise BadCursor("is not a cursor from this list") from None
        match data:
            case [str(name), int(pk), "n" | "p" as direction] if (
                len(name) <= NAME_MAX_LENGTH and 1 <= pk <= MAX_ID and "\x00" not in name
            ):
                return cls(name=name, id=pk, backward=direction == "p")
        raise BadCursor("is not a cursor from this list")
