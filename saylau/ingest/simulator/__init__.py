"""The election-day simulator: a realistic, reproducible day with its ground truth.

``simulate_day(registry, election, scenario)`` builds the whole day — observers checking
in, hourly counts, official turnout, incidents and reviews, exit polls, protocols,
assignments — injects falsification and transport noise, and records what it injected.
``SimulatedDay.write`` saves it as JSON lines (one message per line) with a truth file
beside it; ``SimulatedDay.messages`` hands the messages out in sending order for Kafka.
Everything is vectorised over stations, so a million-station day takes minutes.
"""

from saylau.ingest.simulator.clock import DayClock, turnout_curve
from saylau.ingest.simulator.day import SimulatedDay, SimulatedMessage, simulate_day, truth_path
from saylau.ingest.simulator.falsification import KINDS as FALSIFICATION_KINDS
from saylau.ingest.simulator.feed import Progress, feed
from saylau.ingest.simulator.scenario import NO_NOISE, NoiseRates, Scenario

__all__ = ["FALSIFICATION_KINDS", "NO_NOISE", "DayClock", "NoiseRates", "Progress", "Scenario",
           "SimulatedDay", "SimulatedMessage", "feed", "simulate_day", "truth_path",
           "turnout_curve"]
