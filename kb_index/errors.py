"""Errors of the knowledge index; messages name the file, field or value at fault."""


class KnowledgeError(Exception):
    """Base class for knowledge-index errors."""


class ArticleError(KnowledgeError):
    """A knowledge article file is malformed (the message names the file and the problem)."""


class InvalidQuery(KnowledgeError):
    """A search request is unusable: empty, too long, bad parameters."""


class KnowledgeUnavailable(KnowledgeError):
    """The index or the search service cannot be reached or has no live version."""


class BuildError(KnowledgeError):
    """A build or update could not produce a verified version (the live index is unchanged)."""


class VersionNotFound(KnowledgeError):
    """A named index version does not exist (or there is no live version yet)."""
