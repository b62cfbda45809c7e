"""The ORM's SQL for a query every member page runs, compiled once per process.

Building and compiling a queryset (cloning, resolving lookups and joins, ``as_sql``) costs
more CPU than PostgreSQL spends answering these small indexed queries (docs/performance.md).
``CompiledQuery`` builds the queryset once with placeholder values, keeps the SQL the ORM
generated and where the placeholders went, and runs that SQL with each call's values, with
the ORM's own converters. The SQL stays the ORM's: change the queryset, not SQL.

Only for ``values_list`` querysets whose varying values are plain parameters (ids, instants),
each given as a keyword: a value that is not found among the compiled parameters is an error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

# Values no page ever asks for, to find where each keyword's value lands among the parameters.
PLACEHOLDER_ID = -918_273_645
PLACEHOLDER_AT = dt.datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=dt.UTC)
PLACEHOLDER_KEY = "compiled-query-placeholder-key"
PLACEHOLDER_UUID = uuid.UUID("00000000-0000-4000-8000-00000000c0de")


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass(frozen=True)
class _Compiled:
    vendor: str
    sql: str
    parameters: tuple  # constants of the query, or the _Slot of a keyword
    compiler: Any
    converters: dict


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], **placeholders):
        self._build = build
        self._placeholders = placeholders
        self._compiled: _Compiled | None = None

    def rows(self, **values) -> list[tuple]:
        connection = connections[DEFAULT_DB_ALIAS]
        compiled = self._compiled
        if compiled is None or compiled.vendor != connection.vendor:
            compiled = self._compiled = self._compile(connection)
        parameters = [
            _adapt(connection, values[slot.name]) if isinstance(slot, _Slot) else slot for slot in compiled.parameters
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, parameters)
            rows = cursor.fetchall()
        if compiled.converters:
            return [tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)]
        return rows

    def _compile(self, connection) -> _Compiled:
        queryset = self._build(**self._placeholders)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, parameters = compiler.as_sql()
        adapted = {name: _adapt(connection, value) for name, value in self._placeholders.items()}
        slots = []
        for parameter in parameters:
            names = [name for name, value in adapted.items() if type(parameter) is type(value) and parameter == value]
            slots.append(_Slot(names[0]) if names else parameter)
        found = {slot.name for slot in slots if isinstance(slot, _Slot)}
        if found != set(self._placeholders):
            raise ValueError(f"placeholders not among the query's parameters: {set(self._placeholders) - found}")
        converters = compiler.get_converters([column[0] for column in compiler.select[0 : compiler.col_count]])
        return _Compiled(connection.vendor, sql, tuple(slots), compiler, converters)


def _adapt(connection, value):
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, uuid.UUID) and not connection.features.has_native_uuid_field:
        return value.hex  # what UUIDField.get_db_prep_value sends
    return value
