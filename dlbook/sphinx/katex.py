"""KaTeX, patient: formulas are rendered at build time by sphinxcontrib-katex's node server."""

from __future__ import annotations

import time


def patient_server() -> None:
    """sphinxcontrib-katex connects to its node server as soon as the socket file exists,
    which can be before the server listens: on a busy machine that raised
    ConnectionRefusedError, failed the build and left node running (holding the build's
    output pipes open). Same start, but the connection is retried until the timeout."""
    import socket
    from subprocess import PIPE, Popen

    from sphinxcontrib import katex

    def start_server_process(cls, rundir, timeout):
        socket_path = rundir / "katex.sock"
        process = Popen(cls.build_command(socket=socket_path), stdin=PIPE, stdout=PIPE, cwd=rundir)
        deadline = time.monotonic() + timeout
        while True:
            if socket_path.is_socket():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(socket_path))
                    return process, sock
                except ConnectionRefusedError:
                    sock.close()
            if time.monotonic() > deadline:
                process.kill()
                raise cls.timeout_error(timeout)
            time.sleep(0.01)

    katex.KaTeXServer.start_server_process = classmethod(start_server_process)


def setup(app):
    patient_server()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
