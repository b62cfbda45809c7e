"""Japanese is the default: every message is translated and the committed .mo matches the .po."""

import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "ja" / "LC_MESSAGES"


def po_entries() -> list[tuple[str, str]]:
    """(msgid, msgstr or msgstr[0]) of the Japanese catalogue, header left out."""

    def joined(block: str, keyword: str) -> str | None:
        match = re.search(rf"^{re.escape(keyword)} ((?:\".*\"\n?)+)", block, flags=re.M)
        if match is None:
            return None
        return "".join(re.findall(r'"(.*)"', match.group(1))).replace('\\"', '"').replace("\\n", "\n")

    entries = []
    for block in (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n")[1:]:
        msgid = joined(block, "msgid")
        msgstr = joined(block, "msgstr") if joined(block, "msgstr") is not None else joined(block, "msgstr[0]")
        if msgid:
            entries.append((msgid, msgstr))
    return entries


def test_every_message_has_a_japanese_translation():
    untranslated = [msgid for msgid, msgstr in po_entries() if not msgstr]
    assert untranslated == []
    assert "#, fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n", 1)[1]


def test_the_committed_mo_is_compiled_from_the_po():
    with (LOCALE / "django.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)._catalog
    for msgid, msgstr in po_entries():
        compiled = catalogue.get(msgid, catalogue.get((msgid, 0)))
        assert compiled == msgstr, f"{msgid!r}: run ./dev manage compilemessages -l ja"


def test_the_guides_labels_are_used():
    translations = dict(po_entries())
    assert translations["Subscription rewards"] == "定期購入特典"
    assert translations["Exchange rewards"] == "交換特典"
    assert translations["Apply now"] == "今すぐ申し込む"
    assert translations["Save"] == "セーブ"
    assert translations["Build your custom bundle"] == "カスタムバンドルを構築"
    assert translations["Continue"] == "続行"
    assert translations["Save changes"] == "変更を保存"
    assert translations["Thank you"] == "お疲れ様でした"
    assert translations["Subscription rewards exchange fee"] == "定期購入特典交換手数料"
