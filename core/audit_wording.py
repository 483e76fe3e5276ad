"""How the audit trail reads: "Sam Seller accepted lead Jane Doe (Acme)", with a link to the lead.

Each app declares its actions' wording beside the code that records them (``action(...)`` returns the action
name to pass to ``record``) and the kinds of object it records (``object_kind``). Wording is looked up when
the trail is shown, so better words apply to old events too; the object's name was stored at write time.
An action nobody declared still reads, in developer words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from core.models import AuditEvent

Details = Callable[[Mapping[str, Any], Callable[[Any], str]], str]


@dataclass(frozen=True)
class ActionWording:
    verb: str
    details: str | Details = ""
    users: tuple[str, ...] = ()  # keys of ``data`` that hold user ids, shown as names


@dataclass(frozen=True)
class ObjectKind:
    noun: str
    url_name: str = ""  # a URL name that takes the object's id (as its one argument)


_ACTIONS: dict[str, ActionWording] = {}
_OBJECTS: dict[str, ObjectKind] = {}


def action(name: str, *, verb: str, details: str | Details = "", users: Iterable[str] = ()) -> str:
    """Declare how an action reads: ``verb`` follows the actor, ``details`` (a format string over the
    event's data, or a function of the data and a user-namer) follows the object. Returns ``name``."""
    _ACTIONS[name] = ActionWording(verb=verb, details=details, users=tuple(users))
    return name


def object_kind(label_lower: str, *, noun: str, url_name: str = "") -> None:
    """Declare how a model is named in the trail ("lead") and the page an event links to (none: no link,
    e.g. for objects whose page the managers cannot see)."""
    _OBJECTS[label_lower] = ObjectKind(noun=noun, url_name=url_name)


@dataclass
class Sentence:
    event: AuditEvent
    actor: str  # empty: the system did it
    verb: str
    noun: str = ""
    label: str = ""
    url: str = ""
    details: str = ""
    extra: list[tuple[str, str]] = field(default_factory=list)  # undeclared data, as key and value


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "—"


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _user_names(events: list[AuditEvent]) -> dict[int, str]:
    """Names of every user an event's data refers to: one query for the page (none if no event does)."""
    ids = set()
    for event in events:
        wording = _ACTIONS.get(event.action)
        for key in wording.users if wording else ():
            value = event.data.get(key) if isinstance(event.data, dict) else None
            if isinstance(value, int) and not isinstance(value, bool):
                ids.add(value)
    if not ids:
        return {}
    users = get_user_model().objects.filter(pk__in=ids).only("pk", "username", "first_name", "last_name")
    return {user.pk: user.get_full_name() or user.username for user in users}


def _url(kind: ObjectKind | None, object_id: str) -> str:
    if kind is None or not kind.url_name or not (object_id.isascii() and object_id.isdigit()):
        return ""
    try:
        return reverse(kind.url_name, args=[int(object_id)])
    except NoReverseMatch:
        return ""


def sentences(events: Iterable[AuditEvent]) -> list[Sentence]:
    """The events in plain words. Events carry their actor (``select_related``); users named in the data
    cost one query for the whole page."""
    events = list(events)
    names = _user_names(events)

    def name_of(user_id: Any) -> str:
        if user_id is None:
            return "nobody (the unassigned queue)"
        return names.get(user_id, f"user #{user_id}")

    out = []
    for event in events:
        wording = _ACTIONS.get(event.action)
        kind = _OBJECTS.get(event.object_type)
        data = event.data if isinstance(event.data, dict) else {}
        sentence = Sentence(
            event=event,
            actor=(event.actor.get_full_name() or event.actor.username) if event.actor else "",
            verb=wording.verb if wording else event.action,
            noun=kind.noun if kind else event.object_type,
            label=event.object_label or (f"#{event.object_id}" if event.object_id else ""),
            url=_url(kind, event.object_id),
        )
        if wording is None:
            sentence.extra = [(str(key), _text(value)) for key, value in data.items()]
        elif callable(wording.details):
            sentence.details = wording.details(data, name_of)
        elif wording.details:
            values = _Blank({key: _text(value) for key, value in data.items()})
            values.update({key: name_of(data.get(key)) for key in wording.users})
            sentence.details = wording.details.format_map(values)
        out.append(sentence)
    return out
