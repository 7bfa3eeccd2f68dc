"""Errors the rule layer raises to say "no" to a person.

A `Refusal` carries a message already in the user's language (the rule layer calls `_()`), and
the handler wrapper turns it into a reply. Nothing is saved when a refusal is raised: the
wrapper rolls the update's session back.
"""


class Refusal(Exception):
    """The person may not do this, or the input is not acceptable; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
