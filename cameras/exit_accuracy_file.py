"""The exit accuracy file `appliance plan accuracy --output` writes: each exit's agreement with
the full model on footage. The camera node plans with it (`edgent.accuracy_file`), and so do
`appliance plan choose` and `bench plan` (`--accuracy-file`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from cameras.config_checks import describe_validation_error


class MeasuredExit(BaseModel):
    """One exit's agreement with the full model, as `appliance plan accuracy` measured it."""

    model_config = ConfigDict(extra="forbid")

    f1: float = Field(ge=0.0, le=1.0, description="Detection F1 at IoU 0.5, mean per frame.")
    count_accuracy: float = Field(ge=0.0, le=1.0)
    frames: int = Field(ge=0, description="Frames compared.")
    detections: int = Field(ge=0, description="The exit's detections on them.")
    reference_detections: int = Field(ge=0, description="The full model's detections on them.")
    model: str = Field(description="The exit's ONNX model, as given.")
    full_model: str = Field(description="The full model it was compared with, as given.")
    video: str = Field(description="The footage (sample name or path).")


MEASURED = TypeAdapter(dict[str, MeasuredExit])


class AccuracyFileError(ValueError):
    """A missing or malformed accuracy file; the message names the file."""


def read_accuracies(path: Path) -> dict[str, MeasuredExit]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AccuracyFileError(f"{path}: accuracy file not found") from None
    except OSError as exc:
        raise AccuracyFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return MEASURED.validate_json(text)
    except ValidationError as exc:
        raise AccuracyFileError(
            f"{path}: not an accuracy file from `plan accuracy`: {describe_validation_error(exc)}"
        ) from None
