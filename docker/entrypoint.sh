#!/bin/sh
# libpq ignores a password file that others can read, and compose secrets are mounted
# world-readable: copy the secret to a private ~/.pgpass first.
set -e
if [ -f /run/secrets/pgpass ]; then
    install -m 600 /run/secrets/pgpass "$HOME/.pgpass"
fi
exec "$@"
