from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import DocumentSyntaxError, parse_text


def test_yaml_keeps_dates_and_norway_as_strings() -> None:
    doc = parse_text("day: 2024-01-01\ncountry: NO\nflag: on\nok: true\n")
    assert doc.data == {"day": "2024-01-01", "country": "NO", "flag": "on", "ok": True}


def test_lines_by_pointer() -> None:
    doc = parse_text("a:\n  b:\n    - x: 1\n      y: 2\n")
    assert doc.line_of("/a/b/0/y") == 4
    assert doc.line_of("/a/b/0/y/deeper") == 4
    assert doc.line_of("") == 1


def test_duplicate_keys_are_problems() -> None:
    doc = parse_text("a: 1\nb: 2\na: 3\n")
    assert [(p.path, p.code, p.line) for p in doc.problems] == [("/a", "duplicate-key", 3)]


def test_a_merge_may_override_what_it_merges() -> None:
    doc = parse_text("base: &b {type: string, maxLength: 10}\nb: {<<: *b, maxLength: 20}\n")
    assert doc.data["b"] == {"type": "string", "maxLength": 20}
    assert doc.problems == ()
    assert doc.line_of("/b/maxLength") == 2


def test_keys_must_be_text() -> None:
    assert parse_text("base: &b {x: 1}\nmore:\n  <<: *b\n  '200': ok\n").data == {
        "base": {"x": 1},
        "more": {"x": 1, "200": "ok"},
    }
    for text, pointer, line in [("200: ok\n", "/200", 1), ("a:\n  b: 1\n  ~: 2\n", "/a/~0", 3)]:
        with pytest.raises(DocumentSyntaxError, match="not text") as info:
            parse_text(text, "f.yaml")
        assert (info.value.pointer, info.value.line) == (pointer, line)


def test_json_with_lines_and_duplicates() -> None:
    doc = parse_text('{"a": {\n  "b": 1\n}}', fmt="json")
    assert doc.data == {"a": {"b": 1}}
    assert doc.line_of("/a/b") == 2
    with pytest.raises(DocumentSyntaxError, match="duplicate key 'a'"):
        parse_text('{"a": 1, "a": 2}')


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: [1,\n  b\n", 3), ("a: 1\n  b: 2\n", 2), ('{"a": }', 1), ("- a\nb: 1\n", 2)],
)
def test_syntax_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(DocumentSyntaxError) as info:
        parse_text(text, "f.yaml")
    assert info.value.line == line
    assert str(info.value).startswith(f"f.yaml:{line}: invalid")


def test_invalid_utf8_is_unreadable() -> None:
    with pytest.raises(DocumentSyntaxError, match="not UTF-8"):
        parse_text(b"name: \xff\xfe", "bad.yaml")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_json_documents_read_back_identically(value: object) -> None:
    import json

    assert parse_text(json.dumps(value), fmt="json").data == value
