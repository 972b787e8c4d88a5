"""Build a deterministic value that is valid for a JSON schema, in words of a phrase set."""

from dataclasses import dataclass
from typing import Any

from coursegen.providers._sandbox_phrases import LABELS, phrase_kind

DEFAULT_ITEMS = 3


@dataclass(frozen=True)
class Fill:
    """What a filled-in answer is about: its phrases, subject and top-level item count."""

    phrases: dict[str, str]
    subject: str
    count: int | None = None
    """Items of the first top-level array (the count a prompt asks for), else the default."""


def fill_schema(root: dict[str, Any], fill: Fill) -> Any:
    """Return a value valid for `root` (a JSON schema with `$defs`); every required and
    optional property is written, so a lesson gets its key terms and the like."""
    return _Walker(root, fill).value(root, "", 1)


class _Walker:
    def __init__(self, root: dict[str, Any], fill: Fill) -> None:
        self.root, self.fill = root, fill
        self.counted = fill.count is None  # the prompt's count goes to one array only

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while isinstance(ref := schema.get("$ref"), str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def value(self, schema: dict[str, Any], key: str, index: int, label: str = "part") -> Any:
        """The value of property `key` (item `index` of a list of `label`s: theme, topic…)."""
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for union in ("anyOf", "oneOf"):
            if options := schema.get(union):
                return self.value(_first_not_null(options), key, index, label)
        if options := schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in options:
                merged.update(self.resolve(part))
            return self.value(merged, key, index, label)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            return {
                name: self.value(sub, name, index, label)
                for name, sub in (schema.get("properties") or {}).items()
            }
        if kind == "array":
            return self.array(schema, key, LABELS.get(key, label))
        if kind in ("integer", "number"):
            return _number(schema, kind)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.text(schema, key, index, label)

    def array(self, schema: dict[str, Any], key: str, label: str) -> list[Any]:
        count = DEFAULT_ITEMS
        if not self.counted and self.fill.count is not None:
            self.counted, count = True, self.fill.count
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        count = max(low, count if high is None else min(count, high))
        items = schema.get("items") or {"type": "string"}
        if isinstance(items, list):  # prefixItems-style tuples
            return [self.value(item, key, i + 1, label) for i, item in enumerate(items)]
        return [self.value(items, key, i + 1, label) for i in range(count)]

    def text(self, schema: dict[str, Any], key: str, index: int, label: str) -> str:
        phrases = self.fill.phrases
        template = phrases[phrase_kind(key)]
        text = template.format(s=self.fill.subject, i=index, label=phrases[label])
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        while len(text) < low:
            text = f"{text} {text}"
        return text if high is None else text[:high]


def _first_not_null(options: list[dict[str, Any]]) -> dict[str, Any]:
    return next((o for o in options if o.get("type") != "null"), options[0])


def _number(schema: dict[str, Any], kind: str) -> int | float:
    """1 (1-based numbers are the common case), moved inside the schema's bounds."""
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + (1 if kind == "integer" else 0.5))
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema:
        value = min(value, schema["exclusiveMaximum"] - (1 if kind == "integer" else 0.5))
    return int(value) if kind == "integer" else float(value)
