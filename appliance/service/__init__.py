"""Running the appliance as systemd services: sd_notify, liveness watchdog, unit install."""
