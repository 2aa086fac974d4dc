"""Vendor the dashboard's JavaScript from npm: `make vendor` (fetch) or `--check` (verify).

The dashboard works with no internet (no CDN), so the browser libraries it uses ship in
the wheel as files. They are fetched from the npm registry with npm's own client
(``npm pack``, which checks each tarball against the registry's integrity hash), at the
versions pinned in ``tools/vendor.json``; the minified build and its licence are copied
into the repository and their SHA-256 recorded there. The files are committed, so a
build (and a test run) needs neither npm nor a network; ``--check`` (run by the tests)
proves that the committed files are the pinned ones, unedited.

To upgrade: change a version in ``tools/vendor.json``, run ``make vendor``, look at the
dashboard, commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "tools" / "vendor.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load() -> dict[str, Any]:
    return dict(json.loads(MANIFEST.read_text(encoding="utf-8")))


def check(manifest: dict[str, Any]) -> list[str]:
    """What differs between the committed files and the manifest (empty: all good)."""
    problems = []
    for package in manifest["packages"]:
        for entry in package["files"]:
            path = ROOT / entry["dest"]
            if not path.is_file():
                problems.append(f"{entry['dest']} is missing (run `make vendor`)")
            elif sha256(path) != entry["sha256"]:
                problems.append(
                    f"{entry['dest']} differs from {package['name']}@{package['version']} "
                    "(run `make vendor`; never edit vendored files by hand)"
                )
    return problems


def fetch(manifest: dict[str, Any]) -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to vendor the dashboard's JavaScript (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        for package in manifest["packages"]:
            spec = f"{package['name']}@{package['version']}"
            out = subprocess.run(
                [npm, "pack", spec, "--json", "--pack-destination", tmp],
                check=True,
                capture_output=True,
                text=True,
            )
            info = json.loads(out.stdout)[0]
            package["integrity"] = info["integrity"]
            with tarfile.open(Path(tmp) / info["filename"]) as tar:
                for entry in package["files"]:
                    member = tar.extractfile(f"package/{entry['source']}")
                    if member is None:
                        sys.exit(f"{spec} has no {entry['source']}")
                    dest = ROOT / entry["dest"]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(member.read())
                    entry["sha256"] = sha256(dest)
            print(f"{spec}: {', '.join(e['dest'] for e in package['files'])}")
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, fetch nothing")
    args = parser.parse_args()
    manifest = load()
    if not args.check:
        fetch(manifest)
    problems = check(manifest)
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
