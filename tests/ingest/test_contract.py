import sys

import ingest
from ingest.simulator import simulate_day


def test_probe():
    print(ingest.__file__, __name__, simulate_day, sys.modules["ingest"].__file__, sys.path[:3])
