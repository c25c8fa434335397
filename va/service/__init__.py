"""systemd glue: the daemon loop (sd_notify, watchdog, signals, reload), journald logging, `va install`."""
