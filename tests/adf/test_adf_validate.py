"""Schema validation: exact verdicts, clear error paths (speed: benchmarks/adf_validate.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft4Validator

import jirakit.adf as adf
from jirakit.adf import AdfValidationError, is_valid, validate
from jirakit.adf.validation import schema


def sample() -> dict[str, Any]:
    return adf.doc(
        adf.heading(2, "Plan"),
        adf.paragraph("Hi ", adf.mention("abc", "Ann"), " ", adf.text("now", strong=True)),
        adf.bullet_list("one", adf.list_item("two", adf.ordered_list("a", "b", order=3))),
        adf.task_list(adf.task_item("todo"), adf.task_item("done", done=True)),
        adf.table(adf.table_row(adf.table_header("h")), adf.table_row(adf.table_cell("c"))),
        adf.panel("careful", panel_type="warning"),
        adf.expand(adf.nested_expand("x", title="in"), "body", title="More"),
        adf.media_single(adf.media("m1", collection="c"), caption="cap"),
        adf.code_block("print(1)", "python"),
    )


def test_schema_is_the_bundled_official_one() -> None:
    loaded = schema()
    assert loaded["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert "doc_node" in loaded["definitions"]


def test_valid_document() -> None:
    validate(sample())
    assert is_valid(sample())


def test_error_is_a_value_error_naming_the_path() -> None:
    doc = sample()
    doc["content"][1]["content"][3]["marks"] = [{"type": "bold"}]
    with pytest.raises(AdfValidationError) as caught:
        validate(doc)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.path == "$.content[1].content[3].marks[0].type"
    assert "'bold' is not one of" in error.reason and "'strong'" in error.reason
    assert str(error).startswith("invalid ADF at $.content[1].content[3].marks[0].type")


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(version=2), "$.version"),
        (lambda d: d.pop("version"), "$"),
        (lambda d: d["content"][0]["attrs"].update(level=9), "$.content[0].attrs.level"),
        (lambda d: d["content"][2].update(content=[]), "$.content[2].content"),
        (
            lambda d: d["content"][3]["content"][0]["attrs"].pop("localId"),
            "$.content[3].content[0].attrs",
        ),
        (lambda d: d["content"].append({"type": "status"}), "$.content[9].type"),
        (
            lambda d: d["content"][1]["content"].append({"type": "text", "text": ""}),
            "$.content[1].content[4].text",
        ),
        (
            lambda d: d["content"][5]["attrs"].update(panelType="red"),
            "$.content[5].attrs.panelType",
        ),
    ],
)
def test_error_paths(mutate: Any, path: str) -> None:
    doc = sample()
    mutate(doc)
    with pytest.raises(AdfValidationError) as caught:
        validate(doc)
    assert caught.value.path == path
    assert not is_valid(doc)


def test_not_a_document() -> None:
    for value in (None, 5, "doc", [], {"type": "paragraph"}):
        assert not is_valid(value)
    with pytest.raises(AdfValidationError, match=r"at \$: 5 is not of type 'object'"):
        validate(5)


def test_agrees_with_the_plain_draft4_validator() -> None:
    full = Draft4Validator(schema())  # exact but exponential in depth: keep these small
    docs = [adf.doc(block) for block in sample()["content"]]
    docs.append(adf.doc(adf.table(adf.table_row(adf.table_cell(adf.heading(1, "x"))))))
    docs.append(adf.doc(adf.table(adf.table_row(adf.table_cell(adf.panel("x"))))))
    docs.append(adf.doc(adf.paragraph(adf.text("x", code=True, strong=True))))
    docs.append(adf.doc(adf.paragraph(adf.text("x", code=True, href="https://e.com"))))
    media_bad = adf.doc(adf.media_single(adf.media("m1")))
    media_bad["content"][0]["content"][0]["attrs"].pop("collection")
    docs.append(media_bad)
    docs.append(adf.doc(adf.blockquote(adf.heading(1, "x"))))
    docs.append(adf.doc(adf.blockquote(adf.panel("x"))))
    verdicts = [is_valid(doc) for doc in docs]
    assert verdicts == [full.is_valid(doc) for doc in docs]
    assert verdicts.count(False) == 4


def deep_document(levels: int = 12, paragraphs: int = 200) -> dict[str, Any]:
    """Lists nested ``levels`` deep under ``paragraphs`` paragraphs (the shape that makes a
    single Draft-4 validator exponential; its speed is in benchmarks/adf_validate.py)."""
    inner: dict[str, Any] = adf.bullet_list("leaf")
    for _ in range(levels):
        inner = adf.bullet_list(adf.list_item("level", inner))
    return adf.doc(*([adf.paragraph("p " * 20)] * paragraphs), inner)


def test_deep_documents_validate_and_a_deep_defect_is_found_by_its_path() -> None:
    doc = deep_document()
    before = copy.deepcopy(doc)
    validate(doc)
    assert is_valid(doc) and doc == before  # validation does not touch the document
    # Break the innermost leaf: the error names it, thirteen lists down.
    node = doc["content"][200]
    path = "$.content[200]"
    for _ in range(12):
        node = node["content"][0]["content"][1]
        path += ".content[0].content[1]"
    leaf = node["content"][0]["content"][0]  # the "leaf" paragraph
    leaf["content"][0]["marks"] = [{"type": "bold"}]
    with pytest.raises(AdfValidationError) as caught:
        validate(doc)
    assert caught.value.path == f"{path}.content[0].content[0].content[0].marks[0].type"
