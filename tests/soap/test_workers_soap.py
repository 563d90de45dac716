"""A WSDL imported as a document through a node of workers (issue 13): each worker
deploys its stages from the import's text, which it never fetched (the document's
`base_url` names a host nobody serves)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.nodes import Node

CHAIN = "JSON -> XML | wsdl:www.cloud.com/formatter#XMLCheck"


async def test_a_document_import_deploys_on_every_worker(tmp_path: Path, soap_peer: str):
    node = Node(tmp_path / "node", gateway={"workers": 2}, purge={"interval_s": 0}).start()
    try:
        formatter = httpx.get(f"{soap_peer}/formatter?wsdl").text
        body = {"kind": "wsdl", "document": formatter, "base_url": "http://www.cloud.com/formatter"}
        status, made = await node.adm("POST", "/imports", body)
        assert status == 201, made
        workers: set[int] = set()
        for _ in range(100):  # until each worker has deployed it (the kernel picks)
            status, text = await node.call(CHAIN, {"XMLCheck": {"document": "kit"}})
            assert status == 200 and "OK:KIT" in text, text
            _, apps = await node.adm("GET", "/applications")
            workers = {r["worker"] for r in apps["items"]}
            if workers == {0, 1}:
                break
        assert workers == {0, 1}, node.tail()
    finally:
        node.kill()
