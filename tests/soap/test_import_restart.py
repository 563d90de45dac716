"""A URL-imported WSDL keeps the text it was made from (issue 12): after a restart, its
stages deploy while the WSDL's host no longer serves it."""

from __future__ import annotations

from tests.soap import wsdls
from tests.soap.conftest import Files


async def test_a_url_import_deploys_after_a_restart_without_its_host(
    start_gateway, files: Files, tmp_path
):
    url = files.add("restart.wsdl", wsdls.stock(files.url("echo")))
    first = await start_gateway(work=tmp_path)
    r = await first.adm("POST", "/imports", {"kind": "wsdl", "url": url, "prefix": "quotes"})
    assert r.status == 201, await r.text()
    names = [e["name"] for e in (await r.json())["items"]]
    await first.gateway.stop()
    del files.files["restart.wsdl"]  # the WSDL's host no longer serves it
    second = await start_gateway(work=tmp_path)
    answer = await second.call(names[0], {"tickerSymbol": "ABC"})
    assert answer.status == 200, await answer.text()
    assert b"Echo" in await answer.read()
