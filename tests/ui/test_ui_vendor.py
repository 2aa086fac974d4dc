"""The dashboard's JavaScript ships inside the package, exactly as npm published it, and
nothing on its pages points off the machine (no CDN)."""

from __future__ import annotations

import importlib.util
import json
import re
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("vendor_js", ROOT / "tools" / "vendor_js.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_files_are_the_pinned_ones():
    tool = load_tool()
    manifest = tool.load()
    assert tool.check(manifest) == []
    names = {p["name"]: p["version"] for p in manifest["packages"]}
    assert set(names) == {"vega", "vega-lite", "vega-embed", "axe-core"}
    for package in manifest["packages"]:
        assert package["integrity"].startswith("sha512-")
        # Each package's licence travels with its code.
        assert any("LICENSE" in f["dest"] for f in package["files"])


def test_an_edited_file_is_caught(tmp_path: Path):
    tool = load_tool()
    manifest = tool.load()
    copy = tmp_path / "vega.min.js"
    copy.write_bytes((ROOT / manifest["packages"][0]["files"][0]["dest"]).read_bytes() + b"\n")
    manifest["packages"][0]["files"][0]["dest"] = str(copy)  # absolute: ROOT / it is it
    problems = tool.check(manifest)
    assert len(problems) >= 1 and "differs from vega@" in problems[0]


def test_the_package_carries_its_assets():
    ui = resources.files("jirakit.ui")
    for name in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "LICENSE.vega"):
        assert (ui / "static" / "vendor" / name).is_file(), name
    for name in ("app.js", "app.css"):
        assert (ui / "static" / name).is_file()
    templates = ui / "templates"
    scripts = set()
    for entry in templates.iterdir():
        text = entry.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), entry.name
        scripts.update(re.findall(r"static\('([^']+\.js)'\)", text))
    assert scripts == {
        "app.js",
        "vendor/vega.min.js",
        "vendor/vega-lite.min.js",
        "vendor/vega-embed.min.js",
    }
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"src/jirakit/ui/static/**"' in pyproject  # named in the wheel's build config
    assert json.loads((ROOT / "tools" / "vendor.json").read_text())["packages"]
