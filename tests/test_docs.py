"""Every ```python block in README.md and docs/*.md runs, so the docs cannot rot.

Blocks of one file run in order in one namespace, like a notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(path: Path) -> list[tuple[int, str]]:
    text = path.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


DOCS_WITH_CODE = [p for p in DOCS if blocks(p)]


def test_the_docs_have_examples():
    names = {p.name for p in DOCS_WITH_CODE}
    assert {"README.md", "client.md"} <= names


@pytest.mark.parametrize("path", DOCS_WITH_CODE, ids=lambda p: p.name)
def test_doc_examples_run(path: Path):
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for line, code in blocks(path):
        compiled = compile(code, f"{path.name}:{line}", "exec")
        exec(compiled, namespace)  # running our own documentation
