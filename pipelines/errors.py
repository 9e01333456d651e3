"""The error a user sees when a source definition, or a file it points at, is unusable."""


class SourceError(ValueError):
    """A source definition or a file it points at is unusable; the message says where and why."""


class SchemaDriftError(SourceError):
    """A required column is missing or renamed: the load must fail, naming the column and the file."""
