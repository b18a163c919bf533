"""Property tests of what reads the text inside an uploaded BPMN: conditions in any language, and
element ids, names and references of any text in a small generated document. Any text gives a
value or the module's own refusal (UnsafeExpression, BpmnValidationError) with a plain message,
never another exception (once: an id holding '] broke a path in the analysis, a KeyError, a 500
on create and on the diff preview). Pure: no server."""

from __future__ import annotations

import ast

from hypothesis import example, given

from app.bpmn import BpmnValidationError, inspect_bpmn
from app.bpmn.diff import VersionDiff, diff_bpmn
from app.bpmn.expressions import UnsafeExpression, compile_condition, language_of, translate
from tests.support.factories import bpmn
from tests.support.strategies import EXPRESSIONS, FAST, LANGUAGES, documents, refused_plainly


@FAST
@given(EXPRESSIONS, LANGUAGES, LANGUAGES)
@example("-" * 1999 + "1", None, None)
@example("not " * 499 + "a", None, None)
@example("(" * 300 + "a" + ")" * 300, None, None)
def test_any_condition_text_compiles_or_is_refused(text: str, declared: str | None, default: str | None) -> None:
    language = language_of(text, declared, default)
    assert isinstance(language, str)
    try:
        tree = compile_condition(text, language)
    except UnsafeExpression as exc:
        refused_plainly(exc)
    else:
        assert isinstance(tree, ast.Expression)
        assert isinstance(translate(text, language), str)


@FAST
@given(documents())
def test_any_ids_names_and_texts_in_a_document_are_checked_or_refused(document: str) -> None:
    try:
        inspection = inspect_bpmn(document)
    except BpmnValidationError as exc:
        refused_plainly(exc)
        assert exc.problems is not None
    else:
        assert inspection.summary.processes
    try:
        compared = diff_bpmn(bpmn("user_task"), document)
    except BpmnValidationError as exc:
        refused_plainly(exc)
    else:
        assert isinstance(compared, VersionDiff)
        compared.to_dict()


def test_operators_nested_past_the_limit_are_refused_at_upload_not_failed_at_run_time() -> None:
    # Found by the property test of the evaluator: 1,999 minus signs passed the upload, and every
    # instance reaching the condition failed with Python's "maximum recursion depth exceeded".
    for text in ("-" * 1999 + "a", "not " * 499 + "a", "+".join(["a"] * 600)):
        try:
            compile_condition(text)
        except UnsafeExpression as exc:
            assert "too deeply nested" in str(exc)
        else:
            raise AssertionError(f"{text[:20]}… was accepted")
    compile_condition(" * ".join(["a"] * 450) + " > 0")  # a long product within the limit
