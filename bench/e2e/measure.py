"""Runs a command and reports what it cost the way the kernel counts it:
wall seconds from fork to exit, peak RSS, page faults.

    /usr/bin/python3 measure.py OUT.json COMMAND ARGS...

Writes {"seconds", "maxRssMb", "minorFaults", "majorFaults", "status"} to
OUT.json; the command's stdout and stderr pass through.
"""
import json
import os
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(out, "w") as f:
    json.dump(
        {
            "seconds": seconds,
            "maxRssMb": usage.ru_maxrss / 1024,
            "minorFaults": usage.ru_minflt,
            "majorFaults": usage.ru_majflt,
            "cpuSeconds": usage.ru_utime + usage.ru_stime,
            "status": os.waitstatus_to_exitcode(status),
        },
        f,
    )
