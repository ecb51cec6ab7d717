"""Ctrl-C during a solve: SIGINT reaches the solver through the observer's signal poll and
the call raises KeyboardInterrupt promptly. The child signals readiness from the progress
callback (the solve is running), and only then does the test send SIGINT."""
import os
import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent("""
    import signal, sys, time
    import numpy as np
    import lsekit
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 20)); y = X.sum(axis=1)
    ready = []
    def progress(row):
        if not ready:
            ready.append(1)
            print("ready", flush=True)
    t0 = time.perf_counter()
    try:
        lsekit.{call}
    except KeyboardInterrupt:
        print("KeyboardInterrupt after %.2f s" % (time.perf_counter() - t0), flush=True)
        sys.exit(0)
    print("finished without interruption", flush=True)
    sys.exit(3)
""")


def run_and_interrupt(call):
    p = subprocess.Popen([sys.executable, "-c", CHILD.format(call=call)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = p.stdout.readline()
        assert line.strip() == "ready", (line, p.stderr.read() if p.poll() is not None else "")
        sent = time.perf_counter()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        latency = time.perf_counter() - sent
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (p.returncode, out, err)
    assert "KeyboardInterrupt" in out
    assert latency < 10, latency


def test_ctrl_c_interrupts_a_stochastic_solve():
    # plain minibatch steps with two trace rows: Ctrl-C between rows (SVRG records every snapshot)
    run_and_interrupt("solve_dro_regression(X, y, variance_reduction='none', tol=0, epochs=100000, "
                      "eval_points=2, progress=progress)")


def test_ctrl_c_interrupts_the_reference_solver():
    run_and_interrupt("solve_dro_regression(X, y, solver='full', optimizer='sgd', step=1e-6, tol=0, "
                      "epochs=1000000, progress=progress)")
