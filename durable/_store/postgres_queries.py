"""Every SQL statement the PostgreSQL store runs, as named queries, and the row layout.

The schema itself (DDL and migrations) lives in `postgres_schema`; this module
holds the statements `PostgresStore` runs against it. Each names its tables as
``{schema}.table``; `Statements` fills in the store's (quoted) schema once per
text, so no query depends on ``search_path`` (which poolers such as PgBouncer
do not keep). Conventions:

- Times are BIGINT microseconds since the epoch in UTC, as in the SQLite
  store, rather than ``timestamptz``: the encoding and `Rows` are shared with
  SQLite, every comparison is an integer comparison, and values come back as
  exactly the aware-UTC datetimes that went in, whatever the session's
  ``TimeZone`` (``timestamptz`` would come back in the session's zone, and
  would read a naive datetime in it). To read one in ``psql``:
  ``to_timestamp(visible_at / 1e6)``.
- JSON columns are TEXT holding the converter's output, not ``jsonb``: the
  store never looks inside a payload, ``jsonb`` would reorder keys and drop
  duplicate ones, and TEXT keeps the exact text every other store keeps (key
  order, big integers, float spelling) with no parsing on either side.
  ``event::jsonb`` still works in ad hoc queries.
- Parameters are named (``%(instance_id)s``); the store passes dicts. Arrays
  (``= ANY(%(ids)s::text[])``, ``unnest``) turn many rows into one statement.
- A lease is held while ``lock_token IS NOT NULL``; it has expired once
  ``locked_until <= %(now)s``. Expired leases are left in place and simply
  overwritten by the next take, so a stale holder's token never matches again.
- Work is taken with ``FOR UPDATE SKIP LOCKED``: concurrent takers never wait
  for each other, and never take the same row.
- Transactions that lock several instance rows lock them in one statement, in
  ``instance_id`` order (``COLLATE "C"``), so they cannot deadlock each other;
  instance rows are always locked before task rows.
- What a transaction writes once its rows are locked is one statement of
  data-modifying CTEs, ending in the ``pg_notify`` that wakes other workers
  at commit: four round trips (BEGIN, lock and read, write, COMMIT) however
  much an episode writes.
- `instance_filter` is the one place where SQL is assembled at run time, and
  it only joins fixed fragments: every value goes in as a parameter.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from durable._model.status import RuntimeStatus
from durable._store.protocol import ActivityWorkItem, EpisodeCommit
from durable._store.sqlite_queries import Rows as _SQLiteRows
from durable._store.sqlite_queries import from_us, to_us

__all__ = [
    "APPLY_EPISODE",
    "CLAIM_INSTANCE",
    "COMPLETE_TASK",
    "CREATE_INSTANCE",
    "DELETE_HISTORY",
    "DELETE_INSTANCES",
    "DELETE_INSTANCES_HISTORY",
    "DELETE_INSTANCES_MESSAGES",
    "DELETE_INSTANCES_TASKS",
    "INSERT_INSTANCE",
    "LOCK_EPISODE",
    "LOCK_INSTANCE",
    "NEXT_DUE",
    "NOTIFY",
    "RELEASE_TASK",
    "RENEW_TASK",
    "REOPEN_INSTANCE",
    "SELECT_HISTORY",
    "SELECT_INSTANCE",
    "SELECT_WORK",
    "SEND_MESSAGE",
    "SHARE_INSTANCE",
    "TAKE_ACTIVITIES",
    "TAKE_ORCHESTRATION",
    "UNLOCK_INSTANCE",
    "Rows",
    "Statements",
    "from_us",
    "instance_filter",
    "lock_candidates",
    "quote_identifier",
    "select_instances",
    "to_us",
]

# -- instances -----------------------------------------------------------------

_INSTANCE_COLUMNS = """
    instance_id, name, version, status, input, output, failure, custom_status, waiting,
    created_at, last_updated_at, completed_at, scheduled_start, parent_instance_id,
    execution_id
