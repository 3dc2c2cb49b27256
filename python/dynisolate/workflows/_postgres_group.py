"""The PostgreSQL store's group commit: what one group writes, and the statements that write it.

A group's rows reach the server as one `jsonb` parameter (`group_args`), a document of row arrays
that the statement unpacks (`json_rows`): one string costs the client far less than thirty typed
arrays, and the group commit runs while every run of the process waits for it. Structured clones
(bytes) travel as base64 text; floats as their shortest repr, which PostgreSQL reads back exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._pg_statement import Statement, columns, json_pair, json_rows
from ._store import StepRow

__all__ = [
    "COMMIT_GROUP",
    "LEASED",
    "RELEASE_WAITERS",
    "STEP_COLUMNS",
    "Release",
    "StepWrite",
    "group_args",
    "waiters_args",
]

# The statuses of an instance a run holds (leased to a worker).
LEASED = "status IN ('running', 'waitingForPause')"


@dataclass(slots=True)
class StepWrite:
    id: str
    generation: int
    step: StepRow
    event_seq: int | None


@dataclass(slots=True)
class Release:
    id: str
    generation: int
    status: str
    wake_at: float | None
    waiting_for: str | None
    output: str | bytes | None
    error: tuple[str, str] | None
    now: float


# A step's columns as stored (after its instance), with their SQL types, in `StepRow`'s order.
STEP_COLUMNS = (
    "key text, kind text, name text, count int, position int, concurrent bool, state text, attempts int, "
    "value text, value_clone bytea, error_name text, error_message text, wake_at float8, config text, "
    "started_at float8, ended_at float8"
)
# The columns of each kind of row in the document, in order, with their SQL types: a step's
# instance and the generation that fences it come before the step's own.
_STEP_COLUMNS = f"instance text, generation bigint, {STEP_COLUMNS}"
_EVENT_COLUMNS = "seq bigint, key text, instance text, generation bigint"
_RELEASE_COLUMNS = (
    "id text, generation bigint, status text, wake_at float8, waiting_for text, output text, "
    "output_clone bytea, error_name text, error_message text, now float8"
)


def _rows(part: str, spec: str, alias: str) -> str:
    """A FROM item: the rows under `part` of the document, named `alias`."""
    names, _ = columns(spec)
    source = f"$1::jsonb -> '{part}'"
    return f"({json_rows(source, spec)}) AS {alias}({', '.join(names)})"


_STORED_STEP, _ = columns(STEP_COLUMNS)
_RELEASE_SET = """status = CASE WHEN i.status = 'waitingForPause' AND r.status = 'waiting' THEN 'paused'
                  ELSE r.status END,
    waiting_for = r.waiting_for, output = r.output, output_clone = r.output_clone,
    error_name = r.error_name, error_message = r.error_message, owner = NULL, lease_until = NULL,
    updated_at = r.now, crashes = 0"""

# A group in one statement (one round trip, its own transaction): the instances its runs belong
# to locked in id order and read back current (looked up by id, their status tested apart: a
# filter on status would invite the planner to scan the partial indexes of every leased
# instance); the steps of runs that still hold their instance inserted, and their events marked
# consumed; the runs that end released, still fenced by their generation. Releases that wait for
# an event are not in it (`RELEASE_WAITERS`).
_COMMIT_GROUP_SQL = f"""WITH held AS (
        SELECT id, generation, status FROM instances
        WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb -> 'ids')))
        ORDER BY id FOR NO KEY UPDATE),
    written AS (
        INSERT INTO steps (instance, {", ".join(_STORED_STEP)})
        SELECT s.instance, {", ".join(f"s.{n}" for n in _STORED_STEP)}
        FROM {_rows("steps", _STEP_COLUMNS, "s")}
        JOIN held ON held.id = s.instance AND held.generation = s.generation AND held.{LEASED}
        ON CONFLICT (instance, key) DO UPDATE SET
            {", ".join(f"{n} = EXCLUDED.{n}" for n in _STORED_STEP[1:])}),
    consumed AS (
        UPDATE events SET consumed_by = c.key
        FROM {_rows("events", _EVENT_COLUMNS, "c")}
        JOIN held ON held.id = c.instance AND held.generation = c.generation AND held.{LEASED}
        WHERE events.seq = c.seq),
    released AS (
        UPDATE instances i SET {_RELEASE_SET}, wake_at = r.wake_at
        FROM {_rows("releases", _RELEASE_COLUMNS, "r")}
        JOIN held ON held.id = r.id AND held.generation = r.generation AND held.{LEASED}
        WHERE i.id = held.id
        RETURNING i.id, r.generation)
    SELECT 'held', id, generation, status FROM held WHERE {LEASED}
    UNION ALL SELECT 'released', id, generation, NULL FROM released"""

# Runs that end waiting for an event, after `COMMIT_GROUP` locked their instances, in the same
# transaction: this statement's snapshot is taken after the lock, so an event a sender committed
# while holding it is seen, and the instance wakes for it at once. (Instances again looked up by
# id, their status tested apart from the table's scan.)
_RELEASE_WAITERS_SQL = f"""WITH current AS MATERIALIZED (
        SELECT id, generation, status FROM instances
        WHERE id = ANY(ARRAY(SELECT x->>0 FROM jsonb_array_elements($1::jsonb -> 'releases') AS x)))
    UPDATE instances i SET {_RELEASE_SET},
        wake_at = CASE WHEN EXISTS (
                      SELECT 1 FROM events e WHERE e.instance = i.id AND e.consumed_by IS NULL
                          AND (e.type = r.waiting_for OR r.waiting_for = '*'))
                  THEN r.now ELSE r.wake_at END
    FROM {_rows("releases", _RELEASE_COLUMNS, "r")}
    JOIN current ON current.id = r.id AND current.generation = r.generation AND current.{LEASED}
    WHERE i.id = current.id
    RETURNING i.id, r.generation"""
COMMIT_GROUP = Statement(_COMMIT_GROUP_SQL, "json", "text text bigint text")
RELEASE_WAITERS = Statement(_RELEASE_WAITERS_SQL, "json", "text bigint")


def _storable(text: str | None) -> str | None:
    """Text a `text` column can hold. Tenant code can put NUL in an error's name or message, which
    PostgreSQL's text cannot hold: refused, it failed the whole group, and every run in it. It is
    stored as U+FFFD, the replacement character."""
    return text.replace("\x00", "\ufffd") if text is not None and "\x00" in text else text


def _step(w: StepWrite) -> list[Any]:
    s = w.step
    return [
        w.id, w.generation, s.key, s.kind, s.name, s.count, s.position, bool(s.concurrent), s.state,
        s.attempts, *json_pair(s.value), _storable(s.error_name), _storable(s.error_message), s.wake_at,
        s.config, s.started_at, s.ended_at,
    ]  # fmt: skip


def _release(r: Release) -> list[Any]:
    error_name, error_message = r.error or (None, None)
    return [
        r.id, r.generation, r.status, r.wake_at, r.waiting_for, *json_pair(r.output),
        _storable(error_name), _storable(error_message), r.now,
    ]  # fmt: skip


def group_args(steps: list[StepWrite], releases: list[Release]) -> list[str]:
    """The parameter of `COMMIT_GROUP`: one row per step key (a statement may not write a row
    twice; a later outcome of the same step replaces an earlier one)."""
    latest = list({(w.id, w.step.key): w for w in steps}.values())
    document = {
        "ids": sorted({w.id for w in latest} | {r.id for r in releases}),
        "steps": [_step(w) for w in latest],
        "events": [[w.event_seq, w.step.key, w.id, w.generation] for w in latest if w.event_seq is not None],
        "releases": [_release(r) for r in releases if r.waiting_for is None],
    }
    return [json.dumps(document, allow_nan=False)]


def waiters_args(releases: list[Release]) -> list[str]:
    """The parameter of `RELEASE_WAITERS`."""
    return [json.dumps({"releases": [_release(r) for r in releases]}, allow_nan=False)]
