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
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

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


class Instances:
    """``model.from_db(DEFAULT_DB_ALIAS, columns, values)`` for the rows of a compiled query that reads
    every concrete field of ``model`` in order: the ledger's lots and entries, a subscription and
    its items, the member and the market.

    ``Model.__init__`` walks the fields and sends ``pre_init``/``post_init`` for each instance
    (4–6 µs a lot or an entry here, against 1.5 µs so; home builds up to forty, docs/performance.md).
    Where nothing can tell the difference, an instance is made as that loop would leave it: the
    values in its ``__dict__`` and a loaded ``_state``. Anything that could — a receiver of either
    signal, a field whose descriptor runs code on assignment (a file, a custom descriptor), an overridden
    ``__init__`` or ``from_db``, other columns — gets ``from_db`` itself.
    """

    def __init__(self, model: type[Model], columns: list[str]):
        attnames = [field.attname for field in model._meta.concrete_fields]
        plain = all(type(getattr(model, name, None)) in _PLAIN_DESCRIPTORS for name in attnames)
        own = model.__init__ is not Model.__init__ or model.from_db.__func__ is not Model.from_db.__func__
        self._model, self._columns = model, list(columns)
        self._fast = plain and not own and self._columns == attnames

    def one(self, values) -> Model:
        return self.many([values])[0]

    def many(self, rows) -> list[Model]:
        model = self._model
        if not self._fast or pre_init.has_listeners(model) or post_init.has_listeners(model):
            return [model.from_db(DEFAULT_DB_ALIAS, self._columns, values) for values in rows]
        columns, new = self._columns, model.__new__
        instances = []
        for values in rows:
            instance = new(model)
            instance.__dict__.update(zip(columns, values, strict=True))
            state = instance._state = ModelState()
            state.adding, state.db = False, DEFAULT_DB_ALIAS
            instances.append(instance)
        return instances


# The descriptors Django gives a concrete field's attname that only store the value assigned
# (a foreign key's clears a cached related object, which a new instance does not have).
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def columns(model, *names: str) -> str:
    """The database columns of ``model``'s fields ``names``, comma-separated, for SQL written by
    hand next to the ORM (the placing request's set-based writes)."""
    return ", ".join(model._meta.get_field(name).column for name in names)


class CompiledInsert:
    """``Model.objects.create(...)`` for a row every placing writes, as one INSERT … RETURNING
    whose text is built once per process.

    ``save(obj)`` writes a new, unsaved instance the way ``Model.save()`` inserts it: the same
    columns, each value from the field's ``pre_save`` (defaults, ``auto_now_add``) and
    ``get_db_prep_save``, the primary key read back. What it leaves out is the model save's
    machinery around the INSERT (signals, which this project does not use, and the query
    building). A database that cannot return the key from an INSERT gets ``obj.save()``.
    """

    def __init__(self, model):
        self._model = model
        self._compiled: tuple | None = None

    def save(self, obj):
        if obj.pk is not None or not obj._state.adding:
            raise ValueError(f"{obj!r}: CompiledInsert writes new rows whose key the database gives")
        connection = connections[DEFAULT_DB_ALIAS]
        if not connection.features.can_return_columns_from_insert:
            obj.save(force_insert=True, using=DEFAULT_DB_ALIAS)
            return obj
        compiled = self._compiled
        if compiled is None or compiled[0] != connection.vendor:
            compiled = self._compiled = self._compile(connection)
        _vendor, sql, fields = compiled
        obj._prepare_related_fields_for_save(operation_name="save")
        parameters = [field.get_db_prep_save(field.pre_save(obj, True), connection=connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            (pk,) = cursor.fetchone()
        meta = self._model._meta
        setattr(obj, meta.pk.attname, meta.pk.to_python(pk))
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
        return obj

    def _compile(self, connection) -> tuple:
        meta = self._model._meta
        if meta.parents:
            raise ValueError(f"{self._model.__name__}: multi-table inheritance is not supported")
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field and not field.generated]
        quote = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(
            quote(meta.db_table),
            ", ".join(quote(field.column) for field in fields),
            ", ".join(["%s"] * len(fields)),
            quote(meta.pk.column),
        )
        return connection.vendor, sql, tuple(fields)
