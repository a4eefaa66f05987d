"""A warm interpreter for the reference-command walk: `python` started ~250 times would spend
most of the walk importing torch.

The zygote imports the heavy third-party libraries once, then forks a child per `python`
invocation. The child takes the caller's argv, environment, working directory and standard
streams (passed as file descriptors) and runs the script, `-c` code or `-m` module the way
the interpreter would, then reports the exit status. Project code is never preloaded: each
child imports it fresh from the sandbox, so a file a previous line wrote is seen.

The caller is `client.py` behind the sandbox's `python`: if it dies (the row timed out and
its process group was killed), the child sees its socket close and exits too. Command lines
the zygote does not handle (other interpreter flags) go to the real interpreter.

  python zygote.py SOCKET        serve until killed
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

PRELOAD = ("numpy", "torch", "omegaconf", "hydra", "pydantic", "duckdb", "yaml", "boto3", "gymnasium")


def serve(path: str) -> None:
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _child(connection)
        connection.close()


def _child(connection: socket.socket) -> None:
    status = 1
    try:
        message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        request = json.loads(message)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        _watch_caller(connection)
        status = _run(request["argv"], request["env"], request["cwd"])
    finally:
        try:
            connection.sendall(struct.pack("!i", status))
        finally:
            os._exit(status)


def _watch_caller(connection: socket.socket) -> None:
    """Exit when the caller goes away (it sends nothing; EOF means it was killed)."""
    import threading

    def watch() -> None:
        try:
            connection.recv(1)
        finally:
            os._exit(137)

    threading.Thread(target=watch, daemon=True).start()


def _run(argv: list[str], env: dict[str, str], cwd: str) -> int:
    import atexit
    import runpy
    import threading
    import traceback

    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    pythonpath = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    base = [entry for entry in sys.path[1:] if entry not in pythonpath]
    status = 0
    try:
        if argv[0] == "-c":
            sys.argv = ["-c", *argv[2:]]
            sys.path[:] = ["", *pythonpath, *base]
            code = compile(argv[1], "<string>", "exec")
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
        elif argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            sys.path[:] = [cwd, *pythonpath, *base]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            script = argv[0]
            sys.argv = list(argv)
            sys.path[:] = [os.path.dirname(os.path.realpath(script)), *pythonpath, *base]
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code
        else:
            print(code, file=sys.stderr)
            status = 1
    except BaseException:  # noqa: BLE001  (the interpreter reports any uncaught exception)
        traceback.print_exc()
        status = 1
    threading._shutdown()  # as the interpreter does: wait for non-daemon threads
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return status


if __name__ == "__main__":
    serve(sys.argv[1])
