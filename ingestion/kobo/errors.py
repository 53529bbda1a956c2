"""Errors raised by the KoBo library.

Every message names what was being read (file, field, asset), what is wrong and how to fix it,
and never contains an answer value, a token or the salt: messages reach logs and the Dagster UI.
"""

from __future__ import annotations


class KoboError(RuntimeError):
    """Base class: nothing was landed for the source unit that raised it."""


class KoboContractError(KoboError, ValueError):
    """A KoBo contract is invalid; the message names the file, the field and the fix."""


class KoboExportError(KoboError):
    """An export file cannot be read as the contract describes it (separator, language, meta columns)."""


class KoboFormMismatchError(KoboError):
    """The form definition contradicts the contract (e.g. a select_multiple became select_one)."""


class PiiSaltMissingError(KoboError):
    """Real KoBo data without ``PII_SALT``: respondent identifiers cannot be hashed, so nothing lands."""


class KoboApiError(KoboError):
    """The KoBo API could not give a usable answer; the message says for what and why."""


class KoboAuthError(KoboApiError):
    """The KoBo API refused the token (HTTP 401/403). The token itself is never part of the message."""


class KoboAssetChangedError(KoboApiError):
    """The asset's submission count changed while paging, so the pages do not form one snapshot."""
