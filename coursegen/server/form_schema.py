"""Publish input schemas that LangServe's playground can draw: no `{"type": "null"}` members."""

from typing import Any, TypeVar, cast

from pydantic import BaseModel
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode
from pydantic_core import core_schema

ModelT = TypeVar("ModelT", bound=BaseModel)


class _NoNullSchema(GenerateJsonSchema):
    """Describe an optional field by its value's type alone, with no `null` default.

    The playground's form renders `anyOf: [{...}, {"type": "null"}]` as "Unknown type" and
    the whole page stays blank. An absent field means the same as null to our models, so
    the form loses nothing; the OpenAPI schema (FastAPI's own generator) keeps the nulls.
    """

    def nullable_schema(self, schema: core_schema.NullableSchema) -> Any:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> Any:
        json_schema = super().default_schema(schema)
        if json_schema.get("default", ...) is None:
            json_schema.pop("default")
        return json_schema


def form_friendly(model: type[ModelT]) -> type[ModelT]:
    """A subclass of `model` (same name, same validation) whose JSON schema has no nulls."""

    def model_json_schema(
        cls: type[BaseModel],
        by_alias: bool = True,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = _NoNullSchema,
        mode: JsonSchemaMode = "validation",
        **kwargs: Any,
    ) -> dict[str, Any]:
        return BaseModel.model_json_schema.__func__(  # type: ignore[attr-defined]
            cls, by_alias, ref_template, _NoNullSchema, mode, **kwargs
        )

    namespace = {"model_json_schema": classmethod(model_json_schema), "__doc__": model.__doc__}
    namespace["__module__"] = model.__module__
    return cast(type[ModelT], type(model.__name__, (model,), namespace))
