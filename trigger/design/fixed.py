"""The one definition of a fixed-point type: parsed once from an `ap_fixed` string (or built from config),
used by the QKeras model, the hls4ml precisions, the da4ml trace, the design file and the emulator.

Nothing here does arithmetic on data: each implementation (emulator, HLS C++, da4ml RTL) does its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Rounding(str, Enum):
    """ap_fixed quantization modes (what happens to the bits below the LSB)."""

    TRN = "TRN"  # toward -inf (the default)
    TRN_ZERO = "TRN_ZERO"  # toward zero
    RND = "RND"  # nearest, ties toward +inf
    RND_ZERO = "RND_ZERO"  # nearest, ties toward zero
    RND_INF = "RND_INF"  # nearest, ties away from zero
    RND_MIN_INF = "RND_MIN_INF"  # nearest, ties toward -inf
    RND_CONV = "RND_CONV"  # nearest, ties to even

    def __str__(self) -> str:
        return self.value


class Overflow(str, Enum):
    """ap_fixed overflow modes (what happens to a value outside the range)."""

    WRAP = "WRAP"  # keep the low bits (the default)
    SAT = "SAT"  # clamp to [min, max]
    SAT_ZERO = "SAT_ZERO"  # any overflow gives 0
    SAT_SYM = "SAT_SYM"  # clamp to [-max, max] for signed types

    def __str__(self) -> str:
        return self.value


ROUNDING = tuple(r.value for r in Rounding)
OVERFLOW = tuple(o.value for o in Overflow)

_AP = re.compile(r"^\s*ap_(u?)(fixed|int)\s*<\s*([^>]*)>\s*$")


class FixedTypeError(ValueError):
    pass


@dataclass(frozen=True)
class FixedType:
    """ap_fixed<width, integer, rounding, overflow>; `integer` counts the sign bit when signed.

    A value is raw * 2^-frac with raw an integer in [int_min, int_max]; `integer` may exceed `width` or be
    negative, as in ap_fixed.
    """

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP

    def __post_init__(self):
        if not isinstance(self.width, int) or self.width < 1:
            raise FixedTypeError(f"fixed-point width must be an integer >= 1, got {self.width!r}")
        try:
            object.__setattr__(self, "rounding", Rounding(str(self.rounding).removeprefix("AP_")))
        except ValueError:
            raise FixedTypeError(f"unknown rounding mode {self.rounding!r}: one of {', '.join('AP_' + r for r in ROUNDING)}") from None
        try:
            object.__setattr__(self, "overflow", Overflow(str(self.overflow).removeprefix("AP_")))
        except ValueError:
            raise FixedTypeError(f"unknown overflow mode {self.overflow!r}: one of {', '.join('AP_' + o for o in OVERFLOW)}") from None

    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """`ap_fixed<W,I[,Q[,O[,N]]]>`, `ap_ufixed<...>`, `ap_int<W>`, `ap_uint<W>` as Vitis HLS reads them."""
        m = _AP.match(str(text))
        if not m:
            raise FixedTypeError(f"{text!r} is not an ap_fixed/ap_ufixed/ap_int/ap_uint type")
        unsigned, kind, args = m.group(1) == "u", m.group(2), [a.strip() for a in m.group(3).split(",")]
        if kind == "int" and len(args) != 1:
            raise FixedTypeError(f"{text!r}: ap_int/ap_uint take one width")
        if kind == "fixed" and not 2 <= len(args) <= 5:
            raise FixedTypeError(f"{text!r}: expected <width, integer[, rounding[, overflow[, saturation bits]]]>")
        try:
            nums = [int(a) for a in args[:2]] + ([int(args[4])] if len(args) == 5 else [])
        except ValueError:
            raise FixedTypeError(f"{text!r}: width, integer and saturation bits must be integers") from None
        if kind == "int":
            return cls.int(nums[0], not unsigned)
        if len(args) == 5 and nums[2] != 0:
            raise FixedTypeError(f"{text!r}: saturation bits (the fifth parameter) other than 0 are not supported")
        w, i = nums[0], nums[1]
        return cls(w, i, not unsigned, args[2] if len(args) > 2 else "TRN", args[3] if len(args) > 3 else "WRAP")

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return 2.0**-self.frac

    @property
    def int_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def int_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def min_value(self) -> float:
        return self.int_min * self.lsb

    @property
    def max_value(self) -> float:
        return self.int_max * self.lsb

    @property
    def lowest_raw(self) -> int:
        """The lowest raw value a cast to this type leaves unchanged: AP_SAT_SYM sends int_min to -int_max."""
        return -self.int_max if (self.overflow is Overflow.SAT_SYM and self.signed) else self.int_min

    @classmethod
    def int(cls, width: int, signed: bool = True) -> "FixedType":
        """ap_int<W> / ap_uint<W>: a value with fraction bits converts into it as C does, toward zero (ap_fixed's
        to_ap_int_base), then wraps: ap_fixed<W,W,AP_TRN_ZERO>, not ap_fixed<W,W> (which floors)."""
        return cls(width, width, signed, Rounding.TRN_ZERO, Overflow.WRAP)

    @property
    def is_integer(self) -> bool:
        """Spelled ap_int/ap_uint: ap_fixed<W,W,AP_TRN_ZERO,AP_WRAP>, the same conversions in C++."""
        return self.frac == 0 and self.rounding is Rounding.TRN_ZERO and self.overflow is Overflow.WRAP

    def hls(self) -> str:
        """The type as hls4ml / Vitis HLS spells it (defaults left out)."""
        if self.is_integer:
            return f"ap_{'' if self.signed else 'u'}int<{self.width}>"
        base = "ap_fixed" if self.signed else "ap_ufixed"
        if self.overflow is not Overflow.WRAP:
            return f"{base}<{self.width},{self.integer},AP_{self.rounding},AP_{self.overflow}>"
        if self.rounding is not Rounding.TRN:
            return f"{base}<{self.width},{self.integer},AP_{self.rounding}>"
        return f"{base}<{self.width},{self.integer}>"

    def cpp(self) -> str:
        """The type as our C++ declares a value computed into it: hls(), but a spelled ap_int/ap_uint as
        ap_fixed<W,W,AP_TRN_ZERO> (the same conversion, by ap_fixed's own quantizer): ap_int's conversion of a value
        wholly below 1 reads a bit past the source's MSB (ap_types asserts; with -DNDEBUG ap_int<7> of -2^-15 gave -1,
        not 0: a fuzz design's accumulator)."""
        if self.is_integer:
            return f"{'ap_fixed' if self.signed else 'ap_ufixed'}<{self.width},{self.width},AP_TRN_ZERO>"
        return self.hls()

    def __str__(self) -> str:
        return self.hls()

    def with_modes(self, rounding=Rounding.TRN, overflow=Overflow.WRAP) -> "FixedType":
        return FixedType(self.width, self.integer, self.signed, rounding, overflow)

    def to_dict(self) -> dict:
        return {"width": self.width, "integer": self.integer, "signed": self.signed, "rounding": self.rounding.value,
                "overflow": self.overflow.value, "frac": self.frac, "hls": self.hls()}
