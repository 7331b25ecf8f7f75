"""`appliance plan`: Edgent's offline half (profiling, splitting ONNX models) and its runner.

The pure parts (regression, planner, codec) are in `pipelines.edgent`; everything here needs
the onnx package (the `plan` extra) or onnxruntime sessions.
"""
