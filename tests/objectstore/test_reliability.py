"""The reliability trials on S3: racing promoters, many writers, kills, planted credentials.

Every worker is a separate process (forked), talking to the loopback S3 server over HTTP,
as workers on other machines would.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from s3server import BUCKET, CREDENTIALS
from torture_support import in_child, kill_after, registry_file, seeded, wait

import runrecord
from runrecord.objectstore import ObjectStore


def _bucket_objects(endpoint: str, prefix: str = "") -> dict[str, bytes]:
    """Every object of the test bucket under ``prefix``, read with boto3 (not runrecord)."""
    client = boto3.client("s3", endpoint_url=endpoint)
    objects: dict[str, bytes] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            objects[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return objects


def _promote_at(url: str, run_id: str, start: float, data: bytes, out: Path) -> None:
    store = ObjectStore(url)
    time.sleep(max(start - time.time(), 0))
    try:
        store.promote(run_id, data)
    except runrecord.RecordExistsError as exc:
        out.write_text(f"exists {exc.message}")
    else:
        out.write_text("won")


def test_two_processes_racing_to_promote_one_run_id_one_wins(s3_url: str, tmp_path: Path) -> None:
    store = ObjectStore(s3_url)
    rounds = 12
    for n in range(rounds):
        run_id = f"race.job-{n:03d}"
        start = time.time() + 0.5  # both children are forked and waiting by then
        outs = [tmp_path / f"{run_id}-{w}" for w in (0, 1)]
        pids = [
            in_child(_promote_at, s3_url, run_id, start, f"writer {w}\n".encode(), outs[w])
            for w in (0, 1)
        ]
        assert [wait(pid) for pid in pids] == [0, 0]
        said = [out.read_text() for out in outs]
        winners = [w for w in (0, 1) if said[w] == "won"]
        assert len(winners) == 1, said
        loser = said[1 - winners[0]]
        assert loser.startswith("exists a record of run"), loser
        assert store.record_path(run_id).read_bytes() == f"writer {winners[0]}\n".encode()


def _many_runs(registry: runrecord.Registry, worker: int, runs: int, ids: Path) -> None:
    made = []
    for i in range(runs):
        run_id = f"many.job-w{worker}-r{i:04d}"
        with (
            runrecord.run("many.job", registry=registry, run_id=run_id, command="t") as run,
            run.stage("extract") as stage,
        ):
            stage.count(records_seen=2, records_processed=2)
        made.append(run.run_id)
    ids.write_text("\n".join(made))


def _s3_registry(url: str, tmp_path: Path) -> runrecord.Registry:
    stages = ["extract", "transform", "load"]
    return runrecord.load_registry(registry_file(tmp_path, stages=stages, record_dir=url))


def test_eight_processes_a_hundred_runs_each_lose_and_duplicate_nothing(
    s3_url: str, tmp_path: Path
) -> None:
    workers, runs = 8, 100
    registry = _s3_registry(s3_url, tmp_path)
    pids = [in_child(_many_runs, registry, w, runs, tmp_path / f"ids-{w}") for w in range(workers)]
    assert [wait(pid) for pid in pids] == [0] * workers

    expected = {i for w in range(workers) for i in (tmp_path / f"ids-{w}").read_text().split()}
    store = runrecord.open_store(registry.record_location)
    paths = store.record_paths()
    names = [p.name.removesuffix(".run_record.json") for p in paths]
    assert len(expected) == workers * runs
    assert sorted(names) == sorted(expected)  # 0 lost, 0 duplicates
    invalid = [p for p in paths if not runrecord.validate_record(p, registry=registry).valid]
    assert invalid == []
    assert store.staged_run_ids() == []
    pointer = store.read_latest("many.job")
    assert pointer is not None
    assert (
        pointer.run_id
        == max(
            (runrecord.read_record(p) for p in paths), key=lambda r: (r.created_at, r.run_id)
        ).run_id
    )


def _pipeline(registry: runrecord.Registry, run_id: str, opened: Path | None = None) -> None:
    with runrecord.run("kill.job", registry=registry, run_id=run_id, command="t") as run:
        if opened is not None:
            opened.touch()  # the run's header is stored
        for name in ("extract", "transform", "load"):
            with run.stage(name) as stage:
                stage.count(records_seen=10, records_processed=9)
                stage.skip(1, "duplicate")


def test_kill_at_any_point_then_recover_leaves_one_record_per_run(
    s3_url: str, tmp_path: Path
) -> None:
    trials, rng = 30, seeded()
    registry = _s3_registry(s3_url, tmp_path)
    spans = []
    for n in range(3):
        start = time.monotonic()
        assert wait(in_child(_pipeline, registry, f"kill.job-calibration-{n}")) == 0
        spans.append(time.monotonic() - start)
    span = sorted(spans)[1] * 1.1

    store = runrecord.open_store(registry.record_location)
    before: dict[str, str] = {}
    for i in range(trials):
        run_id = f"kill.job-trial-{i:03d}"
        # Half the kills count from the fork, anywhere in the run (or before it opens); half
        # from the moment the run is opened, so that some land mid-run however long a
        # child takes to start (making an S3 client takes a varying part of a second).
        opened = tmp_path / f"{run_id}.opened" if i % 2 else None
        pid = in_child(_pipeline, registry, run_id, opened)
        if opened is not None:
            deadline = time.monotonic() + 30
            while not opened.exists() and time.monotonic() < deadline:
                time.sleep(0.001)
        code = kill_after(pid, rng.uniform(0, span))
        assert code in (0, -9), code
        if store.has_record(run_id):
            before[run_id] = "promoted"
        elif store.is_open(run_id):
            before[run_id] = "open"
        else:
            before[run_id] = "not opened"

    runrecord.recover(registry=registry, older_than=timedelta(0))

    phases = Counter(before.values())
    for run_id, phase in before.items():
        path = store.record_path(run_id)
        if phase == "not opened":
            assert not path.exists(), run_id
            continue
        record = runrecord.read_record(path, registry=registry)
        crashed = [e for e in record.errors if e.type == "crashed"]
        if phase == "promoted":
            assert (record.status, crashed) == ("success", []), run_id
        else:
            assert record.status == "error", run_id
            assert crashed, run_id
            assert record.completed_at is None, run_id
    assert store.staged_run_ids() == []
    assert phases["open"] > 0, phases  # the kills did land mid-run


def test_a_planted_credential_appears_in_no_stored_object(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_url = ("AKIAPLANTEDINURL0001", "planted/url+secret=k3y")
    prefix = f"credentials-{time.time_ns()}"
    url = f"s3://{quote(in_url[0])}:{quote(in_url[1], safe='')}@{BUCKET}/{prefix}"
    registry = _s3_registry(url, tmp_path)
    data = tmp_path / "orders.csv"
    data.write_text("id\n1\n")
    manifest = runrecord.build_manifest(data, artifact_family="orders", schema_version="1")
    runrecord.write_manifest(manifest, runrecord.manifest_path_for(data))

    with runrecord.run("secret.job", registry=registry, command=["etl", url]) as run:
        run.input("orders", data, artifact_family="orders")
        with run.stage("extract") as stage:
            stage.count(records_seen=1, records_processed=1)
            stage.warn("input_substituted", f"read from {url}", details={"store": url})
    with (
        pytest.raises(ConnectionError),
        runrecord.run("secret.job", registry=registry, command="etl") as failing,
        failing.stage("extract"),
    ):
        raise ConnectionError(f"lost {url} with key {CREDENTIALS['AWS_SECRET_ACCESS_KEY']}")
    runrecord.open_run("secret.job", registry=registry, config={"store": url}, detached=True)
    runrecord.recover(registry=registry, older_than=timedelta(0))

    objects = _bucket_objects(s3_endpoint, prefix)
    kinds = Counter(key.split("/")[1] if "/" in key else key for key in objects)
    assert kinds[".evidence"] >= 1, kinds  # the traceback was kept
    assert sum(k.endswith(".run_record.json") for k in kinds) == 3, kinds
    planted = [*in_url, quote(in_url[1], safe=""), *CREDENTIALS.values()]
    planted.remove(CREDENTIALS["AWS_DEFAULT_REGION"])
    leaks = [
        (key, secret)
        for key, body in objects.items()
        for secret in planted
        if secret.encode() in body
    ]
    assert leaks == []
    records = [json.loads(b) for k, b in objects.items() if k.endswith(".run_record.json")]
    assert all(r["run_record_version"] for r in records)
