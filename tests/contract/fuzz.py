"""`make fuzz`: schemathesis, every check and every phase, against a live uvicorn server.

    python -m tests.contract.fuzz --port 8765

Starts `handlers.app:create_app` on 127.0.0.1 with an empty runs folder, waits for
`/v1/health`, runs the schemathesis CLI within a time limit, and always stops the server.
`--mode embedded` (no Redis) or `--mode queued`: REDIS_URL set to DB 15 of
`QERS_TEST_REDIS_URL` (default redis://127.0.0.1:6379; flushed before and after) and a real
`qers worker` executing the runs. Exits with schemathesis's status: non-zero on any
failure, error or timeout; a queued run with no Redis to use fails with a message.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.contract.documents import FUZZ_KEY_ENV, FUZZ_MAX_DURATION_S

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")
HOST = "127.0.0.1"
PHASES = "examples,coverage,fuzzing,stateful"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
EXIT_INTERRUPTED = 130
EXIT_TIMEOUT = 124
FUZZ_REDIS_DB = 15  # tests/redisutil.DB_FUZZ
# The server must not reach anything but this machine, nor read the caller's settings.
SCRUBBED_ENV = ("REDIS_URL", "QERS_REDIS_URL", "QERS_RUNS_DIR", "RUNS_DIR")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.contract.fuzz", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="loopback port for the server")
    parser.add_argument("--mode", choices=("embedded", "queued"), default="embedded")
    parser.add_argument("--max-examples", type=int, default=100, help="test cases per operation")
    # One worker: with two, schemathesis's threads parse source code at the same time
    # (hypothesis describing a lambda filter), and CPython 3.11.7's `ast` is not safe for
    # that: "SystemError: AST constructor recursion depth mismatch" aborted a run here.
    parser.add_argument("--workers", type=int, default=1, choices=(1, 2, 4))
    parser.add_argument("--seed", type=int, default=None, help="reproduce an earlier run")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before schemathesis is stopped"
    )
    return parser.parse_args(argv)


def ensure_port_free(port: int) -> None:
    """Fail early when something already listens there: we would fuzz the wrong server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn does, so a closed connection in TIME_WAIT does not count as in use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise SystemExit(f"fuzz: {HOST}:{port} is in use ({exc}); pass --port") from None


def server_env(runs_dir: Path, redis_url: str | None) -> dict[str, str]:
    """The environment of the server and the worker: this runs folder, this Redis or none."""
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
    env.update(RUNS_DIR=str(runs_dir), QERS_LOG_LEVEL="WARNING")
    # Fuzzed with auth on, as production runs: schemathesis sends an admin key, and its
    # `ignored_auth` check tries every operation without it and with a wrong one.
    env["QERS_AUTH"] = "api_key"
    # Fuzzed run requests really simulate; keep each one brief (see documents.py).
    env.update(
        QERS_DEFAULT_MAX_DURATION_S=str(FUZZ_MAX_DURATION_S),
        QERS_MAX_DURATION_CEILING_S=str(FUZZ_MAX_DURATION_S),
    )
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """uvicorn serving the app factory, in its own process group."""
    command = [sys.executable, "-m", "uvicorn", "handlers.app:create_app", "--factory"]
    command += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A real `qers worker` executing the queued runs, in its own process group."""
    command = [str(Path(sys.executable).with_name("qers")), "worker"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def create_key(env: dict[str, str]) -> str:
    """An admin API key for schemathesis, made by `qers keys create` in the runs folder."""
    command = [str(Path(sys.executable).with_name("qers")), "keys", "create", "--role", "admin"]
    command += ["--name", "fuzz"]
    made = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return made.stdout.rstrip("\n").splitlines()[-1]


def queued_redis_url() -> str:
    """DB 15 of the test Redis, flushed; exits with a message when no Redis answers."""
    import redis  # only the queued mode needs it

    parts = urlsplit(os.environ.get("QERS_TEST_REDIS_URL", "redis://127.0.0.1:6379"))
    url = urlunsplit((parts.scheme, parts.netloc, f"/{FUZZ_REDIS_DB}", parts.query, ""))
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        raise SystemExit(f"fuzz: --mode queued needs Redis at {url} ({exc})") from None
    return url


def wait_until_healthy(server: subprocess.Popen[bytes], base_url: str) -> None:
    """Return once `/v1/health` answers; fail if the server exits or is too slow."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz: the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/v1/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"fuzz: no answer from {base_url}/v1/health within {STARTUP_TIMEOUT_S:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def schemathesis_command(args: argparse.Namespace, base_url: str) -> list[str]:
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(SCHEMATHESIS_CONFIG)]
    command += ["run", f"{base_url}/openapi.json", "--checks", "all", "--phases", PHASES]
    command += ["--max-examples", str(args.max_examples), "--workers", str(args.workers)]
    command += ["--request-timeout", "30", "--no-color"]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    return command


def run_schemathesis(args: argparse.Namespace, base_url: str, workdir: Path, key: str) -> int:
    # In `workdir`, so its caches (`.schemathesis/`, `.hypothesis/`) stay out of the repository.
    command = schemathesis_command(args, base_url)
    print("fuzz:", " ".join(command), flush=True)
    env = {**os.environ, FUZZ_KEY_ENV: key}  # schemathesis.toml sends it as X-API-Key
    try:
        run = subprocess.run(command, cwd=workdir, env=env, timeout=args.timeout, check=False)
        return run.returncode
    except subprocess.TimeoutExpired:
        print(f"fuzz: schemathesis did not finish within {args.timeout:.0f} s", file=sys.stderr)
        return EXIT_TIMEOUT


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # A cancelled CI job sends SIGTERM: unwind through `finally` so the server is stopped.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz a fresh server; the exit status is schemathesis's."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    base_url = f"http://{HOST}:{args.port}"
    ensure_port_free(args.port)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qers-fuzz-") as tmp:
        workdir = Path(tmp)
        (workdir / "runs").mkdir()
        redis_url = queued_redis_url() if args.mode == "queued" else None
        env = server_env(workdir / "runs", redis_url)
        key = create_key(env)
        server = start_server(args.port, env)
        worker = start_worker(env) if redis_url is not None else None
        try:
            wait_until_healthy(server, base_url)
            status = run_schemathesis(args, base_url, workdir, key)
        except KeyboardInterrupt:
            print("fuzz: interrupted", file=sys.stderr)
            status = EXIT_INTERRUPTED
        finally:
            stop_server(server)
            if worker is not None:
                stop_server(worker)
            if redis_url is not None:
                queued_redis_url()  # flush what the run left
    print(f"fuzz ({args.mode}): exit {status} after {time.monotonic() - started:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
