"""Darknet YOLO models (cfg + weights) converted to ONNX by the project's own converter.

`cfg` reads the layer list, `weights` the float blob in the cfg's order, `graph` and `heads`
build the ONNX graph with the `onnx` package (no torch), and `convert` ties them together into
a model with the `[B, 4+C, N]` output the edge's `yolo-onnx` backend reads.
"""
