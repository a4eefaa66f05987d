"""`python` in a reference sandbox: hand the command line to the warm interpreter (zygote.py)
and exit with its status; anything the zygote does not handle goes to the real interpreter.
Runs with `-S -E` so that starting it costs milliseconds."""

import json
import os
import socket
import struct
import sys


def main() -> None:
    real = os.environ["METTA_REFERENCE_PYTHON"]
    path = os.environ.get("METTA_REFERENCE_ZYGOTE", "")
    argv = sys.argv[1:]
    script_like = bool(argv) and (argv[0] in ("-c", "-m") and len(argv) > 1 or not argv[0].startswith("-"))
    if not path or not script_like:
        os.execv(real, [real, *argv])
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    reply = b""
    while len(reply) < 4:
        chunk = connection.recv(4 - len(reply))
        if not chunk:
            sys.exit(137)  # the child died without a status (killed)
        reply += chunk
    sys.exit(struct.unpack("!i", reply)[0] & 0xFF)


main()
