"""The group's news about its members: someone joined, a unit took an office."""

from __future__ import annotations

from html import escape

from bot.i18n import _
from bot.permissions import Role, role_name
from storage.models import Office

OFFICE_ROLES = {Office.CHAIR: Role.CHAIR, Office.VICE_CHAIR: Role.VICE_CHAIR}


def with_unit(role: str, unit_name: str | None) -> str:
    return role_name(role) + (f" — {escape(unit_name)}" if unit_name else "")


def joined(person_name: str, role: str, unit_name: str | None) -> str:
    return _("{person} joined as {role}.").format(person=escape(person_name), role=with_unit(role, unit_name))


def office_taken(office: Office, year: int, unit_name: str) -> str:
    return _("{role} of {year}: <b>{unit}</b>.").format(
        role=role_name(OFFICE_ROLES[office]), year=year, unit=escape(unit_name)
    )
