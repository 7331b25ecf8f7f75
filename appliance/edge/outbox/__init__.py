"""Edge → cloud: a durable outbox written with the store's transactions (``writer``), drained to
an MQTT broker by a publisher thread that marks rows sent only on the broker's PUBACK
(``publisher``); ``uplink.CloudUplink`` assembles them for the edge box."""
