"""Inline keyboards that several handlers share: a paged list of units to pick from."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.callbacks import Button

PER_PAGE = 8
LABEL_MAX = 48


def label(text: str, limit: int = LABEL_MAX) -> str:
    """Button labels stay short on a phone; long unit names are cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pages(count: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-count // per_page))


def unit_picker(
    units: Sequence, page: int, pick: Callable[[int], Button], turn_to: Callable[[int], Button],
    per_page: int = PER_PAGE,
) -> InlineKeyboardMarkup:
    """One unit per row, each the button `pick(unit id)`; ◀ ▶ are `turn_to(page)`."""
    total = pages(len(units), per_page)
    page = min(max(page, 0), total - 1)
    rows = [
        [InlineKeyboardButton(label(u.name), callback_data=pick(u.id).pack())]
        for u in units[page * per_page : (page + 1) * per_page]
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=turn_to(page - 1).pack()))
    if total > 1:
        nav.append(InlineKeyboardButton(f"{page + 1}/{total}", callback_data=callbacks.NOOP))
    if page < total - 1:
        nav.append(InlineKeyboardButton("▶", callback_data=turn_to(page + 1).pack()))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)
