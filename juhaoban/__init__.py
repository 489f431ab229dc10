"""Command-line tools of 巨好办: serve the three processes, train when needed, replay and evaluate real messages."""
