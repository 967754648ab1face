#!/usr/bin/python3
"""reaper.py PIDFILE LOGFILE CMD...: starts the daemon CMD under a prompt reaper of orphans, for cluster.sh.

Returns once CMD's first process has exited (a daemon has forked by then) with its exit status. A detached reaper
stays behind: a child subreaper (prctl) that writes its pid to PIDFILE and reaps every orphan of CMD's process tree
at once, until it is killed. Why: PID 1 of the test machine reaps orphans late, and a zombie still counts as a member
of its process group: slurmstepd (proctrack/pgid) then waits 1 s, 2 s, ... for the orphaned srun helper of a batch job
to vanish, and tests that look for leftover processes would see zombies.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def start(cmd, log):
    pid = os.fork()
    if pid == 0:
        try:
            # exec keeps the signal mask and ignored signals: give the daemon what a shell would
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(log, f"reaper: cannot run {cmd[0]}: {e}\n".encode())
        os._exit(127)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def reap_forever():
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD])
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            pass
        signal.sigtimedwait([signal.SIGCHLD], 5.0)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    pidfile, logfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        reply = os.read(read_end, 64).decode() or "1"
        sys.exit(int(reply))
    os.close(read_end)
    os.setsid()
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        os.write(write_end, b"1")
        sys.exit("reaper: prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(ctypes.get_errno()))
    # stdio goes to the log: the caller may be reading our stdout and must see it close
    log = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    code = start(cmd, log)
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(pidfile + ".tmp", pidfile)
    os.write(write_end, str(code).encode())
    os.close(write_end)
    reap_forever()


if __name__ == "__main__":
    main()