"""

_INSTANCE_VALUES = """
    %(instance_id)s, %(name)s, %(version)s, %(status)s, %(input)s, %(output)s, %(failure)s,
    %(custom_status)s, %(waiting)s, %(created_at)s, %(last_updated_at)s, %(completed_at)s,
    %(scheduled_start)s, %(parent_instance_id)s, %(execution_id)s
"""

SELECT_INSTANCE = (
    f"SELECT {_INSTANCE_COLUMNS} FROM {{schema}}.instances WHERE instance_id = %(instance_id)s"
)

# One instance row, locked for a change (create, purge); no row, no lock.
LOCK_INSTANCE = """
    SELECT status FROM {schema}.instances WHERE instance_id = %(instance_id)s FOR UPDATE
"""

# One instance row, kept from finishing while a message is delivered to it.
SHARE_INSTANCE = """
    SELECT status FROM {schema}.instances WHERE instance_id = %(instance_id)s FOR SHARE
"""

INSERT_INSTANCE = (
    f"INSERT INTO {{schema}}.instances ({_INSTANCE_COLUMNS}) VALUES ({_INSTANCE_VALUES})"
)

# A new instance with its ExecutionStarted message, and a wake-up call.
CREATE_INSTANCE = f"""
    WITH instance AS (
        INSERT INTO {{schema}}.instances ({_INSTANCE_COLUMNS}) VALUES ({_INSTANCE_VALUES})
    ), start AS (
        INSERT INTO {{schema}}.messages (instance_id, visible_at, execution_id, event)
        VALUES (%(instance_id)s, %(visible_at)s, %(execution_id)s, %(event)s)
    )
    SELECT pg_notify(%(channel)s, %(payload)s)
"""

# Lock the instance whose oldest visible message became visible first, among
# those nobody holds an unexpired lease on, and return its row. SKIP LOCKED:
# an instance another transaction is taking or changing right now is passed
# over, never waited for.
TAKE_ORCHESTRATION = f"""
    UPDATE {{schema}}.instances
    SET lock_token = %(lock_token)s, locked_until = %(locked_until)s
    WHERE instance_id = (
        SELECT i.instance_id
        FROM {{schema}}.messages AS m
        JOIN {{schema}}.instances AS i ON i.instance_id = m.instance_id
        WHERE m.visible_at <= %(now)s AND (i.lock_token IS NULL OR i.locked_until <= %(now)s)
        ORDER BY m.visible_at, m.id
        LIMIT 1
        FOR UPDATE OF i SKIP LOCKED
    )
    RETURNING {_INSTANCE_COLUMNS}
"""

# Lock an instance already row-locked by this transaction if nobody holds an
# unexpired lease on it (a continuation, see `Store.complete_activity`).
CLAIM_INSTANCE = f"""
    UPDATE {{schema}}.instances
    SET lock_token = %(lock_token)s, locked_until = %(locked_until)s
    WHERE instance_id = %(instance_id)s AND (lock_token IS NULL OR locked_until <= %(now)s)
    RETURNING {_INSTANCE_COLUMNS}
"""

# The visible messages of a taken instance, each with the length of its
# history. A statement of its own after the take, so that its snapshot holds
# every commit that finished before the lease was taken.
SELECT_WORK = """
    SELECT
        id, instance_id, visible_at, execution_id, event,
        (SELECT COALESCE(MAX(position) + 1, 0) FROM {schema}.history
         WHERE instance_id = %(instance_id)s) AS history_length
    FROM {schema}.messages
    WHERE instance_id = %(instance_id)s AND visible_at <= %(now)s
    ORDER BY id
"""

# Release a lease still held with this token, and wake the other workers.
UNLOCK_INSTANCE = """
    WITH released AS (
        UPDATE {schema}.instances SET lock_token = NULL, locked_until = NULL
        WHERE instance_id = %(instance_id)s AND lock_token = %(lock_token)s
        RETURNING instance_id
    )
    SELECT pg_notify(%(channel)s, %(payload)s) FROM released
