"""One error tree for M&C.

Every error the library raises on purpose is a ``MandcError``; each subclass also inherits the
builtin a caller would naturally catch (``ValueError`` for bad input, ``LookupError`` for an
unknown name...), so ``except ValueError`` keeps working for people who do not know our tree.
"""

from __future__ import annotations


class MandcError(Exception):
    """Base class of every error M&C raises on purpose."""


class ConfigError(MandcError, ValueError):
    """A setting, argument or option combination that cannot work."""


class ValidationError(MandcError, ValueError):
    """Input data is malformed. Names the file, row and column when it knows them. ``given``:
    parts of the message, as written in it, that the user supplied (a typed id, an archive's
    entry name): anything hiding server paths in messages must show these as they are."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, given: tuple[str, ...] = ()):
        self.file, self.row, self.column, self.given = file, row, column, tuple(given)
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnknownNameError(MandcError, LookupError):
    """A registry name (method, featurizer, embedding...) that does not exist."""

    def __str__(self) -> str:  # LookupError's default repr-quotes the message; keep it readable
        return str(self.args[0]) if self.args else ""


class NotFittedError(MandcError, AttributeError):
    """An estimator was used before ``fit``."""


class DatasetLoadError(MandcError, OSError):
    """A target dataset could not be read (missing, unreadable, wrong layout, offline Hub)."""


class HubError(MandcError, ConnectionError):
    """The Hub could not be reached or refused the request."""


class MissingDependency(MandcError, ImportError):
    """An optional package is not installed; the message names the extra that brings it."""
