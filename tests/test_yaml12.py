"""Tests of planner.inputs.yaml12: YAML 1.2 scalars, and every alias, anchor and tag refused in one load, with its line."""

from __future__ import annotations

import pytest

from planner.inputs import yaml12


def refusals(text: str) -> list[tuple[int, str]]:
    with pytest.raises(yaml12.RefusedYaml) as raised:
        yaml12.load(text)
    assert (raised.value.line, raised.value.message) == raised.value.refusals[0]
    return [(line, message.split(";")[0]) for line, message in raised.value.refusals]


def test_every_anchor_alias_and_tag_is_listed_with_its_line_not_only_the_first() -> None:
    text = "name: x\nbase: &b [1, 2]\ncopy: *b\nobjective: !!map npv\nstart_quarters: !!int free\nadjust: !custom {a: 1}\n"
    assert refusals(text) == [
        (2, "&b is an anchor"), (3, "*b is an alias"), (4, "!!map is a YAML tag"), (5, "!!int is a YAML tag"),
        (6, "!custom is a YAML tag"),
    ]


def test_an_alias_bomb_is_refused_without_expanding_it_one_line_per_anchor_and_alias() -> None:
    bomb = "".join(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9) if level else ', '.join(['lol'] * 9)}]\n"
                   for level in range(9))
    found = refusals(bomb)
    assert len(found) == 9 + 8 and found[:3] == [(1, "&l0 is an anchor"), (2, "&l1 is an anchor"), (2, "*l0 is an alias")]


def test_nesting_too_deep_stops_at_once() -> None:
    assert refusals("a: " + "[" * 50 + "]" * 50 + "\n") == [(1, f"nests deeper than {yaml12.MAX_DEPTH} levels")]


@pytest.mark.parametrize(("text", "value"), [("NO", "NO"), ("010", 10), ("0o10", 8), ("1_000", "1_000"), ("yes", "yes"),
                                             ("true", True), ("2027-01-01", "2027-01-01"), ("1:30", "1:30"), ("~", None)])
def test_scalars_follow_yaml_1_2_not_1_1(text: str, value: object) -> None:
    data, _, _ = yaml12.load(f"v: {text}\n")
    assert data["v"] == value and isinstance(data["v"], bool) == isinstance(value, bool)