"""

# A FAILED instance (locked by the caller) back to PENDING, with its ExecutionRewound
# for the current execution, its activity tasks deleted (results from before the
# rewind are then dropped), and a wake-up call; any other row is left as it is.
REOPEN_INSTANCE = """
    WITH reopened AS (
        UPDATE {schema}.instances SET
            status = %(pending)s, output = %(output)s, failure = NULL, completed_at = NULL,
            last_updated_at = %(last_updated_at)s
        WHERE instance_id = %(instance_id)s AND status = %(failed)s
        RETURNING instance_id, execution_id
    ), rewound AS (
        INSERT INTO {schema}.messages (instance_id, visible_at, execution_id, event)
        SELECT instance_id, %(visible_at)s, execution_id, %(event)s FROM reopened
    ), dropped AS (
        DELETE FROM {schema}.activity_tasks
        WHERE instance_id IN (SELECT instance_id FROM reopened)
    )
    SELECT pg_notify(%(channel)s, %(payload)s) FROM reopened
"""

DELETE_INSTANCES = (
    "DELETE FROM {schema}.instances WHERE instance_id = ANY(%(instance_ids)s::text[])"
)

DELETE_INSTANCES_HISTORY = (
    "DELETE FROM {schema}.history WHERE instance_id = ANY(%(instance_ids)s::text[])"
)

DELETE_INSTANCES_MESSAGES = (
    "DELETE FROM {schema}.messages WHERE instance_id = ANY(%(instance_ids)s::text[])"
)

DELETE_INSTANCES_TASKS = (
    "DELETE FROM {schema}.activity_tasks WHERE instance_id = ANY(%(instance_ids)s::text[])"
)

# -- history -------------------------------------------------------------------

# An empty result means no such instance; a single NULL event, an empty history.
SELECT_HISTORY = """
    SELECT h.event
    FROM {schema}.instances AS i
    LEFT JOIN {schema}.history AS h ON h.instance_id = i.instance_id
    WHERE i.instance_id = %(instance_id)s
    ORDER BY h.position
"""

DELETE_HISTORY = "DELETE FROM {schema}.history WHERE instance_id = %(instance_id)s"

# -- episodes ------------------------------------------------------------------

# Every instance an episode commit touches, locked in one statement in id
# order (two commits touching the same instances cannot deadlock), with the
# committing instance's history length. Positions run 0, 1, 2, ... so the
# length is one past the last: an index seek, not a count. The length is
# exact whenever the lease check passes: only the lease holder appends to a
# history, and the take that made this the holder committed before this
# statement's snapshot was taken.
LOCK_EPISODE = """
    SELECT
        instance_id, status, lock_token,
        (SELECT COALESCE(MAX(position) + 1, 0) FROM {schema}.history
         WHERE instance_id = %(instance_id)s) AS history_length
    FROM {schema}.instances
    WHERE instance_id = ANY(%(instance_ids)s::text[])
    ORDER BY instance_id
    FOR UPDATE
