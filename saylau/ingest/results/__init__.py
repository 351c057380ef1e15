"""``saylau results import``: the commission's per-station results as they are published.

Small modules, pure functions, one direction: ``sheets`` reads a CSV or XLSX file into
tables of cell texts, ``layout`` finds each sheet's header (two-row headers flattened) and
columns through the ``mapping``, ``numbers`` reads counts with thousands separators, ``table``
classifies rows (station, total, blank), ``checks`` checks every row, ``events`` builds the
official ``protocol`` events, and ``importer`` ties them together. docs/results-import.md.
"""

from saylau.ingest.results.events import Identity, publication_id
from saylau.ingest.results.importer import ImportPlan, plan_import
from saylau.ingest.results.mapping import MappingError, ResultsMapping, load_mapping
from saylau.ingest.results.problems import Problem
from saylau.ingest.results.sheets import PublicationError

__all__ = ["Identity", "ImportPlan", "MappingError", "Problem", "PublicationError",
           "ResultsMapping", "load_mapping", "plan_import", "publication_id"]
