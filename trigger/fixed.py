"""The one definition of a fixed-point type, shared by QKeras, hls4ml, da4ml and the firmware description.

Nothing here does arithmetic on data: the emulator has its own independent implementation
and only reads these types back from the firmware description as plain numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ROUNDING = ("TRN", "RND", "RND_CONV")
OVERFLOW = ("WRAP", "SAT")


@dataclass(frozen=True)
class FixedType:
    """ap_fixed<width, integer, rounding, overflow>; `integer` counts the sign bit when signed."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"fixed-point width must be >= 1, got {self.width}")
        if self.rounding not in ROUNDING:
            raise ValueError(f"rounding must be one of {ROUNDING}, got {self.rounding!r}")
        if self.overflow not in OVERFLOW:
            raise ValueError(f"overflow must be one of {OVERFLOW}, got {self.overflow!r}")

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.frac

    @property
    def min_value(self) -> float:
        return -(2.0 ** (self.integer - 1)) if self.signed else 0.0

    @property
    def max_value(self) -> float:
        top = self.integer - 1 if self.signed else self.integer
        return 2.0**top - self.lsb

    def hls(self) -> str:
        """The type as hls4ml / Vitis HLS spells it."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        if self.rounding == "TRN" and self.overflow == "WRAP":
            return f"{base}<{self.width},{self.integer}>"
        return f"{base}<{self.width},{self.integer},AP_{self.rounding},AP_{self.overflow}>"

    def to_dict(self) -> dict:
        return asdict(self) | {"frac": self.frac, "hls": self.hls()}
