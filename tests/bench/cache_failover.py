#!/usr/bin/env python3
"""Redis failover in the lab: time from killing the primary's host to the first write a replica
acknowledged on the new primary, over N drills (default 5).

Each drill (tests/e2e/cache_drill.py): a writer on another cache host asks the sentinels for the
primary and writes one key at a time, each followed by WAIT 1 1000; the primary's container is
killed; the figures are read from the writer's timeline; the old host is started again and
must rejoin as a replica before the next drill. Prints one line per drill, the median and max,
and a JSON line. Needs the lab up and the cache tier converged (`make demo`), with the lab's
redis_sentinel_down_after_ms (5000). Traffic stays inside the lab's cache containers.
Usage:
    .venv/bin/python tests/bench/cache_failover.py [DRILLS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e import cache_drill


def main(drills: int = 5) -> int:
    cache_drill.install_probe()
    rows = []
    for n in range(1, drills + 1):
        result = cache_drill.drill(f"bench{int(time.time())}n{n}", writer_seconds=30)
        rows.append(result)
        print(f"drill {n}: {result['old_master']} -> {result['new_master']}: "
              f"first write after {result['kill_to_first_write_s']} s "
              f"(sentinels switched after {result['sentinels_switched_s']} s), "
              f"old primary rejoined {result['old_master_rejoined_s']} s after its start; "
              f"acknowledged {result['acked']}, missing {result['acked_missing']}, "
              f"errors {result['errors']}", flush=True)
    times = [r["kill_to_first_write_s"] for r in rows if r["kill_to_first_write_s"] is not None]
    rejoin = [r["old_master_rejoined_s"] for r in rows]
    summary = {
        "drills": drills,
        "kill_to_first_write_s": {"median": statistics.median(times) if times else None,
                                  "max": max(times) if times else None,
                                  "all": times},
        "rejoin_s": {"median": statistics.median(rejoin), "max": max(rejoin)},
        "acked_total": sum(r["acked"] for r in rows),
        "acked_missing_total": sum(r["acked_missing"] for r in rows),
    }
    print(f"kill -> first acknowledged write on the new primary: median "
          f"{summary['kill_to_first_write_s']['median']} s, max "
          f"{summary['kill_to_first_write_s']['max']} s over {len(times)} of {drills} drills")
    print(json.dumps(summary))
    return 0 if len(times) == drills and summary["acked_missing_total"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
