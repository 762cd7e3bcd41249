"""The dashboard's views of the service: every run, whatever API created it."""
