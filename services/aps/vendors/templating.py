"""Jinja2 environments for phone files: strict, escaped for XML, validated for INI.

Every value printed into a phone file passes `_checked` (Jinja's `finalize`): control
characters (newline, carriage return, NUL, line/paragraph separators, bidi overrides)
would start a new INI line or break XML, so they raise instead of being written. XML
formats are autoescaped by Jinja; INI formats (Yealink) additionally refuse a value
that starts a comment. A variable the template names but the context lacks is an
error (`StrictUndefined`), never an empty string.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined, Template
from jinja2.bccache import Bucket
from markupsafe import Markup


class UnsafeValue(ValueError):
    """A value would change the structure of the file it is written into."""


# C0/C1 controls, soft hyphen, zero-width and bidi marks, line/paragraph separators, BOM.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _checked_xml(value: Any) -> Any:
    if type(value) is int or isinstance(value, Markup):
        return value
    if _has_control("" if value is None else str(value)):
        raise UnsafeValue("a value holds a control character")
    return value


def _checked_ini(value: Any) -> Any:
    if type(value) is int or isinstance(value, Markup):  # Markup: a block rendered here
        return value
    text = "" if value is None else str(value)
    if _has_control(text):
        raise UnsafeValue("a value holds a control character")
    if text.lstrip().startswith(("#", ";")):
        raise UnsafeValue("a value would start a comment")
    return value


_DICT_ATTRIBUTES = frozenset(dir(dict))


class PhoneEnvironment(Environment):
    """Jinja's environment with a shorter path to the values of the plain-dict contexts.

    Jinja resolves `line.index` by trying the attribute first; on a dict that fails with
    an AttributeError before the key is tried, and with tens of values per phone file
    that exception was a third of the render. A dict's key is looked up first here,
    except for names a dict has as attributes (`items`, `get`, ...), so every lookup
    resolves exactly as Jinja resolves it.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, whichever environment (app, test) asks.

    Jinja keys each entry by template name and file, and drops it when the source's
    checksum differs. The compiled code also depends on the environment's options, so
    environments of different formats never share one of these.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = {"xml": CompiledTemplates(), "ini": CompiledTemplates()}


def make_environment(folder: Path, file_format: str) -> Environment:
    xml = file_format == "xml"
    env = PhoneEnvironment(
        loader=FileSystemLoader(folder),
        autoescape=xml,  # INI is not HTML; its values are validated instead
        undefined=StrictUndefined,
        finalize=_checked_xml if xml else _checked_ini,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        cache_size=-1,
        # Templates are read once: a vendor's version is their digest at start-up, and
        # checking each file's mtime on every `{% import %}` cost a stat per render.
        auto_reload=False,
        bytecode_cache=_COMPILED["xml" if xml else "ini"],
    )
    return env


class TemplateChooser:
    """Picks a file's template: `<file>.j2` → `<kind>.<model>.j2` → `<kind>.j2`.

    The names present are listed once, so choosing costs a few set lookups. Every
    template is compiled here, when the vendor is loaded, not by the first commit.
    """

    def __init__(self, env: Environment) -> None:
        self._env = env
        self._names = frozenset(env.list_templates())
        self._chosen: dict[tuple[str, str, str], Template] = {}
        for name in sorted(self._names):
            env.get_template(name)

    def choose(self, kind: str, model: str, filename: str) -> Template:
        key = (kind, model, filename if f"{filename}.j2" in self._names else "")
        template = self._chosen.get(key)
        if template is None:
            for name in (f"{filename}.j2", f"{kind}.{model.lower()}.j2", f"{kind}.j2"):
                if name in self._names:
                    template = self._env.get_template(name)
                    break
            else:
                raise LookupError(f"no template for {kind} (model {model})")
            self._chosen[key] = template
        return template
