"""JPEG encoding of the frames a camera node sends, shared by the node and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt

JpegChroma = Literal["420", "444"]
"""Chroma subsampling: "420" keeps colour at half resolution both ways (libjpeg's default),
"444" at full resolution."""
CHROMAS: tuple[JpegChroma, ...] = get_args(JpegChroma)

# Measured with `appliance bench encoding` (docs/benchmarks.md): quality 80 at 4:4:4 costs about
# the bytes of quality 85 at 4:2:0, and HOG finds more of what it finds on the original frame.
DEFAULT_JPEG_QUALITY = 80
DEFAULT_JPEG_CHROMA: JpegChroma = "444"

JPEG_CHROMA_DESCRIPTION = (
    "Chroma subsampling of frames sent: 420 (colour at half resolution, smaller files) or 444"
    " (full colour resolution, about 20% larger at the same quality; the edge's detector loses"
    " less to compression: `appliance bench encoding` measures it for your detector)."
)

_SAMPLING = {
    "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    "444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
}


class JpegEncodeError(RuntimeError):
    """OpenCV could not encode the image (empty, or not 8-bit)."""


def encode_jpeg(
    image: npt.NDArray[np.uint8] | cv2.typing.MatLike,
    quality: int = DEFAULT_JPEG_QUALITY,
    chroma: JpegChroma = DEFAULT_JPEG_CHROMA,
) -> npt.NDArray[np.uint8]:
    """The JPEG file of `image` (BGR or grey)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    if image.ndim == 3:
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _SAMPLING[chroma]]
    ok, encoded = cv2.imencode(".jpg", image, params)
    if not ok:
        raise JpegEncodeError(f"could not encode a {image.shape} image as JPEG")
    return np.asarray(encoded, dtype=np.uint8)


def decode_jpeg(data: bytes | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """A JPEG file decoded as the edge decodes what a camera sends (BGR); None when damaged.
    The benchmarks decode with this too, so they see the pixels the edge's detector sees."""
    buffer = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    return None if image is None else np.asarray(image, dtype=np.uint8)


START_OF_FRAME = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
"""SOFn markers: the frame header, which holds the picture's height and width."""
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
"""Markers without a length field (TEM, RSTn)."""


def jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding it; None when the file
    has no readable frame header. Decoding trusts these numbers: a few hundred bytes can
    declare 20000x20000 pixels, or 1x1."""
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in STANDALONE:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in START_OF_FRAME:
            if length < 7 or i + 9 > len(data):
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image, or scan data before a frame
            return None
        i += 2 + length
    return None


@dataclass(frozen=True)
class JpegSettings:
    """How frames are encoded (the camera defaults unless given)."""

    quality: int = DEFAULT_JPEG_QUALITY
    chroma: JpegChroma = DEFAULT_JPEG_CHROMA

    def encode(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return encode_jpeg(image, self.quality, self.chroma)

    def round_trip(
        self, image: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """(the JPEG file, the picture the edge decodes from it): what a sent frame becomes."""
        encoded = self.encode(image)
        decoded = decode_jpeg(encoded)
        assert decoded is not None, "a JPEG we just encoded decodes"
        return encoded, decoded