"""

# The rest of an episode commit in one statement, once the rows are locked:
# consumed (or, with clear_inbox, all) messages of the instance deleted,
# events appended from %(start)s, tasks and messages inserted (ids drawn in
# array order), the row updated and unlocked, and the other workers woken.
# Tasks given a lock token are leased to the committer (their attempt counted);
# their ids come back in array order.
# Sub-statements share one snapshot: the deletes never see the rows the
# inserts add, so the instance's own new messages survive clear_inbox.
APPLY_EPISODE = """
    WITH consumed AS (
        DELETE FROM {schema}.messages
        WHERE instance_id = %(instance_id)s
          AND (%(clear_inbox)s OR id = ANY(%(consumed)s::bigint[]))
    ), appended AS (
        INSERT INTO {schema}.history (instance_id, position, event)
        SELECT %(instance_id)s, %(start)s + e.n - 1, e.event
        FROM unnest(%(events)s::text[]) WITH ORDINALITY AS e(event, n)
    ), scheduled AS (
        INSERT INTO {schema}.activity_tasks (
            instance_id, execution_id, seq, name, input, visible_at,
            lock_token, locked_until, attempt
        )
        SELECT * FROM unnest(
            %(task_instance_ids)s::text[], %(task_execution_ids)s::text[],
            %(task_seqs)s::bigint[], %(task_names)s::text[], %(task_inputs)s::text[],
            %(task_visible_ats)s::bigint[], %(task_lock_tokens)s::text[],
            %(task_locked_untils)s::bigint[], %(task_attempts)s::bigint[]
        )
        RETURNING id, lock_token
    ), delivered AS (
        INSERT INTO {schema}.messages (instance_id, visible_at, execution_id, event)
        SELECT * FROM unnest(
            %(message_instance_ids)s::text[], %(message_visible_ats)s::bigint[],
            %(message_execution_ids)s::text[], %(message_events)s::text[]
        )
    ), updated AS (
        UPDATE {schema}.instances SET
            status = %(status)s, input = COALESCE(%(input)s, input), output = %(output)s,
            failure = %(failure)s, custom_status = %(custom_status)s, waiting = %(waiting)s,
            execution_id = %(execution_id)s, completed_at = %(completed_at)s,
            last_updated_at = %(last_updated_at)s, lock_token = NULL, locked_until = NULL
        WHERE instance_id = %(instance_id)s
    )
    SELECT
        (SELECT array_agg(id ORDER BY id) FROM scheduled WHERE lock_token IS NOT NULL)
            AS leased_ids,
        pg_notify(%(channel)s, %(payload)s)
"""

# -- messages ------------------------------------------------------------------

# A client's message to an instance (locked by SHARE_INSTANCE), and a wake-up call.
SEND_MESSAGE = """
    WITH sent AS (
        INSERT INTO {schema}.messages (instance_id, visible_at, execution_id, event)
        VALUES (%(instance_id)s, %(visible_at)s, %(execution_id)s, %(event)s)
    )
    SELECT pg_notify(%(channel)s, %(payload)s)
"""

NOTIFY = "SELECT pg_notify(%(channel)s, %(payload)s)"

# -- activity tasks ------------------------------------------------------------

_TASK_COLUMNS = "id, instance_id, execution_id, seq, name, input, visible_at, attempt"

# Lease the oldest visible tasks that nobody holds an unexpired lease on, up to
# %(limit)s, each with its own token (the n-th of %(lock_tokens)s in pick order);
# the returned attempt counts this take.
TAKE_ACTIVITIES = f"""
    WITH picked AS (
        SELECT id, row_number() OVER (ORDER BY visible_at, id) AS n
        FROM (
            SELECT id, visible_at FROM {{schema}}.activity_tasks
            WHERE visible_at <= %(now)s AND (lock_token IS NULL OR locked_until <= %(now)s)
            ORDER BY visible_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ) AS oldest
    )
    UPDATE {{schema}}.activity_tasks AS t
    SET lock_token = (%(lock_tokens)s::text[])[picked.n::int], locked_until = %(locked_until)s,
        attempt = t.attempt + 1
    FROM picked
    WHERE t.id = picked.id
    RETURNING {", ".join(f"t.{column.strip()}" for column in _TASK_COLUMNS.split(","))},
        t.lock_token, picked.n
"""

RENEW_TASK = """
    UPDATE {schema}.activity_tasks SET locked_until = %(locked_until)s
    WHERE id = %(id)s AND lock_token = %(lock_token)s
