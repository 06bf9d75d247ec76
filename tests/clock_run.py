"""Run a Python script in this process with the clock moved: `python -m tests.clock_run
<instant> script.py args...`. For tests that start the product in a child process (a killed
sync, the demo), so that the child and the test agree on the date."""

import runpy
import sys

import time_machine

from tests.clock import parse_instant

if __name__ == "__main__":
    instant, script, *arguments = sys.argv[1:]
    sys.argv = [script, *arguments]
    with time_machine.travel(parse_instant(instant), tick=True):
        runpy.run_path(script, run_name="__main__")
