"""Privacy on the way out: which objects are redacted (pixelated or blurred) in the pictures
that leave the box for the cloud and, optionally, in the pictures read with the viewer token.
Stored snapshots are never changed: the redaction is made on each copy that leaves."""

from __future__ import annotations

from pydantic import Field, field_validator

from cameras.config_checks import StrictConfig
from pipelines.detectors.labels import spellings
from pipelines.redaction import RedactionSettings, RedactionStyle


class RedactConfig(StrictConfig):
    cloud: bool = Field(
        True,
        description="Redact the objects of `labels` in the thumbnails sent to the cloud (the"
        " snapshots stored on the box stay as they are).",
    )
    viewers: bool = Field(
        False,
        description="Redact them too in the pictures the viewer token (or a ticket it was"
        " given) reads: snapshots, the annotated picture, the MJPEG and WebRTC live view. The"
        " api_token always sees the originals.",
    )
    labels: list[str] = Field(
        default_factory=lambda: ["person"],
        min_length=1,
        max_length=80,
        description="Labels of the objects redacted (COCO spellings such as motorbike and"
        " motorcycle both match).",
    )
    style: RedactionStyle = Field(
        RedactionStyle.PIXELATE,
        description="pixelate (blocks of an eighth of the box's smaller side, at least 8 px) or"
        " blur (a heavy Gaussian of the same scale).",
    )

    @field_validator("labels")
    @classmethod
    def _labels_named(cls, labels: list[str]) -> list[str]:
        for label in labels:
            if not label.strip() or len(label) > 64:
                raise ValueError(f"{label!r} is not a label name (1 to 64 characters)")
        return labels

    def settings(self) -> RedactionSettings:
        return RedactionSettings(style=self.style)

    def redacts(self, label: str) -> bool:
        """Whether objects of `label` are redacted (in either COCO spelling)."""
        return any(label in spellings(wanted) for wanted in self.labels)


class PrivacyConfig(StrictConfig):
    redact: RedactConfig = Field(
        default_factory=RedactConfig,
        description="People (or other labels) redacted in pictures that leave the box.",
    )
