"""Reading scenario YAML strictly: YAML 1.2 core-schema scalars, no aliases, no tags, bounded size and depth.

PyYAML implements YAML 1.1, where `NO` is the boolean False, `010` is the octal 8, `1:30`
is 90 and `2027-01-01` a date; it expands aliases (a few lines of `&a [*b, *b, ...]`
become billions of nodes) and constructs any `!!tag` given, which turns `!!int free` into
a traceback. A finance user's scenario needs none of that, so this loader:

- resolves plain scalars by the YAML 1.2 core schema only: null (`~`, `null`, empty),
  booleans (`true`/`false` in three spellings), decimal, `0o` and `0x` integers, floats
  (`1e-3`, `.inf`, `.nan`); anything else, `NO` and `1_000` included, is text;
- refuses anchors, aliases and explicit tags, with the line they are on, all of them in one load;
- refuses files over `MAX_BYTES` and nesting deeper than `MAX_DEPTH`;
- remembers the line of every mapping key and notes duplicate keys, so the scenario
  loader can say "base.yaml, line 7, key gap";
- keeps the text of numbers (`YamlInt.text`), so an id `0101` or a name `1.10` is not
  silently read as 101 or 1.1 where text is expected.

Why not ruamel.yaml in 1.2 mode: it still expands aliases (unbounded) and constructs tags,
its line information lives on round-trip types only, and it would be a second YAML
library beside PyYAML for what is some forty lines of resolver and composer here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

# Scenario files are a few hundred bytes; a megabyte is a mistake (or an attack), not a scenario.
MAX_BYTES = 1_000_000
# A scenario nests four levels (adjust[0].where.channel[1]); anything near this is not a scenario.
MAX_DEPTH = 20


class YamlInt(int):
    """An integer read from YAML, with the text it was written as."""

    text: str


class YamlFloat(float):
    """A float read from YAML, with the text it was written as."""

    text: str


def text_of(value: Any) -> str:
    """The value as the user wrote it where text is expected: `0101` stays "0101", `1.10` stays "1.10"."""
    return getattr(value, "text", None) or str(value)


class RefusedYaml(yaml.YAMLError):
    """A YAML feature scenario files do not use (alias, anchor, tag), or a file too big or too deep; with its line.

    `line` and `message` are the first refusal; `refusals` holds every one found, as (line, message), top to bottom.
    """

    def __init__(self, line: int, message: str, refusals: list[tuple[int, str]] | None = None):
        super().__init__(message)
        self.line = line
        self.message = message
        self.refusals = refusals or [(line, message)]


class _Resolver(yaml.resolver.BaseResolver):
    """The YAML 1.2 core schema's implicit types: nothing of YAML 1.1's yes/no/on/off, octal 010, 1:30 or dates."""


_Resolver.yaml_implicit_resolvers = {}
_Resolver.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Resolver.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                list("-+0123456789"))
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


class _Composer(yaml.composer.Composer):
    """Builds the node tree, refusing anchors, aliases, tags and deep nesting before anything is expanded.

    Anchors, aliases and tags are noted and left out (an alias becomes null, so nothing is
    ever expanded), and composing goes on, so one load lists them all; nesting too deep
    stops at once.
    """

    depth = 0
    refusals: list[tuple[int, str]]

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            self.refusals.append((line, f"*{event.anchor} is an alias; scenario files do not use aliases: write the value out"))
            self.get_event()
            return yaml.ScalarNode("tag:yaml.org,2002:null", "", event.start_mark, event.end_mark)
        if event.anchor is not None:
            self.refusals.append((line, f"&{event.anchor} is an anchor; scenario files do not use anchors or aliases: "
                                        "write the value out"))
            event.anchor = None
        if getattr(event, "tag", None) is not None:
            self.refusals.append((line, f"{_shown_tag(event.tag)} is a YAML tag; scenario files do not use tags: remove it "
                                        "(put text in quotes if it should stay text)"))
            event.tag = None
            if isinstance(event, yaml.ScalarEvent):
                event.implicit = (True, True)  # resolved as if untagged; the data is not used, the refusal is raised
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RefusedYaml(line, f"nests deeper than {MAX_DEPTH} levels; a scenario needs four at most")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


@dataclass
class _Lines:
    """What the constructor records beside the data: each mapping's key lines, and duplicate keys."""

    key_lines: dict[int, dict] = field(default_factory=dict)
    duplicates: list[tuple[Any, int, int]] = field(default_factory=list)


class _Constructor(yaml.constructor.SafeConstructor):
    """Plain data only: str, YAML 1.2 numbers and booleans, null, lists, and mappings that record their key lines."""

    lines: _Lines

    def construct_int(self, node: yaml.ScalarNode) -> YamlInt:
        text = node.value
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        base = 8 if digits.startswith("0o") else 16 if digits.startswith("0x") else 10
        number = YamlInt(sign * int(digits[2:] if base != 10 else digits, base))
        number.text = text
        return number

    def construct_float(self, node: yaml.ScalarNode) -> YamlFloat:
        text = node.value
        number = YamlFloat(float(text.lower().replace(".inf", "inf").replace(".nan", "nan")))
        number.text = text
        return number

    def construct_bool(self, node: yaml.ScalarNode) -> bool:
        return node.value.lower() == "true"

    def construct_mapping_with_lines(self, node: yaml.MappingNode) -> dict:
        mapping: dict = {}
        lines: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (YamlInt, YamlFloat)):
                key = key.text  # a quarter or team written as 2027 is the text "2027"
            elif not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in mapping:
                self.lines.duplicates.append((key, line, id(mapping)))
            mapping[key] = self.construct_object(value_node, deep=True)
            lines[key] = line
        self.lines.key_lines[id(mapping)] = lines
        return mapping


_Constructor.yaml_constructors = {}
_Constructor.add_constructor("tag:yaml.org,2002:null", yaml.constructor.SafeConstructor.construct_yaml_null)
_Constructor.add_constructor("tag:yaml.org,2002:bool", _Constructor.construct_bool)
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_float)
_Constructor.add_constructor("tag:yaml.org,2002:str", yaml.constructor.SafeConstructor.construct_yaml_str)
_Constructor.add_constructor("tag:yaml.org,2002:seq", yaml.constructor.SafeConstructor.construct_yaml_seq)
_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_mapping_with_lines)


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _Composer, _Constructor, _Resolver):
    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)
        self.lines = _Lines()
        self.refusals = []


def load(text: str) -> tuple[Any, dict[int, dict], list[tuple[Any, int, int]]]:
    """The data of one YAML document, the key lines of each mapping (by id), and duplicate keys (key, line, mapping id).

    Raises RefusedYaml for what scenario files do not use, or yaml.YAMLError for what is not YAML.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise RefusedYaml(1, f"is over {MAX_BYTES // 1_000_000} MB; a scenario file is a few hundred bytes")
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if loader.refusals:
        refusals = list(dict.fromkeys(loader.refusals))  # an alias used nine times on a line is one refusal
        raise RefusedYaml(*refusals[0], refusals)
    return data, loader.lines.key_lines, loader.lines.duplicates
