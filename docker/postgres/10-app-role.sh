#!/bin/sh
# The app's own database role (docs/security.md, "Database roles"). The postgres image runs this
# once, when it creates the database; on an existing database run it by hand, as the owner:
#   docker compose exec -e APP_DB_PASSWORD postgres sh /docker-entrypoint-initdb.d/10-app-role.sh
#
# $POSTGRES_USER (ssr) owns the tables: `migrate` connects as it. The web, worker and beat
# connect as ssr_app, which reads and writes rows but owns nothing, so it cannot drop or disable
# a table's trigger (the contact notes' append-only trigger), alter or truncate a table.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$APP_DB_PASSWORD" -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ssr_app') AS app_role_missing \gset
\if :app_role_missing
CREATE ROLE ssr_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
\endif
ALTER ROLE ssr_app PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"db" TO ssr_app;
GRANT USAGE ON SCHEMA public TO ssr_app;
-- Rows only (no TRUNCATE, no REFERENCES, no TRIGGER), on the tables there are and on those
-- the owner's migrations create later.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ssr_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ssr_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ssr_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ssr_app;
SQL
