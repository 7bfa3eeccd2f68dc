"""Messages the bot starts by itself, queued as outbox rows in the caller's transaction.

Every notice to a group, a chair, a unit's representatives or the secretariat goes through
here, never straight to Telegram: the row commits with the change it is about (or not at all),
and the sender (`bot/services/outbox.py`) delivers it within Telegram's limits, retries what
Telegram refused for a while and tells the administrators what it cannot deliver.

Each call names the *event* with a key; the same event queued twice (a scheduler run repeated
by a second instance, a retried transaction) sends one message. A recipient's key is the
event's key plus the chat, so one event reaches each person once.

Text is composed by a `render` callable, called once per recipient inside that recipient's
language (`use_locale`), so a notice to five people in two languages is five texts.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.i18n import fallback_locale, pick_locale, use_locale
from storage import outbox as store
from storage.models import Cluster, OutboxKind, Person, RecipientKind


@dataclass(frozen=True)
class Note:
    """One message's content: Telegram HTML and, if any, its buttons."""

    text: str
    markup: InlineKeyboardMarkup | None = None

    def payload(self) -> dict:
        payload: dict = {"text": self.text}
        if self.markup is not None:
            payload["markup"] = self.markup.to_dict()
        return payload


Render = Callable[[], "Note | str"]

_identity: dict[str, str | None] = {"username": None}


def set_bot_username(username: str | None) -> None:
    """Set at start (`bot.app.post_init`): notices name the bot's commands as `/x@bot` in groups."""
    _identity["username"] = username


def bot_username() -> str | None:
    return _identity["username"]


def _note(value: Note | str) -> Note:
    return value if isinstance(value, Note) else Note(value)


def person_locale(person: Person) -> str:
    return pick_locale(person.locale, person.language_code, fallback_locale())


def group_locale(cluster: Cluster) -> str:
    return cluster.locale or fallback_locale()


async def to_group(session: AsyncSession, cluster: Cluster, key: str, render: Render) -> bool:
    """Queue a message to the cluster's group; False when it has no group or `key` was queued."""
    if cluster.telegram_chat_id is None:
        return False
    with use_locale(group_locale(cluster)):
        note = _note(render())
    return await store.enqueue(session, chat_id=cluster.telegram_chat_id, key=f"{key}:group",
                               payload=note.payload(), recipient=RecipientKind.GROUP,
                               cluster_id=cluster.id)  # fmt: skip


def _chat_row(chat_id: int, locale: str, key: str, render: Render, cluster_id: int | None) -> dict:
    """The outbox row (`store.enqueue`'s arguments) of a message to a chat, rendered in `locale`."""
    with use_locale(locale):
        note = _note(render())
    return {"chat_id": chat_id, "key": f"{key}:chat:{chat_id}", "payload": note.payload(),
            "recipient": RecipientKind.GROUP, "cluster_id": cluster_id}  # fmt: skip


async def to_chat(session: AsyncSession, chat_id: int, locale: str, key: str, render: Render, *,
                  cluster_id: int | None) -> bool:  # fmt: skip
    """Queue a message to a group chat other than the cluster's own (the secretariat's chat),
    in `locale`; False when `key` was queued for it before."""
    return await store.enqueue(session, **_chat_row(chat_id, locale, key, render, cluster_id))


def _person_rows(people: Iterable[Person], key: str, payload: Callable[[], dict], kind: OutboxKind,
                 cluster_id: int | None, not_before: datetime | None = None) -> Iterator[dict]:  # fmt: skip
    """One outbox row (`store.enqueue`'s arguments) per person (once each), its payload built
    in the person's language."""
    seen = set()
    for person in people:
        if person.id in seen:
            continue
        seen.add(person.id)
        with use_locale(person_locale(person)):
            built = payload()
        yield {"chat_id": person.telegram_user_id, "key": f"{key}:to:{person.telegram_user_id}", "payload": built,
               "recipient": RecipientKind.PERSON, "cluster_id": cluster_id, "kind": kind, "not_before": not_before}  # fmt: skip


async def _each_person(session: AsyncSession, people: Iterable[Person], key: str, payload: Callable[[], dict],
                       kind: OutboxKind, cluster_id: int | None, not_before: datetime | None = None) -> int:  # fmt: skip
    """One row per person (once each), one statement each: the number queued now."""
    queued = 0
    for row in _person_rows(people, key, payload, kind, cluster_id, not_before):
        queued += await store.enqueue(session, **row)
    return queued


