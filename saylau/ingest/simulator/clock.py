"""Time on the simulated day: whole seconds since local midnight before the election day.

Seconds count real elapsed time (so a daylight-saving change is handled), and the ISO-8601
label of every second of the day is built once, per minute, so events format fast.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

import numpy as np
import numpy.typing as npt

from saylau.core.election import Election

# Reports are accepted from local midnight before the election day until noon after it
# (saylau.core.validation.ACCEPT_AFTER_MIDNIGHT): every simulated time lies in this span.
DAY_SPAN = 36 * 3600
MINUTE = 60
HOUR = 3600

Bound = int | float | npt.NDArray[np.int64]
_SECOND_TEXT = tuple(f"{second:02d}" for second in range(60))


class DayClock:
    def __init__(self, election: Election) -> None:
        self.election = election
        self._midnight_utc = election.local(dt.time(0)).astimezone(dt.UTC)

    def seconds(self, at: dt.time, days: int = 0) -> int:
        """Seconds since local midnight of local time ``at`` on the election day."""
        moment = self.election.local(at, days).astimezone(dt.UTC)
        return int((moment - self._midnight_utc).total_seconds())

    def datetime(self, seconds: int) -> dt.datetime:
        moment = self._midnight_utc + dt.timedelta(seconds=int(seconds))
        return moment.astimezone(self.election.tz)

    @property
    def opens(self) -> int:
        return self.seconds(self.election.polls_open)

    @property
    def closes(self) -> int:
        return self.seconds(self.election.polls_close)

    @cached_property
    def reporting(self) -> npt.NDArray[np.int64]:
        """The official turnout reporting times, in seconds."""
        return np.array([self.seconds(at) for at in self.election.reporting_times],
                        dtype=np.int64)

    @cached_property
    def labels(self) -> npt.NDArray[np.object_]:
        """ISO-8601 text with offset of every second of the day, e.g. 2026-03-15T07:00:05+05:00."""
        texts: list[str] = []
        for minute in range(DAY_SPAN // MINUTE):
            text = self.datetime(minute * MINUTE).isoformat(timespec="seconds")
            head, offset = text[:17], text[19:]
            texts.extend(head + second + offset for second in _SECOND_TEXT)
        return np.array(texts, dtype=np.object_)


def turnout_curve(fraction_of_day: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Share of the final turnout reached at each point of the voting day (0 → 1).

    A slow morning, a late-morning peak and an evening rise: the integral of a two-hump
    intensity, normalised so the curve ends at exactly 1.
    """
    grid = np.linspace(0, 1, 201)
    intensity = 0.4 + np.exp(-((grid - 0.3) / 0.12) ** 2) + 0.7 * np.exp(-((grid - 0.8) / 0.1) ** 2)
    cumulative = np.concatenate([[0], np.cumsum((intensity[1:] + intensity[:-1]) / 2)])
    fraction = np.clip(np.asarray(fraction_of_day, dtype=float), 0, 1)
    return np.interp(fraction, grid, cumulative / cumulative[-1])


def within_day(seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Times moved back inside the accepted span if something pushed them past its end."""
    return np.minimum(seconds, DAY_SPAN - 1)


def uniform_seconds(rng: np.random.Generator, low: Bound, high: Bound,
                    size: int | tuple[int, ...] | None = None) -> npt.NDArray[np.int64]:
    """Whole seconds drawn uniformly in [low, high]."""
    return np.floor(rng.uniform(low, np.asarray(high) + 1, size)).astype(np.int64)
