"""SOAP 1.1 and 1.2 envelopes: the request's body element read, an answer or a fault written.

Plain functions over bytes; the prefixes written (`soap11env`, `soap12env`, `tns`) are
those spyne wrote, so an answer passed on by the gateway reads as it did.
"""

from __future__ import annotations

from lxml import etree

from examples.soap_peer.service import Fault

ENVELOPE = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
PREFIX = {"1.1": "soap11env", "1.2": "soap12env"}
CONTENT_TYPE = {"1.1": "text/xml", "1.2": "application/soap+xml"}
# SOAP 1.2 renamed two of 1.1's fault codes.
CODE_12 = {"Client": "Sender", "Server": "Receiver"}

# Nothing fetched, no entity expanded; a DTD is refused outright, as both SOAPs say.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def body_element(data: bytes, version: str) -> etree._Element:
    """The one element in the Body of a SOAP `version` envelope; `Fault` if there is none."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise Fault("Client", str(e), "XMLSyntaxError") from None
    if root.getroottree().docinfo.doctype:
        raise Fault("Client", "a SOAP message must not contain a DTD", "SoapError")
    if etree.QName(root).localname != "Envelope":
        raise Fault("Client", f"the root is {root.tag}, not a SOAP Envelope", "SoapError")
    if etree.QName(root).namespace != ENVELOPE[version]:
        raise Fault("VersionMismatch", f"this endpoint speaks SOAP {version} ({ENVELOPE[version]})")
    body = root.find(f"{{{ENVELOPE[version]}}}Body")
    children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise Fault("Client", "the Body must hold one element, the operation's", "SoapError")
    return children[0]


def _envelope(version: str, nsmap: dict[str, str]) -> tuple[etree._Element, etree._Element]:
    env = ENVELOPE[version]
    root = etree.Element(f"{{{env}}}Envelope", nsmap={PREFIX[version]: env, **nsmap})
    return root, etree.SubElement(root, f"{{{env}}}Body")


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def answer(version: str, tns: str, name: str, member: str, value: str) -> bytes:
    """`<tns:name><tns:member>value</tns:member></tns:name>` in an envelope."""
    root, body = _envelope(version, {"tns": tns})
    etree.SubElement(etree.SubElement(body, f"{{{tns}}}{name}"), f"{{{tns}}}{member}").text = value
    return _bytes(root)


def fault(version: str, error: Fault) -> bytes:
    """The fault in SOAP `version`'s own shape."""
    env = ENVELOPE[version]
    root, body = _envelope(version, {})
    node = etree.SubElement(body, f"{{{env}}}Fault")
    prefix = PREFIX[version]
    if version == "1.1":
        code = f"{prefix}:{error.code}" + (f".{error.subcode}" if error.subcode else "")
        etree.SubElement(node, "faultcode").text = code
        etree.SubElement(node, "faultstring").text = error.string
        return _bytes(root)
    code = etree.SubElement(node, f"{{{env}}}Code")
    etree.SubElement(
        code, f"{{{env}}}Value"
    ).text = f"{prefix}:{CODE_12.get(error.code, error.code)}"
    if error.subcode:
        sub = etree.SubElement(code, f"{{{env}}}Subcode")
        etree.SubElement(sub, f"{{{env}}}Value").text = error.subcode
    reason = etree.SubElement(node, f"{{{env}}}Reason")
    text = etree.SubElement(reason, f"{{{env}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = error.string
    return _bytes(root)
