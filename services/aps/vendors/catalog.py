"""The vendors APS can provision, each described by its folder.

A vendor folder holds `vendor.json` (models, the file names its phones request, the
file format, the check-sync events, transport and ring-tone codes, the parameters it
sets) and `templates/`. `Vendor` renders one device's files or the common files from a
plain context (see `services.aps.snapshots.context`); it never touches the database.
A vendor defined in Python (e.g. softphones) implements the same `VendorLike` shape and
is added with `Catalog.add`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from markupsafe import Markup

from services.aps.vendors.templating import TemplateChooser, make_environment

VENDORS_DIR = Path(__file__).parent
HARDWARE_VENDORS = ("yealink", "poly", "grandstream", "snom", "cisco", "fanvil")


@dataclass(frozen=True)
class RenderedFile:
    """One file as a phone receives it; `name` is the name the phone asks for."""

    name: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Model:
    name: str
    common_file: str | None = None


class VendorLike(Protocol):
    name: str
    version: str
    models: tuple[Model, ...]
    max_lines: int
    check_sync: dict[str, str]

    def describe(self) -> dict[str, Any]: ...

    def render_device(self, context: dict[str, Any]) -> list[RenderedFile]: ...

    def render_common(self, context: dict[str, Any]) -> list[RenderedFile]: ...

    def mac_in_filename(self, filename: str) -> str | None: ...


def _folder_version(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class Vendor:
    """A hardware vendor driven by its `vendor.json` and Jinja2 templates."""

    folder: Path
    spec: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.spec = json.loads((self.folder / "vendor.json").read_text())
        self.name: str = self.spec["name"]
        self.version = _folder_version(self.folder)
        self.models = tuple(Model(m["name"], m.get("common_file")) for m in self.spec["models"])
        self.max_lines: int = self.spec["max_lines"]
        self.max_keys: int = self.spec["max_keys"]
        self.check_sync: dict[str, str] = self.spec["check_sync"]
        self._content_type: str = self.spec["content_type"]
        self._chooser = TemplateChooser(
            make_environment(self.folder / "templates", self.spec["format"])
        )
        self._mac_patterns = [re.compile(p) for p in self.spec["mac_patterns"]]
        self._described: dict[str, Any] | None = None
        self._unused_blocks: dict[tuple[str, tuple[int, ...]], Markup] = {}

    def describe(self) -> dict[str, Any]:
        if self._described is None:
            self._described = self._describe()
        return self._described

    def _describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.spec["title"],
            "format": self.spec["format"],
            "models": [m.name for m in self.models],
            "device_files": [f["name"] for f in self.spec["device_files"]],
            "common_files": self.common_file_names(),
            "max_lines": self.max_lines,
            "max_keys": self.max_keys,
            "check_sync": self.check_sync,
            "ring_tones": self.spec["ring_tones"],
            "transports": self.spec["transports"],
            "parameters": self.spec["parameters"],
            "template_version": self.version,
        }

    def common_file_names(self) -> list[str]:
        names: list[str] = []
        for spec in self.spec["common_files"]:
            if spec.get("per_model"):
                names.extend(m.common_file for m in self.models if m.common_file)
            else:
                names.append(spec["name"])
        return sorted(set(names))

    def render_device(self, context: dict[str, Any]) -> list[RenderedFile]:
        device = context["device"]
        context = {
            **context,
            "unused_block": self._unused_block(device["model"], context["unused_lines"]),
        }
        files = []
        for spec in self.spec["device_files"]:
            name = spec["name"].format(mac=device["mac"], MAC=device["mac"].upper())
            template = self._chooser.choose(spec["template"], device["model"], name)
            files.append(self._file(name, template.render(context, filename=name)))
        return files

    def render_common(self, context: dict[str, Any]) -> list[RenderedFile]:
        files = []
        for spec in self.spec["common_files"]:
            if spec.get("per_model"):
                targets = [(m.common_file, m.name) for m in self.models if m.common_file]
            else:
                targets = [(spec["name"], "")]
            for name, model in targets:
                assert name is not None
                template = self._chooser.choose(spec["template"], model, name)
                text = template.render(context, filename=name, model=model)
                files.append(self._file(name, text))
        return files

    def _unused_block(self, model: str, unused: list[int]) -> Markup:
        """The cleared lines' text, rendered once per model and set of unused lines."""
        key = (model, tuple(unused))
        block = self._unused_blocks.get(key)
        if block is None:
            template = self._chooser.choose("unused", model, "")
            # The template escaped its own output; Markup only stops escaping it twice.
            block = Markup(template.render(unused_lines=unused))  # noqa: S704
            self._unused_blocks[key] = block
        return block

    def mac_in_filename(self, filename: str) -> str | None:
        for pattern in self._mac_patterns:
            match = pattern.fullmatch(filename)
            if match:
                return match.group("mac").lower()
        return None

    def _file(self, name: str, text: str) -> RenderedFile:
        return RenderedFile(name, text.encode("utf-8"), self._content_type)


class Catalog:
    """Every vendor by name."""

    def __init__(self, vendors: list[VendorLike] | None = None) -> None:
        self._vendors: dict[str, VendorLike] = {}
        for vendor in vendors or []:
            self.add(vendor)

    @classmethod
    def builtin(cls) -> Catalog:
        return cls([Vendor(VENDORS_DIR / name) for name in HARDWARE_VENDORS])

    def add(self, vendor: VendorLike) -> None:
        self._vendors[vendor.name] = vendor

    def get(self, name: str) -> VendorLike | None:
        return self._vendors.get(name)

    def __iter__(self) -> Any:
        return iter(self._vendors.values())

    def names(self) -> list[str]:
        return sorted(self._vendors)

    def mac_in_filename(self, filename: str) -> str | None:
        for vendor in self._vendors.values():
            mac = vendor.mac_in_filename(filename)
            if mac:
                return mac
        return None
