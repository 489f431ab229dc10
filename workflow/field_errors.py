"""Domain errors of the growers' side (issue 7): farms and plots, field sensors, alerts and traceability.

Three families, so the admin API maps each once (:mod:`admin.errors`): something named does not exist (404),
input that cannot be accepted (422), and a request that conflicts with what is recorded (409).
"""

from __future__ import annotations

from workflow.exceptions import JuhaobanError


class FieldDataNotFound(JuhaobanError):
    """A plot, grower, device or batch named by the caller does not exist. Context names it."""

    code = "not_found"


class InvalidFieldData(JuhaobanError):
    """Input that cannot be accepted as given (a field missing or out of range). Context: ``field``, ``value``."""

    code = "invalid_field_data"


class FieldDataConflict(JuhaobanError):
    """The request conflicts with what is recorded (a request id reused for other content …)."""

    code = "conflict"


class FieldDataFileError(JuhaobanError):
    """A data file (``data/sensors/rules.yml``, ``data/trace/pesticides.yml``) is malformed.

    Context: ``file`` and ``entry`` (which rule or product, by position or id) and ``field``.
    """

    code = "field_data_file_error"
