"""The configuration's building blocks, shared by trigger/config.py and the model families' sections."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trigger.design.fixed import FixedType


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedSpec(Strict):
    width: int = Field(ge=1, le=64)
    integer: int = Field(ge=-32, le=64)
    signed: bool = True
    rounding: Literal["TRN", "RND", "RND_CONV"] = "TRN"
    overflow: Literal["WRAP", "SAT"] = "WRAP"

    @property
    def type(self) -> FixedType:
        return FixedType(self.width, self.integer, self.signed, self.rounding, self.overflow)