"""

# Give a lease back, visible at once, and wake the other workers.
RELEASE_TASK = """
    WITH released AS (
        UPDATE {schema}.activity_tasks
        SET lock_token = NULL, locked_until = NULL, visible_at = %(now)s
        WHERE id = %(id)s AND lock_token = %(lock_token)s
        RETURNING id
    )
    SELECT pg_notify(%(channel)s, %(payload)s) FROM released
"""

# Delete a task and, if it was still there and %(deliver)s (its instance, locked
# by SHARE_INSTANCE, takes messages), deliver its result and wake the workers.
COMPLETE_TASK = """
    WITH deleted AS (
        DELETE FROM {schema}.activity_tasks WHERE id = %(id)s RETURNING id
    ), delivered AS (
        INSERT INTO {schema}.messages (instance_id, visible_at, execution_id, event)
        SELECT %(instance_id)s, %(visible_at)s, %(execution_id)s, %(event)s
        FROM deleted WHERE %(deliver)s
        RETURNING id
    )
    SELECT pg_notify(%(channel)s, %(payload)s) FROM delivered
"""

# -- next_due ------------------------------------------------------------------
# Four small subqueries, each served by an index, instead of one MIN over a
# CASE that would scan every row; LEAST skips the NULLs of those with no answer.

NEXT_DUE = """
    SELECT LEAST(
        (SELECT m.visible_at
         FROM {schema}.messages AS m JOIN {schema}.instances AS i ON i.instance_id = m.instance_id
         WHERE i.lock_token IS NULL
         ORDER BY m.visible_at, m.id
         LIMIT 1),
        (SELECT MIN(GREATEST(i.locked_until, first.visible_at))
         FROM {schema}.instances AS i
         JOIN LATERAL (
             SELECT MIN(m.visible_at) AS visible_at FROM {schema}.messages AS m
             WHERE m.instance_id = i.instance_id
         ) AS first ON first.visible_at IS NOT NULL
         WHERE i.lock_token IS NOT NULL),
        (SELECT visible_at FROM {schema}.activity_tasks WHERE lock_token IS NULL
         ORDER BY visible_at, id
         LIMIT 1),
        (SELECT MIN(locked_until) FROM {schema}.activity_tasks WHERE lock_token IS NOT NULL)
    )
