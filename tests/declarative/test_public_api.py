"""The public surface of durable.declarative, pinned, and its errors under durable's one root."""

from __future__ import annotations

import durable.declarative as declarative
from durable.declarative import errors
from durable.errors import DeadlineExceededError, DurableError

PUBLIC = [
    "FORMAT_VERSION",
    "KINDS",
    "SCHEMA_ID",
    "DocumentError",
    "ExpressionError",
    "FailStepError",
    "HttpClientError",
    "HttpServerError",
    "HttpStatusError",
    "HttpTooManyRequests",
    "Interpreter",
    "Limits",
    "Plan",
    "Problem",
    "StepError",
    "Timeout",
    "Validation",
    "ValidationError",
    "compile_workflow",
    "document_tags",
    "register_workflow",
    "schema_text",
    "validate",
    "validate_text",
    "workflow_definition",
]


def test_declarative_exports_exactly_its_pinned_names() -> None:
    assert declarative.__all__ == PUBLIC
    assert all(hasattr(declarative, name) for name in PUBLIC)


def test_every_declarative_error_is_a_durable_error_named_as_documented() -> None:
    assert errors.__all__ == sorted(errors.__all__)
    assert all(issubclass(getattr(errors, name), DurableError) for name in errors.__all__)
    assert issubclass(errors.Timeout, DeadlineExceededError)
    assert issubclass(errors.DocumentError, ValueError)
    assert issubclass(errors.HttpTooManyRequests, errors.HttpClientError)
