"""One vocabulary for the `status` of every search document: codes, and their labels from one dictionary.

Documents carry codes (never labels); facets name them with `status_labels()`. The workflow's
states come first; a tool adds the codes of its own records with `Tool.status_labels`. A code means
one thing everywhere: a tool that gives a known code another label is refused (`check_vocabulary`),
so `status=closed` and its facet read the same across work items, citizen reports and tools.
"""

from __future__ import annotations

from app.registry import current_registry

# Statuses shared by several tools' records (not workflow states).
COMMON_STATUS_LABELS: dict[str, str] = {"active": "进行中", "ended": "已结束"}


class VocabularyConflict(ValueError):
    pass


def _sources():
    from app.services.workflow.states import STATES

    yield "workflow", STATES
    yield "search", COMMON_STATUS_LABELS
    for tool in current_registry():
        yield tool.code, dict(getattr(tool, "status_labels", None) or {})


def check_vocabulary() -> dict[str, str]:
    """The merged dictionary, or VocabularyConflict naming the code two sources label differently."""
    labels: dict[str, str] = {}
    owner: dict[str, str] = {}
    for source, entries in _sources():
        for code, label in entries.items():
            if code in labels and labels[code] != label:
                raise VocabularyConflict(f"status {code!r} is {labels[code]!r} in {owner[code]} but {label!r} "
                                         f"in {source}: reuse the code with its label, or choose another code")
            labels.setdefault(code, label)
            owner.setdefault(code, source)
    return labels


def status_labels() -> dict[str, str]:
    return check_vocabulary()
