"""The edge box's HTTP API: the app (app.py) and its routes: frames and status from camera
nodes, Edgent tensors, reads for UIs and tools, camera settings, the live view and WebRTC."""
