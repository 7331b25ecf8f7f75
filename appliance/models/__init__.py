"""`appliance models`: list the configured detectors, pull and export Ultralytics models to
ONNX (the `train` extra), and INT8-quantise ONNX models for CPU-only boxes."""
