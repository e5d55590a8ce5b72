"""Bodies of `/api/v1/extensions/{number}/slots`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.extensions.extension.schemas import Registration, RingMode, SlotSummary


class SlotPublic(SlotSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "auth_name": "100_2",
                    "index": 2,
                    "primary": False,
                    "ring_mode": "ring",
                    "tone": None,
                    "registration": "registered",
                    "user_agent": "Yealink SIP-T54W 96.86.0.70",
                }
            ]
        }
    )
    registration: Registration = Field(
        description="`unknown` when no Asterisk is linked (AMI off or unreachable)"
    )
    user_agent: str | None = None


class RingModeUpdate(BaseModel):
    """`ring` (default), `distinctive` with a tone 1-5, or `silent` (never rung)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ring_mode": "distinctive", "tone": 3}]},
    )
    ring_mode: RingMode
    tone: int | None = Field(default=None, ge=1, le=5)

    @model_validator(mode="after")
    def _tone_only_for_distinctive(self) -> RingModeUpdate:
        if self.ring_mode == "distinctive" and self.tone is None:
            raise ValueError("a distinctive ring mode needs a tone from 1 to 5")
        if self.ring_mode != "distinctive" and self.tone is not None:
            raise ValueError("only the distinctive ring mode takes a tone")
        return self
