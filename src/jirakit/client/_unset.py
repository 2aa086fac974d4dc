"""`UNSET`: "leave this field alone", distinct from `None` ("clear this field")."""

from __future__ import annotations

import enum
from typing import Final, Literal, TypeAlias, TypeVar

T = TypeVar("T")


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset.UNSET
Unset: TypeAlias = Literal[_Unset.UNSET]
