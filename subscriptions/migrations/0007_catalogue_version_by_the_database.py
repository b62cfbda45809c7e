"""The database gives a market a new catalogue version whenever one of its products is written,
however it is written (subscriptions/catalogue.py): a per-process copy of the products can then
never be older than the database for longer than the request that read the version.

- Any INSERT, UPDATE or DELETE of a product updates its market's row (old and new market).
- Any UPDATE of a market row sets a new random version: an old version is never written back
  (a market saved from an instance read earlier), and no two states of the catalogue share one,
  whatever was restored or rolled back.
"""

from django.db import migrations

POSTGRESQL = [
    (
        """
        CREATE FUNCTION subscriptions_market_version_new() RETURNS trigger AS $$
        BEGIN
            NEW.catalogue_version := floor(random() * 4e18)::bigint;
            RETURN NEW;
        END $$ LANGUAGE plpgsql
        """,
        "DROP FUNCTION subscriptions_market_version_new()",
    ),
    (
        """
        CREATE TRIGGER subscriptions_market_version_new BEFORE UPDATE ON subscriptions_market
        FOR EACH ROW EXECUTE FUNCTION subscriptions_market_version_new()
        """,
        "DROP TRIGGER subscriptions_market_version_new ON subscriptions_market",
    ),
    (
        """
        CREATE FUNCTION subscriptions_product_catalogue_changed() RETURNS trigger AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE subscriptions_market SET catalogue_version = 0 WHERE id = OLD.market_id;
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.market_id <> OLD.market_id) THEN
                UPDATE subscriptions_market SET catalogue_version = 0 WHERE id = NEW.market_id;
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """,
        "DROP FUNCTION subscriptions_product_catalogue_changed()",
    ),
    (
        """
        CREATE TRIGGER subscriptions_product_catalogue_changed
        AFTER INSERT OR UPDATE OR DELETE ON subscriptions_product
        FOR EACH ROW EXECUTE FUNCTION subscriptions_product_catalogue_changed()
        """,
        "DROP TRIGGER subscriptions_product_catalogue_changed ON subscriptions_product",
    ),
]

# SQLite: an AFTER trigger sets the market's new version (recursive triggers are off by default,
# so that UPDATE does not fire it again).
SQLITE = [
    (
        """
        CREATE TRIGGER subscriptions_market_version_new AFTER UPDATE ON subscriptions_market
        FOR EACH ROW BEGIN
            UPDATE subscriptions_market SET catalogue_version = abs(random() % 4000000000000000000)
            WHERE id = NEW.id;
        END
        """,
        "DROP TRIGGER subscriptions_market_version_new",
    ),
    (
        """
        CREATE TRIGGER subscriptions_product_inserted AFTER INSERT ON subscriptions_product
        FOR EACH ROW BEGIN
            UPDATE subscriptions_market SET catalogue_version = 0 WHERE id = NEW.market_id;
        END
        """,
        "DROP TRIGGER subscriptions_product_inserted",
    ),
    (
        """
        CREATE TRIGGER subscriptions_product_updated AFTER UPDATE ON subscriptions_product
        FOR EACH ROW BEGIN
            UPDATE subscriptions_market SET catalogue_version = 0 WHERE id IN (OLD.market_id, NEW.market_id);
        END
        """,
        "DROP TRIGGER subscriptions_product_updated",
    ),
    (
        """
        CREATE TRIGGER subscriptions_product_deleted AFTER DELETE ON subscriptions_product
        FOR EACH ROW BEGIN
            UPDATE subscriptions_market SET catalogue_version = 0 WHERE id = OLD.market_id;
        END
        """,
        "DROP TRIGGER subscriptions_product_deleted",
    ),
]

STATEMENTS = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


def triggers_create(apps, schema_editor):
    for create, _drop in STATEMENTS.get(schema_editor.connection.vendor, []):
        schema_editor.execute(create)


def triggers_drop(apps, schema_editor):
    for _create, drop in reversed(STATEMENTS.get(schema_editor.connection.vendor, [])):
        schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0006_product_images")]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
