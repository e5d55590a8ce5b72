"""Parse rendered phone files back in each vendor's own format (defusedxml for XML).

`parse(vendor, text)` gives `Parsed`: the enabled lines by number, each with the
register user, auth name, password and server, and the extensions BLF keys watch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree


@dataclass
class Parsed:
    lines: dict[int, dict[str, str]] = field(default_factory=dict)
    blf: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def parse_yealink(text: str) -> Parsed:
    assert text.startswith("#!version:1.0.0.1\n"), "the header must be line 1"
    values: dict[str, str] = {}
    for raw in text.splitlines()[1:]:
        if not raw.strip() or raw.startswith("#"):
            continue
        key, sep, value = raw.partition(" = ")
        assert sep, f"not a key = value line: {raw!r}"
        assert key not in values, f"{key} set twice"
        values[key] = value
    parsed = Parsed(extra=values)
    for key, value in values.items():
        match = re.fullmatch(r"account\.(\d+)\.enable", key)
        if match and value == "1":
            n = match.group(1)
            parsed.lines[int(n)] = {
                "user": values[f"account.{n}.user_name"],
                "auth": values[f"account.{n}.auth_name"],
                "password": values[f"account.{n}.password"],
                "server": values[f"account.{n}.sip_server.1.address"],
                "ring": values[f"account.{n}.ringtone.ring_type"],
            }
        match = re.fullmatch(r"linekey\.(\d+)\.type", key)
        if match and value == "16":
            parsed.blf.append(values[f"linekey.{match.group(1)}.value"])
    return parsed


def parse_poly(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    attributes: dict[str, str] = {}
    for element in root.iter():
        for key, value in element.attrib.items():
            assert key not in attributes, f"{key} set twice"
            attributes[key] = value
    parsed = Parsed(extra=attributes)
    for key, value in attributes.items():
        match = re.fullmatch(r"reg\.(\d+)\.address", key)
        if match and value:
            n = match.group(1)
            parsed.lines[int(n)] = {
                "user": value,
                "auth": attributes[f"reg.{n}.auth.userId"],
                "password": attributes[f"reg.{n}.auth.password"],
                "server": attributes[f"reg.{n}.server.1.address"],
                "ring": attributes[f"reg.{n}.ringType"],
            }
        match = re.fullmatch(r"attendant\.resourceList\.(\d+)\.address", key)
        if match and attributes[f"attendant.resourceList.{match.group(1)}.type"] == "normal":
            parsed.blf.append(value)
    return parsed


def _p_codes(index: int) -> dict[str, str]:
    if index == 1:
        return {
            "active": "P271",
            "user": "P35",
            "auth": "P36",
            "password": "P34",
            "server": "P47",
            "ring": "P104",
        }
    base = (index + 2) * 100
    return {
        "active": f"P{base + 1}",
        "user": f"P{base + 4}",
        "auth": f"P{base + 5}",
        "password": f"P{base + 6}",
        "server": f"P{base + 2}",
        "ring": f"P{base + 23}",
    }


def parse_grandstream(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    config = root.find("config")
    assert config is not None
    values: dict[str, str] = {}
    for element in config:
        assert element.tag not in values, f"{element.tag} set twice"
        values[element.tag] = element.text or ""
    parsed = Parsed(extra=values)
    for index in range(1, 5):
        codes = _p_codes(index)
        if values.get(codes["active"]) == "1":
            parsed.lines[index] = {
                "user": values[codes["user"]],
                "auth": values[codes["auth"]],
                "password": values[codes["password"]],
                "server": values[codes["server"]].rsplit(":", 1)[0],
                "ring": values[codes["ring"]],
            }
    for k in range(1, 8):
        if values.get(f"P{322 + k}") == "1":
            parsed.blf.append(values[f"P{300 + 3 * k}"])
    return parsed


def parse_snom(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    settings = root.find("phone-settings")
    assert settings is not None
    values: dict[tuple[str, str | None], str] = {}
    for element in settings:
        key = (element.tag, element.get("idx"))
        assert key not in values, f"{key} set twice"
        values[key] = element.text or ""
    parsed = Parsed(extra={f"{t}[{i}]" if i else t: v for (t, i), v in values.items()})
    for (tag, idx), value in values.items():
        if tag == "user_active" and value == "on":
            parsed.lines[int(idx or 0)] = {
                "user": values[("user_name", idx)],
                "auth": values[("user_pname", idx)],
                "password": values[("user_pass", idx)],
                "server": values[("user_host", idx)],
                "ring": values[("user_ringer", idx)],
            }
    keys = root.find("functionKeys")
    for fkey in keys if keys is not None else []:
        match = re.fullmatch(r"blf <sip:(\d+)@[^>]+>", fkey.text or "")
        if match:
            parsed.blf.append(match.group(1))
    return parsed


def parse_cisco(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    assert root.tag == "flat-profile"
    values: dict[str, str] = {}
    for element in root:
        assert element.tag not in values, f"{element.tag} set twice"
        values[element.tag] = element.text or ""
    parsed = Parsed(extra=values)
    for key, value in values.items():
        match = re.fullmatch(r"Line_Enable_(\d+)_", key)
        if match and value == "Yes":
            n = match.group(1)
            parsed.lines[int(n)] = {
                "user": values[f"User_ID_{n}_"],
                "auth": values[f"Auth_ID_{n}_"],
                "password": values[f"Password_{n}_"],
                "server": values[f"Proxy_{n}_"],
                "ring": values[f"Default_Ring_{n}_"],
            }
        match = re.fullmatch(r"Extended_Function_(\d+)_", key)
        if match and value.startswith("fnc=blf"):
            sub = re.search(r"sub=(\d+)@", value)
            assert sub is not None
            parsed.blf.append(sub.group(1))
    return parsed


def parse_fanvil(text: str) -> Parsed:
    root = ElementTree.fromstring(text)
    assert root.tag == "sysConf"
    parsed = Parsed()
    for line in root.iterfind("sip/line"):
        if line.findtext("EnableReg") == "1":
            parsed.lines[int(line.get("index", "0"))] = {
                "user": line.findtext("PhoneNumber") or "",
                "auth": line.findtext("RegisterUser") or "",
                "password": line.findtext("RegisterPswd") or "",
                "server": line.findtext("RegisterAddr") or "",
                "ring": line.findtext("RingType") or "",
            }
    for fkey in root.iterfind("dsskey/dssSide/Fkey"):
        value = fkey.findtext("Value") or ""
        if value.endswith("/ba"):
            parsed.blf.append(value.split("@", 1)[0])
    parsed.extra = {"ap": {e.tag: e.text for e in root.iterfind("ap/*")}}
    return parsed


PARSERS = {
    "yealink": parse_yealink,
    "poly": parse_poly,
    "grandstream": parse_grandstream,
    "snom": parse_snom,
    "cisco": parse_cisco,
    "fanvil": parse_fanvil,
}
# Per vendor: a model, the device file carrying the accounts, and tone 3's ring value.
VENDOR_CASES = {
    "yealink": ("T46U", "{mac}.cfg", "Resource:Ring3.wav"),
    "poly": ("VVX450", "{mac}-user.cfg", "ringer4"),
    "grandstream": ("GRP2614", "cfg{mac}.xml", "3"),
    "snom": ("D785", "{mac}.xml", "Ringer3"),
    "cisco": ("8841", "{mac}.xml", "3"),
    "fanvil": ("X4", "{mac}.cfg", "Type 3"),
}


def parse(vendor: str, text: str) -> Parsed:
    return PARSERS[vendor](text)
