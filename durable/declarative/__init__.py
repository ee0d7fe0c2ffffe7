"""durable.declarative: workflows written as YAML or JSON documents, run on the same engine.

A document (format: DECLARATIVE.md) is validated in two passes, JSON Schema
then semantics, with every problem reported at its line and column; a valid
one compiles to a `Plan` that one generic orchestrator, the `Interpreter`,
runs with the orchestration context's primitives. Register one with
``register_workflow(app, "workflow.yaml")``; `validate` checks one (e.g. in
CI) without registering it; `schema_text` is the JSON Schema for editors.
"""

from durable.declarative.errors import (
    DocumentError,
    ExpressionError,
    FailStepError,
    HttpClientError,
    HttpServerError,
    HttpStatusError,
    HttpTooManyRequests,
    StepError,
    Timeout,
    ValidationError,
)
from durable.declarative.expressions import Limits
from durable.declarative.interpreter import Interpreter
from durable.declarative.plan import Plan
from durable.declarative.problems import Problem
from durable.declarative.registration import (
    compile_workflow,
    document_tags,
    register_workflow,
    workflow_definition,
)
from durable.declarative.schema import FORMAT_VERSION, KINDS, SCHEMA_ID, schema_text
from durable.declarative.validation import Validation, validate, validate_text

__all__ = [
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
