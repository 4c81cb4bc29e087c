"""The same impl.py run by the machine's CPython, for comparison with the component.

  python native_python.py SDK_DIR IMPL_DIR warm N   # N calls in one process; prints p50 p99 (µs)
  python native_python.py SDK_DIR IMPL_DIR once     # one call (timed from outside)
"""

import sys
import time

sdk, impl_dir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [sdk, impl_dir]

from sym.sdk.event import Channel, Event, Flow, Payload, Run  # noqa: E402
from sym.sdk.user import User  # noqa: E402

import impl  # noqa: E402


def event():
    user = User(id="u-ada", email="ada@example.com", username="ada", role="member")
    return Event(
        name="request",
        user=user,
        payload=Payload({"reason": "incident 4711", "duration": 3600}, "2026-11-22T10:00:00Z"),
        flow=Flow("approval", "Approval", {"request_channel": "#sym-requests", "approvers": "grace,alan"}),
        run=Run("run-1", {"request": user}, {}, Channel()),
    )


if mode == "once":
    impl.get_permissions(event())
else:
    calls = int(sys.argv[4])
    times = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        # Building the event is part of the call, as it is for the component.
        impl.get_permissions(event())
        times.append(time.perf_counter_ns() - started)
    times.sort()
    print(times[len(times) // 2] / 1000, times[int(len(times) * 0.99)] / 1000)
