"""Serve the same bytes as static files from nginx: the physical limit of the phone path."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx


def ensure_nginx() -> str:
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if found:
        return str(found)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True)
    return "/usr/sbin/nginx"


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return "/usr/bin/wrk"


class StaticServer:
    """nginx with one worker per core, serving `root` on 127.0.0.1:`port`."""

    def __init__(self, root: Path, port: int, work: Path) -> None:
        self.root, self.port, self.work = root, port, work
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> StaticServer:
        nginx = ensure_nginx()
        self.work.mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(
            f"""
worker_processes auto;
daemon off;
pid {self.work}/nginx.pid;
error_log {self.work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  sendfile on;
  etag on;
  client_body_temp_path {self.work}/body;
  proxy_temp_path {self.work}/proxy;
  fastcgi_temp_path {self.work}/fastcgi;
  uwsgi_temp_path {self.work}/uwsgi;
  scgi_temp_path {self.work}/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root};
    location /provision/ {{ }}
  }}
}}
"""
        )
        self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.work)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=0.5)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
