"""Errors of the Airflow adapter: :class:`runrecord.ConfigError` subclasses with hints."""

from __future__ import annotations

from collections.abc import Sequence

from runrecord import ConfigError

__all__ = ["NotInTaskError", "StageMappingError"]


class NotInTaskError(ConfigError):
    """A task helper (``count``, ``input``, ``output``) was called outside a running task.

    Examples:
        >>> print(NotInTaskError("no running Airflow task"))
        no running Airflow task (hint: call runrecord_airflow helpers inside a task's body)
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="call runrecord_airflow helpers inside a task's body")


class StageMappingError(ConfigError):
    """Tasks that map to no stage of the registry.

    Examples:
        >>> print(StageMappingError("clean_rows", ["extract", "load"]).message)
        task 'clean_rows' maps to no stage of the registry's ['extract', 'load']
        >>> StageMappingError(["a", "b"], ["load"]).task_ids
        ['a', 'b']
    """

    def __init__(self, task_ids: str | Sequence[str], stages: Sequence[str]) -> None:
        self.task_ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        which = (
            f"task {self.task_ids[0]!r} maps"
            if len(self.task_ids) == 1
            else f"tasks {self.task_ids} map"
        )
        super().__init__(
            f"{which} to no stage of the registry's {list(stages)}",
            hint="name the task or its TaskGroup after a stage, or set the task param "
            "params={'runrecord_stage': '<stage>'}",
        )
