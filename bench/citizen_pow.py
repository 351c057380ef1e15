"""The citizen report page's proof-of-work: how long one report's work takes.

Solves fresh challenges at several difficulties with the server's Python solver and with
the page's own JavaScript (report.js's SHA-256, run by Node when it is installed), and
compares each against the baseline of the same run: the hash rate measured at the lowest
difficulty, times 2**bits hashes (the expected work). Prints mean and worst seconds.

    python bench/citizen_pow.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from saylau.ingest.citizen.protection import ProofOfWork, solve

PAGE_JS = Path(__file__).resolve().parents[1] / "saylau/ingest/citizen/page/report.js"
BITS = (12, 14, 16)


def python_seconds(bits: int, runs: int) -> list[float]:
    work = ProofOfWork(bits)
    times = []
    for _ in range(runs):
        challenge = work.issue()
        start = time.perf_counter()
        solve(challenge, bits)
        times.append(time.perf_counter() - start)
    return times


def node_seconds(bits: int, runs: int) -> list[float] | None:
    node = shutil.which("node")
    if node is None:
        return None
    text = PAGE_JS.read_text(encoding="utf-8")
    solver = text[text.index("  // --- SHA-256"):text.index("  // --- texts and choices")]
    script = solver + f"""
const times = [];
for (let i = 0; i < {runs}; i++) {{
  const start = process.hrtime.bigint();
  solve("{int(time.time())}." + i + "c0ffee.0123456789abcdef0123456789abcdef", {bits});
  times.push(Number(process.hrtime.bigint() - start) / 1e9);
}}
console.log(times.join(","));
"""
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as out:
        out.write(script)
    try:
        done = subprocess.run([node, out.name], capture_output=True, text=True, timeout=600,
                              check=True)
    finally:
        Path(out.name).unlink()
    return [float(part) for part in done.stdout.strip().split(",")]


def report(name: str, bits: int, times: list[float], per_hash: float) -> None:
    mean = sum(times) / len(times)
    expected = per_hash * 2**bits
    print(f"{name:6} {bits:2d} bits: mean {mean:.3f} s, worst {max(times):.3f} s; "
          f"baseline (hash rate x 2^bits) {expected:.3f} s, ratio {mean / expected:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    for name, measure in (("python", python_seconds), ("node", node_seconds)):
        base = measure(BITS[0], runs * 4)
        if base is None:
            print(f"{name}: not installed, skipped")
            continue
        per_hash = sum(base) / len(base) / 2**BITS[0]
        print(f"{name}: {1 / per_hash:,.0f} hashes/s at {BITS[0]} bits")
        for bits in BITS:
            times = measure(bits, runs)
            assert times is not None
            report(name, bits, times, per_hash)


if __name__ == "__main__":
    main()
