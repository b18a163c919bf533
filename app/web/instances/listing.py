"""The instance list's page parts, shared by the list (`/instances`) and a saved view (`/views/<id>`):
the filter read from a URL or a form, and the context the list's template renders."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from werkzeug.datastructures import MultiDict

from app.core.errors import InvalidInput
from app.lifecycle.states import INSTANCE_STATUSES
from app.services import bulk, display, element_names, variable_filters
from app.services.instance_listing import (
    SORTS,
    InstanceFilter,
    check_sort,
    cursor_argument,
    list_instances,
)
from app.web.access import current_actor

PAGE_SIZE = 50


def filters_from(source: MultiDict[str, str] | None = None) -> InstanceFilter:
    """The list's filter from its URL, or from a form carrying it."""
    return InstanceFilter.from_arguments(request.args if source is None else source)


MAP_PREFIX = "map."  # a mapping select's name: map.<old element id>, its value the target's element


def mapping_from(source: MultiDict[str, str]) -> dict[str, str]:
    """A migration's mapping selects from a form (an empty choice maps nothing)."""
    return {k[len(MAP_PREFIX) :]: v for k, v in source.items() if k.startswith(MAP_PREFIX) and v.strip()}


def bulk_parameters(source: MultiDict[str, str]) -> dict[str, Any] | None:
    """A bulk form's parameters (migrate's target version and mapping), None when it gives none."""
    version, mapping = (source.get("to_version") or "").strip(), mapping_from(source)
    return {"version": version or None, "mapping": mapping} if version or mapping else None


def filter_args(filters: InstanceFilter) -> dict[str, Any]:
    """The filter as URL arguments (the list's own), without its empty fields."""
    args = filters.as_dict()
    return {**args, "mine": "1"} if args.get("mine") is True else args


def filter_fields(filters: InstanceFilter) -> list[tuple[str, str]]:
    """The filter as the (name, value) fields of a form, for the forms that carry it on."""
    return [
        (name, str(item))
        for name, value in filter_args(filters).items()
        for item in (value if isinstance(value, list) else [value])
    ]


def shape_args(columns_text: str, sort: str | None) -> dict[str, str]:
    """The list's columns and order as URL arguments, without the defaults."""
    return {
        **({"columns": columns_text} if columns_text else {}),
        **({"sort": sort} if sort and sort != "newest" else {}),
    }


def list_context(
    filters: InstanceFilter | None = None,
    *,
    columns_text: str | None = None,
    sort: str | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """What instances/index.html renders; the columns and order default to the URL's. `problem`: a
    saved view's stored filter that no longer works, said instead of listing."""
    filters = filters or filters_from()
    columns_text = (request.args.get("columns") or "").strip() if columns_text is None else columns_text
    sort = request.args.get("sort") or None if sort is None else sort
    instances, polling, error = [], False, problem
    try:
        cursor_argument(request.args, paged=False)  # the page lists the newest; a cursor would be dropped
        sort = check_sort(sort)
        if problem is None:
            listing = list_instances(
                actor=current_actor(), filters=filters, per_page=PAGE_SIZE, with_total=False, sort=sort
            )
            instances, polling = listing.items, listing.polling
    except InvalidInput as exc:  # a bad filter, order or cursor: said next to the filter, nothing listed
        error, sort = exc.message, "newest"
    try:
        columns, columns_error = variable_filters.columns(columns_text), None
    except InvalidInput as exc:  # the rows are still listed, without the columns asked for
        columns, columns_error = (), exc.message
    shape = shape_args(columns_text, sort)
    return {
        "instances": instances,
        "columns": columns,
        "columns_text": columns_text,
        "cells": {i.id: [variable_filters.cell(i.variables, name) for name in columns] for i in instances},
        "empty_message": display.empty_list_message(filtered=bool(filters.as_dict()), error=error),
        "columns_error": columns_error,
        "var_rows": list(filters.variables) or [""],  # one input per condition; "+" adds one in the page
        "max_conditions": variable_filters.MAX_CONDITIONS,
        "status": filters.status or "",
        "workflow_filter": filters.workflow or "",
        "mine": filters.as_dict().get("mine") is True,
        "filter_error": error,
        "version_filter": filters.version or "",
        "activity_filter": filters.activity or "",
        "activity_choices": element_names.filter_choices(filters.workflow, filters.version, filters.activity),
        "older_than_filter": filters.older_than or "",
        "status_options": display.filter_options(INSTANCE_STATUSES, filters.status),
        "sort_options": [(value, label, value == sort) for value, label in SORTS.items()],
        "polling": polling,
        "filter_fields": filter_fields(filters),
        "save_fields": filter_fields(filters) + sorted(shape.items()),
        "rows_url": url_for("instances.rows", **filter_args(filters), **shape),
        "csv_url": url_for("instances.export_list", **filter_args(filters), **shape),
        "list_url": url_for("instances.index", **filter_args(filters), **shape),
        "bulk_actions": bulk.actions_for(current_actor()),
        "view": None,
    }
