"""The public API of jirakit.adf is pinned."""

from __future__ import annotations

import ast
from pathlib import Path

import jirakit.adf as adf

EXPECTED = {
    "AdfValidationError", "Node", "blockquote", "bullet_list", "code_block", "date", "doc",
    "emoji", "expand", "from_markdown", "from_text", "from_wiki", "hard_break", "heading",
    "inline_card", "is_valid", "link", "list_item", "media", "media_group", "media_single",
    "mention", "nested_expand", "ordered_list", "panel", "paragraph", "rule", "status",
    "table", "table_cell", "table_header", "table_row", "task_item", "task_list", "text",
    "to_markdown", "to_text", "to_wiki", "validate",
}  # fmt: skip


def test_public_names() -> None:
    assert set(adf.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(adf, name) is not None
    assert callable(adf.text) and callable(adf.validate)
    assert issubclass(adf.AdfValidationError, ValueError)


def test_adf_is_a_leaf_package() -> None:
    package = Path(adf.__file__).parent
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert not node.module.startswith("jirakit"), (source.name, node.module)
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                raise AssertionError(f"{source.name} imports outside jirakit.adf")


def test_schema_ships_with_its_licence() -> None:
    folder = Path(adf.__file__).parent / "schema"
    assert (folder / "adf-schema-full.v1.json").is_file()
    assert "Apache License" in (folder / "LICENSE").read_text()
