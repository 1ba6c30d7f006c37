"""The types of the API's inputs, with their bounds, so that the schema says what is accepted
and the server refuses (422) exactly what the schema does not allow.

A path id is a positive 64-bit integer (the databases' ``bigint``), an offset is bounded, an
administration code has the shape of one, and text never holds a NUL character (PostgreSQL
cannot store one) nor more characters than its column.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Form, Path, Query
from ninja.errors import ValidationError
from pydantic import BaseModel, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

MAX_ID = 2**63 - 1
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000
NO_NUL = r"^[^\x00]*$"
CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$"

# The shape of an id in a path: 1 to 2^63 - 1.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
# An administration's code in a path (the case does not matter).
Code = Annotated[str, Path(pattern=CODE, max_length=40)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many results, from 1 to 200.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many results to skip, up to 1,000,000.")]


# Text fields of JSON bodies and forms, by the column they end in.
ShortText = Annotated[str, StringConstraints(max_length=300, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=20_000, pattern=NO_NUL)]
CodeText = Annotated[str, StringConstraints(max_length=40, pattern=NO_NUL)]
EmailText = Annotated[str, StringConstraints(max_length=254, pattern=NO_NUL)]
Position = Annotated[int, Field(ge=0, le=10_000)]
# Text in a query string.
QueryWords = Annotated[str, Query(max_length=200, pattern=NO_NUL)]
QueryCode = Annotated[str, Query(max_length=40, pattern=NO_NUL)]
# Text in a form (multipart) field.
FormCode = Annotated[str, Form(max_length=40, pattern=NO_NUL)]
FormShort = Annotated[str, Form(max_length=300, pattern=NO_NUL)]
FormLong = Annotated[str, Form(max_length=20_000, pattern=NO_NUL)]


def json_body_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a handler that reads its JSON body with ``body_after_access``."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema.model_json_schema()}}}}


def body_after_access[S: BaseModel](request: HttpRequest, schema: type[S]) -> S:
    """The JSON body of ``request`` read as ``schema``, for a handler that checks access to the
    object its path names first: a body django-ninja reads is validated before the handler
    runs, and an outsider would get a 422 (what the body lacks) where they must get a 404."""
    try:
        return schema.model_validate_json(request.body or b"{}")
    except PydanticValidationError as invalid:
        problems = invalid.errors(include_url=False, include_context=False, include_input=False)
        raise ValidationError([{**problem, "loc": ("body", *problem["loc"])} for problem in problems]) from None
