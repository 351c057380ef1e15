"""Logging as every Saylau process sets it up: one format, to stderr, libraries quieter."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "aiokafka", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
