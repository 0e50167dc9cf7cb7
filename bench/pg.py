"""A throw-away PostgreSQL server for the side-by-side benchmark.

``initdb`` into a temporary folder, start on a free loopback port (no Unix socket outside that folder, no
remote access), load tables, run SQL, stop and delete everything afterwards. PostgreSQL refuses to run as
root, so as root it runs as the ``postgres`` system user that Debian's package creates.
"""
from __future__ import annotations

import glob
import io
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from portal.ports import free_loopback_port

# Sensible settings for an analytical workload on this machine: a good share of memory for caching,
# enough work memory for sorts and hashes, parallel workers for the two cores, and no durability costs
# for a scratch copy (the portal's marts are not durable-on-every-write either).
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "1GB",
    "work_mem": "128MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "4GB",
    "max_parallel_workers_per_gather": "2",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "jit": "off",  # JIT compilation costs more than it saves on queries of this size
}

_PG_TYPES = {
    pa.types.is_boolean: "boolean",
    pa.types.is_int8: "smallint", pa.types.is_int16: "smallint", pa.types.is_int32: "integer",
    pa.types.is_int64: "bigint", pa.types.is_uint8: "smallint", pa.types.is_uint16: "integer",
    pa.types.is_uint32: "bigint", pa.types.is_uint64: "numeric",
    pa.types.is_floating: "double precision",
    pa.types.is_date: "date", pa.types.is_timestamp: "timestamp",
    pa.types.is_string: "text", pa.types.is_large_string: "text",
    pa.types.is_decimal: "numeric",
}


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian package: postgresql)")
    return path


def available() -> bool:
    try:
        pg_bin("initdb")
        import psycopg  # noqa: F401
    except (RuntimeError, ImportError):
        return False
    return True


class TempPostgres:
    def __init__(self, port: int | None = None):
        self.port = port or free_loopback_port()
        self.root: Path | None = None
        self._as_postgres_user = os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, args: list[str], timeout: float = 120) -> None:
        cmd = (["runuser", "-u", "postgres", "--"] if self._as_postgres_user else []) + args
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    def __enter__(self) -> "TempPostgres":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        if self._as_postgres_user:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run([pg_bin("initdb"), "-D", str(self.data_dir), "-U", "bench", "--auth=trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options += f" -p {self.port} -k {self.root}"
        self._run([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-o", options, "-l",
                   str(self.root / "server.log"), "-w", "-t", "60", "start"])

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def connect(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="bench", dbname="postgres",
                               autocommit=True)

    def load_parquet(self, conn, table: str, paths: list[Path], indexes: list[list[str]] = ()) -> int:
        """Create ``table`` from a mart's Parquet files (one, or a sliced mart's parts, which share one schema)
        with matching column types, COPY it in, index, analyse."""
        schema = pq.read_schema(paths[0])
        columns = []
        for fld in schema:
            pg_type = next((t for test, t in _PG_TYPES.items() if test(fld.type)), "text")
            columns.append(f'"{fld.name}" {pg_type}')
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        conn.execute(f'CREATE UNLOGGED TABLE "{table}" ({", ".join(columns)})')
        rows = 0
        names = ", ".join(f'"{n}"' for n in schema.names)
        batches = (batch for path in paths for batch in pq.ParquetFile(path).iter_batches(batch_size=200_000))
        with conn.cursor() as cur:
            with cur.copy(f'COPY "{table}" ({names}) FROM STDIN WITH (FORMAT csv)') as copy:
                for batch in batches:
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
                    rows += batch.num_rows
        for cols in indexes:
            existing = [c for c in cols if c in schema.names]
            if existing:
                name = f"{table}_{'_'.join(existing)}_idx"[:63]
                conn.execute(f'CREATE INDEX "{name}" ON "{table}" ({", ".join(chr(34) + c + chr(34) for c in existing)})')
        conn.execute(f'ANALYZE "{table}"')
        return rows

    def time_query(self, conn, sql: str, params: dict, repeats: int) -> list[float]:
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(sql, params)
                cur.fetchall()
            timings.append(time.perf_counter() - started)
        return timings

