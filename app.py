"""Entry point for `flask --app app ...` and `gunicorn app:app`."""

import gc

from office import create_app
from office.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    raise SystemExit(f"office cannot start: {exc}") from None

# What start-up loaded lives as long as the process: keep it out of the garbage collector's
# full passes, which otherwise walk it all and stall a request now and then.
gc.collect()
gc.freeze()
