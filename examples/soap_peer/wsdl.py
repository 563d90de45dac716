"""A service's WSDL 1.1 (document/literal, wrapped), written from its `Service`.

The XML Schema of its messages is written once, for the WSDL's `types` and for checking
what a request's body holds (`schema`), so what the peer accepts is what it describes.
"""

from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

from examples.soap_peer.service import Service

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = {
    "1.1": "http://schemas.xmlsoap.org/wsdl/soap/",
    "1.2": "http://schemas.xmlsoap.org/wsdl/soap12/",
}
SOAP_PREFIX = {"1.1": "wsdlsoap11", "1.2": "wsdlsoap12"}
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"


def _string(name: str) -> dict[str, str]:
    return {"name": name, "type": "xs:string", "minOccurs": "0", "nillable": "true"}


def schema_element(service: Service) -> etree._Element:
    """`xs:schema` of the operations' request and response elements (each one string)."""
    xs = ElementMaker(namespace=XS, nsmap={"xs": XS, "tns": service.tns})
    types = []
    for op in service.operations:
        for name, member in ((op.name, op.parameter), (op.response, op.result)):
            types.append(xs.complexType(xs.sequence(xs.element(**_string(member))), name=name))
    elements = [
        xs.element(name=name, type=f"tns:{name}")
        for op in service.operations
        for name in (op.name, op.response)
    ]
    return xs.schema(*types, *elements, targetNamespace=service.tns, elementFormDefault="qualified")


def schema(service: Service) -> etree.XMLSchema:
    return etree.XMLSchema(schema_element(service))


def document(service: Service, address: str) -> bytes:
    """The WSDL of `service`, its port's address `address`."""
    version = service.soap_version
    soap_ns = WSDL_SOAP[version]
    nsmap = {"xs": XS, "wsdl": WSDL, SOAP_PREFIX[version]: soap_ns, "tns": service.tns}
    w = ElementMaker(namespace=WSDL, nsmap=nsmap)
    soap = ElementMaker(namespace=soap_ns, nsmap=nsmap)
    port = service.port
    messages = [
        w.message(w.part(name=name, element=f"tns:{name}"), name=name)
        for op in service.operations
        for name in (op.name, op.response)
    ]
    port_type = w.portType(
        *(
            w.operation(
                w.input(name=op.name, message=f"tns:{op.name}"),
                w.output(name=op.response, message=f"tns:{op.response}"),
                name=op.name,
                parameterOrder=op.name,
            )
            for op in service.operations
        ),
        name=port,
    )
    binding = w.binding(
        soap.binding(style="document", transport=HTTP_TRANSPORT),
        *(
            w.operation(
                soap.operation(soapAction=op.name, style="document"),
                w.input(soap.body(use="literal"), name=op.name),
                w.output(soap.body(use="literal"), name=op.response),
                name=op.name,
            )
            for op in service.operations
        ),
        name=port,
        type=f"tns:{port}",
    )
    definitions = w.definitions(
        w.types(schema_element(service)),
        *messages,
        w.service(
            w.port(soap.address(location=address), name=port, binding=f"tns:{port}"),
            name=service.name,
        ),
        port_type,
        binding,
        targetNamespace=service.tns,
        name=port,
    )
    return etree.tostring(definitions, xml_declaration=True, encoding="UTF-8")
