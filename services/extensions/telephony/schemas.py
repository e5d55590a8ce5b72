"""Response bodies of `/api/v1/telephony/...`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DeployStatus = Literal["pending", "deployed", "reload-skipped", "rolled-back", "failed"]


class DiffSection(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[dict[str, str | list[str]]] = Field(
        description="One entry per changed item: its key and the names of the changed fields"
    )


class Changes(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "base_revision": 3,
                    "changed": True,
                    "extensions": {
                        "added": ["101"],
                        "removed": [],
                        "changed": [{"number": "100", "fields": ["password"]}],
                    },
                    "slots": {"added": ["101", "100_3"], "removed": [], "changed": []},
                    "queues": {"added": [], "removed": [], "changed": []},
                    "settings_changed": False,
                }
            ]
        }
    )
    base_revision: int | None = Field(description="The current revision the diff is against")
    changed: bool
    extensions: DiffSection
    slots: DiffSection
    queues: DiffSection
    settings_changed: bool


class DeployResult(BaseModel):
    status: DeployStatus
    detail: str


class RevisionFileInfo(BaseModel):
    name: str = Field(examples=["pjsip_shareline.conf"])
    size: int
    sha256: str


class RevisionPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 4,
                    "content_hash": "5f1c…",
                    "committed_by": "admin",
                    "committed_at": "2026-11-26T08:30:00Z",
                    "kind": "commit",
                    "source_revision": None,
                    "deploy": {"status": "reload-skipped", "detail": "no AMI configured"},
                    "files": [{"name": "pjsip_shareline.conf", "size": 1830, "sha256": "ab…"}],
                }
            ]
        }
    )
    revision: int
    content_hash: str
    committed_by: str
    committed_at: datetime
    kind: Literal["commit", "rollback"]
    source_revision: int | None = Field(description="For a rollback: the revision re-deployed")
    deploy: DeployResult
    files: list[RevisionFileInfo] | None = None


class CommitResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "changed": False,
                    "revision": {
                        "revision": 4,
                        "content_hash": "5f1c…",
                        "committed_by": "admin",
                        "committed_at": "2026-11-26T08:30:00Z",
                        "kind": "commit",
                        "source_revision": None,
                        "deploy": {"status": "deployed", "detail": "reloaded; 5 endpoints"},
                    },
                }
            ]
        }
    )
    changed: bool = Field(description="False when the output would be byte-identical")
    revision: RevisionPublic


class RevisionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_revision": 2,
                    "items": [
                        {
                            "revision": 2,
                            "content_hash": "9be0…",
                            "committed_by": "admin",
                            "committed_at": "2026-11-26T09:00:00Z",
                            "kind": "commit",
                            "source_revision": None,
                            "deploy": {"status": "deployed", "detail": "reloaded; 4 endpoints"},
                        },
                    ],
                    "limit": 50,
                    "offset": 0,
                }
            ]
        }
    )
    current_revision: int | None = Field(description="The newest successfully deployed one")
    items: list[RevisionPublic]
    limit: int
    offset: int
