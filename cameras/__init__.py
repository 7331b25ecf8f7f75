"""Camera-node runtime: video sources, the node loop, and the uplink to the edge box."""
