"""QR codes read back: the checkout's inline SVG, decoded as a wallet app's camera would (zxing-cpp)."""

import re

import numpy as np
import zxingcpp


def read_qr(svg):
    """Rebuild the module matrix from segno's SVG path and decode it with zxing-cpp."""
    size = int(re.search(r'd="M0 0h(\d+)v', svg).group(1))
    path = re.search(r'<path stroke="[^"]+" d="([^"]+)"', svg).group(1)
    modules = np.full((size, size), 255, dtype=np.uint8)
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            length = float(a)
            modules[int(y), int(x) : int(x + length)] = 0
            x += length
    image = modules.repeat(6, axis=0).repeat(6, axis=1)
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, "exactly one QR code in the SVG"
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text
