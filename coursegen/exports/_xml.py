"""Small ElementTree helpers for the package manifests and QTI files."""

# Namespaces are written as literal `xmlns` / `prefix:name` attributes and tags, so the output
# uses the conventional prefixes without touching ElementTree's global prefix registry.

import re
import xml.etree.ElementTree as ET

XSI = "http://www.w3.org/2001/XMLSchema-instance"

# Characters XML 1.0 cannot carry at all (control codes, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Drop the characters that would make an XML document unreadable."""
    return _NOT_XML.sub("", text)


def root(tag: str, namespaces: dict[str, str], **attrs: str) -> ET.Element:
    """A document element declaring `prefix -> namespace` ("" is the default namespace)."""
    declared = {("xmlns:" + p if p else "xmlns"): ns for p, ns in namespaces.items()}
    return ET.Element(tag, {**declared, **attrs})


def child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a sub-element with optional text and attributes; return it."""
    element = ET.SubElement(parent, tag, {name: clean(value) for name, value in attrs.items()})
    if text is not None:
        element.text = clean(text)
    return element


def to_xml(document: ET.Element) -> str:
    """The indented document with an XML declaration."""
    ET.indent(document)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(document, "unicode") + "\n"


def schema_locations(pairs: list[tuple[str, str]]) -> str:
    """The value of `xsi:schemaLocation`: namespace and schema URL pairs."""
    return " ".join(f"{namespace} {url}" for namespace, url in pairs)