"""

# -- listing and purging -------------------------------------------------------


def instance_filter(
    *,
    statuses: Collection[str] | None,
    name: str | None,
    created_from: int | None,
    created_to: int | None,
    id_prefix: str | None,
) -> tuple[str, dict[str, object]]:
    """A WHERE clause (without the keyword) and its parameters for an instance query.

    `statuses` is None for any status; an empty collection matches nothing.
    The id prefix is compared with ``starts_with``, not LIKE, which would treat
    ``%`` and ``_`` as wildcards.
    """
    clauses: list[str] = ["TRUE"]
    params: dict[str, object] = {}
    if statuses is not None:
        clauses.append("status = ANY(%(statuses)s::text[])" if statuses else "FALSE")
        params["statuses"] = sorted(statuses)
    if name is not None:
        clauses.append("name = %(name)s")
        params["name"] = name
    if created_from is not None:
        clauses.append("created_at >= %(created_from)s")
        params["created_from"] = created_from
    if created_to is not None:
        clauses.append("created_at < %(created_to)s")
        params["created_to"] = created_to
    if id_prefix:
        clauses.append("starts_with(instance_id, %(id_prefix)s)")
        params["id_prefix"] = id_prefix
    return " AND ".join(clauses), params


def select_instances(where: str, *, after: bool) -> str:
    """One page of instances: `where` from `instance_filter`, keyset-paged.

    With `after`, only rows strictly after ``(%(after_created_at)s, %(after_id)s)``.
    The caller passes ``%(limit)s`` as the page size plus one, to learn whether
    another page follows.
    """
    keyset = (
        " AND (created_at, instance_id) > (%(after_created_at)s, %(after_id)s)" if after else ""
    )
    return f"""
        SELECT {_INSTANCE_COLUMNS} FROM {{schema}}.instances
        WHERE {where}{keyset}
        ORDER BY created_at, instance_id
        LIMIT %(limit)s
    """


def lock_candidates(where: str) -> str:
    """Lock and return the ids of the instances matching `where`, in id order.

    The caller restricts `where` (from `instance_filter`) to finished statuses;
    a row that changed while this waited for its lock is checked again.
    """
    return f"""
        SELECT instance_id FROM {{schema}}.instances WHERE {where}
        ORDER BY instance_id
        FOR UPDATE
    """


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Statements:
    """The statements of this module with one schema filled in, each made once.

    Call it with a query of this module (or one `select_instances` built) to
    get the text to execute.
    """

    def __init__(self, schema: str) -> None:
        self._schema = quote_identifier(schema)
        self._texts: dict[str, str] = {}

    def __call__(self, template: str) -> str:
        text = self._texts.get(template)
        if text is None:
            text = self._texts[template] = template.replace("{schema}", self._schema)
        return text


# -- the row layout ------------------------------------------------------------


class Rows(_SQLiteRows):
    """Model values to statement parameters and rows back: the SQLite layout, in PostgreSQL.

    Both stores keep the same columns in the same encodings (microsecond
    integers, the converter's JSON text), so only what differs is here.
    """

    def filter(
        self,
        statuses: Collection[RuntimeStatus] | None,
        *,
        name: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        id_prefix: str | None,
    ) -> tuple[str, dict[str, object]]:
        """`instance_filter` for model values."""
        return instance_filter(
            statuses=None if statuses is None else {status.value for status in statuses},
            name=name,
            created_from=None if created_from is None else to_us(created_from),
            created_to=None if created_to is None else to_us(created_to),
            id_prefix=id_prefix,
        )

    def to_activity(self, row: Any, *, lock_token: str, locked_until: datetime) -> ActivityWorkItem:
        """The work item of a row returned by `TAKE_ACTIVITIES` (its attempt already counted)."""
        return ActivityWorkItem(
            id=row["id"],
            instance_id=row["instance_id"],
            execution_id=row["execution_id"],
            seq=row["seq"],
            name=row["name"],
            input=self._converter.loads(row["input"]),
            attempt=row["attempt"],
            lock_token=lock_token,
            locked_until=locked_until,
        )

    def apply_episode(
        self,
        instance_id: str,
        commit: EpisodeCommit,
        *,
        start: int,
        events: list[str],
        tasks: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        leases: list[tuple[str, int]],
    ) -> dict[str, Any]:
        """Parameters of `APPLY_EPISODE` (without the wake-up's channel and payload).

        `tasks` and `messages` are rows made by `task` and `message`; the first
        tasks are leased with `leases` (lock token, locked until in microseconds).
        """
        unleased: list[tuple[str | None, int | None]] = [(None, None)] * (len(tasks) - len(leases))
        locks = [*leases, *unleased]
        return {
            **self.episode(instance_id, commit),
            "clear_inbox": commit.clear_inbox,
            "consumed": list(commit.consumed),
            "start": start,
            "events": events,
            "task_instance_ids": [row["instance_id"] for row in tasks],
            "task_execution_ids": [row["execution_id"] for row in tasks],
            "task_seqs": [row["seq"] for row in tasks],
            "task_names": [row["name"] for row in tasks],
            "task_inputs": [row["input"] for row in tasks],
            "task_visible_ats": [row["visible_at"] for row in tasks],
            "task_lock_tokens": [token for token, _ in locks],
            "task_locked_untils": [until for _, until in locks],
            "task_attempts": [0 if token is None else 1 for token, _ in locks],
            "message_instance_ids": [row["instance_id"] for row in messages],
            "message_visible_ats": [row["visible_at"] for row in messages],
            "message_execution_ids": [row["execution_id"] for row in messages],
            "message_events": [row["event"] for row in messages],
        }