def _message(render: Render) -> Callable[[], dict]:
    return lambda: _note(render()).payload()


async def to_people(session: AsyncSession, people: Iterable[Person], key: str, render: Render,
                    *, cluster_id: int | None, not_before: datetime | None = None) -> int:  # fmt: skip
    """Queue a private message to each person (once each), in their own language; the number
    queued now. `not_before`: due then (default now), for the sender's own clock."""
    return await _each_person(session, people, key, _message(render), OutboxKind.MESSAGE, cluster_id, not_before)


class Batch:
    """Messages collected, then queued together (`flush`): what `to_people` and `to_chat`
    queue, the same rows and keys, but a round of many messages (the digest: one to each
    secretariat member of a thousand clusters) costs a statement per `store.CHUNK` rows
    instead of one per message. Each text is rendered when collected, in its reader's language."""

    def __init__(self) -> None:
        self._rows: list[dict] = []

    def people(self, people: Iterable[Person], key: str, render: Render, *, cluster_id: int | None,
               not_before: datetime | None = None) -> list[str]:  # fmt: skip
        """Collect a private message to each person (once each); the rows' keys."""
        rows = list(_person_rows(people, key, _message(render), OutboxKind.MESSAGE, cluster_id, not_before))
        self._rows += rows
        return [row["key"] for row in rows]

    def chat(self, chat_id: int, locale: str, key: str, render: Render, *, cluster_id: int | None) -> None:
        self._rows.append(_chat_row(chat_id, locale, key, render, cluster_id))

    async def flush(self, session: AsyncSession) -> int:
        """Queue what was collected; the number of messages queued now (a key queued before
        adds nothing, as with `to_people`)."""
        return len(await self.flush_keys(session))

    async def flush_keys(self, session: AsyncSession) -> set[str]:
        """`flush`, returning the keys queued now."""
        rows, self._rows = self._rows, []
        return await store.enqueue_many_keys(session, rows)


async def live_in_group(session: AsyncSession, cluster: Cluster, live_key: str, render: Render) -> bool:
    """Post or update the group's live message `live_key` (the signing board): sent the
    first time, edited afterwards, and only the latest content goes when several are queued."""
    if cluster.telegram_chat_id is None:
        return False
    with use_locale(group_locale(cluster)):
        note = _note(render())
    await store.enqueue_live(session, chat_id=cluster.telegram_chat_id, live_key=live_key,
                             payload=note.payload(), recipient=RecipientKind.GROUP,
                             cluster_id=cluster.id)  # fmt: skip
    return True


async def edit_in_group(session: AsyncSession, cluster: Cluster, live_key: str, message_id: int,
                        render: Render) -> bool:  # fmt: skip
    """Bring a message the bot posted in the group as a reply (the set-up message) up to date
    from elsewhere (a private chat): an outbox edit of that message, latest content only."""
    if cluster.telegram_chat_id is None:
        return False
    with use_locale(group_locale(cluster)):
        note = _note(render())
    await store.enqueue_live(session, chat_id=cluster.telegram_chat_id, live_key=live_key, message_id=message_id,
                             payload=note.payload(), recipient=RecipientKind.GROUP, cluster_id=cluster.id)  # fmt: skip
    return True


@dataclass(frozen=True)
class Document:
    data: bytes
    filename: str

    def payload(self, caption: str | None) -> dict:
        payload = {"document": base64.b64encode(self.data).decode("ascii"), "filename": self.filename}
        if caption:
            payload["caption"] = caption
        return payload


async def document_to_group(session: AsyncSession, cluster: Cluster, key: str, document: Document,
                            caption: Callable[[], str] | None = None) -> bool:  # fmt: skip
    if cluster.telegram_chat_id is None:
        return False
    with use_locale(group_locale(cluster)):
        text = caption() if caption else None
    return await store.enqueue(session, chat_id=cluster.telegram_chat_id, key=f"{key}:group",
                               payload=document.payload(text), recipient=RecipientKind.GROUP,
                               cluster_id=cluster.id, kind=OutboxKind.DOCUMENT)  # fmt: skip


async def document_to_people(session: AsyncSession, people: Iterable[Person], key: str, document: Document,
                             caption: Callable[[], str] | None = None, *, cluster_id: int | None) -> int:  # fmt: skip
    return await _each_person(session, people, key, lambda: document.payload(caption() if caption else None),
                              OutboxKind.DOCUMENT, cluster_id)  # fmt: skip
