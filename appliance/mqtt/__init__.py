"""MQTT shared by the edge's cloud publisher and the cloud worker: broker settings, client
factory, and the JSON contract of the messages (``wire.py``)."""
