"""Cloud side for fleets: `appliance cloud` subscribes to the broker (MQTT 5 shared
subscription) and writes the metadata of many sites into PostgreSQL, once per record id."""
