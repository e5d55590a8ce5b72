"""Bodies of `/api/v1/queues` and their agents."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.extensions.fields import AuthName, ExtensionNumber, QueueName

Strategy = Literal[
    "ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom"
]


class QueueCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "support",
                    "number": "600",
                    "strategy": "ringall",
                    "agent_ring_seconds": 15,
                    "max_wait_seconds": 300,
                }
            ]
        },
    )
    name: QueueName
    number: ExtensionNumber = Field(description="Dialable number of the queue")
    strategy: Strategy = "ringall"
    agent_ring_seconds: int = Field(default=15, ge=5, le=120)
    max_wait_seconds: int = Field(default=300, ge=10, le=3600)


class QueuePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "support",
                    "number": "600",
                    "strategy": "ringall",
                    "agent_ring_seconds": 15,
                    "max_wait_seconds": 300,
                    "agents": ["100"],
                    "created_at": "2026-11-26T08:00:00Z",
                }
            ]
        }
    )
    name: str
    number: str
    strategy: Strategy
    agent_ring_seconds: int
    max_wait_seconds: int
    agents: list[str] = Field(description="Extension numbers logged in")
    created_at: datetime


class AgentLogin(BaseModel):
    """Log an extension in. `slot` names the device's slot; only the primary may log in."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"extension": "100", "slot": "100"}]}
    )
    extension: ExtensionNumber
    slot: AuthName | None = None


class AgentPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"queue": "support", "extension": "100", "logged_in_at": "2026-11-26T08:00:00Z"}
            ]
        }
    )
    queue: str
    extension: str
    logged_in_at: datetime
