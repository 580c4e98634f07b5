#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and types answers after its prompts.

usage: pty-run.py TIMEOUT_S PROMPT ANSWER [PROMPT ANSWER ...] -- COMMAND [ARG ...]

Each ANSWER is typed (followed by Enter) only once PROMPT has appeared, so the command has had the
chance to switch the terminal's echo off first. Prints everything the terminal showed to stdout
and exits with the command's status, or 124 when a prompt did not come within TIMEOUT_S.
"""
import os
import pty
import select
import signal
import sys
import time


def main() -> int:
    sep = sys.argv.index("--")
    timeout = float(sys.argv[1])
    pairs = sys.argv[2:sep]
    command = sys.argv[sep + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)

    shown = b""

    def read_until(deadline: float) -> bool:
        """Reads what the terminal shows; False on timeout or end of output."""
        nonlocal shown
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
        if not ready:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the command closed the terminal (exited)
            return False
        shown += data
        return len(data) > 0

    consumed = 0
    for i in range(0, len(pairs), 2):
        prompt, answer = pairs[i].encode(), pairs[i + 1].encode()
        deadline = time.time() + timeout
        while shown.find(prompt, consumed) < 0:
            if not read_until(deadline):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                sys.stdout.buffer.write(shown + b"\n[pty-run: no prompt " + prompt + b"]\n")
                return 124
        consumed = shown.find(prompt, consumed) + len(prompt)
        os.write(fd, answer + b"\r")

    deadline = time.time() + timeout
    while read_until(deadline):
        pass
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.buffer.write(shown + b"\n[pty-run: the command did not exit]\n")
            return 124
        time.sleep(0.05)
    sys.stdout.buffer.write(shown)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
