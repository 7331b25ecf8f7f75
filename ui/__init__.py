"""The Streamlit monitoring UI: reads the edge box's HTTP API only (`appliance ui`)."""
