"""Which endpoint URLs a webhook may be sent to: http(s) only, and (unless ``WEBHOOK_ALLOW_PRIVATE_NETWORKS``)
only hosts whose every address is a public one.

A webhook URL is typed by an operator, but its delivery log shows back the status, time and error of what
answered there: pointed at ``127.0.0.1``, a private network or a cloud's metadata address, it would probe
places the shop's server can reach and the internet cannot. So an endpoint's host is resolved when it is
saved and again at each attempt (DNS can change in between), and the attempt connects to the addresses that
were checked, never to a second lookup.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings

SCHEMES = ("http", "https")
REFUSED_PRIVATE = "refused: private address"

# Metadata services of clouds, some of them on addresses Python calls global.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PrivateAddress(Exception):
    """The URL's host is (or resolves to) an address that is not on the public internet."""


def validate_webhook_url(url):
    """The model's and the form's validator: an http(s) URL whose host is not a private address."""
    # A code of its own: the field's "invalid" message ("Enter a valid URL.") would replace this one.
    URLValidator(schemes=list(SCHEMES), message=_("Enter an http:// or https:// URL."), code="scheme")(url)
    if app_settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    parts = urlsplit(url)
    try:
        resolve_public(parts.hostname, parts.port or default_port(parts.scheme))
    except PrivateAddress:
        raise ValidationError(
            _(
                "This URL points to a private, loopback, link-local or metadata address. Webhooks go to "
                "public addresses only (WEBHOOK_ALLOW_PRIVATE_NETWORKS allows others)."
            ),
            code="private_address",
        ) from None
    except OSError:
        raise ValidationError(_("The host of this URL cannot be resolved."), code="unresolvable") from None


def default_port(scheme):
    return 443 if scheme == "https" else 80


def is_public(address):
    """Whether ``address`` (an ``ipaddress`` address) is on the public internet and no metadata service.

    IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by that address.
    """
    if address in METADATA_ADDRESSES or address.is_multicast:
        return False
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in NAT64:
            embedded = ipaddress.ip_address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global


def resolve_public(host, port):
    """The addresses ``host`` resolves to, all checked public; raises ``PrivateAddress`` if any is not,
    and ``OSError`` (``socket.gaierror``) when the name does not resolve."""
    addresses = resolve(host, port)
    if not all(is_public(ipaddress.ip_address(a)) for a in addresses):
        raise PrivateAddress(host)
    return addresses


def resolve(host, port):
    """The distinct IP addresses of ``host`` (a name or a literal), in the resolver's order."""
    if not host:
        raise socket.gaierror(socket.EAI_NONAME, "no host")
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))
