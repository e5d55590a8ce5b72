"""Vendor templates: the fallback chain, strict variables, escaping and value checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2 import TemplateSyntaxError, UndefinedError

from services.aps.vendors.catalog import VENDORS_DIR, Catalog, Vendor
from services.aps.vendors.templating import UnsafeValue, make_environment
from tests.aps.support import telephony_document


def _context(vendor: Vendor, model: str, mac: str = "001565000001") -> dict:
    from services.aps.settings import Settings
    from services.aps.snapshots.context import DeviceInputs, device_context
    from services.aps.telephony import read_committed

    device = DeviceInputs(mac, vendor.name, model, "", "UTC", [], [(1, "101")])
    return device_context(
        device, vendor, read_committed(telephony_document()), Settings(), "device-secret"
    )


def test_templates_fall_back_from_file_to_model_to_base(tmp_path: Path) -> None:
    folder = tmp_path / "yealink"
    shutil.copytree(VENDORS_DIR / "yealink", folder)
    (folder / "templates" / "device.t48u.j2").write_text('{% include "device.j2" %}## model T48U\n')
    (folder / "templates" / "001565000002.cfg.j2").write_text(
        "#!version:1.0.0.1\n## only for one phone\n"
    )
    vendor = Vendor(folder)

    def device_file(model: str, mac: str) -> str:
        files = vendor.render_device(_context(vendor, model, mac))
        return next(f.content.decode() for f in files if f.name.endswith(".cfg"))

    assert "## model T48U" not in device_file("T46U", "001565000001")  # base
    assert device_file("T48U", "001565000001").endswith("## model T48U\n")  # model
    assert device_file("T48U", "001565000002") == "#!version:1.0.0.1\n## only for one phone\n"
    assert vendor.version != Vendor(VENDORS_DIR / "yealink").version


def test_a_variable_the_context_lacks_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("<a>{{ missing }}</a>")
    with pytest.raises(UndefinedError):
        make_environment(tmp_path, "xml").get_template("t.j2").render()


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "a\u2028b", "a\u202eb", "a\u200bb"])
@pytest.mark.parametrize("file_format", ["xml", "ini"])
def test_control_characters_never_reach_a_file(
    tmp_path: Path, value: str, file_format: str
) -> None:
    (tmp_path / "t.j2").write_text("x = {{ value }}")
    template = make_environment(tmp_path, file_format).get_template("t.j2")
    with pytest.raises(UnsafeValue):
        template.render(value=value)


def test_ini_refuses_a_value_that_opens_a_comment_and_xml_escapes(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("x = {{ value }}")
    with pytest.raises(UnsafeValue):
        make_environment(tmp_path, "ini").get_template("t.j2").render(value="#include evil")
    xml = make_environment(tmp_path, "xml").get_template("t.j2")
    assert xml.render(value='<a href="x">&') == "x = &lt;a href=&#34;x&#34;&gt;&amp;"


def test_every_vendor_describes_files_events_and_models() -> None:
    for vendor in Catalog.builtin():
        described = vendor.describe()
        assert described["models"] and described["device_files"]
        assert set(described["check_sync"]) == {"resync", "reboot"}
        assert set(described["ring_tones"]) == {"1", "2", "3", "4", "5"}
        assert set(described["parameters"]["line"]) >= {
            "enable",
            "label",
            "display_name",
            "user",
            "auth_name",
            "password",
            "server",
            "port",
            "transport",
            "expiry",
        }


async def test_vendors_route_lists_all_six(aps) -> None:
    vendors = (await aps.client.get("/api/v1/aps/vendors")).json()
    names = {v["name"] for v in vendors}
    assert names >= {"yealink", "poly", "grandstream", "snom", "cisco", "fanvil"}
    yealink = next(v for v in vendors if v["name"] == "yealink")
    assert "y000000000108.cfg" in yealink["common_files"]
    assert yealink["check_sync"]["resync"] == "check-sync;reboot=false"


@pytest.mark.parametrize("file_format", ["xml", "ini"])
def test_dict_values_resolve_exactly_as_jinja_resolves_them(
    tmp_path: Path, file_format: str
) -> None:
    """Keys first is a shortcut: names a dict has as methods still mean the method."""
    (tmp_path / "t.j2").write_text(
        "{{ d.user }}|{{ d['items'] }}|{{ d.items is callable }}|{{ d.get('user') }}"
    )
    template = make_environment(tmp_path, file_format).get_template("t.j2")
    context = {"user": "alice", "items": "a key named like a method"}
    assert template.render(d=context) == "alice|a key named like a method|True|alice"
    (tmp_path / "missing.j2").write_text("{{ d.nothing }}")
    with pytest.raises(UndefinedError):
        make_environment(tmp_path, file_format).get_template("missing.j2").render(d={})


def test_templates_compile_when_the_vendor_loads_and_never_from_stale_code(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "yealink"
    shutil.copytree(VENDORS_DIR / "yealink", folder)
    device = folder / "templates" / "001565000001.cfg.j2"
    device.write_text("#!version:1.0.0.1\n## first\n")
    first = Vendor(folder)
    device.write_text("#!version:1.0.0.1\n## second\n")
    second = Vendor(folder)  # same file, new source: compiled again

    def rendered(vendor: Vendor) -> str:
        files = vendor.render_device(_context(vendor, "T46U", "001565000001"))
        return next(f.content.decode() for f in files if f.name.endswith(".cfg"))

    assert rendered(first).endswith("## first\n")
    assert rendered(second).endswith("## second\n")

    device.write_text("{% if %}broken")
    with pytest.raises(TemplateSyntaxError):
        Vendor(folder)  # at start-up, not at the first commit
