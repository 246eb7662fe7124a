"""The gating sensor: stop the line when an upstream run record says ``error``.

Examples:
    >>> from runrecord_airflow import RunRecordSensor
    >>> gate = RunRecordSensor(task_id="gate", upstream="sales_daily", stage="extract")
    >>> gate.params["runrecord_stage"], gate.upstream
    ('extract', 'sales_daily')
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

import runrecord
from runrecord import ErrorType, Registry, Status
from runrecord_airflow._facts import STAGE_PARAM, fact_of, ident_of, registry_of
from runrecord_airflow._record import is_recorded, open_run

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["RunRecordSensor"]


class RunRecordSensor(BaseSensorOperator):
    """Wait for an upstream entrypoint's newest run record to pass the gate.

    Passes when the record's status is allowed; **fails at once** (``AirflowFailException``,
    no waiting out the timeout) when it is not, or when the record is invalid, writing this
    task's stage with an ``upstream_error`` so that the DAG run's record carries it; keeps
    poking while the upstream has no record yet. Works in ``poke`` and ``reschedule`` mode.

    Args:
        upstream: The upstream entrypoint id (its DAG id), or a run id.
        allowed: Statuses that let this DAG go on.
        stage: The stage this sensor records under (sets the task param
            ``runrecord_stage``); by default the usual mapping of the task id.
        registry: The project registry or its path; ``RUNRECORD_REGISTRY`` by default.
        **kwargs: ``BaseSensorOperator`` arguments (``mode``, ``poke_interval``,
            ``timeout``, ...).
    """

    template_fields = ("upstream",)

    def __init__(
        self,
        *,
        upstream: str,
        allowed: Collection[Status | str] = (Status.SUCCESS, Status.EMPTY_SUCCESS),
        stage: str | None = None,
        registry: Registry | str | os.PathLike[str] | None = None,
        **kwargs: Any,  # noqa: ANN401 - BaseSensorOperator's own arguments
    ) -> None:
        if stage is not None:
            kwargs["params"] = {**(kwargs.get("params") or {}), STAGE_PARAM: stage}
        super().__init__(**kwargs)
        self.upstream = upstream
        self.allowed = tuple(Status(s) for s in allowed)
        self.registry = registry

    def poke(self, context: Context) -> bool:
        """Check the upstream record once.

        Raises:
            AirflowFailException: The upstream record is invalid or its status is not
                allowed (this task's stage records ``upstream_error``).
        """
        reg = registry_of(self.registry)
        verdict = runrecord.check_upstream(self.upstream, registry=reg, allowed=self.allowed)
        if verdict.passed:
            self.log.info("runrecord gate passed: %s", verdict.reason)
            return True
        if verdict.path is None:  # no record yet (or the store is unreadable): wait
            self.log.info("runrecord gate waiting: %s", verdict.reason)
            return False
        self._record_refusal(context, reg, verdict)
        raise AirflowFailException(f"stop the line: {verdict.reason}")

    def _record_refusal(self, context: Context, reg: Registry, verdict: runrecord.Verdict) -> None:
        ti = context["ti"]
        fact = fact_of(ti, self, reg)
        if fact.stage is None or not is_recorded(self):
            return  # the DAG run's finalizer flags an unmapped task; an unrecorded run is not
        rid = open_run(ident_of(ti.dag_id, ti.run_id, context.get("dag_run")), reg)
        error = runrecord.error_object(
            ErrorType.UPSTREAM_ERROR,
            f"upstream {self.upstream!r} blocks this run: {verdict.reason}",
            stage=fact.stage,
            details={
                "upstream": self.upstream,
                "upstream_run_id": verdict.run_id,
                "upstream_status": verdict.status.value if verdict.status else None,
            },
            remediation_hint=f"fix and rerun the upstream {self.upstream!r}, then clear this task",
            evidence=[
                runrecord.EvidencePointer(kind=runrecord.EvidenceKind.FILE, path=str(verdict.path))
            ],
        )
        # Keyed like the failure callback's stage of this try: that one is not recorded again.
        runrecord.write_stage(
            rid,
            fact.stage,
            registry=reg,
            status="error",
            started_at=fact.start_date,
            errors=[error],
            node=fact.node,
            key=fact.key,
        )
