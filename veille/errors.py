"""One exception hierarchy; each message is the French sentence a staff member reads."""

from __future__ import annotations


class VeilleError(Exception):
    """Base of every error veille reports to a person (CLI one-liner, web flash)."""


class NotFound(VeilleError):
    pass


class InvalidInput(VeilleError):
    pass


class InvalidTransition(VeilleError):
    """An edition or item cannot move to the requested status from where it is."""


class SourcesFileError(VeilleError):
    """A sources file is unreadable or a source in it is invalid."""

    def __init__(
        self, path: str, message: str, source: str | None = None, field: str | None = None
    ) -> None:
        self.path, self.source, self.field = path, source, field
        where = path
        if source:
            where += f", source « {source} »"
        if field:
            where += f", champ « {field} »"
        super().__init__(f"{where} : {message}")


class DeliveryError(VeilleError):
    pass
