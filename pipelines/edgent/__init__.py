"""Edgent (MECOMM'18): latency-aware early exit and model partitioning between camera and edge.

Pure parts only: per-layer latency regression (`regression`), the model's layers and cut points
(`layout`), the (exit, partition) search (`planner`) with hysteresis (`replan`), bandwidth
measured from transfers (`bandwidth`), the two together online (`online`), and the codec of the
intermediate tensors sent between the two halves (`codec`). Profiling and splitting ONNX files
live in `appliance.plan`.
"""
