"""Element names: what a person reads where the engine says an element id (`wait_pay`): the name the
workflow's file gives it, with the id beside it, and the id alone when the file gives no name.

A version's file never changes, so its names are read once (the safe parse of app.bpmn) and kept in
this process by the file's digest; the pages, the API and the jobs that name elements ask here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from app.bpmn.names import flow_node_names
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.models import Workflow
from app.services.stored_files import PerFile
from app.services.workflows import version_number

CACHED_FILES = 512  # names of this many files are kept (a few KiB each): the versions people look at


@dataclass(frozen=True)
class ElementNames:
    """The flow nodes of one file (or of a workflow's versions): element id -> name ("" for none)."""

    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, element_id: str) -> str | None:
        """The element's name in the file, or None when it gives none (or has no such element)."""
        return self.names.get(element_id) or None

    def label(self, element_id: str) -> str:
        """What a person reads for the element: its name, else its id."""
        return self.name(element_id) or element_id

    def describe(self, element_id: str) -> str:
        """The element in plain text (a timeline entry, a button): `Name (id)`, or the id alone."""
        name = self.name(element_id)
        return f"{name} ({element_id})" if name else element_id

    def describe_all(self, element_ids: Iterable[str]) -> str:
        return ", ".join(self.describe(e) for e in element_ids)

    def names_of(self, element_ids: Sequence[str] | None) -> list[str | None]:
        """Each element's name, None where the file gives none: the API's list beside the ids."""
        return [self.name(e) for e in element_ids or ()]

    def choices(self, also: str | None = None) -> list[tuple[str, str]]:
        """(id, label) of every element, by label, for a select; `also` (an id asked for that the file
        does not hold, e.g. from an older link) is kept so the filter still shows what it filters."""
        found = sorted(self.names.items(), key=lambda item: ((item[1] or item[0]).casefold(), item[0]))
        choices = [(eid, f"{name} ({eid})" if name else eid) for eid, name in found]
        return choices + [(also, also)] if also and also not in self.names else choices


NO_NAMES = ElementNames()
_NAMES: PerFile[ElementNames] = PerFile(
    lambda root: NO_NAMES if root is None else ElementNames(flow_node_names(root)), CACHED_FILES
)


def names_of(workflow: Workflow) -> ElementNames:
    """The element names of one workflow version (ids are shown as they are for a file the safe
    parse refuses now); its file is read the first time only."""
    return _NAMES.of(workflow)


def filter_choices(workflow_name: str | None, version: int | str | None, chosen: str | None) -> list[tuple[str, str]]:
    """(id, label) of the elements the instance list's "at element" filter offers: those of the
    workflow filtered by (its version's when one is given), and the element chosen; only the chosen
    one without a workflow (element ids are a file's own) or with a version that is no number."""
    if not workflow_name:
        return [(chosen, chosen)] if chosen else []
    try:
        names = names_of_workflow(workflow_name, version)
    except InvalidInput:  # the list says why beside the filter
        names = NO_NAMES
    return names.choices(also=chosen)


def names_of_workflow(name: str, version: int | str | None = None) -> ElementNames:
    """The element names of a workflow's versions (one version's when `version` is given), the
    newest version's name winning where versions differ: what a filter by workflow offers."""
    query = select(Workflow).where(Workflow.name == name).order_by(Workflow.version)
    if version is not None:
        query = query.where(Workflow.version == version_number(version))
    merged: dict[str, str] = {}
    for workflow in db.session.scalars(query):
        for element_id, element_name in names_of(workflow).names.items():
            merged[element_id] = element_name or merged.get(element_id, "")
    return ElementNames(merged)
