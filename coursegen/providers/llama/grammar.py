"""Turn a JSON schema (or a `response_format`) into the GBNF grammar llama.cpp samples under."""

import json
import re
from functools import lru_cache
from typing import Any

# llama-cpp-python's JSON-schema converter lets raw control characters (a newline in
# Markdown, say) into strings; strict JSON parsers, Pydantic's included, reject them.
_LOOSE_CHAR = r'char ::= [^"\\]'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'
# A string's characters, unbounded (`char+` for minLength 1, `char*` otherwise).
_UNBOUNDED_CHARS = re.compile(r"\bchar([+*])")


def bound_schema(schema: Any, max_items: int) -> Any:
    """Return a copy of a JSON schema whose arrays hold at most `max_items` items.

    Pydantic's schemas leave most lists unbounded, and a small model, once in a list,
    may go on adding items until it runs out of tokens. An explicit `maxItems` (or a larger
    `minItems`) is kept.
    """
    if isinstance(schema, list):
        return [bound_schema(item, max_items) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: bound_schema(value, max_items) for key, value in schema.items()}
    if bounded.get("type") == "array" and "maxItems" not in bounded:
        bounded["maxItems"] = max(max_items, bounded.get("minItems", 0))
    return bounded


@lru_cache(maxsize=32)
def json_schema_grammar(schema_json: str, max_items: int = 0, max_string_chars: int = 0) -> str:
    """Return the GBNF grammar that makes llama.cpp write JSON valid for a JSON schema.

    Constraints the converter understands (required keys, minItems/maxItems, minLength,
    enums) hold by construction; strings may not contain raw control characters. With
    `max_items`, arrays without `maxItems` get that bound; with `max_string_chars`,
    strings without `maxLength` are cut off there (a repetition loop must end somewhere).
    """
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    if max_items > 0:
        schema_json = json.dumps(bound_schema(json.loads(schema_json), max_items))
    grammar = json_schema_to_gbnf(schema_json).replace(_LOOSE_CHAR, _STRICT_CHAR)
    if max_string_chars > 0:
        grammar = _UNBOUNDED_CHARS.sub(
            lambda m: f"char{{{1 if m[1] == '+' else 0},{max_string_chars}}}", grammar
        )
    return grammar


def response_format_grammar(
    response_format: dict[str, Any] | None, max_items: int, max_string_chars: int
) -> str | None:
    """Turn an OpenAI-style (or llama.cpp-style) `response_format` into a GBNF grammar."""
    if not response_format:
        return None
    kind = response_format.get("type")
    schema: Any = None
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    elif kind == "json_object":
        schema = response_format.get("schema")
    else:
        return None
    if schema is None:
        from llama_cpp.llama_grammar import JSON_GBNF

        return JSON_GBNF
    return json_schema_grammar(json.dumps(schema), max_items, max_string_chars)
