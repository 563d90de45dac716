"""The README's first hour for service authors, step by step, with real processes: the
example upstream, the gateway as `serve` runs it, the service file and module of
examples/services, an http registration and an OpenAPI import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.processes import free_port, start, stop

ROOT = Path(__file__).parents[2]


def test_the_guide_works_as_written(tmp_path):
    up, port, admin = free_port(), free_port(), free_port()
    upstream = start(
        [sys.executable, "-m", "examples.upstream", "--port", str(up)],
        f"http://127.0.0.1:{up}/openapi.yaml",
        what="the example upstream",
        cwd=ROOT,
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f"[gateway]\nport = {port}\n[admin]\nport = {admin}\n"
        '[repository]\npython_modules = ["examples.services.*"]\n'
        f'service_dirs = ["{ROOT / "examples" / "services"}"]\npath = "var/repository.sqlite"\n'
    )
    gateway = start(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config)],
        f"http://127.0.0.1:{port}/_gateway/health",
        what="the gateway",
        cwd=ROOT,
    )
    try:
        public = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        admin_api = httpx.Client(base_url=f"http://127.0.0.1:{admin}")
        # 1. the python service, from its service file
        r = public.post("/", json={"name": "Ada"},
                        headers={"Integration-Config": "greeting(greeting=Hi)"})  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.text.startswith("Hi, Ada! (request ") and r.headers["content-type"].startswith(
            "text/plain"
        )
        r = public.post("/", json={"nom": "Ada"}, headers={"Integration-Config": "greeting"})
        assert r.status_code == 422 and r.json()["type"].endswith("/stage-rejected")
        # 2. an http service
        shout = {"name": "shout", "kind": "http", "input": ["text/*"], "output": "same",
                 "target": {"url": f"http://127.0.0.1:{up}/upper", "method": "POST"}}  # fmt: skip
        assert admin_api.post("/services", json=shout).status_code == 201
        r = public.post("/", content=b"hello", headers={"Integration-Config": "shout",
                                                       "Content-Type": "text/plain"})  # fmt: skip
        assert r.text == "HELLO"
        # 3. an OpenAPI import, through the CLI
        cli = [sys.executable, "-m", "gateway", "import", "openapi",
               f"http://127.0.0.1:{up}/openapi.yaml", "--prefix", "inventory",
               "--admin", f"http://127.0.0.1:{admin}"]  # fmt: skip
        done = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        r = public.post("/", headers={
            "Integration-Config": "inventory.stock(sku=A-1, warehouse=south)"})  # fmt: skip
        assert r.json() == {"sku": "A-1", "warehouse": "south", "count": 12}
        r = public.post("/", headers={"Integration-Config": "inventory.stock(sku=a1)"})
        assert r.status_code == 422 and r.json()["parameter"] == "sku"
    finally:
        stop(gateway)
        stop(upstream)
