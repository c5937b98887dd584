"""`{{ name }}` placeholders: which ones a template uses, and filling them in."""

from __future__ import annotations

from shared.routines.templates import placeholders, render


def test_placeholders_are_listed_in_order_of_first_appearance() -> None:
    assert placeholders("{{b}} then {{a}} then {{c}}") == ["b", "a", "c"]


def test_a_placeholder_used_twice_is_listed_once() -> None:
    assert placeholders("{{a}} {{b}} {{a}}") == ["a", "b"]


def test_placeholders_across_several_templates_are_merged_in_order() -> None:
    assert placeholders("{{title}} {{date}}", None, "{{date}} {{who}}") == [
        "title",
        "date",
        "who",
    ]


def test_spaces_inside_the_braces_are_allowed() -> None:
    assert placeholders("{{ name }} and {{   other}}") == ["name", "other"]


def test_names_must_start_with_a_letter() -> None:
    assert placeholders("{{1st}} {{_x}} {{ok_2}}") == ["ok_2"]


def test_single_braces_and_broken_placeholders_are_not_placeholders() -> None:
    assert placeholders("{name} {{na me}} {{}} {{name") == []


def test_no_template_means_no_placeholders() -> None:
    assert placeholders() == []
    assert placeholders(None, "") == []


def test_render_fills_known_placeholders() -> None:
    assert render("Check {{ site }} on {{date}}", {"site": "acme.io", "date": "2026-11-23"}) == (
        "Check acme.io on 2026-11-23"
    )


def test_render_fills_every_occurrence() -> None:
    assert render("{{a}}-{{ a }}", {"a": "x"}) == "x-x"


def test_render_keeps_unknown_placeholders_as_written() -> None:
    assert render("Hi {{ who }}, see {{what}}", {"what": "logs"}) == "Hi {{ who }}, see logs"


def test_render_writes_booleans_as_json_does() -> None:
    assert render("{{a}}/{{b}}", {"a": True, "b": False}) == "true/false"


def test_render_writes_none_as_nothing() -> None:
    assert render("[{{a}}]", {"a": None}) == "[]"


def test_render_writes_numbers_with_str() -> None:
    assert render("{{n}} {{x}}", {"n": 3, "x": 1.5}) == "3 1.5"


def test_render_of_no_template_is_none() -> None:
    assert render(None, {"a": 1}) is None


def test_render_does_not_expand_placeholders_inside_values() -> None:
    assert render("{{a}}", {"a": "{{b}}", "b": "no"}) == "{{b}}"
