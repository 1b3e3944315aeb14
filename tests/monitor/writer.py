"""A child process that records runs into a store and says `ack ID` after each commit.

Run as `python -m tests.monitor.writer URL TAG COUNT PAYLOAD`: COUNT runs (0: until killed),
each with PAYLOAD scores in its statistics and three alerts, all in one transaction.
"""

from __future__ import annotations

import sys

from detrecall.monitor.store import NewAlert, Store


def main(url: str, tag: str, count: int, payload: int) -> None:
    store = Store(url)
    i = 0
    while count == 0 or i < count:
        alerts = [
            NewAlert("max_drop", f"m{j}", None, 1.0, 0.5, 0.5, 0.1, None, f"{tag} {i} {j}") for j in range(3)
        ]
        stats = {
            "detections_per_image": [1] * 10,
            "scores": [k / payload for k in range(payload)],
            "class_counts": {"1": 10},
            "n_predictions": payload,
        }
        run_id, _ = store.add_run(
            "writer",
            task="detection",
            result={"i": i, "tag": tag},
            metrics={"overall": {"AP": i / 1000}},
            stats=stats,
            tags={"writer": tag, "i": str(i)},
            alerts=alerts,
        )
        print(f"ack {run_id} {tag} {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
