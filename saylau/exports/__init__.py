"""Media snapshot exports: self-describing, checksummed bundles free of personal data.

One bundle per data-as-of time, built in small steps, each in its own module:
``snapshot`` (every query, as of one moment) → ``tables`` and ``exitpoll`` (pure
arithmetic) → ``summary``, ``files``, ``maps``, ``report`` (the files) → ``manifest``
(checksums) → ``publish`` (temporary folder, rename, ``latest`` pointer).
``bundle.Exporter`` ties them together, and ``schedule`` exports periodically inside
``saylau up``; the dashboard serves the bundles (``saylau.dashboard.export_routes``).
"""

from saylau.exports.bundle import Exporter, extra_tables_after_close
from saylau.exports.manifest import verify_bundle
from saylau.exports.publish import bundle_name, list_bundles, read_latest

__all__ = ["Exporter", "bundle_name", "extra_tables_after_close", "list_bundles",
           "read_latest", "verify_bundle"]
