"""The back office's member search, shaped so that PostgreSQL answers it from indexes.

What a CX agent types (Django admin splits it into words; every part must match):

- member number: exact (its unique index);
- email (a word with ``@``): the whole address, case-insensitive (addresses are stored as
  entered), served by an index on ``UPPER(auth_user.email)``. The logins are looked up first
  and the members matched by ``user_id``: an ``OR`` across the member and auth_user tables
  could use neither table's indexes and would read the join of both;
- phone (a word of phone characters with at least ``PHONE_DIGITS_MIN`` digits, or a whole
  search of them such as ``090 1234 5678``): the digits anywhere in the stored number,
  whatever its punctuation — ``090-1234-5678``, ``09012345678`` and ``０９０１２３４５６７８``
  all find ``090-1234-5678``; a whole number is looked for without its trunk 0, so they also
  find ``+81 90-1234-5678``. Served by a trigram index on the number's digits (``PhoneDigits``);
- name or kana (the other words): the words together, spaces ignored on both sides, anywhere
  in the name or the kana, case-insensitive — ``山田 花子`` and ``山田花子`` both find
  ``山田 花子`` and ``山田　花子``; in either order, as a caller gives a name: ``花子 山田``
  finds ``山田 花子`` too (each order of up to ``NAME_ORDERS_WORDS_MAX`` words is one more
  index condition), and so does ``花子山田`` typed without the space (a word of at least
  ``NAME_ROTATION_MIN`` characters is also looked for turned at each of its characters,
  ``花子山田`` → ``山田花子``: the split is unknown); kana typed in hiragana (``やまだ はなこ``,
  what a Japanese IME gives before conversion) finds the katakana it is stored in;
- a number the caller reads out from a page or an email (an exchange or order number, with or
  without its prefix: ``KQWRTZMP`` for ``EX-KQWRTZMP``): the back office passes
  ``number_lookups``, functions from a word to the ids of the members it belongs to (the
  exchange and order tables are above this app; their ``number`` indexes answer), and a word
  they know matches those members. Served by trigram indexes on ``UPPER(name)`` and
  ``UPPER(name_kana)`` without their spaces. Taken together, a full name of two two-kanji
  words is four characters the index can use; word by word (Django's way) neither word has
  the three characters a trigram needs and PostgreSQL would read every member.

Every alternative is an index condition, so PostgreSQL combines them (``BitmapOr``) instead
of reading the table. What the trigram indexes cannot serve: a name or kana of one or two
characters (``林``, ``モリ``), which still reads every member (docs/admin.md). Only
PostgreSQL gets the indexes (``TrigramIndex``); SQLite runs the same search unindexed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from itertools import permutations

from django.contrib.auth import get_user_model
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.db.models.functions import Replace, Upper
from django.utils.text import smart_split, unescape_string_literal

PHONE_DIGITS_MIN = 4  # "090" would match half the members; the last four digits are what callers quote
PHONE_WORD = re.compile(r"\+?[0-9()\-‐‑–—―−ー.\s]+")  # after NFKC: full-width digits and hyphens are ASCII
NATIONAL_NUMBER_MIN = 10  # a whole number with its trunk 0 (Japan: 10 or 11 digits), not "0123" (last four)
EMAIL_MATCHES_MAX = 20  # logins sharing one address, case aside
NAME_ORDERS_WORDS_MAX = 3  # 3 words: 6 orders; more words are matched as typed and reversed
# A name typed without its space is turned at each character: 花子山田 → 山田花子. Not below 4
# characters (山田 would also find 田山, a different family) nor above 10 (one condition each).
NAME_ROTATION_MIN = 4
NAME_ROTATION_MAX = 10
HIRAGANA_TO_KATAKANA = str.maketrans({chr(code): chr(code + 0x60) for code in [*range(0x3041, 0x3097), 0x309D, 0x309E]})


class PhoneDigits(Func):
    """The digits of a phone number, as text: ``090-1234-5678`` → ``09012345678``.

    On PostgreSQL full-width digits count too; the expression is immutable, so it can be
    indexed (``member_phone_digits_trgm_idx``) and the search's ``LIKE`` matches the index.
    SQLite (development) drops the usual separators only.
    """

    template = "regexp_replace(translate(%(expressions)s, '０１２３４５６７８９', '0123456789'), '[^0-9]+', '', 'g')"
    arity = 1
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        template = "%(expressions)s"
        for separator in ["-", " ", "(", ")", "+", ".", "‐", "－", "ー", "　"]:
            template = f"REPLACE({template}, '{separator}', '')"
        return self.as_sql(compiler, connection, template=template, **extra_context)


class TrigramIndex(GinIndex):
    """A pg_trgm GIN index on one expression (``gin_trgm_ops``), for ``LIKE '%…%'``.

    PostgreSQL only: on any other database creating or dropping it does nothing, so SQLite
    keeps migrating (Django would otherwise send SQLite ``CREATE INDEX … USING gin``).
    """

    def __init__(self, expression, *, name: str):
        super().__init__(OpClass(expression, name="gin_trgm_ops"), name=name)

    def deconstruct(self):
        path, _, kwargs = super().deconstruct()
        return path, [self.expressions[0].source_expressions[0]], {"name": kwargs["name"]}

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return ""
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model, schema_editor, **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return ""
        return super().remove_sql(model, schema_editor, **kwargs)


def spaces_removed(field: str) -> Replace:
    """The field without its half- and full-width spaces: ``山田　花子`` → ``山田花子``."""
    return Replace(Replace(F(field), Value(" ")), Value("　"))


def member_search_indexes() -> list[TrigramIndex]:
    """``Member.Meta.indexes``: what the name, kana and phone searches read on PostgreSQL.

    ``icontains`` compares ``UPPER(expression)``: the indexes are on exactly that."""
    return [
        TrigramIndex(Upper(spaces_removed("name")), name="member_name_trgm_idx"),
        TrigramIndex(Upper(spaces_removed("name_kana")), name="member_name_kana_trgm_idx"),
        TrigramIndex(PhoneDigits("phone"), name="member_phone_digits_trgm_idx"),
    ]


def search_words(term: str) -> Iterator[str]:
    """The words of a search, split the way Django admin splits them (quotes keep spaces)."""
    for word in smart_split(term):
        if word.startswith(('"', "'")) and word[0] == word[-1]:
            word = unescape_string_literal(word)
        if word:
            yield word


def phone_digits(word: str) -> str | None:
    """The digits to look for in phone numbers, or None when ``word`` is not a phone number."""
    word = unicodedata.normalize("NFKC", word)
    if not PHONE_WORD.fullmatch(word):
        return None
    digits = re.sub(r"[^0-9]", "", word)
    if len(digits) >= NATIONAL_NUMBER_MIN and digits.startswith("0"):
        digits = digits[1:]  # the trunk 0: "090-1234-5678" also finds "+81 90-1234-5678"
    return digits if len(digits) >= PHONE_DIGITS_MIN else None


def members_search(
    queryset: QuerySet, term: str, *, number_lookups: Iterable[Callable[[str], list[int]]] = ()
) -> QuerySet:
    """The members of ``queryset`` that match ``term`` as described above.

    ``number_lookups``: for a word with a digit or a hyphen that is not a phone number or email, each is
    asked for the member ids the word is a number of (an exchange, an order); when one knows
    it, the word matches those members (or the member number) instead of a name."""
    queryset = queryset.alias(
        phone_digits=PhoneDigits("phone"),
        name_compact=spaces_removed("name"),
        name_kana_compact=spaces_removed("name_kana"),
    )
    words = list(search_words(term))
    if len(words) > 1 and phone_digits(" ".join(words)):
        words = [" ".join(words)]  # "090 1234 5678" is one phone number, not three words
    name_words = []
    for word in words:
        typed = unicodedata.normalize("NFKC", word)  # full-width digits and letters from a Japanese IME
        if "@" in typed:
            queryset = queryset.filter(Q(member_number=typed) | _email_match(typed))
        elif digits := phone_digits(word):
            queryset = queryset.filter(Q(member_number=typed) | Q(phone_digits__contains=digits))
        elif member_ids := _numbered(typed, number_lookups):
            queryset = queryset.filter(Q(member_number=typed) | Q(pk__in=member_ids))
        else:
            name_words.append(word)
    if name_words:
        match = Q(pk__in=[])
        for name in _name_orders(name_words):
            match |= Q(name_compact__icontains=name)
            match |= Q(name_kana_compact__icontains=katakana(name))
        if len(name_words) == 1:
            match |= Q(member_number=unicodedata.normalize("NFKC", name_words[0]))
        queryset = queryset.filter(match)
    return queryset


def katakana(text: str) -> str:
    """Kana as the member table stores it: full-width katakana (``やまだ``, ``ﾔﾏﾀﾞ`` → ``ヤマダ``)."""
    return unicodedata.normalize("NFKC", text).translate(HIRAGANA_TO_KATAKANA)


def _name_orders(words: list[str]) -> list[str]:
    """The name as typed and in its other orders (``花子 山田`` → ``花子山田``, ``山田花子``); one
    word without a space, turned at each character (``花子山田`` → ``山田花子``, …)."""
    words = ["".join(word.split()) for word in words]
    if len(words) == 1 and NAME_ROTATION_MIN <= len(words[0]) <= NAME_ROTATION_MAX:
        word = words[0]
        return [word[i:] + word[:i] for i in range(len(word))]
    orders = permutations(words) if len(words) <= NAME_ORDERS_WORDS_MAX else [words, words[::-1]]
    return list(dict.fromkeys("".join(order) for order in orders))


def _numbered(word: str, lookups: Iterable[Callable[[str], list[int]]]) -> list[int]:
    """Numbers have a digit or a hyphen (``EX-KQWRTZMP`` may have no digit at all), or are Latin
    letters and digits read out without their prefix (``KQWRTZMP``): each lookup decides."""
    if not (any(char.isdigit() or char == "-" for char in word) or (word.isascii() and word.isalnum())):
        return []
    return sorted({member_id for lookup in lookups for member_id in lookup(word)})


def _email_match(email: str) -> Q:
    user_ids = list(
        get_user_model().objects.filter(email__iexact=email).values_list("pk", flat=True)[:EMAIL_MATCHES_MAX]
    )
    return Q(user_id__in=user_ids) if user_ids else Q(pk__in=[])
